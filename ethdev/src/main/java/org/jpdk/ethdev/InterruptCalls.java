package org.jpdk.ethdev;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The syscalls of the rx interrupt loop (epoll_wait, epoll_ctl re-arming, the eventfd read and write) as
 * downcalls without {@code errno} capture. On JDK 25 a downcall with
 * {@code Linker.Option.captureCallState} allocates a 40-byte object per call (measured with
 * {@code AllocationMeter}; the JIT does not remove it), which is how {@code Libc} makes every
 * call, so {@link org.jpdk.sys.Epoll#await} and {@link org.jpdk.sys.EventFd#signal} cost 40 bytes
 * each. These do not: a failed epoll_wait is repeated once through {@link Libc#epollWait} (with
 * timeout 0) to learn its errno; the eventfd calls cannot fail in a way that matters (a write
 * that would overflow the counter, a read of a zero counter: both EAGAIN, both mean "already
 * signalled" / "nothing to clear"). None of them is {@code critical}: epoll_wait blocks.
 */
final class InterruptCalls {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle EPOLL_WAIT = handle("epoll_wait",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_CTL = handle("epoll_ctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final int EPOLL_CTL_MOD = 3;
    private static final MethodHandle READ = handle("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = handle("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    /** The 8-byte 1 every eventfd write adds; read-only, shared by all threads. */
    private static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);

    static {
        ONE.set(JAVA_LONG, 0, 1L);
    }

    private InterruptCalls() {
    }

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        MemorySegment sym = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(sym, fd);
    }

    /**
     * epoll_wait into {@code events}; returns the ready count, 0 when a signal interrupted the wait.
     * bounded: by the caller, RxWaitSet, whose events hold maxEvents 12-byte entries (the eventfd cells
     * below are 8 bytes, the epoll_ctl cell 12).
     */
    static int epollWait(int epfd, MemorySegment events, int maxEvents, int timeoutMillis) {
        int r;
        try {
            r = (int) EPOLL_WAIT.invokeExact(epfd, events, maxEvents, timeoutMillis);
        } catch (Throwable t) {
            throw new IllegalStateException("epoll_wait downcall failed", t);
        }
        if (r >= 0) return r;
        r = Libc.epollWait(epfd, events, maxEvents, 0); // again, with errno: EINTR passes, EBADF etc. repeat
        if (r >= 0) return r;
        if (r == -Errno.EINTR) return 0;
        throw new LinuxException("epoll_wait", "epfd=" + epfd, -r);
    }

    /**
     * EPOLL_CTL_MOD of {@code fd} to {@code eventMask} and {@code tag}, through the caller's 12-byte
     * {@code cell}; returns false when it failed (the caller repeats it through
     * {@link org.jpdk.sys.Epoll#modify} to throw with the errno).
     */
    static boolean epollModify(int epfd, int fd, int eventMask, long tag, MemorySegment cell) {
        cell.set(JAVA_INT_UNALIGNED, 0, eventMask);
        cell.set(JAVA_LONG_UNALIGNED, 4, tag);
        try {
            return (int) EPOLL_CTL.invokeExact(epfd, EPOLL_CTL_MOD, fd, cell) == 0;
        } catch (Throwable t) {
            throw new IllegalStateException("epoll_ctl downcall failed", t);
        }
    }

    /** Adds 1 to eventfd {@code fd}: it polls readable. From any thread. */
    static void eventfdSignal(int fd) {
        try {
            long r = (long) WRITE.invokeExact(fd, ONE, 8L);
        } catch (Throwable t) {
            throw new IllegalStateException("write downcall failed", t);
        }
    }

    /** Reads eventfd {@code fd} back to zero, through the caller's own 8-byte {@code cell}. */
    static void eventfdClear(int fd, MemorySegment cell) {
        try {
            long r = (long) READ.invokeExact(fd, cell, 8L);
        } catch (Throwable t) {
            throw new IllegalStateException("read downcall failed", t);
        }
    }
}
