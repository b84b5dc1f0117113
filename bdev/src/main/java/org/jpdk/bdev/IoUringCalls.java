package org.jpdk.bdev;

import org.jpdk.sys.Errno;
import org.jpdk.sys.LinuxException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The three io_uring system calls, through libc's variadic {@code syscall(2)} (glibc wraps none of
 * them; liburing is not used), and {@code statx(2)} for the device geometry. Numbers are the
 * x86-64 and generic-table ones (the same on both: 425, 426, 427).
 *
 * <p>{@link #enter} is the per-batch call: it captures no errno, because on JDK 25 a downcall
 * with {@code captureCallState} allocates 40 bytes per call (see {@code Libc}). When it returns
 * -1 it is made again through the capturing handle to learn the errno; a failed enter consumed
 * no SQE, so the repeat submits exactly what the first would have. Setup and register are
 * control-path calls and capture errno directly.
 */
final class IoUringCalls {
    static final long NR_IO_URING_SETUP = 425, NR_IO_URING_ENTER = 426, NR_IO_URING_REGISTER = 427;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURED =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    /** syscall(nr, a1, a2, a3, a4, a5, a6): every argument as a long, as the kernel reads registers. */
    private static final FunctionDescriptor SYSCALL6 = FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(find("syscall"), SYSCALL6,
            Linker.Option.firstVariadicArg(1));
    private static final MethodHandle SYSCALL_ERRNO = LINKER.downcallHandle(find("syscall"), SYSCALL6,
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    private static final MethodHandle STATX = LINKER.downcallHandle(find("statx"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS),
            Linker.Option.captureCallState("errno"));

    private IoUringCalls() {
    }

    private static MemorySegment find(String name) {
        return LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** A syscall with errno captured; returns the result or {@code -errno}. */
    private static long callWithErrno(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        MemorySegment cs = CAPTURED.get();
        try {
            long r = (long) SYSCALL_ERRNO.invokeExact(cs, nr, a1, a2, a3, a4, a5, a6);
            return r >= 0 ? r : -(int) ERRNO.get(cs, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code io_uring_setup(entries, params)}: the ring's fd, or {@code -errno}. */
    static int setup(int entries, MemorySegment params) {
        // bounded: the kernel reads and writes struct io_uring_params, 120 bytes
        if (params.byteSize() < IoUring.PARAMS_SIZE) throw new IndexOutOfBoundsException("io_uring_params: " + params.byteSize() + " bytes");
        return (int) callWithErrno(NR_IO_URING_SETUP, entries, params.address(), 0, 0, 0, 0);
    }

    /**
     * {@code io_uring_enter(fd, toSubmit, minComplete, flags, NULL, 0)}: the number of SQEs
     * consumed, or {@code -errno}. Allocates nothing unless it fails.
     */
    static int enter(int fd, int toSubmit, int minComplete, int flags) {
        long r;
        try {
            r = (long) SYSCALL.invokeExact(NR_IO_URING_ENTER, (long) fd, (long) toSubmit, (long) minComplete,
                    (long) flags, 0L, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r >= 0) return (int) r;
        return (int) callWithErrno(NR_IO_URING_ENTER, fd, toSubmit, minComplete, flags, 0, 0);
    }

    /**
     * {@code io_uring_enter(fd, 0, minComplete, flags, arg, argSize)}: with
     * {@code IORING_ENTER_EXT_ARG}, {@code arg} is a {@code struct io_uring_getevents_arg} (a wait
     * with a timeout). Submits nothing, may block; returns 0 or {@code -errno}: ETIME when it
     * timed out or a signal ended it, as both mean "look again". Allocates nothing unless a call
     * that does not wait fails too, which then names the errno. The kernel reads 24 bytes at
     * {@code arg} and the 16-byte timespec they point to (bounded: the caller's 40-byte cell).
     */
    static int enterWait(int fd, int minComplete, int flags, long arg, long argSize) {
        long r;
        try {
            r = (long) SYSCALL.invokeExact(NR_IO_URING_ENTER, (long) fd, 0L, (long) minComplete, (long) flags, arg, argSize);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r >= 0) return 0;
        // a timed-out or interrupted wait is the usual failure: a call that cannot wait then works
        // (and costs no errno capture, which allocates); if it fails too, learn why
        int again = enter(fd, 0, 0, 0);
        return again >= 0 ? -Errno.ETIME : again;
    }

    /**
     * {@code io_uring_register(fd, opcode, arg, nrArgs)}: the result or {@code -errno}. What the
     * kernel reads at {@code arg} depends on the opcode; each caller says what bounds it.
     */
    static int register(int fd, int opcode, MemorySegment arg, int nrArgs) {
        return (int) callWithErrno(NR_IO_URING_REGISTER, fd, opcode, arg.address(), nrArgs, 0, 0);
    }

    /** As {@link #register}, throwing {@link LinuxException} naming the opcode and {@code what}. */
    static int registerOrThrow(int fd, int opcode, String opName, MemorySegment arg, int nrArgs, String what) {
        int r = register(fd, opcode, arg, nrArgs);
        if (r < 0) throw new LinuxException("io_uring_register", opName + ", " + what, -r);
        return r;
    }

    // ---- statx(2)

    static final int AT_EMPTY_PATH = 0x1000;
    static final int STATX_BASIC_STATS = 0x7ff, STATX_DIOALIGN = 0x2000;
    static final int S_IFMT = 0xf000, S_IFBLK = 0x6000, S_IFREG = 0x8000, S_IFIFO = 0x1000, S_IFCHR = 0x2000;

    /**
     * {@code struct statx} fields we read (256 bytes in all):
     * <pre>
     *   +0   u32 stx_mask          +28  u16 stx_mode          +40  u64 stx_size
     *   +128 u32 stx_rdev_major    +132 u32 stx_rdev_minor    the device a block special file is
     *   +136 u32 stx_dev_major     +140 u32 stx_dev_minor     the device the file lives on
     *   +152 u32 stx_dio_mem_align +156 u32 stx_dio_offset_align   (STATX_DIOALIGN, Linux 6.1+)
     * </pre>
     */
    record Stat(int mask, int mode, long size, int rdevMajor, int rdevMinor, int devMajor, int devMinor,
                int dioMemAlign, int dioOffsetAlign) {
        int type() {
            return mode & S_IFMT;
        }
    }

    /** {@code statx(fd, "", AT_EMPTY_PATH, BASIC_STATS | DIOALIGN)}; throws naming {@code what}. */
    static Stat statx(int fd, String what) {
        MemorySegment cs = CAPTURED.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(256, 8); // bounded: struct statx is 256 bytes
            int r = (int) STATX.invokeExact(cs, fd, a.allocateFrom(""), AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_DIOALIGN, st);
            if (r != 0) throw new LinuxException("statx", what, (int) ERRNO.get(cs, 0L));
            int mask = st.get(JAVA_INT, 0);
            boolean dio = (mask & STATX_DIOALIGN) != 0;
            return new Stat(mask, Short.toUnsignedInt(st.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 28)),
                    st.get(JAVA_LONG, 40), st.get(JAVA_INT, 128), st.get(JAVA_INT, 132), st.get(JAVA_INT, 136),
                    st.get(JAVA_INT, 140), dio ? st.get(JAVA_INT, 152) : 0, dio ? st.get(JAVA_INT, 156) : 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Whether {@code errno} means "try again" for io_uring_enter rather than "the ring is broken". */
    static boolean retryable(int errno) {
        return errno == Errno.EAGAIN || errno == Errno.EBUSY || errno == Errno.EINTR;
    }
}
