package org.jpdk.eal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * A fixed set of 64-bit counters that one lcore writes and any thread reads: an app's per-lcore
 * statistics (packets received, dropped by cause, ...). The writer adds with a plain read and an
 * opaque store (no fence, no lock prefix: only it writes), readers load opaque, so a reader sees
 * each counter move forward, never torn, and the writer's loop keeps its stores.
 * <pre>
 *   long[16]   pad: keeps the counters off a neighbour's cache lines (128 bytes, two lines)
 *   long[n]    counter 0 .. n-1, packed: all written by the same lcore
 *   long[16]   pad
 * </pre>
 * Allocates nothing after construction.
 */
public final class LcoreCounters {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int PAD = 16;

    private final long[] c;
    private final int n;

    /** {@code n} counters, all zero. */
    public LcoreCounters(int n) {
        if (n < 1) throw new IllegalArgumentException("counters: n=" + n + ": allowed 1 or more");
        this.n = n;
        this.c = new long[n + 2 * PAD];
    }

    /** How many counters there are. */
    public int size() {
        return n;
    }

    /** Adds {@code v} to counter {@code i}; from the owning lcore only. */
    public void add(int i, long v) {
        int k = PAD + Objects.checkIndex(i, n); // one compare; the array check alone would let i stray into the pad
        LONGS.setOpaque(c, k, c[k] + v);
    }

    /** Sets counter {@code i}; from the owning lcore only. */
    public void set(int i, long v) {
        LONGS.setOpaque(c, PAD + Objects.checkIndex(i, n), v);
    }

    /** Counter {@code i}, from any thread. */
    public long get(int i) {
        return (long) LONGS.getOpaque(c, PAD + Objects.checkIndex(i, n));
    }
}
