package org.jpdk.drivers.net.vhost;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The handover of a {@link VringView} between the control thread and the lcore that polls a
 * queue, as memif's queues do it. The control thread publishes a view with a release store and
 * takes it away with a volatile swap, then waits until the lcore is out of any burst that may
 * still hold it before unmapping the memory behind it. The lcore brackets each burst with a
 * sequence number (odd inside) and a full fence after making it odd, so that it either sees the
 * null or the control thread sees the odd number and waits for it to change (a Dekker pair; one
 * fence per burst). Should a burst outlast the wait, the unmap closes the memory's arena and the
 * late access throws, which the burst turns into a fault: never a fault of the process.
 */
final class VringSlot {
    private static final VarHandle VIEW, SEQ;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            VIEW = l.findVarHandle(VringSlot.class, "view", VringView.class);
            SEQ = l.findVarHandle(VringSlot.class, "seq", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private VringView view;
    private int seq;

    /** Lcore: enters a burst and returns the view (null when none). Pair with {@link #exit()} in a finally. */
    VringView enter() {
        SEQ.setOpaque(this, seq + 1);
        VarHandle.fullFence(); // StoreLoad: the odd sequence before the load of the view (pairs with detach)
        return (VringView) VIEW.getAcquire(this);
    }

    void exit() {
        SEQ.setRelease(this, seq + 1);
    }

    /** Control: publishes {@code v}. */
    void attach(VringView v) {
        VIEW.setRelease(this, v);
    }

    /** The published view, for the control thread's look (no handover). */
    VringView peek() {
        return (VringView) VIEW.getAcquire(this);
    }

    /** Control: takes the view away and waits up to {@code waitNanos} for the lcore to leave its burst; returns it or null. */
    VringView detach(long waitNanos) {
        VringView v = (VringView) VIEW.getAndSet(this, null);
        if (v == null) return null;
        int s = (int) SEQ.getVolatile(this);
        long deadline = System.nanoTime() + waitNanos;
        while ((s & 1) != 0 && (int) SEQ.getVolatile(this) == s && System.nanoTime() - deadline < 0) Thread.onSpinWait();
        return v;
    }
}
