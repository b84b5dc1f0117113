package org.jpdk.eal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.BitSet;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class EalArgsTest {
    private static final BitSet TWO_CPUS = BitSet.valueOf(new long[]{0b11});

    private static EalConfig parse(String... args) {
        return EalArgs.parse(TWO_CPUS, args);
    }

    private static void fails(String message, String... args) {
        EalArgumentException e = assertThrows(EalArgumentException.class, () -> parse(args));
        assertEquals(message, e.getMessage());
        assertFalse(e.helpRequested());
    }

    @Test
    void defaultsTakeEveryAvailableCpuAndTheLowestAsMain() {
        EalConfig c = parse();
        assertEquals(List.of(0, 1), c.lcores());
        assertEquals(0, c.mainLcore());
        assertEquals(List.of(1), c.workers());
        assertEquals(Map.of(0, List.of(0), 1, List.of(1)), c.cpus());
        assertEquals("rte", c.filePrefix());
        assertEquals(0, c.memoryBytes());
        assertFalse(c.noHuge());
        assertFalse(c.inMemory());
        assertNull(c.hugeDir());
        assertEquals(List.of(), c.appArgs());
        assertEquals(0, c.argsParsed());
    }

    @Test
    void corelistTakesNumbersAndRangesInBothSpellings() {
        assertEquals(List.of(0, 1, 2, 3, 5), parse("-l", "0-3,5").lcores());
        assertEquals(List.of(1, 2, 3), parse("-l3-1").lcores());
        assertEquals(List.of(4, 7), parse("--lcores=7,4").lcores());
        assertEquals(List.of(0, 1), parse("--lcores", "0-1").lcores());
    }

    @Test
    void corelistErrorsNameTheValue() {
        fails("-l 0-x: not a CPU list; expected a list like 0-3,5", "-l", "0-x");
        fails("-l 1,,2: not a CPU list; expected a list like 0-3,5", "-l", "1,,2");
        fails("-l 200: lcore 200 out of range; expected lcores 0..127", "-l", "200");
        fails("-l: missing value; expected a list like 0-3,5", "-l");
        fails("-l: missing value; expected a list like 0-3,5", "-l", "--", "app");
    }

    @Test
    void coremaskIsHexWithOrWithoutPrefix() {
        assertEquals(List.of(0, 1), parse("-c", "0x3").lcores());
        assertEquals(List.of(1, 4), parse("-c", "12").lcores());
        fails("-c 0xg: not a hex mask; expected a hex mask like 0x3", "-c", "0xg");
        fails("-c 0x0: no lcore set; expected a hex mask like 0x3", "-c", "0x0");
    }

    @Test
    void lcoreMapPinsGroupsAndKeepsBareRangesOneToOne() {
        EalConfig c = parse("--lcores", "(0-3)@(0,1),4@1,7-8,(5,6)");
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8), c.lcores());
        assertEquals(List.of(0, 1), c.cpus().get(2));
        assertEquals(List.of(1), c.cpus().get(4));
        assertEquals(List.of(7), c.cpus().get(7));
        assertEquals(List.of(8), c.cpus().get(8));
        assertEquals(List.of(5, 6), c.cpus().get(5));
        fails("--lcores 0@(1: not an lcore map; expected a list like 0-3,5 or a map like 0@1,(1-3)@(0,1)",
                "--lcores", "0@(1");
        fails("--lcores 0@1,0@0: lcore 0 is given twice", "--lcores", "0@1,0@0");
        fails("--lcores 0@x: not an lcore map; expected a list like 0-3,5 or a map like 0@1,(1-3)@(0,1)",
                "--lcores=0@x");
    }

    @Test
    void lcoreOptionsAreExclusive() {
        fails("-c 0x3: cannot be combined with -l; give the lcores once, with -l, -c or --lcores",
                "-l", "0-1", "-c", "0x3");
        fails("--lcores 0: cannot be combined with -l; give the lcores once, with -l, -c or --lcores",
                "-l", "0", "--lcores", "0");
    }

    @Test
    void mainLcoreMustBeEnabled() {
        EalConfig c = parse("-l", "0-1", "--main-lcore", "1");
        assertEquals(1, c.mainLcore());
        assertEquals(List.of(0), c.workers());
        fails("--main-lcore 5: lcore 5 is not in the lcore set 0-1", "-l", "0-1", "--main-lcore=5");
        fails("--main-lcore x: not an lcore id; expected an lcore id 0..127", "--main-lcore", "x");
    }

    @Test
    void serviceCoresLeaveTheWorkerSet() {
        EalConfig c = parse("-l", "0-1", "-S", "1");
        assertEquals(List.of(0), c.lcores());
        assertEquals(List.of(1), c.serviceLcores());
        assertEquals(List.of(1), c.cpus().get(1));
        EalConfig outside = parse("-l", "0", "--service-corelist=1");
        assertEquals(List.of(1), outside.serviceLcores());
        assertEquals(List.of(), outside.workers());
        fails("-S 0: lcore 0 is the main lcore and cannot be a service lcore", "-l", "0-1", "--main-lcore", "0",
                "-S", "0");
        fails("-S 0-1: leaves no lcore for the main thread; the lcore set is 0-1", "-l", "0-1", "-S", "0-1");
        fails("-S a: not a CPU list; expected a list like 0-3,5", "-S", "a");
    }

    @Test
    void vdevsAreKeptVerbatimInOrder() {
        EalConfig c = parse("--vdev", "net_null0,size=64", "--vdev=net_ring0");
        assertEquals(List.of("net_null0,size=64", "net_ring0"), c.vdevs());
        fails("--vdev '': empty; expected devargs like net_null0,size=64", "--vdev=");
    }

    @Test
    void memoryOptions() {
        assertEquals(512L << 20, parse("-m", "512").memoryBytes());
        assertEquals(64L << 20, parse("-m64").memoryBytes());
        EalConfig s = parse("--socket-mem", "1024,0");
        assertEquals(List.of(1024, 0), s.socketMemMb());
        assertEquals(1024L << 20, s.memoryBytes());
        fails("-m 1G: not a size in MB; expected a number of MB like 512", "-m", "1G");
        fails("-m 0: must be at least 1 MB", "-m", "0");
        fails("--socket-mem 1024,x: not a size in MB; expected MB per socket like 1024,1024", "--socket-mem",
                "1024,x");
        fails("-m 512: cannot be combined with --socket-mem; give one of them", "-m", "512", "--socket-mem", "512");
        fails("--socket-mem 512: cannot be combined with --no-huge; 4 KiB pages are not per socket",
                "--no-huge", "--socket-mem", "512");
    }

    @Test
    void hugepageAndFileOptions() {
        EalConfig c = parse("--huge-dir", "/dev/hugepages", "--file-prefix=app1", "--in-memory");
        assertEquals("/dev/hugepages", c.hugeDir());
        assertEquals("app1", c.filePrefix());
        assertTrue(c.inMemory());
        assertFalse(c.singleFileSegments());
        assertTrue(parse("--single-file-segments").singleFileSegments());
        assertTrue(Eal.memoryOptions(parse("--single-file-segments", "--in-memory")).singleFileSegments());
        fails("--single-file-segments=1: takes no value", "--single-file-segments=1");
        assertTrue(parse("--no-huge").noHuge());
        fails("--huge-dir /mnt/huge: cannot be combined with --no-huge", "--no-huge", "--huge-dir", "/mnt/huge");
        fails("--file-prefix 'a/b': not a file prefix; expected a non-empty name without '/' or '%'",
                "--file-prefix", "a/b");
        fails("--no-huge=1: takes no value", "--no-huge=1");
    }

    @Test
    void logLevelsTakeNumbersNamesAndTypePatterns() {
        assertEquals(new EalConfig.LogLevel(null, false, 8), parse("--log-level", "8").logLevels().getFirst());
        assertEquals(new EalConfig.LogLevel(null, false, 4), parse("--log-level=error").logLevels().getFirst());
        assertEquals(List.of(new EalConfig.LogLevel("lib.eal", false, 8), new EalConfig.LogLevel("pmd.*", false, 5)),
                parse("--log-level", "lib.eal:debug", "--log-level", "pmd.*:warning").logLevels());
        assertEquals(new EalConfig.LogLevel("lib\\..*", true, 7), parse("--log-level=lib\\..*,7").logLevels().getFirst());
        fails("--log-level 9: '9' is not a log level; expected 1-8, a level name (emerg..debug) or <type-glob>:<level>",
                "--log-level", "9");
        fails("--log-level lib.eal:loud: 'loud' is not a log level; expected 1-8, a level name (emerg..debug) or "
                + "<type-glob>:<level>", "--log-level", "lib.eal:loud");
        fails("--log-level :debug: empty log type; expected 1-8, a level name (emerg..debug) or <type-glob>:<level>",
                "--log-level", ":debug");
    }

    @Test
    void appArgumentsFollowTheDoubleDash() {
        EalConfig c = parse("-l", "0", "--", "-p", "0x3", "--", "x");
        assertEquals(List.of("-p", "0x3", "--", "x"), c.appArgs());
        assertEquals(3, c.argsParsed());
    }

    @Test
    void unknownAndStrayArgumentsAreRefused() {
        fails("unknown EAL option '--bogus=1'; -h lists them", "--bogus=1");
        fails("unknown EAL option '-x'; -h lists them", "-x", "1");
        fails("unknown EAL option '--bogus'; -h lists them", "--bogus");
        fails("unexpected argument 'foo'; EAL options come first, then -- and the app's arguments", "foo");
    }

    @Test
    void helpCarriesTheUsageOfEveryOption() {
        EalArgumentException e = assertThrows(EalArgumentException.class, () -> parse("-l", "0", "--help"));
        assertTrue(e.helpRequested());
        for (String opt : List.of("-l", "--lcores", "-c", "--main-lcore", "-S", "--vdev", "-m", "--socket-mem",
                "--no-huge", "--huge-dir", "--file-prefix", "--in-memory", "--single-file-segments", "--log-level", "-h")) {
            assertTrue(e.getMessage().contains(opt), opt + " missing from usage");
        }
        assertTrue(assertThrows(EalArgumentException.class, () -> parse("-h")).helpRequested());
    }

    @Test
    void configIsImmutable() {
        EalConfig c = parse("--vdev", "net_null0");
        assertThrows(UnsupportedOperationException.class, () -> c.vdevs().add("x"));
        assertThrows(UnsupportedOperationException.class, () -> c.lcores().add(3));
    }
}
