package org.jpdk.eal;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * How busy an lcore is, as DPDK 23.x's {@code rte_lcore_usage}: the time its forwarding loop ran
 * ({@code total}) and the part of it spent in passes that moved packets ({@code busy}), both in
 * nanoseconds. The loop that owns the lcore records one pass at a time, at a clock reading it
 * takes anyway (one per pass, never one per packet): {@link #record} charges the time since the
 * previous reading to total, and to busy as well when the previous pass moved packets. The two
 * counters live in an {@link LcoreCounters} (written by the lcore alone, read by telemetry).
 * Loops {@linkplain #start register} their usage per lcore; readers find it with {@link #of}.
 */
public final class LcoreUsage {
    private static final int BUSY = 0, TOTAL = 1;
    private static final AtomicReferenceArray<LcoreUsage> BY_LCORE = new AtomicReferenceArray<>(Lcore.MAX);

    private final LcoreCounters c = new LcoreCounters(2);
    private long last;

    private LcoreUsage(long now) {
        last = now;
    }

    /**
     * The usage of {@code lcoreId}, its clock restarted at {@code now} (System.nanoTime): the counts
     * go on from the previous run (as DPDK's, they count since the app started), the time between
     * runs is not charged. Call on the lcore before its first pass; allocates only the first time.
     */
    public static LcoreUsage start(int lcoreId, long now) {
        if (lcoreId < 0 || lcoreId >= Lcore.MAX) return new LcoreUsage(now); // not an lcore: counted, not reported
        LcoreUsage u = BY_LCORE.get(lcoreId);
        if (u == null) {
            u = new LcoreUsage(now);
            if (!BY_LCORE.compareAndSet(lcoreId, null, u)) u = BY_LCORE.get(lcoreId);
        }
        u.last = now;
        return u;
    }

    /** The usage last started on {@code lcoreId}, or null if no forwarding loop ran there. */
    public static LcoreUsage of(int lcoreId) {
        return lcoreId >= 0 && lcoreId < Lcore.MAX ? BY_LCORE.get(lcoreId) : null;
    }

    /**
     * Charges the time since the last reading to total, and to busy when {@code busy} (the pass
     * that just ended moved packets). From the owning lcore only; allocates nothing, no fence.
     */
    public void record(long now, boolean busy) {
        long d = now - last;
        last = now;
        c.add(TOTAL, d);
        if (busy) c.add(BUSY, d);
    }

    /** Nanoseconds of passes that moved packets; from any thread. Read it before {@link #totalNanos()}, which then is never below it. */
    public long busyNanos() {
        return c.get(BUSY);
    }

    /** Nanoseconds the loop ran; from any thread. */
    public long totalNanos() {
        return c.get(TOTAL);
    }
}
