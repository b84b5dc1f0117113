package org.jpdk.testing;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Proof that a fast path allocates nothing once warm, from the calling thread's allocated-bytes
 * counter (com.sun.management.ThreadMXBean), for the tests that hold jpdk to "the fast path
 * allocates nothing".
 *
 * <p>The rule: warm up, then measure windows; the result is the first window in which not one
 * byte was allocated, and a path fails if {@link #WINDOWS} windows in a row allocated.
 * <ol>
 * <li><b>Warm-up</b>: the given number of calls, then rounds of {@code iterations} calls until one
 * round allocates nothing, for at most {@link #WARM_UP_NANOS}. A path may allocate while cold: a
 * downcall that captures errno allocates a 40-byte segment per call until C2 has compiled and
 * inlined its caller (see Libc), which on a loaded machine can take seconds; classes load and
 * initialise. A path that never has a clean round fails here, with the bytes of its last round.
 * <li><b>Windows</b>: at least {@link #WINDOW_ROUNDS} rounds and {@link #WINDOW_CALLS} calls each
 * (the calls stop counting once {@link #WINDOW_NANOS} passed, for slow bodies), every byte of every
 * round added up. A clean window ends the measurement with 0. A window that allocated is followed
 * by another, up to {@link #WINDOWS}; if all allocated, the last one's bytes are the result.
 * </ol>
 * Why more than one window: a warm path still allocates, once, when the JIT first asks C2 to
 * compile a method of a class: the asking thread resolves every string constant of that class
 * first (HotSpot's CompileBroker), so a test class full of assertion messages costs a few hundred
 * bytes the first time its lambda gets hot, and a method called once per thousand packets gets
 * hot late. Such a one-off lands in one window; the next is clean. An allocation that recurs at
 * least once per window (one object per 10,000 calls, or per {@link #WINDOW_ROUNDS} rounds) dirties
 * every window and fails, where the minimum over rounds (this class before) called a path that
 * allocates once every few rounds clean.
 *
 * <p>{@link #assertNoAllocation} also proves, every time it passes, that the same measurement of
 * the same body would have failed: it measures {@link #allocatingEvery a variant} that allocates
 * one object every {@link #LEAK_ROUNDS} rounds' worth of calls, and fails if that passes.
 */
public final class AllocationMeter {
    private static final com.sun.management.ThreadMXBean MX =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    /** Longest warm-up: C2 compiling the downcalls of a path on a loaded 2-core machine. */
    static final long WARM_UP_NANOS = 15_000_000_000L;
    /** Fewest rounds in a window: a path that allocates every few rounds shows in every window. */
    static final int WINDOW_ROUNDS = 10;
    /** Fewest calls in a window, unless {@link #WINDOW_NANOS} passes first. */
    static final long WINDOW_CALLS = 10_000;
    static final long WINDOW_NANOS = 500_000_000L;
    /** Windows in a row that must all allocate to fail a path. */
    static final int WINDOWS = 3;
    /** Rounds between the deliberate allocations of the variant that proves a test can fail. */
    static final int LEAK_ROUNDS = 3;
    private static final int DIRTY_ROUNDS_SHOWN = 8;

    /** The deliberate allocations go here, so that no compiler can remove them. */
    static volatile Object sink;

    private AllocationMeter() {
    }

    /**
     * A measurement: {@code bytes} allocated in the last window measured ({@code windows} of them),
     * of {@code calls} calls over {@code rounds} rounds, after {@code warmUpRounds} rounds of
     * warm-up; {@code warm} is false when no warm-up round was clean (then bytes are those of the
     * last warm-up round); {@code dirtyRounds} names the first rounds of that window that
     * allocated, and how much.
     */
    public record Window(long bytes, long calls, int rounds, int windows, int warmUpRounds, boolean warm, String dirtyRounds) {
        @Override
        public String toString() {
            if (!warm) return "no clean round in " + warmUpRounds + " rounds of warm-up; the last allocated " + bytes + " bytes";
            return (bytes == 0 ? "0 bytes allocated in " : (windows == 1 ? "" : "every one of " + windows + " windows allocated; the last: ") + bytes + " bytes in ")
                    + calls + " calls (" + rounds + " rounds) after " + warmUpRounds + " rounds of warm-up"
                    + (dirtyRounds.isEmpty() ? "" : " (" + dirtyRounds + ")");
        }
    }

    /**
     * Bytes per call of {@code body} over one round of {@code iterations} calls after {@code warmup}
     * calls: a figure to print for a path that is allowed to allocate, not a proof of anything.
     */
    public static double bytesPerCall(int warmup, int iterations, Runnable body) {
        for (int i = 0; i < warmup; i++) body.run();
        return (double) round(iterations, body) / iterations;
    }

    /**
     * Fails unless {@code body} allocates nothing once warm (the class comment's rule); then fails
     * too unless the same measurement fails a variant of {@code body} that allocates one object
     * every {@link #LEAK_ROUNDS} rounds: the proof that this test can fail.
     */
    public static void assertNoAllocation(String what, int warmup, int iterations, Runnable body) {
        Window w = measure(warmup, iterations, body);
        if (!w.warm() || w.bytes() != 0) fail(what + ": " + w);
        // one window is enough: an allocation every LEAK_ROUNDS rounds recurs in every window after it
        Window leak = measure(0, iterations, allocatingEvery((long) LEAK_ROUNDS * iterations, body), WARM_UP_NANOS, 1);
        if (!leak.warm() || leak.bytes() == 0) {
            fail(what + ": the measurement cannot fail: one object allocated every " + LEAK_ROUNDS * (long) iterations
                    + " calls went unseen (" + leak + ")");
        }
    }

    /** {@code body}, plus one object allocated (and published, so it cannot be optimised away) every {@code calls} calls. */
    public static Runnable allocatingEvery(long calls, Runnable body) {
        long[] n = {0};
        return () -> {
            body.run();
            if (++n[0] == calls) {
                n[0] = 0;
                sink = new Object();
            }
        };
    }

    /** The class comment's rule. */
    public static Window measure(int warmup, int iterations, Runnable body) {
        return measure(warmup, iterations, body, WARM_UP_NANOS, WINDOWS);
    }

    static Window measure(int warmup, int iterations, Runnable body, long warmUpNanos, int maxWindows) {
        if (iterations < 1) throw new IllegalArgumentException("iterations: " + iterations + ", must be 1 or more");
        for (int i = 0; i < warmup; i++) body.run();
        long giveUp = System.nanoTime() + warmUpNanos;
        int warmUpRounds = 0;
        long last;
        do {
            last = round(iterations, body);
            warmUpRounds++;
        } while (last != 0 && System.nanoTime() - giveUp < 0);
        if (last != 0) return new Window(last, iterations, 1, 0, warmUpRounds, false, "");
        long[] dirty = new long[2 * DIRTY_ROUNDS_SHOWN]; // (round, bytes) of a window's first rounds that allocated; made outside any window
        Window w = null;
        for (int windows = 1; windows <= maxWindows && (w == null || w.bytes() != 0); windows++) {
            w = window(iterations, body, dirty, windows, warmUpRounds);
        }
        return w;
    }

    /** One window: the very rounds warm-up ran (same compiled code), back to back, added up. */
    private static Window window(int iterations, Runnable body, long[] dirty, int windows, int warmUpRounds) {
        int nDirty = 0, rounds = 0;
        long start = System.nanoTime(), calls = 0, bytes = 0;
        while (rounds < WINDOW_ROUNDS || calls < WINDOW_CALLS && System.nanoTime() - start < WINDOW_NANOS) {
            long b = round(iterations, body);
            if (b != 0 && nDirty < DIRTY_ROUNDS_SHOWN) {
                dirty[2 * nDirty] = rounds;
                dirty[2 * nDirty++ + 1] = b;
            }
            bytes += b;
            calls += iterations;
            rounds++;
        }
        StringBuilder which = new StringBuilder();
        for (int i = 0; i < nDirty; i++) which.append(i == 0 ? "" : ", ").append("round ").append(dirty[2 * i]).append(": ").append(dirty[2 * i + 1]);
        return new Window(bytes, calls, rounds, windows, warmUpRounds, true, which.toString());
    }

    /** Bytes allocated by one round of {@code iterations} calls. */
    private static long round(int iterations, Runnable body) {
        long before = MX.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < iterations; i++) body.run();
        return MX.getCurrentThreadAllocatedBytes() - before;
    }
}
