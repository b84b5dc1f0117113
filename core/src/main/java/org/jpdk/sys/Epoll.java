package org.jpdk.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * An epoll instance with a fixed event array, so that {@link #await} allocates nothing. Each
 * registered fd carries a 64-bit tag that {@link #tag} returns for the ready entries.
 *
 * <pre>
 * struct epoll_event on x86-64 is packed, 12 bytes:
 *   +0  u32 events
 *   +4  u64 data      (our tag)
 * </pre>
 *
 * One thread waits on an instance; {@link #add}/{@link #remove} may come from another (epoll_ctl is
 * thread-safe in the kernel).
 */
public final class Epoll implements AutoCloseable {
    public static final int EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLET = 1 << 31;
    private static final int CTL_ADD = 1, CTL_DEL = 2, CTL_MOD = 3;
    private static final int EVENT_SIZE = 12;

    private final int fd;
    private final int maxEvents;
    private final MemorySegment events;
    private final MemorySegment ctlEvent;
    private boolean closed;

    /** An epoll set whose {@link #await} reports at most {@code maxEvents} fds at once. */
    public Epoll(int maxEvents) {
        if (maxEvents < 1) throw new IllegalArgumentException("maxEvents must be at least 1, got " + maxEvents);
        this.fd = Libc.epollCreate1(Libc.O_CLOEXEC);
        this.maxEvents = maxEvents;
        Arena arena = Arena.ofAuto();
        this.events = arena.allocate((long) EVENT_SIZE * maxEvents, 8);
        this.ctlEvent = arena.allocate(EVENT_SIZE, 8);
    }

    public int fd() {
        return fd;
    }

    /** Watches {@code watched} for {@code eventMask} (e.g. {@link #EPOLLIN}), reporting {@code tag}. */
    public synchronized void add(int watched, int eventMask, long tag) {
        ctl(CTL_ADD, watched, eventMask, tag, "EPOLL_CTL_ADD");
    }

    /** Changes the mask or tag of a watched fd. */
    public synchronized void modify(int watched, int eventMask, long tag) {
        ctl(CTL_MOD, watched, eventMask, tag, "EPOLL_CTL_MOD");
    }

    /** Stops watching {@code watched}; a no-op if it is not watched or already closed. */
    public synchronized void remove(int watched) {
        Libc.epollCtl(fd, CTL_DEL, watched, MemorySegment.NULL);
    }

    private void ctl(int op, int watched, int eventMask, long tag, String name) {
        ctlEvent.set(JAVA_INT_UNALIGNED, 0, eventMask);
        ctlEvent.set(JAVA_LONG_UNALIGNED, 4, tag);
        int r = Libc.epollCtl(fd, op, watched, ctlEvent);
        if (r < 0) throw new LinuxException("epoll_ctl", name + ", fd=" + watched, -r);
    }

    /**
     * Sleeps until a watched fd is ready or {@code timeoutMillis} passes (-1: no limit, 0: just
     * look); returns how many are ready (0 on timeout or when a signal interrupted the wait).
     * Allocates nothing.
     */
    public int await(int timeoutMillis) {
        int r = Libc.epollWait(fd, events, maxEvents, timeoutMillis);
        if (r >= 0) return r;
        if (r == -Errno.EINTR) return 0;
        throw new LinuxException("epoll_wait", "epfd=" + fd, -r);
    }

    /** The tag of ready entry {@code i} of the last {@link #await}. */
    public long tag(int i) {
        return events.get(JAVA_LONG_UNALIGNED, (long) i * EVENT_SIZE + 4);
    }

    /** The ready events of entry {@code i} of the last {@link #await}. */
    public int readyEvents(int i) {
        return events.get(JAVA_INT_UNALIGNED, (long) i * EVENT_SIZE);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
    }
}
