package org.jpdk.ethdev;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.sys.EventFd;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One receive queue of a port, as a driver implements it. {@link #rxBurst} fills
 * {@code pkts[off..)} with up to {@code n} received mbufs and returns how many; the caller owns
 * them. Only one lcore polls a queue at a time, and that lcore alone writes the counters, with
 * opaque stores (plain moves on x86, but never dropped or hoisted out of the polling loop); other
 * threads read them for statistics and never write them (a reset is a baseline kept by the reader).
 * <p>
 * Rx interrupts ({@link EthDev#rxIntrEnable}): a queue with a file descriptor of its own returns it
 * from {@link #interruptFd()}. For one without, ethdev gives the queue an eventfd and arms it on
 * enable; the driver makes it fire in two ways. {@link #rxPending()} says whether packets are
 * waiting right now (ethdev asks it just after arming, so packets that came before the arm are
 * never missed), and a producer that adds packets from another thread calls {@link #rxInterrupt()}
 * after adding them. The two form a Dekker pair: the lcore stores the armed flag, fences, then
 * looks for packets; the producer publishes the packets, fences, then reads the flag. With a full
 * fence on both sides at least one of them sees the other's store, so either the lcore finds the
 * packets before it sleeps or the producer finds the flag and signals the eventfd.
 */
public abstract class RxQueue extends QueuePad {
    private static final VarHandle PACKETS, BYTES, ERRORS, NOMBUF, MISSED, ARMED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PACKETS = l.findVarHandle(RxQueue.class, "packets", long.class);
            BYTES = l.findVarHandle(RxQueue.class, "bytes", long.class);
            ERRORS = l.findVarHandle(RxQueue.class, "errors", long.class);
            NOMBUF = l.findVarHandle(RxQueue.class, "nombuf", long.class);
            MISSED = l.findVarHandle(RxQueue.class, "missed", long.class);
            ARMED = l.findVarHandle(RxQueue.class, "intrArmed", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long packets, bytes, errors, nombuf, missed;
    /** The port id and queue index, set by {@link EthDev} when the queue is set up. */
    protected int portId, queueId;
    volatile RxCallback[] callbacks;
    // rx interrupts; set up by EthDev under the port lock, armed and disarmed by the polling lcore
    private int intrArmed;          // 1 while armed (eventfd queues): written by the lcore, cleared by a producer's CAS
    EventFd intrEvent;              // ethdev's eventfd when interruptFd() is -1; created on first use
    int intrFd = -1;                // the fd epoll watches: interruptFd() or intrEvent's
    RxWaitSet waitSet;              // the wait set this queue is in, or null
    int waitSlot;                   // its slot there
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

    /**
     * Whether a burst now would receive something, asked just after interrupts are armed on a
     * queue without a file descriptor (it must read the producer's published state with acquire
     * semantics or stronger; ethdev has fenced before the call). Default: false, for a queue that
     * only wakes through {@link #rxInterrupt()}. A queue that always has packets returns true.
     */
    protected boolean rxPending() {
        return false;
    }

    /**
     * For a producer on another thread, after it made packets available to this queue (with a
     * release store or stronger): fences, and if interrupts are armed, disarms them and signals the
     * queue's eventfd so that a sleeping lcore wakes. Allocates nothing; one syscall only when armed.
     */
    protected final void rxInterrupt() {
        VarHandle.fullFence(); // StoreLoad: the packets' publication before the read of the flag
        if ((int) ARMED.getOpaque(this) == 0 || !ARMED.compareAndSet(this, 1, 0)) return;
        EventFd e = intrEvent;
        if (e != null) InterruptCalls.eventfdSignal(e.fd()); // EventFd.signal would allocate (see InterruptCalls)
    }

    /** Arms interrupts (eventfd queues): store, fence, then look, pairing with {@link #rxInterrupt()}. */
    final void armInterrupt() {
        ARMED.setVolatile(this, 1);
        VarHandle.fullFence(); // StoreLoad: the flag before the look at the producer's state
        if (rxPending()) rxInterrupt();
    }

    final void disarmInterrupt() {
        ARMED.setOpaque(this, 0);
    }

    final boolean interruptArmed() {
        return (int) ARMED.getVolatile(this) != 0;
    }

    /** Gives the queue its interrupt fd on first use: its own ({@link #interruptFd()}) or a new eventfd. Port lock held. */
    final int interruptSetUp() {
        if (intrFd < 0) {
            int own = interruptFd();
            if (own >= 0) {
                intrFd = own;
            } else {
                intrEvent = new EventFd();
                intrFd = intrEvent.fd();
            }
        }
        return intrFd;
    }

    /**
     * Arms the interrupt for the polling lcore (rte_eth_dev_rx_intr_enable). A queue with an fd of
     * its own was armed one-shot in its wait set and is re-armed there; the others take the
     * store-fence-look of {@link #armInterrupt()}.
     */
    final void enableInterrupt() {
        if (intrEvent == null && intrFd >= 0) {
            RxWaitSet ws = waitSet;
            if (ws != null) ws.rearm(this);
        } else {
            armInterrupt();
        }
    }

    /** Takes the queue out of its wait set and closes ethdev's eventfd, when the queue is released. Port lock held. */
    final void releaseInterrupt() {
        RxWaitSet ws = waitSet;
        if (ws != null) ws.detach(this);
        disarmInterrupt();
        if (intrEvent != null) {
            intrEvent.close();
            intrEvent = null;
        }
        intrFd = -1;
    }

    /** Appends a callback; copy-on-write, so a burst in progress sees the old or the new array. Port lock held. */
    final void addCallback(RxCallback cb) {
        RxCallback[] cur = callbacks;
        RxCallback[] next = cur == null ? new RxCallback[1] : Arrays.copyOf(cur, cur.length + 1);
        next[next.length - 1] = cb;
        callbacks = next;
    }

    /** Removes a callback; false if it was not there. Port lock held. */
    final boolean removeCallback(RxCallback cb) {
        RxCallback[] cur = callbacks;
        if (cur == null) return false;
        List<RxCallback> l = new ArrayList<>(Arrays.asList(cur));
        if (!l.remove(cb)) return false;
        callbacks = l.isEmpty() ? null : l.toArray(new RxCallback[0]);
        return true;
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
