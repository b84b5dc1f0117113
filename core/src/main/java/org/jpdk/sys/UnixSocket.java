package org.jpdk.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A Unix-domain {@code SOCK_SEQPACKET} (or, for vhost-user, {@code SOCK_STREAM}) socket that passes file descriptors ({@code SCM_RIGHTS}),
 * through FFM: what memif's control channel needs and Java's own Unix-domain channels cannot do
 * (they offer neither SEQPACKET nor descriptor passing). Every socket is non-blocking and
 * close-on-exec, and so is every descriptor received. Addresses are a path, or with
 * {@code abstractName} a name in Linux's abstract namespace (no file; gone with the last socket).
 *
 * <pre>
 * struct msghdr (56 bytes)                 struct cmsghdr, then the data
 *   +0  void  *msg_name     (NULL)           +0   u64 cmsg_len    CMSG_LEN(4 * n) = 16 + 4 n
 *   +8  u32    msg_namelen  (0)              +8   i32 cmsg_level  SOL_SOCKET (1)
 *   +16 iovec *msg_iov      (one entry)      +12  i32 cmsg_type   SCM_RIGHTS (1)
 *   +24 u64    msg_iovlen   (1)              +16  i32 fd[n]
 *   +32 void  *msg_control                 CMSG_SPACE(4) = 24: one fd per message, as memif sends
 *   +40 u64    msg_controllen
 *   +48 i32    msg_flags    (recvmsg: MSG_TRUNC 0x20, MSG_CTRUNC 0x8)
 * </pre>
 *
 * A received message may carry more descriptors than the caller asked for (a hostile peer): the
 * ones beyond the caller's array are closed at once, and the kernel closes those that did not fit
 * the control buffer, so none leaks. Control-plane code: {@link #send} and {@link #receive} are
 * synchronized and meant for one control thread.
 */
public final class UnixSocket implements AutoCloseable {
    /** sizeof(sun_path): a path (or abstract name plus its leading NUL) holds at most 107 bytes. */
    public static final int PATH_MAX = 108;
    private static final int SCM_RIGHTS = 1, MSG_NOSIGNAL = 0x4000, MSG_TRUNC = 0x20,
            MSG_CMSG_CLOEXEC = 0x40000000;
    /** The most descriptors one received message may bring in before the rest is discarded. */
    private static final int MAX_FDS = 8;
    private static final int CMSG_HDR = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle LISTEN = call("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT4 = call("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle CONNECT = call("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SENDMSG = call("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECVMSG = call("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));

    private final int fd;
    /** {@link Libc#SOCK_SEQPACKET} (memif) or {@link Libc#SOCK_STREAM} (vhost-user). */
    private final int type;
    private final String address;
    private final String unlinkOnClose;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment msghdr, iov, control, captured;
    private boolean closed;

    private UnixSocket(int fd, int type, String address, String unlinkOnClose) {
        this.fd = fd;
        this.type = type;
        this.address = address;
        this.unlinkOnClose = unlinkOnClose;
        msghdr = arena.allocate(56, 8);
        iov = arena.allocate(16, 8);
        control = arena.allocate(CMSG_HDR + 4L * MAX_FDS, 8);
        captured = arena.allocate(CAPTURE);
    }

    private static MethodHandle call(String name, FunctionDescriptor fd) {
        MemorySegment sym = LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(sym, fd, Linker.Option.captureCallState("errno"));
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** How an address is named in messages: {@code socket=/run/memif.sock} or {@code socket=@name} (abstract). */
    public static String describe(String path, boolean abstractName) {
        return "socket=" + (abstractName ? "@" : "") + path;
    }

    /** A {@code sockaddr_un} for {@code path}; throws IllegalArgumentException if it is too long or empty. */
    static MemorySegment sockaddr(Arena a, String path, boolean abstractName) {
        byte[] name = path.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0) throw new IllegalArgumentException(describe(path, abstractName) + ": empty socket name");
        if (name.length + 1 > PATH_MAX) {
            throw new IllegalArgumentException(describe(path, abstractName) + ": " + name.length + " bytes; at most "
                    + (PATH_MAX - 1));
        }
        // abstract: a leading NUL, then the name without terminator; the length says where it ends
        long len = abstractName ? 2 + 1 + name.length : 2 + name.length + 1;
        MemorySegment sa = a.allocate(len, 2);
        sa.set(JAVA_SHORT, 0, (short) Libc.AF_UNIX);
        MemorySegment.copy(name, 0, sa, JAVA_BYTE, abstractName ? 3 : 2, name.length);
        return sa;
    }

    /**
     * A listening socket bound to {@code path} (backlog as given; memif's server uses 1). A path
     * whose socket file is left by a dead process (connecting to it is refused) is removed and
     * bound again; a live one is EADDRINUSE. The file is removed again by {@link #close}.
     */
    public static UnixSocket listen(String path, boolean abstractName, int backlog) {
        return listen(path, abstractName, backlog, Libc.SOCK_SEQPACKET);
    }

    /**
     * {@link #listen(String, boolean, int)} for a socket of {@code type}: {@link Libc#SOCK_SEQPACKET}
     * or {@link Libc#SOCK_STREAM} (vhost-user's byte stream, whose messages a reader frames itself).
     */
    public static UnixSocket listen(String path, boolean abstractName, int backlog, int type) {
        String what = "AF_UNIX, " + typeName(type) + ", " + describe(path, abstractName);
        int fd = Libc.socket(Libc.AF_UNIX, checkType(type) | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0, what);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = sockaddr(a, path, abstractName);
            try {
                Libc.bind(fd, sa, what);
            } catch (LinuxException e) {
                if (abstractName || e.errno() != Errno.EADDRINUSE || !stale(path, type)) throw e;
                Libc.unlink(path);
                Libc.bind(fd, sa, what);
            }
            MemorySegment cs = a.allocate(CAPTURE);
            int r = (int) LISTEN.invokeExact(cs, fd, backlog);
            if (r != 0) throw new LinuxException("listen", what, (int) ERRNO.get(cs, 0L));
        } catch (Throwable t) {
            Libc.close(fd);
            throw rethrow(t);
        }
        return new UnixSocket(fd, type, describe(path, abstractName), abstractName ? null : path);
    }

    private static int checkType(int type) {
        if (type != Libc.SOCK_SEQPACKET && type != Libc.SOCK_STREAM) {
            throw new IllegalArgumentException("socket type " + type + "; SOCK_SEQPACKET (5) or SOCK_STREAM (1)");
        }
        return type;
    }

    private static String typeName(int type) {
        return type == Libc.SOCK_STREAM ? "SOCK_STREAM" : "SOCK_SEQPACKET";
    }

    /** Whether the socket file at {@code path} has no listener (connect is refused). */
    private static boolean stale(String path, int type) {
        try (UnixSocket probe = connect(path, false, type)) {
            return false;
        } catch (LinuxException e) {
            return e.errno() == Errno.ECONNREFUSED;
        }
    }

    /**
     * A socket connected to the listener at {@code path}. Throws {@link LinuxException}, e.g.
     * {@code connect(socket=/run/memif.sock): ECONNREFUSED} (nobody listens), ENOENT (no such file),
     * EAGAIN (the listener's backlog is full).
     */
    public static UnixSocket connect(String path, boolean abstractName) {
        return connect(path, abstractName, Libc.SOCK_SEQPACKET);
    }

    /** {@link #connect(String, boolean)} for a socket of {@code type} (SOCK_SEQPACKET or SOCK_STREAM). */
    public static UnixSocket connect(String path, boolean abstractName, int type) {
        String what = describe(path, abstractName);
        int fd = Libc.socket(Libc.AF_UNIX, checkType(type) | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0, "AF_UNIX, " + what);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = sockaddr(a, path, abstractName);
            MemorySegment cs = a.allocate(CAPTURE);
            int r = (int) CONNECT.invokeExact(cs, fd, sa, (int) sa.byteSize());
            if (r != 0) throw new LinuxException("connect", what, (int) ERRNO.get(cs, 0L));
        } catch (Throwable t) {
            Libc.close(fd);
            throw rethrow(t);
        }
        return new UnixSocket(fd, type, what, null);
    }

    /** An accepted connection, or null when none is pending. Throws for other errors. */
    public UnixSocket accept() {
        int r;
        synchronized (this) {
            checkOpen("accept");
            try {
                r = (int) ACCEPT4.invokeExact(captured, fd, MemorySegment.NULL, MemorySegment.NULL,
                        Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (r < 0) {
                int e = (int) ERRNO.get(captured, 0L);
                if (e == Errno.EAGAIN || e == Errno.EINTR || e == Errno.ECONNABORTED) return null;
                throw new LinuxException("accept4", address, e);
            }
        }
        return new UnixSocket(r, type, address + " (accepted)", null);
    }

    /**
     * Sends {@code msg} as one message, with descriptor {@code passFd} attached when it is not
     * negative. Returns the bytes sent or {@code -errno} (EAGAIN: the peer's buffer is full; EPIPE,
     * ECONNRESET: it is gone). Never raises SIGPIPE.
     */
    public long send(MemorySegment msg, int passFd) {
        return passFd < 0 ? send(msg, NO_FDS) : send(msg, new int[]{passFd});
    }

    private static final int[] NO_FDS = {};

    /** {@link #send(MemorySegment, int)} with any number (up to 8) of descriptors in one SCM_RIGHTS message. */
    public synchronized long send(MemorySegment msg, int[] passFds) {
        if (closed) return -Errno.EBADF;
        if (passFds.length > MAX_FDS) throw new IllegalArgumentException(passFds.length + " descriptors; at most " + MAX_FDS);
        iov.set(ADDRESS, 0, msg);
        iov.set(JAVA_LONG, 8, msg.byteSize()); // bounded: the kernel reads the whole of msg, no more
        msghdr.fill((byte) 0);
        msghdr.set(ADDRESS, 16, iov);
        msghdr.set(JAVA_LONG, 24, 1L);
        if (passFds.length > 0) {
            control.fill((byte) 0);
            control.set(JAVA_LONG, 0, CMSG_HDR + 4L * passFds.length);
            control.set(JAVA_INT, 8, Libc.SOL_SOCKET);
            control.set(JAVA_INT, 12, SCM_RIGHTS);
            for (int i = 0; i < passFds.length; i++) control.set(JAVA_INT, CMSG_HDR + 4L * i, passFds[i]);
            msghdr.set(ADDRESS, 32, control);
            msghdr.set(JAVA_LONG, 40, (CMSG_HDR + 4L * passFds.length + 7) & ~7L); // CMSG_SPACE
        }
        try {
            long r = (long) SENDMSG.invokeExact(captured, fd, msghdr, Libc.MSG_DONTWAIT | MSG_NOSIGNAL);
            return r >= 0 ? r : -(int) ERRNO.get(captured, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Receives one message into {@code buf}. Returns its full length (larger than the buffer when
     * it did not fit: the rest is lost), 0 when the peer closed the connection, or {@code -errno}
     * (EAGAIN: nothing waiting). Descriptors that came with it fill {@code fds} in order (the
     * entries left over are -1); the caller owns and must close them. Descriptors beyond
     * {@code fds.length} are closed here. On a SOCK_STREAM socket a "message" is whatever bytes
     * were waiting, at most {@code buf}'s size (the rest stays queued), and 0 is the end of the stream.
     */
    public synchronized long receive(MemorySegment buf, int[] fds) {
        java.util.Arrays.fill(fds, -1);
        if (closed) return -Errno.EBADF;
        iov.set(ADDRESS, 0, buf);
        iov.set(JAVA_LONG, 8, buf.byteSize()); // bounded: the kernel writes at most buf's size (MSG_TRUNC reports the rest)
        msghdr.fill((byte) 0);
        control.fill((byte) 0);
        msghdr.set(ADDRESS, 16, iov);
        msghdr.set(JAVA_LONG, 24, 1L);
        msghdr.set(ADDRESS, 32, control);
        msghdr.set(JAVA_LONG, 40, control.byteSize()); // bounded: the kernel writes at most control's size (MSG_CTRUNC)
        long r;
        try {
            // MSG_TRUNC only on SEQPACKET: on a stream it would discard the bytes instead of reading them
            int flags = Libc.MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (type == Libc.SOCK_SEQPACKET ? MSG_TRUNC : 0);
            r = (long) RECVMSG.invokeExact(captured, fd, msghdr, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) return -(int) ERRNO.get(captured, 0L);
        takeFds(fds);
        return r;
    }

    /** Walks the control messages the kernel wrote: SCM_RIGHTS descriptors into {@code fds}, the surplus closed. */
    private void takeFds(int[] fds) {
        long controlLen = msghdr.get(JAVA_LONG, 40);
        int got = 0;
        long at = 0;
        while (at + CMSG_HDR <= controlLen) {
            long len = control.get(JAVA_LONG, at);
            if (len < CMSG_HDR || at + len > controlLen) break;
            if (control.get(JAVA_INT, at + 8) == Libc.SOL_SOCKET && control.get(JAVA_INT, at + 12) == SCM_RIGHTS) {
                for (long p = at + CMSG_HDR; p + 4 <= at + len; p += 4) {
                    int f = control.get(JAVA_INT, p);
                    if (got < fds.length) fds[got++] = f;
                    else Libc.close(f);
                }
            }
            at += (len + 7) & ~7L; // CMSG_ALIGN
        }
    }


    /** The file descriptor, for epoll. */
    public int fd() {
        return fd;
    }

    /** The address as messages name it, e.g. {@code socket=/run/memif.sock}. */
    public String address() {
        return address;
    }

    private void checkOpen(String call) {
        if (closed) throw new LinuxException(call, address, Errno.EBADF);
    }

    /** Closes the socket (and removes a listener's socket file). Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
        if (unlinkOnClose != null) Libc.unlink(unlinkOnClose);
        arena.close();
    }

    @Override
    public String toString() {
        return "unix socket fd " + fd + " " + address;
    }
}
