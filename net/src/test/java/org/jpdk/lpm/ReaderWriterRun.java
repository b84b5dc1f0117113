package org.jpdk.lpm;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One writer thread (the test's) and one reader thread for a fixed time: the writer calls
 * {@code writer} with its own random source until the deadline, the reader calls {@code reader}
 * (which returns null, or what it saw wrong) until the writer stops; then asserts that the reader
 * stopped, saw nothing wrong, and both did real work.
 */
final class ReaderWriterRun {
    interface Step {
        /** One round; null when all was right, else a one-line description of what was wrong. */
        String run(SplittableRandom rnd);
    }

    private ReaderWriterRun() {
    }

    static void run(long millis, Step writer, Step reader) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> bad = new AtomicReference<>();
        long[] reads = new long[1];
        Thread t = Thread.ofPlatform().name("lpm-reader").start(() -> {
            SplittableRandom rnd = new SplittableRandom(7);
            while (!stop.get() && bad.get() == null) {
                String wrong = reader.run(rnd);
                if (wrong != null) bad.compareAndSet(null, wrong);
                reads[0]++;
            }
        });
        SplittableRandom rnd = new SplittableRandom(8);
        long writes = 0;
        try {
            while (System.nanoTime() < deadline && bad.get() == null) {
                writer.run(rnd);
                writes++;
            }
        } finally {
            stop.set(true);
            t.join(5000);
        }
        assertFalse(t.isAlive(), "reader did not stop");
        assertNull(bad.get(), "reader saw a next hop no rule gave that address");
        assertTrue(writes > 1000 && reads[0] > 1000, "writes " + writes + ", reads " + reads[0]);
    }
}
