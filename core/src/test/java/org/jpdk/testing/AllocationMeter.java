package org.jpdk.testing;

import java.lang.management.ManagementFactory;

/**
 * Bytes allocated by the calling thread, from com.sun.management.ThreadMXBean, for the tests that
 * prove a fast path allocates nothing after warm-up.
 *
 * <p>It measures several rounds and reports the smallest: an allocation per iteration shows in
 * every round (at least {@code iterations} bytes), while a one-off event inside one round (the JIT
 * deoptimising and recompiling a method, a class initialised late) does not make a path
 * allocating. Zero in one whole round of many iterations is the proof.
 */
public final class AllocationMeter {
    private static final com.sun.management.ThreadMXBean MX =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final int ROUNDS = 5;

    private AllocationMeter() {
    }

    /**
     * Runs {@code body} {@code warmup} times, then measures rounds of {@code iterations} runs and
     * returns the fewest bytes the thread allocated in one round (stopping at the first 0).
     */
    public static long bytesAllocated(int warmup, int iterations, Runnable body) {
        for (int i = 0; i < warmup; i++) body.run();
        long least = Long.MAX_VALUE;
        for (int round = 0; round < ROUNDS && least > 0; round++) {
            long before = MX.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < iterations; i++) body.run();
            least = Math.min(least, MX.getCurrentThreadAllocatedBytes() - before);
        }
        return least;
    }
}
