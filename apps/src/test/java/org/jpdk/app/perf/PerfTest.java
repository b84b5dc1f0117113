package org.jpdk.app.perf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PerfTest {
    /** spdk_nvme_perf's last line: Total, then IOPS, MiB/s, average, min and max latency in microseconds. */
    static final Pattern TOTAL = Pattern.compile("^Total\\s+:\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)$");
    static final Pattern LCORE = Pattern.compile("^(.*) from core (\\d+)\\s+:((?:\\s+[\\d.]+){8})$");

    record Result(int rc, String out, String err) {
        String lastLine() {
            List<String> l = out.lines().toList();
            return l.isEmpty() ? "" : l.get(l.size() - 1);
        }
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = Perf.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Path file(long bytes) throws IOException {
        Path dir = Path.of("target", "perf-test").toAbsolutePath();
        Files.createDirectories(dir);
        Path f = dir.resolve("perf-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".img");
        byte[] mb = new byte[1 << 20];
        try (var o = Files.newOutputStream(f)) {
            for (long i = 0; i < bytes; i += mb.length) o.write(mb);
        }
        return f;
    }

    @Test
    void randomReadsPrintAnLcoreLineAndTheTotalLast() throws IOException {
        Path f = file(16 << 20);
        try {
            Result r = run("-q", "8", "-o", "4096", "-w", "randread", "-t", "1", "--no-huge", f.toString());
            assertEquals(0, r.rc(), r.out() + r.err());
            Matcher t = TOTAL.matcher(r.lastLine());
            assertTrue(t.matches(), "last line: " + r.lastLine());
            double iops = Double.parseDouble(t.group(1)), mibs = Double.parseDouble(t.group(2));
            assertTrue(iops > 100, r.out());
            assertEquals(iops * 4096 / (1 << 20), mibs, mibs * 0.01 + 0.01);
            double avg = Double.parseDouble(t.group(3)), min = Double.parseDouble(t.group(4)), max = Double.parseDouble(t.group(5));
            assertTrue(min <= avg && avg <= max, r.lastLine());
            Matcher l = r.out().lines().map(LCORE::matcher).filter(Matcher::matches).findFirst().orElseThrow(() -> new AssertionError(r.out()));
            assertEquals("0", l.group(2));
            String[] v = l.group(3).strip().split("\\s+");
            double p50 = Double.parseDouble(v[5]), p99 = Double.parseDouble(v[6]), p999 = Double.parseDouble(v[7]);
            assertTrue(p50 <= p99 && p99 <= p999 && p999 <= max * 1.001 + 1, l.group(0));
            assertFalse(r.out().contains("[   1 s]"), "no progress lines on a 1 s run");
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void aMixedRunOnTwoLcoresWithWarmupAndProgressLines() throws IOException {
        Path f = file(16 << 20);
        try {
            Result r = run("-q", "4", "-o", "8k", "-w", "randrw", "-M", "70", "-t", "3", "-a", "1", "-c", "0x3", "--no-huge", f.toString());
            assertEquals(0, r.rc(), r.out() + r.err());
            assertTrue(r.out().contains("randrw, 8192 bytes, depth 4, 70% reads, 3 s after 1 s of warm-up"), r.out());
            assertTrue(r.out().contains("(warm-up)"), r.out());
            assertTrue(r.out().lines().filter(s -> s.startsWith("[")).count() >= 3, r.out());
            assertEquals(2, r.out().lines().filter(s -> LCORE.matcher(s).matches()).count(), r.out());
            assertTrue(r.out().contains("all lcores"), r.out());
            assertTrue(TOTAL.matcher(r.lastLine()).matches(), r.lastLine());
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void sequentialWritesOfLargeBlocks() throws IOException {
        Path f = file(16 << 20);
        try {
            Result r = run("-q", "4", "-o", "128k", "-w", "write", "-t", "1", "--no-huge", f.toString());
            assertEquals(0, r.rc(), r.out() + r.err());
            assertTrue(TOTAL.matcher(r.lastLine()).matches(), r.lastLine());
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void badOptionsSayWhatIsWrongInOneLine() throws IOException {
        assertEquals("perf: -q 0: allowed 1..4096\n", run("-q", "0", "-o", "4096", "-w", "read", "-t", "1", "x").err());
        assertEquals("perf: -w readwrite: allowed read, write, randread, randwrite, rw, randrw\n",
                run("-q", "1", "-o", "4096", "-w", "readwrite", "-t", "1", "x").err());
        assertEquals("perf: -o 4x: allowed 512 bytes to 64M, e.g. 4096, 4k, 128k, 1M\n",
                run("-q", "1", "-o", "4x", "-w", "read", "-t", "1", "x").err());
        assertEquals("perf: -M 50: the read share is for -w rw or randrw, not read\n",
                run("-q", "1", "-o", "4096", "-w", "read", "-M", "50", "-t", "1", "x").err());
        assertEquals("perf: -q (queue depth per lcore) is required, e.g. -q 32; see --help\n",
                run("-o", "4096", "-w", "read", "-t", "1", "x").err());
        Result r = run("-q", "1", "-o", "4096", "-w", "read", "-t", "1", "--no-huge", "/nonexistent/perf.img");
        assertEquals(1, r.rc());
        assertEquals("perf: open(/nonexistent/perf.img, O_RDWR|O_DIRECT): ENOENT: no such file or device\n", r.err());
        Path f = file(1 << 20);
        try {
            r = run("-q", "1", "-o", "1000", "-w", "read", "-t", "1", "--no-huge", f.toString());
            assertTrue(r.err().matches("perf: -o 1000: allowed 512 bytes to 64M.*\n|perf: -o 1000: allowed a multiple of the block size \\d+ of .*\n"),
                    r.err());
            r = run("-q", "1", "-o", "1536", "-w", "read", "-t", "1", "--no-huge", f.toString());
            assertTrue(r.rc() == 0 || r.err().matches("perf: -o 1536: allowed a multiple of the block size \\d+ of .*\n"), r.err());
        } finally {
            Files.deleteIfExists(f);
        }
        assertTrue(run("--help").out().contains("-q DEPTH"));
    }
}
