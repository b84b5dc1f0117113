package org.jpdk.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Scatter/gather I/O, {@code readv(2)} and {@code writev(2)}, for data paths that read a frame
 * into an mbuf's data room and write mbuf chains without copying (the tap queues). Like
 * {@link Libc#read} and {@link Libc#write} they return {@code -errno} instead of throwing, and
 * allocate nothing once the caller's thread has made its errno capture cell. The iovec array is
 * checked against {@code iovcnt}; the addresses inside it are raw, and each caller says what bounds
 * them (tap: an mbuf's data or tailroom, the queue's overflow area).
 *
 * <pre>
 * struct iovec (16 bytes)
 *   +0  void  *iov_base
 *   +8  size_t iov_len
 * </pre>
 */
public final class Uio {
    /** Size of a {@code struct iovec}. */
    public static final int IOVEC_SIZE = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURED =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));
    private static final MethodHandle READV = call("readv");
    private static final MethodHandle WRITEV = call("writev");

    private Uio() {
    }

    private static MethodHandle call(String name) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name)),
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), Linker.Option.captureCallState("errno"));
    }

    /** {@code readv(2)} into the {@code iovcnt} iovecs at {@code iov}; returns the byte count or {@code -errno}. */
    public static long readv(int fd, MemorySegment iov, int iovcnt) {
        // bounded: the kernel reads iovcnt iovecs of iov; the buffers they point to are the caller's to bound
        Objects.checkFromIndexSize(0, (long) IOVEC_SIZE * iovcnt, iov.byteSize());
        MemorySegment cs = CAPTURED.get();
        try {
            long r = (long) READV.invokeExact(cs, fd, iov, iovcnt);
            return r >= 0 ? r : -(int) ERRNO.get(cs, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code writev(2)} of the {@code iovcnt} iovecs at {@code iov}; returns the byte count or {@code -errno}. */
    public static long writev(int fd, MemorySegment iov, int iovcnt) {
        // bounded: the kernel reads iovcnt iovecs of iov; the buffers they point to are the caller's to bound
        Objects.checkFromIndexSize(0, (long) IOVEC_SIZE * iovcnt, iov.byteSize());
        MemorySegment cs = CAPTURED.get();
        try {
            long r = (long) WRITEV.invokeExact(cs, fd, iov, iovcnt);
            return r >= 0 ? r : -(int) ERRNO.get(cs, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
