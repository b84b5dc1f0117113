package org.jpdk.app.testpmd;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** testpmd's bpf-load and bpf-unload, with an eBPF object clang compiles in the test. */
class TestPmdBpfTest {
    private static final List<String> EAL = List.of("-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1");

    @TempDir
    Path dir;

    static Path compile(Path dir, String source) throws Exception {
        String clang = Files.isExecutable(Path.of("/usr/bin/clang")) ? "/usr/bin/clang" : null;
        if (clang == null) {
            String why = "needs clang (apt-get install clang) to compile BPF programs";
            if ("true".equals(System.getProperty("jpdk.ci")) || "true".equals(System.getenv("CI"))) fail("CI precondition missing: " + why);
            Assumptions.assumeTrue(false, why);
        }
        Path c = dir.resolve("prog.c"), o = dir.resolve("prog.o");
        Files.writeString(c, source);
        Process p = new ProcessBuilder(clang, "-O2", "-target", "bpf", "-c", c.toString(), "-o", o.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return o;
    }

    @Test
    void bpfLoadDropsWhatTheProgramRejectsAndBpfUnloadRemovesIt() throws Exception {
        // drops frames whose first byte is 0 (net_null's are all zero): port 0 then receives nothing
        Path o = compile(dir, "unsigned long long f(unsigned char *p) { return p[0] != 0; }\n");
        String script = "bpf-load rx 0 0 J " + o + "\nstart\nstop\nbpf-unload rx 0 0\nbpf-load rx 0 0 Q " + o
                + "\nbpf-load rx 0 0 M " + dir.resolve("missing.o") + "\nstart\nstop\nquit\n";
        TestPmdTest.Result r = TestPmdTest.run(script, EAL, "-i");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("testpmd> bpf-load rx 0 0 J " + o + "\n0:Success\n"), r.out());
        int second = r.out().indexOf("bpf-unload");
        String first = r.out().substring(0, second), after = r.out().substring(second);
        // the driver counts what it received (port 0's RX); the program dropped all of it before io forwarding
        assertTrue(TestPmdTest.field(first, "Forward statistics for port 0", "RX-packets:") > 0, first);
        assertEquals(0, TestPmdTest.field(first, "Forward statistics for port 1", "TX-packets:"), first);
        assertTrue(TestPmdTest.field(first, "Forward statistics for port 0", "TX-packets:") > 0, first);
        assertTrue(TestPmdTest.field(after, "Forward statistics for port 1", "TX-packets:") > 0, "unloaded:\n" + after);
        assertTrue(r.err().contains("Bad arguments: unknown flag 'Q'"), r.err());
        assertTrue(r.err().contains("missing.o: cannot read"), r.err());
        assertTrue(r.out().contains("-22:Invalid argument"), r.out());
    }
}
