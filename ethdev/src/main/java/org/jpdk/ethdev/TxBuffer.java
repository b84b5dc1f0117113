package org.jpdk.ethdev;

import org.jpdk.mbuf.Mbuf;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Packets waiting to be sent on one tx queue, sent as one burst when the buffer is full or when
 * the app flushes it (DPDK's {@code rte_eth_tx_buffer}). What the port refuses is freed and
 * counted as dropped (DPDK's default error callback with the count variant). An app that buffers
 * for several ports flushes all its buffers when a drain period (l2fwd's ~100 µs) has passed, so
 * a trickle of packets never waits longer than that.
 * <p>
 * One lcore uses a buffer; it alone writes the counters, with opaque stores, and other threads
 * read them ({@link #sent()}, {@link #dropped()}) for statistics. Allocates nothing after
 * construction.
 */
public final class TxBuffer {
    private static final VarHandle SENT, DROPPED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            SENT = l.findVarHandle(TxBuffer.class, "sent", long.class);
            DROPPED = l.findVarHandle(TxBuffer.class, "dropped", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final EthDev port;
    private final int queue;
    private final Mbuf[] pkts;
    private int length;
    private long sent, dropped;

    /** A buffer of {@code size} packets for tx queue {@code queue} of {@code port}. */
    public TxBuffer(EthDev port, int queue, int size) {
        if (size < 1) throw new IllegalArgumentException("tx buffer for port " + port.id() + ": size " + size + ": allowed 1 or more");
        this.port = port;
        this.queue = queue;
        this.pkts = new Mbuf[size];
    }

    /** Adds {@code m}; when that fills the buffer, sends it. Returns the packets sent by this call. */
    public int buffer(Mbuf m) {
        pkts[length++] = m;
        return length == pkts.length ? flush() : 0;
    }

    /** Sends what is buffered; frees and counts what the port refuses. Returns the packets sent. */
    public int flush() {
        int n = length;
        if (n == 0) return 0;
        length = 0;
        int k = port.txBurst(queue, pkts, 0, n);
        SENT.setOpaque(this, sent + k);
        if (k < n) {
            Mbuf.freeBulk(pkts, k, n - k);
            DROPPED.setOpaque(this, dropped + (n - k));
        }
        return k;
    }

    /** Packets waiting. */
    public int length() {
        return length;
    }

    public EthDev port() {
        return port;
    }

    /** Packets the port took, since construction; from any thread. */
    public long sent() {
        return (long) SENT.getOpaque(this);
    }

    /** Packets the port refused, freed, since construction; from any thread. */
    public long dropped() {
        return (long) DROPPED.getOpaque(this);
    }
}
