package org.jpdk.app.testpmd;

import org.jpdk.ethdev.EthDev;

/**
 * A forwarding mode (testpmd's {@code struct fwd_engine}): io, mac, macswap, rxonly, txonly,
 * flowgen, csum, 5tswap, icmpecho. The forwarding lcores call {@link #forward} for each of their
 * streams in turn until stopped; it must allocate nothing and never block.
 */
public interface FwdEngine {
    /** The name {@code --forward-mode} and {@code set fwd} take. */
    String name();

    /** Before forwarding starts, once per port in use, on the control thread. */
    default void portBegin(EthDev port, FwdConfig cfg) {
    }

    /** Before forwarding starts, once per stream, on the control thread (prepare per-stream state). */
    default void streamBegin(FwdStream fs) {
    }

    /** One pass over the stream on its forwarding lcore: receive a burst, work on it, transmit. */
    void forward(FwdStream fs);
}
