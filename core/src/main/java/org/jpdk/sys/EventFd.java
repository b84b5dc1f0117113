package org.jpdk.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A Linux eventfd: a counter that a poller can sleep on. {@link #signal} adds one and makes the fd
 * readable; {@link #clear} reads the counter back to zero. Non-blocking, so neither call ever
 * sleeps. Used as the interrupt of receive queues that have no file descriptor of their own.
 * Signal and clear each use an 8-byte cell of their own, allocated once, so they allocate nothing
 * and may be called from different threads (one signaller thread and one clearer thread).
 */
public final class EventFd implements AutoCloseable {
    private final int fd;
    private final MemorySegment signalCell;
    private final MemorySegment clearCell;
    private boolean closed;

    public EventFd() {
        fd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        Arena arena = Arena.ofAuto();
        signalCell = arena.allocate(JAVA_LONG);
        clearCell = arena.allocate(JAVA_LONG);
        signalCell.set(JAVA_LONG, 0, 1L);
    }

    /** The file descriptor, for epoll. */
    public int fd() {
        return fd;
    }

    /** Makes the fd readable (adds 1 to the counter). Never blocks; allocates nothing. */
    public void signal() {
        Libc.write(fd, signalCell, 8);
    }

    /** Resets the counter to zero; returns the value it had (0 if it was not signalled). */
    public long clear() {
        long r = Libc.read(fd, clearCell, 8);
        return r == 8 ? clearCell.get(JAVA_LONG, 0) : 0;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
    }
}
