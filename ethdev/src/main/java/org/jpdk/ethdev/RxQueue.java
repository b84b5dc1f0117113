package org.jpdk.ethdev;

import org.jpdk.mbuf.Mbuf;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One receive queue of a port, as a driver implements it. {@link #rxBurst} fills
 * {@code pkts[off..)} with up to {@code n} received mbufs and returns how many; the caller owns
 * them. Only one lcore polls a queue at a time, and that lcore alone writes the counters, with
 * opaque stores (plain moves on x86, but never dropped or hoisted out of the polling loop); other
 * threads read them for statistics and never write them (a reset is a baseline kept by the reader).
 */
public abstract class RxQueue extends QueuePad {
    private static final VarHandle PACKETS, BYTES, ERRORS, NOMBUF, MISSED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PACKETS = l.findVarHandle(RxQueue.class, "packets", long.class);
            BYTES = l.findVarHandle(RxQueue.class, "bytes", long.class);
            ERRORS = l.findVarHandle(RxQueue.class, "errors", long.class);
            NOMBUF = l.findVarHandle(RxQueue.class, "nombuf", long.class);
            MISSED = l.findVarHandle(RxQueue.class, "missed", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long packets, bytes, errors, nombuf, missed;
    /** The port id and queue index, set by {@link EthDev} when the queue is set up. */
    protected int portId, queueId;
    volatile RxCallback[] callbacks;
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;

    /**
     * Receives up to {@code n} packets into {@code pkts[off..off+n)}; returns how many. Never
     * blocks, allocates nothing. Each mbuf has {@code port} set to this port.
     */
    public abstract int rxBurst(Mbuf[] pkts, int off, int n);

    /**
     * The file descriptor that polls readable (POLLIN, level-triggered) while this queue has
     * packets to receive, for rx interrupt mode; -1 when the driver has none (then ethdev gives
     * the queue an eventfd that the driver signals). A socket or tap queue returns its fd.
     */
    protected int interruptFd() {
        return -1;
    }

    /** Frees what the queue holds (mbufs in flight, files); called once, when the queue is released. */
    protected void release() {
    }

    /** Counts received packets and bytes; from the polling lcore only. */
    protected final void countRx(long n, long nBytes) {
        PACKETS.setOpaque(this, packets + n);
        BYTES.setOpaque(this, bytes + nBytes);
    }

    /** Counts packets received in error (ierrors). */
    protected final void countErrors(long n) {
        ERRORS.setOpaque(this, errors + n);
    }

    /** Counts failed mbuf allocations (rx_nombuf). */
    protected final void countNombuf(long n) {
        NOMBUF.setOpaque(this, nombuf + n);
    }

    /** Counts packets the hardware (or peer) dropped because the queue was full (imissed). */
    protected final void countMissed(long n) {
        MISSED.setOpaque(this, missed + n);
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

    public final long nombuf() {
        return (long) NOMBUF.getOpaque(this);
    }

    public final long missed() {
        return (long) MISSED.getOpaque(this);
    }

    public final int portId() {
        return portId;
    }

    public final int queueId() {
        return queueId;
    }

    final int runCallbacks(RxCallback[] cbs, Mbuf[] pkts, int off, int n, int max) {
        for (RxCallback cb : cbs) n = cb.process(portId, queueId, pkts, off, n, max);
        return n;
    }
}
