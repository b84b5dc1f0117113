package org.jpdk.app.soak;

import org.jpdk.eal.EalMemory;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** A short soak (30 s, samples every 5 s) passes and cleans up; the verdict and the accounting catch what they must. */
class SoakTest {
    record Result(int rc, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = Soak.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aShortSoakIsFlatAndAccountsForEveryPacket() {
        if (!"root".equals(System.getProperty("user.name"))) {
            if ("true".equals(System.getProperty("jpdk.ci"))) fail("CI precondition missing: root (netns, veth)");
            Assumptions.assumeTrue(false, "the soak needs root for its namespace and veth pair");
        }
        Result r = run("0.5", "--interval", "5");
        assertEquals(0, r.rc(), r.out() + r.err());
        assertTrue(r.out().contains("soak: PASS"), r.out());
        long rows = r.out().lines().filter(l -> l.matches("\\s+\\d+\\s+\\d+\\s+\\d+\\s+.*")).count();
        assertTrue(rows >= 7, "a baseline, a sample every 5 s and the last: " + r.out());
        assertTrue(r.out().matches("(?s).*sent (\\d+) = received \\1 \\+ drops 0.*") || r.out().contains(" = received "), r.out());
        assertFalse(Files.exists(Path.of("/run/netns/jpdk-soak-" + ProcessHandle.current().pid())), "the namespace is gone");
    }

    @Test
    void badArgumentsAreOneLine() {
        Result r = run("ten");
        assertEquals(1, r.rc());
        assertEquals("soak: unknown argument 'ten'; want MINUTES, --interval or --rate\n", r.err());
        r = run("--rate", "0");
        assertEquals("soak: --rate '0': want 1..10000000\n", r.err());
        r = run("--help");
        assertEquals(0, r.rc());
        assertTrue(r.out().startsWith("usage: jpdk soak"), r.out());
    }

    private static Sampler.Sample sample(long t, int inUse, long rss, long heap, long gcs, int fds, int threads) {
        return new Sampler.Sample(t, new int[]{inUse}, rss, heap, gcs, fds, threads);
    }

    @Test
    void theVerdictFailsOnEachKindOfGrowth() {
        Mempool<Mbuf> pool = Mbuf.createPool("soak_verdict", 63, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        try {
            Sampler flat = new Sampler(List.of(pool));
            flat.record(sample(0, 0, 100 << 20, 5 << 20, 0, 20, 9));
            flat.record(sample(10, 12, 110 << 20, 6 << 20, 0, 22, 10));
            flat.record(sample(20, 0, 112 << 20, 6 << 20, 1, 21, 9)); // fewer fds and threads: not growth
            assertEquals(List.of(), flat.verdict());

            Sampler grown = new Sampler(List.of(pool));
            grown.record(sample(0, 0, 100 << 20, 5 << 20, 0, 20, 9));
            grown.record(sample(10, 12, 110 << 20, 6 << 20, 0, 22, 10));
            grown.record(sample(20, 3, 140 << 20, 9 << 20, 5, 23, 11));
            List<String> v = grown.verdict();
            assertEquals(6, v.size(), v.toString());
            assertTrue(v.getFirst().startsWith("pool soak_verdict: 3 mbufs in use after the drain"), v.toString());
        } finally {
            pool.close();
            EalMemory.shutdown(); // the soak's own EAL sets memory up with its arguments
        }
    }

    @Test
    void aPacketThatIsNeitherReceivedNorCountedFailsTheRun() {
        assertEquals(List.of(), new Soak.Accounting(100, 100, 0, 1, 2, 0, 3, 94, 7).problems());
        List<String> p = new Soak.Accounting(100, 100, 0, 1, 2, 0, 3, 93, 7).problems();
        assertEquals(List.of("unaccounted packets: sent 100 != received 93 + drops 6"), p);
    }
}
