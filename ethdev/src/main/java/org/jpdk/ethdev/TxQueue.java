package org.jpdk.ethdev;

import org.jpdk.mbuf.Mbuf;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One transmit queue of a port, as a driver implements it. {@link #txBurst} takes
 * {@code pkts[off..off+k)} for the returned {@code k <= n}: the driver owns (and eventually frees)
 * those, the caller keeps the rest. Counters follow {@link RxQueue}'s rule: written by the one
 * transmitting lcore with opaque stores, only read by others.
 */
public abstract class TxQueue extends QueuePad {
    private static final VarHandle PACKETS, BYTES, ERRORS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PACKETS = l.findVarHandle(TxQueue.class, "packets", long.class);
            BYTES = l.findVarHandle(TxQueue.class, "bytes", long.class);
            ERRORS = l.findVarHandle(TxQueue.class, "errors", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long packets, bytes, errors;
    /** The port id and queue index, set by {@link EthDev} when the queue is set up. */
    protected int portId, queueId;
    volatile TxCallback[] callbacks;
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;

    /**
     * Sends (takes ownership of) the first {@code k <= n} of {@code pkts[off..off+n)}; returns k.
     * Never blocks, allocates nothing.
     */
    public abstract int txBurst(Mbuf[] pkts, int off, int n);

    /** Frees what the queue holds; called once, when the queue is released. */
    protected void release() {
    }

    /** Counts sent packets and bytes; from the transmitting lcore only. */
    protected final void countTx(long n, long nBytes) {
        PACKETS.setOpaque(this, packets + n);
        BYTES.setOpaque(this, bytes + nBytes);
    }

    /** Counts packets that failed to send (oerrors). */
    protected final void countErrors(long n) {
        ERRORS.setOpaque(this, errors + n);
    }

    public final long packets() {
        return (long) PACKETS.getOpaque(this);
    }

    public final long bytes() {
        return (long) BYTES.getOpaque(this);
    }

    public final long errors() {
        return (long) ERRORS.getOpaque(this);
    }

    public final int portId() {
        return portId;
    }

    public final int queueId() {
        return queueId;
    }

    /** Appends a callback; copy-on-write, so a burst in progress sees the old or the new array. Port lock held. */
    final void addCallback(TxCallback cb) {
        TxCallback[] cur = callbacks;
        TxCallback[] next = cur == null ? new TxCallback[1] : Arrays.copyOf(cur, cur.length + 1);
        next[next.length - 1] = cb;
        callbacks = next;
    }

    /** Removes a callback; false if it was not there. Port lock held. */
    final boolean removeCallback(TxCallback cb) {
        TxCallback[] cur = callbacks;
        if (cur == null) return false;
        List<TxCallback> l = new ArrayList<>(Arrays.asList(cur));
        if (!l.remove(cb)) return false;
        callbacks = l.isEmpty() ? null : l.toArray(new TxCallback[0]);
        return true;
    }

    final int runCallbacks(TxCallback[] cbs, Mbuf[] pkts, int off, int n) {
        for (TxCallback cb : cbs) n = cb.process(portId, queueId, pkts, off, n);
        return n;
    }
}
