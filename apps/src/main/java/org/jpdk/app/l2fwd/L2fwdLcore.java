package org.jpdk.app.l2fwd;

import org.jpdk.app.ForwardLoop;
import org.jpdk.eal.LcoreCounters;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.TxBuffer;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ether;

import java.util.List;

/**
 * One l2fwd lcore (lcore_queue_conf): its rx ports and, per rx port, the out port, the MACs to
 * write and a {@link TxBuffer}. A full buffer goes out at once; every buffer is flushed when
 * {@link #BURST_TX_DRAIN_NS} (~100 µs) passed since the last drain, so a trickle of packets is
 * never held back longer. One {@code System.nanoTime()} per pass; allocates nothing.
 */
final class L2fwdLcore extends ForwardLoop.Lcore {
    static final int MAX_PKT_BURST = 32;
    /** BURST_TX_DRAIN_US: a buffered packet waits at most about this long. */
    static final long BURST_TX_DRAIN_NS = 100_000;
    /** 02:00:00:00:00:00, the out port's number goes in the last byte. */
    static final long DST_MAC_BASE = 0x02_00_00_00_00_00L;

    final EthDev[] rxPorts;
    final TxBuffer[] tx;
    private final long[] dstMac, srcMac;
    private final boolean macUpdating;
    private final Mbuf[] burst = new Mbuf[MAX_PKT_BURST];
    /** Packets received per rx port slot, written by this lcore only. */
    final LcoreCounters received;
    private long prevDrain;

    L2fwdLcore(int lcoreId, List<EthDev> rx, int[] dstPorts, boolean macUpdating) {
        super(lcoreId);
        int n = rx.size();
        rxPorts = rx.toArray(new EthDev[0]);
        tx = new TxBuffer[n];
        dstMac = new long[n];
        srcMac = new long[n];
        received = new LcoreCounters(n);
        this.macUpdating = macUpdating;
        for (int i = 0; i < n; i++) {
            int dst = dstPorts[rxPorts[i].id()];
            EthDev out = EthDev.get(dst);
            tx[i] = new TxBuffer(out, 0, MAX_PKT_BURST);
            dstMac[i] = DST_MAC_BASE | dst;
            srcMac[i] = out.macAddr().value();
        }
    }

    @Override
    protected void begin(long now) {
        prevDrain = now;
    }

    /**
     * One pass (l2fwd_main_loop's body): drain the tx buffers if {@link #BURST_TX_DRAIN_NS} passed
     * since the last drain, then one rx burst per rx port, each packet rewritten and buffered for
     * its out port.
     */
    @Override
    protected int poll(long now) {
        if (now - prevDrain > BURST_TX_DRAIN_NS) {
            drain();
            prevDrain = now;
        }
        final Mbuf[] pkts = burst;
        int got = 0;
        for (int i = 0; i < rxPorts.length; i++) {
            int n = rxPorts[i].rxBurst(0, pkts, 0, MAX_PKT_BURST);
            if (n == 0) continue;
            received.add(i, n);
            got += n;
            TxBuffer out = tx[i];
            for (int j = 0; j < n; j++) {
                Mbuf m = pkts[j];
                if (macUpdating && m.dataLen() >= 2 * Ether.ADDR_LEN) Ether.setAddrs(m, dstMac[i], srcMac[i]);
                out.buffer(m);
            }
        }
        return got;
    }

    @Override
    protected void drain() {
        for (TxBuffer b : tx) b.flush();
    }
}
