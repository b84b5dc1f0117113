package org.jpdk.eal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Hugepage discovery and the hugepage paths: anonymous, files in a hugetlbfs mount, running out. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HugepageTest {
    private static long raisedFrom = -1;

    @AfterEach
    void shutdown() {
        EalMemory.shutdown();
    }

    @AfterAll
    static void restore() throws IOException {
        if (raisedFrom >= 0) {
            Files.writeString(Hugepages.size(Hugepages.SIZE_2M).orElseThrow().nrHugepagesFile(), Long.toString(raisedFrom));
            raisedFrom = -1;
        }
    }

    /** Skips (or, with -Djpdk.ci=true, fails) with {@code why}. */
    static void precondition(boolean ok, String why) {
        if (ok) return;
        if ("true".equals(System.getProperty("jpdk.ci"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
    }

    /**
     * Makes sure at least {@code n} free 2 MiB hugepages exist: reserves more when root (and the
     * matching @AfterAll puts the old count back), else skips or fails as {@link #precondition} says.
     */
    static void requireFree2M(long n) {
        var size = Hugepages.size(Hugepages.SIZE_2M);
        precondition(size.isPresent(), "kernel has no 2 MiB hugepages");
        if (size.get().free() >= n) return;
        Path nr = size.get().nrHugepagesFile();
        if (Files.isWritable(nr)) {
            try {
                long old = size.get().reserved();
                Files.writeString(nr, Long.toString(old + n - size.get().free()));
                if (raisedFrom < 0) raisedFrom = old;
            } catch (IOException e) {
                // reported by the check below
            }
        }
        long free = Hugepages.size(Hugepages.SIZE_2M).orElseThrow().free();
        precondition(free >= n, "needs " + n + " free 2 MiB hugepages, " + free + " free; as root: echo 512 > " + nr);
    }

    static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    @Test
    void sysfsSizesAreConsistent() {
        List<Hugepages.Size> sizes = Hugepages.sizes();
        precondition(!sizes.isEmpty(), "kernel without hugetlb support");
        for (Hugepages.Size s : sizes) {
            assertTrue(s.free() <= s.reserved(), s.toString());
            assertEquals(Hugepages.numaNodes(), s.freePerNode().length);
            long perNode = 0;
            for (long f : s.freePerNode()) perNode += f;
            assertEquals(s.free(), perNode, "free per node sums to free for " + s.sysfsName());
        }
        assertEquals(Hugepages.SIZE_2M, Hugepages.parseSize("2M"));
        assertEquals(Hugepages.SIZE_1G, Hugepages.parseSize("1G"));
        assertEquals(Hugepages.SIZE_2M, Hugepages.parseSize("2048k"));
    }

    @Test
    void defaultInitMapsAnonymousPopulatedHugepages() {
        requireFree2M(8);
        EalMemory.init(MemoryOptions.defaults());
        assertTrue(EalMemory.hugepages());
        assertEquals(Hugepages.SIZE_2M, EalMemory.defaultPageSize());
        long freeBefore = Hugepages.size(Hugepages.SIZE_2M).orElseThrow().free();
        Memzone z = Memzone.reserve("hp_anon", 3 << 20, 0, 64);
        assertEquals(Hugepages.SIZE_2M, z.hugepageSize());
        Memseg m = EalMemory.virt2memseg(z.segment().address());
        assertNotNull(m);
        assertEquals(Hugepages.SIZE_2M, m.pageSize());
        assertEquals(null, m.file(), "anonymous by default: no file");
        long freeAfter = Hugepages.size(Hugepages.SIZE_2M).orElseThrow().free();
        // MAP_POPULATE took the pages now, not on first touch: the free count already dropped.
        assertTrue(freeBefore - freeAfter >= m.len() / Hugepages.SIZE_2M,
                "free 2M pages " + freeBefore + " -> " + freeAfter + " for " + m.len() + " bytes");
        z.segment().set(ValueLayout.JAVA_LONG, z.len() - 8, 42L);
        assertEquals(42L, z.segment().get(ValueLayout.JAVA_LONG, z.len() - 8));
        EalMemory.shutdown();
        assertEquals(freeBefore, Hugepages.size(Hugepages.SIZE_2M).orElseThrow().free(), "pages given back at shutdown");
    }

    @Tag("faults")
    @Test
    void runningOutOfHugepagesIsAClearErrorNotASigbus() {
        requireFree2M(2);
        EalMemory.init(MemoryOptions.defaults());
        long free = Hugepages.size(Hugepages.SIZE_2M).orElseThrow().free();
        long tooMuch = (free + 16) * Hugepages.SIZE_2M;
        MemoryException e = assertThrows(MemoryException.class, () -> Memzone.reserve("hp_toomuch", tooMuch, 0, 64));
        assertTrue(e.getMessage().contains("ENOMEM") && e.getMessage().contains("free 2048 kB hugepages"), e.getMessage());
        assertTrue(e.getMessage().contains("nr_hugepages"), e.getMessage());
        assertEquals(null, Memzone.lookup("hp_toomuch"));
        Memzone ok = Memzone.reserve("hp_after", 4096, 0, 64); // the heap is still usable
        assertEquals(0, ok.segment().get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void oneGigPagesWhenNoneAreReservedFailClearlyOrFallBackWithHint() {
        requireFree2M(2);
        precondition(Hugepages.size(Hugepages.SIZE_1G).map(s -> s.free() == 0).orElse(true),
                "1 GiB hugepages are free here; this test wants none");
        EalMemory.init(MemoryOptions.defaults());
        MemoryException e = assertThrows(MemoryException.class,
                () -> Memzone.reserve("hp_1g", 4096, 0, Memzone.MEMZONE_1GB, 64));
        assertTrue(e.getMessage().contains("1048576 kB"), e.getMessage());
        Memzone hinted = Memzone.reserve("hp_1g", 4096, 0, Memzone.MEMZONE_1GB | Memzone.MEMZONE_SIZE_HINT_ONLY, 64);
        assertEquals(Hugepages.SIZE_2M, hinted.hugepageSize());
    }

    @Test
    void filesInAHugetlbfsMountAreNamedFromThePrefixAndRemovedAtShutdown() throws Exception {
        requireFree2M(4);
        precondition(root(), "mounting hugetlbfs needs root");
        Path dir = Files.createTempDirectory("jpdk-hugetlbfs");
        try {
            precondition(run("mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "none", dir.toString()) == 0,
                    "mount -t hugetlbfs failed");
            try {
                EalMemory.init(MemoryOptions.defaults().withHugeDir(dir.toString(), "jpdktest"));
                Memzone z = Memzone.reserve("hp_file", 5 << 20, 0, 64);
                Memseg m = EalMemory.virt2memseg(z.segment().address());
                assertEquals(dir.toRealPath().resolve("jpdktestmap_0"), m.file());
                assertTrue(Files.exists(m.file()));
                assertTrue(m.fd() >= 0);
                assertTrue(maps().contains(m.file().toString()), "the file is mapped");
                z.segment().fill((byte) 7);
                EalMemory.shutdown();
                try (var left = Files.list(dir)) {
                    assertEquals(List.of(), left.toList(), "no hugepage file left behind");
                }
                assertFalse(maps().contains(dir.toRealPath().toString()), "nothing from the huge dir still mapped");

                // --in-memory: even with a huge dir, no file is ever created.
                EalMemory.init(MemoryOptions.defaults().withHugeDir(dir.toString(), "jpdktest").withInMemory(true));
                Memzone.reserve("hp_inmem", 1 << 20, 0, 64);
                try (var left = Files.list(dir)) {
                    assertEquals(List.of(), left.toList());
                }
                EalMemory.shutdown();
            } finally {
                EalMemory.shutdown();
                run("umount", dir.toString());
            }
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void aHugeDirThatIsNotHugetlbfsIsRefused() throws IOException {
        Path dir = Files.createTempDirectory("jpdk-not-hugetlbfs");
        try {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> EalMemory.init(MemoryOptions.defaults().withHugeDir(dir.toString(), "x")));
            assertTrue(e.getMessage().contains("not a hugetlbfs mount"), e.getMessage());
            assertFalse(EalMemory.initialised());
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    static String maps() throws IOException {
        return Files.readString(Path.of("/proc/self/maps"));
    }

    static int run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        int rc = p.waitFor();
        if (rc != 0) System.err.println(String.join(" ", cmd) + ": " + out.strip());
        return rc;
    }
}
