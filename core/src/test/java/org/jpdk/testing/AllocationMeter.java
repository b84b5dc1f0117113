package org.jpdk.testing;

import java.lang.management.ManagementFactory;

/**
 * Bytes allocated by the calling thread, from com.sun.management.ThreadMXBean, for the tests that
 * prove a fast path allocates nothing after warm-up.
 *
 * <p>It measures several rounds and reports the smallest: an allocation per iteration shows in
 * every round (at least {@code iterations} bytes), while a one-off event inside one round (the JIT
 * deoptimising and recompiling a method, a class initialised late) does not make a path
 * allocating. Zero in one whole round of many iterations is the proof. While rounds still
 * allocate it keeps measuring for up to 10 s, to give a busy JIT time to compile the path.
 */
public final class AllocationMeter {
    private static final com.sun.management.ThreadMXBean MX =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final int ROUNDS = 5;
    /**
     * How long to keep measuring rounds after the first five while every round allocated. A
     * downcall that captures errno allocates a 40-byte segment until C2 compiles and inlines it
     * (escape analysis then removes it); on a loaded machine that compilation can come late.
     */
    private static final long PATIENCE_NANOS = 10_000_000_000L;

    private AllocationMeter() {
    }

    /**
     * Runs {@code body} {@code warmup} times, then measures rounds of {@code iterations} runs and
     * returns the fewest bytes the thread allocated in one round (stopping at the first 0).
     */
    public static long bytesAllocated(int warmup, int iterations, Runnable body) {
        for (int i = 0; i < warmup; i++) body.run();
        long least = Long.MAX_VALUE;
        long giveUp = System.nanoTime() + PATIENCE_NANOS;
        for (int round = 0; least > 0 && (round < ROUNDS || System.nanoTime() < giveUp); round++) {
            long before = MX.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < iterations; i++) body.run();
            least = Math.min(least, MX.getCurrentThreadAllocatedBytes() - before);
        }
        return least;
    }
}
