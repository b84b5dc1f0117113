package org.jpdk.drivers.net.memif;

import org.jpdk.ethdev.RxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Epoll;
import org.jpdk.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * What every memif receive queue shares: the {@link RingView} of the current connection, the
 * handover of that view between the control thread and the polling lcore, and rx interrupts.
 *
 * <p>Handover: the control thread publishes a view with a release store and takes it away with a
 * volatile store of null, then waits until the lcore is out of any burst that may still hold the
 * old view, before it unmaps the memory behind it. The lcore brackets each burst with a sequence
 * number (odd inside) and a full fence after making it odd, so that it either sees the null or
 * the control thread sees the odd number and waits for it to change (a Dekker pair; one fence per
 * burst). Should an lcore stay in a burst longer than the control thread waits, the unmap closes
 * the view's arena and the late access throws, which the burst turns into a fault: never a
 * fault of the process.
 *
 * <p>Interrupts: the queue's interrupt fd is an epoll fd of its own, stable across connections,
 * that holds the current ring's eventfd. Enabling the interrupt unmasks the ring (the peer then
 * signals after each burst it produces), fences, and signals the eventfd itself if packets are
 * already there; disabling masks the ring again and drains the eventfd. A polling queue keeps its
 * ring masked, so the peer makes no syscall for it.
 */
abstract class MemifRxQueue extends RxQueue {
    private static final VarHandle VIEW, SEQ;
    static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            VIEW = l.findVarHandle(MemifRxQueue.class, "view", RingView.class);
            SEQ = l.findVarHandle(MemifRxQueue.class, "seq", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
        ONE.set(JAVA_LONG, 0, 1L);
    }

    final MemifDevice dev;
    final int index;
    final Mempool<Mbuf> pool;
    private final Epoll intr;
    private final MemorySegment drainCell = Arena.ofAuto().allocate(JAVA_LONG);
    private RingView view;
    private int seq;
    /** Whether the lcore wants interrupts now: a ring set up while it sleeps starts unmasked. */
    volatile boolean intrWanted;

    MemifRxQueue(MemifDevice dev, int index, Mempool<Mbuf> pool) {
        this.dev = dev;
        this.index = index;
        this.pool = pool;
        this.intr = new Epoll(1);
    }

    @Override
    public final int rxBurst(Mbuf[] pkts, int off, int n) {
        int s = seq;
        SEQ.setOpaque(this, s + 1);
        VarHandle.fullFence(); // StoreLoad: the odd sequence before the load of the view (pairs with detach)
        RingView v = null;
        try {
            v = (RingView) VIEW.getAcquire(this);
            if (v == null || v.faulted) return 0;
            return receive(v, pkts, off, n);
        } catch (RuntimeException | InternalError e) { // the ring's memory itself failed (receive frees what it took)
            return v == null ? 0 : fault(v, "peer memory failed (" + e + ")");
        } finally {
            SEQ.setRelease(this, s + 2);
        }
    }

    /** Receives from the ring of {@code v}; the lcore is inside the burst bracket. */
    abstract int receive(RingView v, Mbuf[] pkts, int off, int n);

    /**
     * A client offers its receive buffers as soon as it is connected, before any lcore polls, so
     * that the server can send at once (DPDK's client waits for its first poll). Control thread,
     * before {@link #attach}. Default: nothing (a server's rx ring is filled by the client).
     */
    void prime(RingView v) {
    }

    /** Frees what the queue holds in {@code v} (zero-copy: the posted mbufs); the lcore has left it. */
    void releaseView(RingView v) {
    }

    /**
     * The peer broke the protocol on this ring, or its memory went away under the burst: the ring
     * is not touched again and the control thread disconnects with {@code why}. Allocates (the
     * reason): once per connection at most.
     */
    final int fault(RingView v, String why) {
        if (!v.faulted) {
            v.faulted = true;
            dev.fault(v.what + ": " + why);
        }
        return 0;
    }

    @Override
    protected final int interruptFd() {
        return intr.fd();
    }

