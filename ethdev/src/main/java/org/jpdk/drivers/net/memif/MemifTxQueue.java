package org.jpdk.drivers.net.memif;

import org.jpdk.ethdev.TxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.sys.Libc;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What every memif transmit queue shares: the connection's {@link RingView}, handed over as
 * {@link MemifRxQueue} explains, and the kick of the peer after a burst: one eventfd write, only
 * when the burst moved packets and the peer has not masked the ring, after a full fence so that a
 * peer that unmasks and then looks at the ring cannot miss both the packets and the signal.
 */
abstract class MemifTxQueue extends TxQueue {
    private static final VarHandle VIEW, SEQ;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            VIEW = l.findVarHandle(MemifTxQueue.class, "view", RingView.class);
            SEQ = l.findVarHandle(MemifTxQueue.class, "seq", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final MemifDevice dev;
    final int index;
    private RingView view;
    private int seq;

    MemifTxQueue(MemifDevice dev, int index) {
        this.dev = dev;
        this.index = index;
    }

    @Override
    public final int txBurst(Mbuf[] pkts, int off, int n) {
        int s = seq;
        SEQ.setOpaque(this, s + 1);
        VarHandle.fullFence(); // StoreLoad: the odd sequence before the load of the view (pairs with detach)
        RingView v = null;
        try {
            v = (RingView) VIEW.getAcquire(this);
            if (v == null || v.faulted || n <= 0) return 0;
            int k = transmit(v, pkts, off, n);
            if (k > 0) kick(v);
            return k;
        } catch (RuntimeException | InternalError e) { // the ring's memory itself failed before anything was taken
            return v == null ? 0 : fault(v, "peer memory failed (" + e + ")", 0);
        } finally {
            SEQ.setRelease(this, s + 2);
        }
    }

    /** Sends into the ring of {@code v}; returns how many of {@code pkts[off..)} it took (and freed or holds). */
    abstract int transmit(RingView v, Mbuf[] pkts, int off, int n);

    /** Signals the peer unless it masked the ring. */
    private static void kick(RingView v) {
        VarHandle.fullFence(); // StoreLoad: the published counter before the read of the peer's mask
        try {
            if ((MemifRing.flags(v.ring) & MemifRing.FLAG_MASK_INT) == 0) Libc.writeNoErrno(v.eventFd, MemifRxQueue.ONE, 8);
        } catch (RuntimeException | InternalError e) {
            // the memory went away under us: the control thread is disconnecting
        }
    }

    /** As {@link MemifRxQueue#fault}. */
    final int fault(RingView v, String why, int sent) {
        if (!v.faulted) {
            v.faulted = true;
            dev.fault(v.what + ": " + why);
        }
        return sent;
    }

    /** Frees what the queue holds in {@code v} (zero-copy: mbufs the peer has not consumed); the lcore has left it. */
    void releaseView(RingView v) {
    }

    // ---- control thread, as MemifRxQueue

    final void attach(RingView v) {
        VIEW.setRelease(this, v);
    }

    final RingView detach(long waitNanos) {
        RingView v = (RingView) VIEW.getAndSet(this, null);
        if (v == null) return null;
        int s = (int) SEQ.getVolatile(this);
        long deadline = System.nanoTime() + waitNanos;
        while ((s & 1) != 0 && (int) SEQ.getVolatile(this) == s && System.nanoTime() - deadline < 0) Thread.onSpinWait();
        return v;
    }


    @Override
    protected void release() {
        dev.queueReleased(this);
    }
}
