package org.jpdk.ethdev;

import org.jpdk.sys.Epoll;
import org.jpdk.sys.EventFd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * A set of receive queues, (port, queue) pairs, that one lcore sleeps on until one of them has
 * packets: DPDK's per-thread epoll fd filled by {@code rte_eth_dev_rx_intr_ctl_q} and waited on
 * with {@code rte_epoll_wait}. {@link #await} reports the ready queues through
 * {@link #readyPort}/{@link #readyQueue}, without allocating. The loop that uses it (see
 * {@link RxInterruptIdleStrategy}):
 * <pre>
 *   for each queue: port.rxIntrEnable(q)    arm (or re-arm) the queue's interrupt
 *   n = set.await(timeoutMillis)             sleep until a queue fires, the timeout, or wakeup()
 *   for each queue: port.rxIntrDisable(q)    back to polling
 * </pre>
 * Each queue is watched through its interrupt fd ({@link EthDev#rxIntrFd}): a driver's own fd
 * (a socket or tap, level-triggered; registered one-shot, re-armed by each enable, so a queue left
 * full while the lcore works does not make every wait return at once) or ethdev's eventfd, which
 * {@link #await} reads back to zero when it fires. A queue is in at most one set; releasing it
 * (reconfigure, close) takes it out. {@link #await} is for the one lcore that owns the set;
 * {@link #add}, {@link #remove} and {@link #wakeup} may come from any thread.
 */
public final class RxWaitSet implements AutoCloseable {
    /** Largest number of queues in one set. */
    public static final int MAX_QUEUES = 1024;
    static final int EPOLLONESHOT = 1 << 30;
    private static final long WAKE_TAG = Long.MAX_VALUE;
    private static final int EVENT_SIZE = 12; // packed struct epoll_event: u32 events, u64 data (the tag)

    private final Epoll epoll;
    private final EventFd wake;
    private final RxQueue[] queues;     // by slot (the epoll tag); null: free
    private final int[] readyPort, readyQueue;
    private final MemorySegment events;  // epoll_wait's output, capacity + 1 entries
    private final MemorySegment clearCell; // the 8 bytes eventfd reads land in
    private final MemorySegment rearmCell; // the epoll_event of the lcore's re-arms
    private final int epfd, wakeFd, maxEvents;
    private int size;
    private boolean closed;

    /** An empty set for at most {@code capacity} queues (1..{@value #MAX_QUEUES}). */
    public RxWaitSet(int capacity) {
        if (capacity < 1 || capacity > MAX_QUEUES) {
            throw new IllegalArgumentException("wait set capacity=" + capacity + ": allowed 1.." + MAX_QUEUES);
        }
        queues = new RxQueue[capacity];
        readyPort = new int[capacity];
        readyQueue = new int[capacity];
        maxEvents = capacity + 1;
        Arena arena = Arena.ofAuto();
        events = arena.allocate((long) EVENT_SIZE * maxEvents, 8);
        clearCell = arena.allocate(JAVA_LONG);
        rearmCell = arena.allocate(EVENT_SIZE, 8);
        epoll = new Epoll(1); // registration only: the waits go through InterruptCalls into events
        try {
            wake = new EventFd();
            epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE_TAG);
        } catch (RuntimeException e) {
            epoll.close();
            throw e;
        }
        epfd = epoll.fd();
        wakeFd = wake.fd();
    }

    /**
     * Adds rx queue {@code queue} of {@code port} (rte_eth_dev_rx_intr_ctl_q with
     * RTE_INTR_EVENT_ADD). The queue must be set up; it may be in no other set.
     */
    public void add(EthDev port, int queue) {
        RxQueue q = port.rxIntrSetUp(queue, "rx intr wait set add");
        synchronized (this) {
            checkOpen();
            if (q.waitSet != null) {
                throw port.error("rx queue " + queue + " is already in " + (q.waitSet == this ? "this" : "another") + " wait set; remove it first");
            }
            int slot = 0;
            while (slot < queues.length && queues[slot] != null) slot++;
            if (slot == queues.length) throw port.error("rx queue " + queue + ": the wait set is full (" + queues.length + " queues)");
            epoll.add(q.intrFd, q.intrEvent == null ? Epoll.EPOLLIN | EPOLLONESHOT : Epoll.EPOLLIN, slot);
            queues[slot] = q;
            q.waitSet = this;
            q.waitSlot = slot;
            size++;
        }
    }

    /** Takes rx queue {@code queue} of {@code port} out (RTE_INTR_EVENT_DEL); false if it was not in this set. */
    public synchronized boolean remove(EthDev port, int queue) {
        for (int i = 0; i < queues.length; i++) {
            RxQueue q = queues[i];
            if (q != null && q.portId == port.id() && q.queueId == queue) {
                detach(q);
                return true;
            }
        }
        return false;
    }

    /** Drops {@code q} from the set; EthDev calls it when the queue is released. */
    synchronized void detach(RxQueue q) {
        if (q.waitSet != this) return;
        if (!closed) epoll.remove(q.intrFd);
        queues[q.waitSlot] = null;
        q.waitSet = null;
        size--;
    }

    /** Re-arms a queue with its own fd (one-shot): called by {@link EthDev#rxIntrEnable} from the polling lcore. */
    void rearm(RxQueue q) {
        if (!InterruptCalls.epollModify(epfd, q.intrFd, Epoll.EPOLLIN | EPOLLONESHOT, q.waitSlot, rearmCell)) {
            epoll.modify(q.intrFd, Epoll.EPOLLIN | EPOLLONESHOT, q.waitSlot); // again, to throw with the errno
        }
    }

    /**
     * Sleeps until a queue whose interrupt is enabled has packets, {@code timeoutMillis} passes
     * (-1: no limit, 0: just look) or {@link #wakeup()} is called; returns how many queues are ready
     * (0 on timeout or wake-up), named by {@link #readyPort(int)} and {@link #readyQueue(int)}.
     * Resets the eventfds that fired. Allocates nothing. For the owning lcore only.
     */
    public int await(int timeoutMillis) {
        int n = InterruptCalls.epollWait(epfd, events, maxEvents, timeoutMillis);
        int k = 0;
        for (int i = 0; i < n; i++) {
            long tag = events.get(JAVA_LONG_UNALIGNED, (long) i * EVENT_SIZE + 4);
            if (tag == WAKE_TAG) {
                InterruptCalls.eventfdClear(wakeFd, clearCell);
                continue;
            }
            RxQueue q = queues[(int) tag];
            if (q == null) continue; // removed while we slept
            EventFd e = q.intrEvent;
            if (e != null) InterruptCalls.eventfdClear(e.fd(), clearCell);
            readyPort[k] = q.portId;
            readyQueue[k] = q.queueId;
            k++;
        }
        return k;
    }

    /** The port of ready entry {@code i} (0 &lt;= i &lt; what {@link #await} returned). */
    public int readyPort(int i) {
        return readyPort[i];
    }

    /** The queue of ready entry {@code i}. */
    public int readyQueue(int i) {
        return readyQueue[i];
    }

    /** Makes the current {@link #await}, or the next one, return at once; from any thread, allocates nothing. */
    public void wakeup() {
        InterruptCalls.eventfdSignal(wakeFd);
    }

    /** Queues in the set. */
    public synchronized int size() {
        return size;
    }

    public int capacity() {
        return queues.length;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("rx wait set: closed");
    }

    /** Takes every queue out and closes the epoll fd; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        for (RxQueue q : queues) if (q != null) detach(q);
        closed = true;
        epoll.close();
        wake.close();
    }
}