    @Override
    protected final void interruptEnabled() {
        intrWanted = true;
        int s = seq;
        SEQ.setOpaque(this, s + 1);
        VarHandle.fullFence();
        try {
            RingView v = (RingView) VIEW.getAcquire(this);
            if (v == null || v.faulted) return;
            MemifRing.flags(v.ring, 0);
            VarHandle.fullFence(); // StoreLoad: unmasked before the look (pairs with the producer's fence)
            if (pending(v)) Libc.writeNoErrno(v.eventFd, ONE, 8);
        } catch (RuntimeException | InternalError e) {
            // the memory went away: the control thread is disconnecting this ring anyway
        } finally {
            SEQ.setRelease(this, s + 2);
        }
    }

    @Override
    protected final void interruptDisabled() {
        intrWanted = false;
        int s = seq;
        SEQ.setOpaque(this, s + 1);
        VarHandle.fullFence();
        try {
            RingView v = (RingView) VIEW.getAcquire(this);
            if (v == null || v.faulted) return;
            MemifRing.flags(v.ring, MemifRing.FLAG_MASK_INT);
            Libc.readNoErrno(v.eventFd, drainCell, 8);
        } catch (RuntimeException | InternalError e) {
            // as above
        } finally {
            SEQ.setRelease(this, s + 2);
        }
    }

    /**
     * Appends {@code len} bytes at {@code at} of {@code src} to {@code frame}, whose last segment is
     * {@code last}, chaining mbufs of the queue's pool (without headroom) as needed; returns the new
     * last segment, or null when the pool ran dry or the chain would be too long (the caller frees
     * the frame). Allocates nothing on the heap.
     */
    final Mbuf copyIn(MemorySegment src, long at, int len, Mbuf frame, Mbuf last) {
        while (len > 0) {
            int room = last.tailroom();
            if (room == 0) {
                Mbuf seg = Mbuf.alloc(pool);
                if (seg == null) return null;
                seg.setData(0, 0);
                if (!frame.chain(seg)) {
                    seg.free();
                    return null;
                }
                last = seg;
                room = seg.tailroom();
            }
            int k = Math.min(len, room);
            MemorySegment.copy(src, at, last.buffer(), last.dataOff() + last.dataLen(), k);
            frame.appendOffset(k);
            at += k;
            len -= k;
        }
        return last;
    }

    /**
     * Frees a frame that will not be delivered; if it was the bulk-taken mbuf at
     * {@code pkts[off + got]}, that place gets a fresh one (or the last bulk-taken one moves there,
     * when the pool is dry). Returns the new count of bulk-taken mbufs.
     */
    final int drop(Mbuf frame, Mbuf[] pkts, int off, int got, int fresh) {
        frame.free();
        if (got >= fresh) return fresh;
        Mbuf again = Mbuf.alloc(pool);
        if (again != null) {
            pkts[off + got] = again;
            return fresh;
        }
        pkts[off + got] = pkts[off + fresh - 1];
        return fresh - 1;
    }

    /** Whether the ring has something to receive now (acquire of the producer's counter). */
    abstract boolean pending(RingView v);

    // ---- control thread

    /** Publishes {@code v}: its ring masked or not as the lcore wants, its eventfd in the interrupt set. */
    final void attach(RingView v) {
        MemifRing.flags(v.ring, intrWanted ? 0 : MemifRing.FLAG_MASK_INT);
        intr.add(v.eventFd, Epoll.EPOLLIN, 0);
        VIEW.setRelease(this, v);
    }

    /**
     * Takes the view away and waits (at most {@code waitNanos}) for the lcore to leave a burst that
     * may still use it; returns it (or null if none was attached). Control thread only.
     */
    final RingView detach(long waitNanos) {
        RingView v = (RingView) VIEW.getAndSet(this, null); // volatile: pairs with the burst's fence
        if (v == null) return null;
        int s = (int) SEQ.getVolatile(this);
        long deadline = System.nanoTime() + waitNanos;
        while ((s & 1) != 0 && (int) SEQ.getVolatile(this) == s && System.nanoTime() - deadline < 0) Thread.onSpinWait();
        intr.remove(v.eventFd);
        return v;
    }


    @Override
    protected void release() {
        dev.queueReleased(this);
        intr.close();
    }
}
