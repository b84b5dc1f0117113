package org.jpdk.bdev;

import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** An lcore that sleeps in the kernel when its qpair is idle, and wakes when a request completes. */
class QpairIdleStrategyTest {
    @Test
    void aSleepEndsWhenTheRequestCompletesOrTheTimeoutPasses() throws Exception {
        try (Scratch s = new Scratch(); Bdev b = TimeoutTest.fifo(s); Arena a = Arena.ofShared()) {
            Qpair q = b.allocQpair(2);
            assertFalse(q.awaitCompletions(1_000_000_000L), "nothing in flight: no sleep");
            Waiter w = new Waiter();
            assertEquals(0, q.read(a.allocate(512), 0, 1, w, "r"));
            long t0 = System.nanoTime();
            assertTrue(q.awaitCompletions(100_000_000L), "submits, then sleeps");
            double ms = (System.nanoTime() - t0) / 1e6;
            assertTrue(ms >= 90 && ms < 2000, "slept " + ms + " ms for a 100 ms timeout");
            assertEquals(0, w.completions);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(200);
                    try (OutputStream out = Files.newOutputStream(Path.of(b.path()))) {
                        out.write(new byte[512]);
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            t0 = System.nanoTime();
            assertTrue(q.awaitCompletions(10_000_000_000L));
            ms = (System.nanoTime() - t0) / 1e6;
            writer.join();
            assertTrue(ms >= 150 && ms < 5000, "woke after " + ms + " ms; the data came after 200");
            assertEquals(1, q.processCompletions(0));
            assertEquals(0, w.of("r"));
            assertEquals(2, q.sleeps());
        }
    }

    @Test
    void theStrategySleepsOnlyAfterItsEmptyPolls() throws Exception {
        try (Scratch s = new Scratch(); Bdev b = TimeoutTest.fifo(s); Arena a = Arena.ofShared()) {
            Qpair q = b.allocQpair(2);
            QpairIdleStrategy idle = new QpairIdleStrategy(q, 10, 20);
            Waiter w = new Waiter();
            assertEquals(0, q.read(a.allocate(512), 0, 1, w, "r"));
            for (int i = 0; i < 9; i++) idle.idle(q.processCompletions(0));
            assertEquals(0, q.sleeps());
            idle.idle(0);
            assertEquals(1, q.sleeps());
            idle.idle(1); // work resets the streak
            for (int i = 0; i < 9; i++) idle.idle(0);
            assertEquals(1, q.sleeps());
            assertEquals("interrupt", idle.alias());
            assertThrows(IllegalArgumentException.class, () -> new QpairIdleStrategy(q, -1, 10));
        }
    }
}
