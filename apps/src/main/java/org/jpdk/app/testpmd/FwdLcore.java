package org.jpdk.app.testpmd;

import org.jpdk.eal.IdleStrategy;
import org.jpdk.eal.LcoreUsage;
import org.jpdk.ethdev.RxInterruptIdleStrategy;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * One forwarding lcore (testpmd's {@code struct fwd_lcore}): the streams it polls, in a final
 * array, and the engine, in a final field. {@link #run()} is DPDK's {@code run_pkt_fwd_on_lcore}:
 * one {@code engine.forward(stream)} per stream, then one volatile read of {@link #stopped} per
 * pass. With an idle strategy other than busy ({@code --rx-idle}, jpdk's), each pass also tells the
 * strategy how many packets the streams received and sent, and it backs off or sleeps on the rx
 * interrupts when that was none. It allocates nothing. Each pass is told to the lcore's
 * {@link LcoreUsage} (telemetry's {@code /eal/lcore/usage}), busy when the streams moved packets:
 * a busy-polling loop reads no clock of its own, so the usage reads one every
 * {@value LcoreUsage#SAMPLE} passes ({@link LcoreUsage#pass}); a loop with an idle strategy may
 * sleep in a pass and reads the clock each pass ({@link LcoreUsage#record}), which costs nothing
 * beside a sleep. The thread's CPU time and the wall time of the whole run are taken once before
 * and once after it, for the stop summary. The control thread sets {@code stopped} and waits for the lcore to return.
 */
final class FwdLcore {
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    final int lcoreId;
    final FwdStream[] streams;
    final FwdEngine engine;
    /** Null for busy polling (the loop then is exactly testpmd's). */
    final IdleStrategy idle;
    private volatile boolean stopped;
    private volatile long cpuNanos = -1, wallNanos;

    FwdLcore(int lcoreId, FwdStream[] streams, FwdEngine engine) {
        this(lcoreId, streams, engine, null);
    }

    FwdLcore(int lcoreId, FwdStream[] streams, FwdEngine engine, IdleStrategy idle) {
        this.lcoreId = lcoreId;
        this.streams = streams;
        this.engine = engine;
        this.idle = idle;
    }

    /** Forwards until {@link #stop()}; always at least one pass. */
    int run() {
        final FwdStream[] s = streams;
        final FwdEngine e = engine;
        final IdleStrategy is = idle;
        long cpu0 = MX.getCurrentThreadCpuTime(), t0 = System.nanoTime();
        final LcoreUsage u = LcoreUsage.start(lcoreId, t0);
        long last = packets(s);
        if (is == null) {
            do {
                for (FwdStream fs : s) e.forward(fs);
                long now = packets(s);
                u.pass(now != last);
                last = now;
            } while (!stopped);
            u.flush(System.nanoTime());
        } else {
            do {
                for (FwdStream fs : s) e.forward(fs);
                long now = packets(s);
                u.record(System.nanoTime(), now != last);
                is.idle((int) Math.min(now - last, Integer.MAX_VALUE));
                last = now;
            } while (!stopped);
        }
        wallNanos = System.nanoTime() - t0;
        cpuNanos = MX.getCurrentThreadCpuTime() - cpu0;
        return 0;
    }

    /** Packets the streams received and sent so far: the work an idle strategy is told of. */
    private static long packets(FwdStream[] s) {
        long n = 0;
        for (FwdStream fs : s) n += fs.rxPackets() + fs.txPackets();
        return n;
    }

    /** One pass of {@code other} over the streams (--tx-first runs txonly once this way). */
    int runOnce(FwdEngine other) {
        for (FwdStream fs : streams) other.forward(fs);
        return 0;
    }

    void stop() {
        stopped = true;
        if (idle instanceof RxInterruptIdleStrategy r) r.wakeup();
    }

    boolean stopped() {
        return stopped;
    }

    /** CPU time of the lcore's thread over its last run, -1 before a run ended. */
    long cpuNanos() {
        return cpuNanos;
    }

    /** Wall time of the last run. */
    long wallNanos() {
        return wallNanos;
    }

    /** Releases the idle strategy's resources (the interrupt wait set); after the lcore returned. */
    void close() {
        if (idle instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ex) {
                throw new IllegalStateException("lcore " + lcoreId + ": " + ex.getMessage(), ex);
            }
        }
    }
}
