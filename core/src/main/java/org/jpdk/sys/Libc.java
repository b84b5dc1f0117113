package org.jpdk.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The libc calls jpdk needs, through FFM downcalls. Each handle is a static final created once;
 * calls that can fail capture {@code errno} and throw {@link LinuxException} naming the call and
 * the object. The data-path calls (read, write, send, recv, poll, epoll) return {@code -errno}
 * instead of throwing.
 *
 * <p>Bounds: a call that hands the kernel a segment and a length ({@code read}, {@code write},
 * {@code send}, {@code recv}, {@code poll}, {@code epoll_wait}) first checks that the length fits
 * the segment and throws IndexOutOfBoundsException if not, since the kernel trusts the length and
 * FFM cannot see it; the others pass the segment's own size. {@link #mmap}, {@link #munmap} and
 * {@link #mlock} take raw addresses: their callers say what bounds them (see docs/safety.md).
 *
 * <p>Allocation: a downcall that captures errno allocates a 40-byte segment per call until C2 has
 * compiled and inlined the caller, after which escape analysis removes it (measured on JDK 25:
 * 0 bytes per call after about 100k calls on an idle machine, later on a loaded one). Paths that
 * must not allocate even while warming up use the no-capture variants ({@link #sendNoErrno}, and
 * ethdev's InterruptCalls) and ask for errno only after a failure.
 */
public final class Libc {
    public static final int PROT_READ = 0x1, PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000, MAP_HUGETLB = 0x40000;
    public static final int MAP_HUGE_SHIFT = 26;
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80,
            O_TRUNC = 0x200, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    public static final int _SC_PAGESIZE = 30;
    public static final int AF_UNIX = 1, AF_INET = 2, AF_PACKET = 17, AF_XDP = 44;
    public static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_SEQPACKET = 5,
            SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    public static final int SOL_SOCKET = 1, SO_ERROR = 4, SO_RCVBUF = 8, SO_SNDBUF = 7;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;
    public static final int POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
    public static final int CLONE_NEWNET = 0x40000000;
    /** memfd_create(2) flags; a hugetlb memfd also names its page size as log2 &lt;&lt; {@link #MFD_HUGE_SHIFT}. */
    public static final int MFD_CLOEXEC = 0x1, MFD_ALLOW_SEALING = 0x2, MFD_HUGETLB = 0x4, MFD_HUGE_SHIFT = 26;
    /** fcntl(2) commands and file seals (linux/fcntl.h). */
    public static final int F_ADD_SEALS = 1033, F_GET_SEALS = 1034;
    /** {@code flock(2)} operations. */
    public static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public static final int F_SEAL_SEAL = 0x1, F_SEAL_SHRINK = 0x2, F_SEAL_GROW = 0x4, F_SEAL_WRITE = 0x8;
    /** fallocate(2) modes: give a range's pages back without changing the file size. */
    public static final int FALLOC_FL_KEEP_SIZE = 0x1, FALLOC_FL_PUNCH_HOLE = 0x2;
    /** {@code MAP_FAILED}, i.e. {@code (void *) -1}. */
    public static final long MAP_FAILED = -1L;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(
            java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURED =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    private static final MethodHandle MMAP = errnoCall("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = errnoCall("munmap",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MLOCK = errnoCall("mlock",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle OPEN = errnoCall("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle CLOSE = errnoCall("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FTRUNCATE = errnoCall("ftruncate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MEMFD_CREATE = errnoCall("memfd_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle FCNTL = variadicCall("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), 2);
    private static final MethodHandle FLOCK = errnoCall("flock", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle FALLOCATE = errnoCall("fallocate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle UNLINK = errnoCall("unlink",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle SCHED_SETAFFINITY = errnoCall("sched_setaffinity",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle SCHED_GETAFFINITY = errnoCall("sched_getaffinity",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle GETTID = LINKER.downcallHandle(find("gettid"),
            FunctionDescriptor.of(JAVA_INT), Linker.Option.critical(false));
    private static final MethodHandle GETPID = LINKER.downcallHandle(find("getpid"),
            FunctionDescriptor.of(JAVA_INT), Linker.Option.critical(false));
    private static final MethodHandle SYSCONF = LINKER.downcallHandle(find("sysconf"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT), Linker.Option.critical(false));

    private static final MethodHandle READ = errnoCall("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = errnoCall("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle IOCTL_PTR = variadicCall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), 2);
    private static final MethodHandle IOCTL_VAL = variadicCall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), 2);
    private static final MethodHandle SOCKET = errnoCall("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND = errnoCall("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = errnoCall("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = errnoCall("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SENDTO = errnoCall("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECVFROM = errnoCall("recvfrom",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle POLL = errnoCall("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle EVENTFD = errnoCall("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_CREATE1 = errnoCall("epoll_create1",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_CTL = errnoCall("epoll_ctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle EPOLL_WAIT = errnoCall("epoll_wait",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle IF_NAMETOINDEX = errnoCall("if_nametoindex",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle SETNS = errnoCall("setns",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    private static final long PAGE_SIZE = sysconf(_SC_PAGESIZE);

    private Libc() {
    }

    private static MemorySegment find(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    private static MethodHandle errnoCall(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(find(name), fd, Linker.Option.captureCallState("errno"));
    }

    private static MethodHandle variadicCall(String name, FunctionDescriptor fd, int firstVariadic) {
        return LINKER.downcallHandle(find(name), fd, Linker.Option.captureCallState("errno"),
                Linker.Option.firstVariadicArg(firstVariadic));
    }

    private static int errno(MemorySegment captured) {
        return (int) ERRNO.get(captured, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** The base page size of this machine (4096 on x86-64). */
    public static long pageSize() {
        return PAGE_SIZE;
    }

    /**
     * {@code mmap(2)}; returns the address. On failure throws, naming {@code what} (for example
     * {@code "MAP_HUGETLB, size=2097152"}).
     */
    public static long mmap(long addr, long len, int prot, int flags, int fd, long off, String what) {
        MemorySegment cs = CAPTURED.get();
        long r;
        try {
            r = (long) MMAP.invokeExact(cs, addr, len, prot, flags, fd, off);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r == MAP_FAILED) throw new LinuxException("mmap", what, errno(cs));
        return r;
    }

    /** {@code munmap(2)}. */
    public static void munmap(long addr, long len) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try {
            r = (int) MUNMAP.invokeExact(cs, addr, len);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) throw new LinuxException("munmap", "addr=0x" + Long.toHexString(addr) + ", len=" + len, errno(cs));
    }

    /** {@code mlock(2)}; returns the errno, 0 on success (callers decide whether it matters). */
    public static int mlock(long addr, long len) {
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) MLOCK.invokeExact(cs, addr, len);
            return r == 0 ? 0 : errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code open(2)}; returns the file descriptor. */
    public static int open(String path, int flags, int mode) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try (Arena a = Arena.ofConfined()) {
            r = (int) OPEN.invokeExact(cs, a.allocateFrom(path), flags, mode);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) throw new LinuxException("open", path, errno(cs));
        return r;
    }

    /** {@code close(2)}; errors other than EBADF are ignored, as the fd is gone either way. */
    public static void close(int fd) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try {
            r = (int) CLOSE.invokeExact(cs, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0 && errno(cs) == Errno.EBADF) throw new LinuxException("close", "fd=" + fd, Errno.EBADF);
    }

    /** {@code ftruncate(2)}. */
    public static void ftruncate(int fd, long len, String what) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try {
            r = (int) FTRUNCATE.invokeExact(cs, fd, len);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) throw new LinuxException("ftruncate", what + ", len=" + len, errno(cs));
    }

    /**
     * {@code memfd_create(2)}: an anonymous file (shmem, or hugetlbfs with {@link #MFD_HUGETLB}) that
     * another process can map once it has the descriptor. Throws naming {@code name} and the flags.
     */
    public static int memfdCreate(String name, int flags) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try (Arena a = Arena.ofConfined()) {
            r = (int) MEMFD_CREATE.invokeExact(cs, a.allocateFrom(name), flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) throw new LinuxException("memfd_create", name + ", flags=0x" + Integer.toHexString(flags), errno(cs));
        return r;
    }

    /** {@code fcntl(2)} with an int argument (F_ADD_SEALS, F_GET_SEALS, F_GETFD); returns the result or {@code -errno}. */
    public static int fcntl(int fd, int cmd, int arg) {
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) FCNTL.invokeExact(cs, fd, cmd, arg);
            return r >= 0 ? r : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code flock(2)}: 0, or the negated errno (EWOULDBLOCK with LOCK_NB when another holds a conflicting lock). */
    public static int flock(int fd, int op) {
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) FLOCK.invokeExact(cs, fd, op);
            return r == 0 ? 0 : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fallocate(2)}; throws naming {@code what}. */
    public static void fallocate(int fd, int mode, long offset, long len, String what) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try {
            r = (int) FALLOCATE.invokeExact(cs, fd, mode, offset, len);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) throw new LinuxException("fallocate", what + ", mode=0x" + Integer.toHexString(mode) + ", offset="
                + offset + ", len=" + len, errno(cs));
    }

    /** {@code unlink(2)}; returns the errno, 0 on success. */
    public static int unlink(String path) {
        MemorySegment cs = CAPTURED.get();
        try (Arena a = Arena.ofConfined()) {
            int r = (int) UNLINK.invokeExact(cs, a.allocateFrom(path));
            return r == 0 ? 0 : errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Pins the calling thread ({@code tid} 0) or thread {@code tid} to the CPUs set in {@code cpus}. */
    public static void schedSetaffinity(int tid, java.util.BitSet cpus) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try (Arena a = Arena.ofConfined()) {
            long[] words = cpus.toLongArray();
            MemorySegment mask = a.allocate(JAVA_LONG, Math.max(16, words.length));
            for (int i = 0; i < words.length; i++) mask.setAtIndex(JAVA_LONG, i, words[i]);
            r = (int) SCHED_SETAFFINITY.invokeExact(cs, tid, mask.byteSize(), mask);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) throw new LinuxException("sched_setaffinity", "tid=" + tid + ", cpus=" + cpus, errno(cs));
    }

    /** The CPUs thread {@code tid} (0: the caller) may run on. */
    public static java.util.BitSet schedGetaffinity(int tid) {
        MemorySegment cs = CAPTURED.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mask = a.allocate(JAVA_LONG, 16);
            int r = (int) SCHED_GETAFFINITY.invokeExact(cs, tid, mask.byteSize(), mask);
            if (r < 0) throw new LinuxException("sched_getaffinity", "tid=" + tid, errno(cs));
            return java.util.BitSet.valueOf(mask.toArray(ValueLayout.JAVA_LONG));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The kernel thread id of the caller. */
    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The process id. */
    public static int getpid() {
        try {
            return (int) GETPID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code sysconf(3)}. */
    public static long sysconf(int name) {
        try {
            return (long) SYSCONF.invokeExact(name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- file descriptors, sockets and polling. The data-path calls (read, write, sendto, recvfrom,
    // poll) return -errno instead of throwing, so a driver can count EAGAIN without an exception.

    /** {@code read(2)} into {@code buf[0..len)}; returns the byte count or {@code -errno}. */
    public static long read(int fd, MemorySegment buf, long len) {
        Objects.checkFromIndexSize(0, len, buf.byteSize()); // bounded: the kernel writes at most len bytes into buf
        MemorySegment cs = CAPTURED.get();
        try {
            long r = (long) READ.invokeExact(cs, fd, buf, len);
            return r >= 0 ? r : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code write(2)} of {@code buf[0..len)}; returns the byte count or {@code -errno}. */
    public static long write(int fd, MemorySegment buf, long len) {
        Objects.checkFromIndexSize(0, len, buf.byteSize()); // bounded: the kernel reads len bytes of buf
        MemorySegment cs = CAPTURED.get();
        try {
            long r = (long) WRITE.invokeExact(cs, fd, buf, len);
            return r >= 0 ? r : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl(2)} with a pointer argument; returns the result or {@code -errno}. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) IOCTL_PTR.invokeExact(cs, fd, request, arg);
            return r >= 0 ? r : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl(2)} with a value argument (e.g. TUNSETPERSIST); returns the result or {@code -errno}. */
    public static int ioctl(int fd, long request, long value) {
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) IOCTL_VAL.invokeExact(cs, fd, request, value);
            return r >= 0 ? r : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code socket(2)}; throws naming {@code what} (e.g. {@code "AF_PACKET, iface=veth0"}). */
    public static int socket(int domain, int type, int protocol, String what) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try {
            r = (int) SOCKET.invokeExact(cs, domain, type, protocol);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) throw new LinuxException("socket", what, errno(cs));
        return r;
    }

    /** {@code bind(2)} to the address in {@code addr} (its whole size is the address length). */
    public static void bind(int fd, MemorySegment addr, String what) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try {
            r = (int) BIND.invokeExact(cs, fd, addr, (int) addr.byteSize());
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) throw new LinuxException("bind", what, errno(cs));
    }

    /** {@code setsockopt(2)} with the whole of {@code value}; returns 0 or {@code -errno}. */
    public static int setsockopt(int fd, int level, int name, MemorySegment value) {
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) SETSOCKOPT.invokeExact(cs, fd, level, name, value, (int) value.byteSize());
            return r == 0 ? 0 : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code setsockopt(2)} of one int; returns 0 or {@code -errno}. */
    public static int setsockopt(int fd, int level, int name, int value) {
        try (Arena a = Arena.ofConfined()) {
            return setsockopt(fd, level, name, a.allocateFrom(JAVA_INT, value));
        }
    }

    /**
     * {@code getsockopt(2)} into {@code value}; returns the length the kernel wrote or {@code -errno}.
     * Allocates a 4-byte length cell per call: control path only.
     */
    public static int getsockopt(int fd, int level, int name, MemorySegment value) {
        MemorySegment cs = CAPTURED.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment len = a.allocateFrom(JAVA_INT, (int) value.byteSize());
            int r = (int) GETSOCKOPT.invokeExact(cs, fd, level, name, value, len);
            return r == 0 ? len.get(JAVA_INT, 0) : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code sendto(2)} with no address ({@code NULL, 0}): {@code sendto(fd, NULL, 0,
     * MSG_DONTWAIT, NULL, 0)} is the PACKET_MMAP and AF_XDP transmit kick. Returns the byte count or
     * {@code -errno}.
     */
    public static long send(int fd, MemorySegment buf, long len, int flags) {
        Objects.checkFromIndexSize(0, len, buf.byteSize()); // bounded: the kernel reads len bytes of buf (NULL, 0: a kick)
        MemorySegment cs = CAPTURED.get();
        try {
            long r = (long) SENDTO.invokeExact(cs, fd, buf, len, flags, MemorySegment.NULL, 0);
            return r >= 0 ? r : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code recvfrom(2)} with no address; returns the byte count or {@code -errno}. */
    public static long recv(int fd, MemorySegment buf, long len, int flags) {
        Objects.checkFromIndexSize(0, len, buf.byteSize()); // bounded: the kernel writes at most len bytes into buf
        MemorySegment cs = CAPTURED.get();
        try {
            long r = (long) RECVFROM.invokeExact(cs, fd, buf, len, flags, MemorySegment.NULL, MemorySegment.NULL);
            return r >= 0 ? r : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code poll(2)} on {@code nfds} 8-byte {@code struct pollfd} entries (fd i32@0, events i16@4,
     * revents i16@6); returns the ready count, 0 on timeout, or {@code -errno} (EINTR included).
     */
    public static int poll(MemorySegment fds, int nfds, int timeoutMillis) {
        Objects.checkFromIndexSize(0, 8L * nfds, fds.byteSize()); // bounded: the kernel reads and writes nfds pollfds
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) POLL.invokeExact(cs, fds, (long) nfds, timeoutMillis);
            return r >= 0 ? r : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code eventfd(2)}. */
    public static int eventfd(int initval, int flags) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try {
            r = (int) EVENTFD.invokeExact(cs, initval, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) throw new LinuxException("eventfd", "flags=0x" + Integer.toHexString(flags), errno(cs));
        return r;
    }

    /** {@code epoll_create1(2)}. */
    public static int epollCreate1(int flags) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try {
            r = (int) EPOLL_CREATE1.invokeExact(cs, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) throw new LinuxException("epoll_create1", "flags=0x" + Integer.toHexString(flags), errno(cs));
        return r;
    }

    /** {@code epoll_ctl(2)}; {@code event} is a 12-byte packed {@code struct epoll_event} or NULL. Returns 0 or {@code -errno}. */
    public static int epollCtl(int epfd, int op, int fd, MemorySegment event) {
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) EPOLL_CTL.invokeExact(cs, epfd, op, fd, event);
            return r == 0 ? 0 : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code epoll_wait(2)}; returns the ready count, 0 on timeout, or {@code -errno} (EINTR included). */
    public static int epollWait(int epfd, MemorySegment events, int maxEvents, int timeoutMillis) {
        Objects.checkFromIndexSize(0, 12L * maxEvents, events.byteSize()); // bounded: the kernel writes at most maxEvents 12-byte events
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) EPOLL_WAIT.invokeExact(cs, epfd, events, maxEvents, timeoutMillis);
            return r >= 0 ? r : -errno(cs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code if_nametoindex(3)}; returns the index or {@code -errno} (ENODEV when there is no such interface). */
    public static int ifNameToIndex(String name) {
        MemorySegment cs = CAPTURED.get();
        try (Arena a = Arena.ofConfined()) {
            int r = (int) IF_NAMETOINDEX.invokeExact(cs, a.allocateFrom(name));
            if (r != 0) return r;
            int e = errno(cs);
            return -(e == 0 ? Errno.ENODEV : e);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code setns(2)} of the calling thread; throws naming {@code what}. */
    public static void setns(int fd, int nstype, String what) {
        MemorySegment cs = CAPTURED.get();
        int r;
        try {
            r = (int) SETNS.invokeExact(cs, fd, nstype);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r != 0) throw new LinuxException("setns", what, errno(cs));
    }

    // ---- appended: data-path calls without errno capture

    private static final MethodHandle SENDTO_NO_ERRNO = LINKER.downcallHandle(find("sendto"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle READ_NO_ERRNO = LINKER.downcallHandle(find("read"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE_NO_ERRNO = LINKER.downcallHandle(find("write"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle POLL_NO_ERRNO = LINKER.downcallHandle(find("poll"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    /**
     * {@link #send} without capturing errno: returns the byte count, or -1 on any failure. On JDK 25
     * a downcall with {@code captureCallState} allocates 40 bytes per call, so a per-burst kick
     * (PACKET_MMAP, AF_XDP) calls this, and only when it returns -1 asks {@link #send} again to
     * learn the errno (repeating a kick is harmless). Allocates nothing.
     */
    public static long sendNoErrno(int fd, MemorySegment buf, long len, int flags) {
        Objects.checkFromIndexSize(0, len, buf.byteSize()); // bounded: the kernel reads len bytes of buf
        try {
            return (long) SENDTO_NO_ERRNO.invokeExact(fd, buf, len, flags, MemorySegment.NULL, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@link #write} without capturing errno: the byte count, or -1 on any failure. For a per-burst
     * eventfd kick (memif), whose only failure that matters is none (EAGAIN means the counter is
     * already signalled). Allocates nothing.
     */
    public static long writeNoErrno(int fd, MemorySegment buf, long len) {
        Objects.checkFromIndexSize(0, len, buf.byteSize()); // bounded: the kernel reads len bytes of buf
        try {
            return (long) WRITE_NO_ERRNO.invokeExact(fd, buf, len);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@link #read} without capturing errno: the byte count, or -1 on any failure. Allocates nothing. */
    public static long readNoErrno(int fd, MemorySegment buf, long len) {
        Objects.checkFromIndexSize(0, len, buf.byteSize()); // bounded: the kernel writes len bytes of buf
        try {
            return (long) READ_NO_ERRNO.invokeExact(fd, buf, len);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@link #poll} without capturing errno: the ready count, 0 on timeout, -1 on any failure.
     * For a data path that looks at a socket's error state now and then (timeout 0) and must not
     * allocate. Allocates nothing.
     */
    public static int pollNoErrno(MemorySegment fds, int nfds, int timeoutMillis) {
        Objects.checkFromIndexSize(0, 8L * nfds, fds.byteSize()); // bounded: the kernel reads and writes nfds pollfds
        try {
            return (int) POLL_NO_ERRNO.invokeExact(fds, (long) nfds, timeoutMillis);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
