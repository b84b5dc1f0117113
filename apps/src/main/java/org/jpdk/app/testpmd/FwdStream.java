package org.jpdk.app.testpmd;

import org.jpdk.ethdev.EthDev;
import org.jpdk.mbuf.Mbuf;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One forwarding stream (testpmd's {@code struct fwd_stream}): receive from (rxPort, rxQueue),
 * transmit to (txPort, txQueue). Exactly one forwarding lcore runs a stream; it alone writes the
 * counters (opaque stores), which the control thread reads for the statistics.
 */
public final class FwdStream {
    private static final VarHandle RX, TX, DROPPED, BAD_IP, BAD_L4;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RX = l.findVarHandle(FwdStream.class, "rxPackets", long.class);
            TX = l.findVarHandle(FwdStream.class, "txPackets", long.class);
            DROPPED = l.findVarHandle(FwdStream.class, "fwdDropped", long.class);
            BAD_IP = l.findVarHandle(FwdStream.class, "rxBadIpCsum", long.class);
            BAD_L4 = l.findVarHandle(FwdStream.class, "rxBadL4Csum", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // padding: streams of different lcores are allocated side by side
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;

    public final EthDev rxPort, txPort;
    public final int rxQueue, txQueue;
    public final FwdConfig cfg;
    /** The burst array, {@link FwdConfig#MAX_PKT_BURST} long. */
    public final Mbuf[] pkts = new Mbuf[FwdConfig.MAX_PKT_BURST];
    /** Per-stream state an engine prepares in {@link FwdEngine#streamBegin} (templates, flow counters). */
    public Object engineState;

    private long rxPackets, txPackets, fwdDropped, rxBadIpCsum, rxBadL4Csum;

    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;

    public FwdStream(EthDev rxPort, int rxQueue, EthDev txPort, int txQueue, FwdConfig cfg) {
        this.rxPort = rxPort;
        this.rxQueue = rxQueue;
        this.txPort = txPort;
        this.txQueue = txQueue;
        this.cfg = cfg;
    }

    /** Receives up to {@code cfg.burst} packets into {@link #pkts} and counts them. */
    public int rxBurst() {
        int n = rxPort.rxBurst(rxQueue, pkts, 0, cfg.burst);
        if (n > 0) RX.setOpaque(this, rxPackets + n);
        return n;
    }

    /**
     * Transmits {@code pkts[0..n)}, counts what was sent, frees and counts as dropped what was
     * not (testpmd without --tx-retry). Returns the number sent.
     */
    public int txBurst(int n) {
        if (n <= 0) return 0;
        int sent = txPort.txBurst(txQueue, pkts, 0, n);
        TX.setOpaque(this, txPackets + sent);
        if (sent < n) {
            DROPPED.setOpaque(this, fwdDropped + (n - sent));
            Mbuf.freeBulk(pkts, sent, n - sent);
        }
        return sent;
    }

    /** Counts received packets with a bad IPv4 header checksum (csum mode). */
    public void countBadIpCsum(int n) {
        BAD_IP.setOpaque(this, rxBadIpCsum + n);
    }

    public void countBadL4Csum(int n) {
        BAD_L4.setOpaque(this, rxBadL4Csum + n);
    }

    /** Counts packets an engine dropped itself (freed without sending). */
    public void countDropped(int n) {
        DROPPED.setOpaque(this, fwdDropped + n);
    }

    public long rxPackets() {
        return (long) RX.getOpaque(this);
    }

    public long txPackets() {
        return (long) TX.getOpaque(this);
    }

    public long fwdDropped() {
        return (long) DROPPED.getOpaque(this);
    }

    public long rxBadIpCsum() {
        return (long) BAD_IP.getOpaque(this);
    }

    public long rxBadL4Csum() {
        return (long) BAD_L4.getOpaque(this);
    }

    @Override
    public String toString() {
        return "RX P=" + rxPort.id() + "/Q=" + rxQueue + " -> TX P=" + txPort.id() + "/Q=" + txQueue;
    }
}
