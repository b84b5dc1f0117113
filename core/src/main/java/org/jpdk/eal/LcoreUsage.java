package org.jpdk.eal;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * How busy an lcore is, as DPDK 23.x's {@code rte_lcore_usage}: the time its forwarding loop ran
 * ({@code total}) and the part of it spent in passes that moved packets ({@code busy}), both in
 * nanoseconds. The two counters live in an {@link LcoreCounters} (written by the lcore alone, read
 * by telemetry). Loops {@linkplain #start register} their usage per lcore; readers find it with
 * {@link #of}. A loop reports its passes in one of two ways:
 * <ul>
 * <li>{@link #record}, at a clock reading the loop takes anyway (l2fwd's drain timer, a pass that
 *     may sleep): it charges the time since the previous reading to total, and to busy as well when
 *     the pass moved packets. Exact.</li>
 * <li>{@link #pass}, for a busy-polling loop that reads no clock of its own (testpmd's, as DPDK's
 *     {@code run_pkt_fwd_on_lcore} without {@code --record-core-cycles}): the clock is read once
 *     every {@value #SAMPLE} passes, and the time since the last reading is charged to busy in the
 *     proportion of those passes that moved packets. A clock read (some 20 ns through the vDSO)
 *     per pass of one burst cost testpmd's io mode over net_null about a sixth of its rate
 *     (docs/benchmarks.md); one per {@value #SAMPLE} passes does not show. Exact when a window is all busy or all
 *     idle, as under load or at rest; a mixed window is an estimate that takes every pass in it to
 *     be as long (busy passes are longer, so it reads low).</li>
 * </ul>
 */
public final class LcoreUsage {
    private static final int BUSY = 0, TOTAL = 1;
    private static final AtomicReferenceArray<LcoreUsage> BY_LCORE = new AtomicReferenceArray<>(Lcore.MAX);

    /** Passes per clock reading in {@link #pass}; a power of two. */
    public static final int SAMPLE = 64;

    private final LcoreCounters c = new LcoreCounters(2);
    private long last;
    private int passes, busyPasses;

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
        u.passes = u.busyPasses = 0;
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

    /**
     * One pass of a loop that reads no clock itself, {@code busy} when it moved packets: counted,
     * and every {@value #SAMPLE} passes the clock is read and the window charged (see the class
     * comment). From the owning lcore only; allocates nothing, no fence.
     */
    public void pass(boolean busy) {
        if (busy) busyPasses++;
        if (++passes == SAMPLE) charge(System.nanoTime());
    }

    /** Charges the passes counted since the last reading up to {@code now}; call when the loop ends. */
    public void flush(long now) {
        if (passes > 0) charge(now);
    }

    private void charge(long now) {
        long d = now - last;
        last = now;
        c.add(TOTAL, d);
        int b = busyPasses, n = passes;
        if (b == n) c.add(BUSY, d);
        else if (b > 0) c.add(BUSY, d * b / n);
        passes = busyPasses = 0;
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
