package org.jpdk.app.testpmd;

/**
 * One forwarding lcore (testpmd's {@code struct fwd_lcore}): the streams it polls, in a final
 * array, and the engine, in a final field. {@link #run()} is DPDK's {@code run_pkt_fwd_on_lcore}:
 * one {@code engine.forward(stream)} per stream, then one volatile read of {@link #stopped} per
 * pass. It allocates nothing and reads no clock; the control thread sets {@code stopped} and waits
 * for the lcore to return.
 */
final class FwdLcore {
    final int lcoreId;
    final FwdStream[] streams;
    final FwdEngine engine;
    private volatile boolean stopped;

    FwdLcore(int lcoreId, FwdStream[] streams, FwdEngine engine) {
        this.lcoreId = lcoreId;
        this.streams = streams;
        this.engine = engine;
    }

    /** Forwards until {@link #stop()}; always at least one pass. */
    int run() {
        final FwdStream[] s = streams;
        final FwdEngine e = engine;
        do {
            for (FwdStream fs : s) e.forward(fs);
        } while (!stopped);
        return 0;
    }

    /** One pass of {@code other} over the streams (--tx-first runs txonly once this way). */
    int runOnce(FwdEngine other) {
        for (FwdStream fs : streams) other.forward(fs);
        return 0;
    }

    void stop() {
        stopped = true;
    }

    boolean stopped() {
        return stopped;
    }
}
