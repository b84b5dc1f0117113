package org.jpdk.drivers.net.virtio;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The handover of a queue's current ring between the port's control thread, which attaches a
 * ring at connect and takes it away at disconnect, and the lcore that polls the queue. The lcore
 * brackets each burst with a sequence number (odd inside) and a full fence after making it odd;
 * the control thread stores null, fences, and waits for an odd sequence to move on: the lcore
 * either sees the null or is seen inside, and is waited for (a Dekker pair, one fence per burst).
 * Only after that does the control thread free the mbufs the old ring held.
 */
final class RingSlot {
    private static final VarHandle RING, SEQ;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RING = l.findVarHandle(RingSlot.class, "ring", Vring.class);
            SEQ = l.findVarHandle(RingSlot.class, "seq", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Vring ring;
    private int seq;

    /** Lcore: enters a burst and returns the current ring, or null; pair with {@link #exit}. */
    Vring enter() {
        SEQ.setOpaque(this, seq + 1);
        VarHandle.fullFence(); // StoreLoad: the odd sequence before the load of the ring (pairs with detach)
        return (Vring) RING.getAcquire(this);
    }

    /** Lcore: leaves the burst. */
    void exit() {
        SEQ.setRelease(this, seq + 1);
    }

    /** Control thread: the lcore's next burst uses {@code r}. */
    void attach(Vring r) {
        RING.setRelease(this, r);
    }

    /** The ring attached now (control thread, for reading counters). */
    Vring current() {
        return (Vring) RING.getAcquire(this);
    }

    /**
     * Control thread: takes the ring away and waits up to {@code nanos} for the lcore to leave a
     * burst that may still use it. Returns the old ring when the lcore is out (the caller may free
     * what it holds), or null when there was none or the lcore did not leave in time.
     */
    Vring detach(long nanos) {
        Vring old = (Vring) RING.getAndSet(this, (Vring) null);
        VarHandle.fullFence();
        int s = (int) SEQ.getVolatile(this);
        if ((s & 1) != 0) {
            long deadline = System.nanoTime() + nanos;
            while ((int) SEQ.getVolatile(this) == s) {
                if (System.nanoTime() - deadline > 0) return null;
                Thread.onSpinWait();
            }
        }
        return old;
    }
}
