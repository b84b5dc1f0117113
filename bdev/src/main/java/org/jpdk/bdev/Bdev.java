package org.jpdk.bdev;

import org.jpdk.eal.Log;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * A block device on a file or a Linux block device, as SPDK's bdev on its uring module: opened
 * once ({@code O_DIRECT} by default, {@code O_EXCL} for a block device so that nothing mounted is
 * written under a filesystem), its geometry read from the device ({@link Geometry}) or given in
 * {@link BdevOptions}, and driven through queue pairs, one per lcore, made by
 * {@link #allocQpair}. The device also owns what SPDK attaches to a controller: the timeout
 * callback checked by every qpair as it polls, and the removal callback run once when the device
 * goes away or keeps failing.
 *
 * <p>Thread contract: open, allocQpair, the callback registrations and close are control-path
 * calls (any thread, under a lock); each qpair then belongs to one lcore. The device's removal
 * state is the one thing lcores share: a volatile int set once by compare-and-set.
 */
public final class Bdev implements AutoCloseable {
    static final Log.Type LOG = Log.register("bdev.uring", "BDEV");
    static final int O_DIRECT = 0x4000;
    private static final VarHandle REMOVED;

    static {
        try {
            REMOVED = MethodHandles.lookup().findVarHandle(Bdev.class, "removedErrno", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The timeout limit and callback, replaced whole so that an lcore reads both at once. */
    record Timeouts(long nanos, TimeoutCallback callback) {
    }

    private final String path;
    final int fd;
    private final Geometry geometry;
    private final BdevOptions options;
    private final List<Qpair> qpairs = new ArrayList<>();
    volatile Timeouts timeouts;
    private volatile RemoveCallback removeCallback;
    /** 0 while the device is there; the errno that showed it gone, once. */
    @SuppressWarnings("unused") // through REMOVED
    private volatile int removedErrno;
    private boolean closed;

    private Bdev(String path, int fd, Geometry geometry, BdevOptions options) {
        this.path = path;
        this.fd = fd;
        this.geometry = geometry;
        this.options = options;
    }

    /** Opens {@code path} with {@link BdevOptions#defaults()}: O_DIRECT, read-write, the device's geometry. */
    public static Bdev open(String path) {
        return open(path, BdevOptions.defaults());
    }

    /**
     * Opens {@code path} (a regular file, a block device, or, with its geometry given, anything
     * readable such as a FIFO). Throws LinuxException naming the call and the path
     * ({@code open(/dev/loop3, O_RDWR|O_DIRECT|O_EXCL): EBUSY: mounted or held by another program}),
     * IllegalArgumentException for a geometry that does not fit the device.
     */
    public static Bdev open(String path, BdevOptions o) {
        int flags = (o.readOnly() ? Libc.O_RDONLY : Libc.O_RDWR) | Libc.O_CLOEXEC | (o.direct() ? O_DIRECT : 0);
        boolean block = isBlockDevice(path);
        if (block) flags |= Libc.O_EXCL;
        int fd;
        try {
            fd = Libc.open(path, flags, 0);
        } catch (LinuxException e) {
            throw new HintedLinuxException("open", path + ", " + openFlags(flags), e.errno(), openHint(e.errno(), block, o));
        }
        try {
            Geometry g = Geometry.probe(fd, path, o);
            Bdev b = new Bdev(path, fd, g, o);
            LOG.log(Log.INFO, "%s", b);
            return b;
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    private static boolean isBlockDevice(String path) {
        try {
            return java.nio.file.Files.getAttribute(java.nio.file.Path.of(path), "unix:mode") instanceof Integer mode
                    && (mode & IoUringCalls.S_IFMT) == IoUringCalls.S_IFBLK;
        } catch (java.io.IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    private static String openFlags(int flags) {
        String s = (flags & 3) == Libc.O_RDONLY ? "O_RDONLY" : "O_RDWR";
        if ((flags & O_DIRECT) != 0) s += "|O_DIRECT";
        if ((flags & Libc.O_EXCL) != 0) s += "|O_EXCL";
        return s;
    }

    private static String openHint(int errno, boolean block, BdevOptions o) {
        return switch (errno) {
            case Errno.EINVAL -> o.direct() ? "this filesystem does not support O_DIRECT; put the file elsewhere or open without it" : "";
            case Errno.EBUSY -> block ? "mounted or held by another program" : "";
            case Errno.EACCES, Errno.EPERM, Errno.EROFS -> o.readOnly() ? "" : "not writable by this user; open read-only or as root";
            case Errno.ENOENT -> "no such file or device";
            default -> "";
        };
    }

    /**
     * A queue pair of {@code depth} (at most that many requests in the kernel at once, more
     * waiting in the qpair), for one lcore; see {@link QpairOptions#of(int)}.
     */
    public Qpair allocQpair(int depth) {
        return allocQpair(QpairOptions.of(depth));
    }

    /** A queue pair set up as {@code o} says; throws LinuxException when io_uring refuses. */
    public synchronized Qpair allocQpair(QpairOptions o) {
        if (closed) throw new IllegalStateException(path + ": closed");
        Qpair q = new Qpair(this, o, qpairs.size());
        qpairs.add(q);
        return q;
    }

    synchronized void detach(Qpair q) {
        qpairs.remove(q);
    }

    /**
     * Calls {@code callback} for each request outstanding more than {@code timeoutMicros}, checked
     * by each qpair while it polls (SPDK's {@code spdk_nvme_ctrlr_register_timeout_callback}).
     * 0 (or a null callback) turns checking off. Requests submitted while it was off are never
     * reported.
     */
    public void registerTimeoutCallback(long timeoutMicros, TimeoutCallback callback) {
        if (timeoutMicros < 0) throw new IllegalArgumentException("timeoutMicros=" + timeoutMicros + ": allowed >= 0 (0: off)");
        timeouts = timeoutMicros == 0 || callback == null ? null : new Timeouts(timeoutMicros * 1000, callback);
    }

    /** Calls {@code callback} once, on an lcore, when the device is found gone (see {@link RemoveCallback}). */
    public void registerRemoveCallback(RemoveCallback callback) {
        removeCallback = callback;
    }

    /** Whether the device was found gone; from then on every request completes with an error. */
    public boolean removed() {
        return removedErrno != 0;
    }

    /** The errno that showed the device gone, 0 while it is there. */
    public int removedErrno() {
        return removedErrno;
    }

    /**
     * Marks the device gone because of {@code errno}; the first caller runs the removal callback
     * (on its own thread) and gets true.
     */
    boolean markRemoved(int errno) {
        if (!REMOVED.compareAndSet(this, 0, errno)) return false;
        LOG.log(Log.WARNING, "%s: device gone (%s); failing its requests", path, Errno.name(errno));
        RemoveCallback cb = removeCallback;
        if (cb != null) cb.removed(this, errno);
        return true;
    }

    public String path() {
        return path;
    }

    /** Bytes per block. */
    public int blockSize() {
        return geometry.blockSize();
    }

    /** Blocks on the device. */
    public long blockCount() {
        return geometry.blockCount();
    }

    /** The largest request the kernel gets; longer ones are split. */
    public int maxTransferBytes() {
        return geometry.maxTransferBytes();
    }

    /** The boundary requests are split at, in bytes; 0 for none. */
    public int optimalBoundaryBytes() {
        return geometry.optimalBoundaryBytes();
    }

    /** Whether the device can complete polled I/O (its {@code queue/io_poll} is 1). */
    public boolean pollCapable() {
        return geometry.ioPoll();
    }

    /** "block device", "file", "FIFO", ... */
    public String kind() {
        return geometry.kind();
    }

    public boolean direct() {
        return options.direct();
    }

    public boolean readOnly() {
        return options.readOnly();
    }

    int errorsBeforeRemoval() {
        return options.errorsBeforeRemoval();
    }

    /** Closes every qpair still open (cancelling their requests), then the device. */
    @Override
    public void close() {
        List<Qpair> open;
        synchronized (this) {
            if (closed) return;
            closed = true;
            open = new ArrayList<>(qpairs);
        }
        RuntimeException first = null;
        for (Qpair q : open) {
            try {
                q.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        Libc.close(fd);
        if (first != null) throw first;
    }

    @Override
    public String toString() {
        return String.format("%s (%s%s): %d blocks of %d bytes (%d MiB), max transfer %d KiB, boundary %s%s", path,
                kind(), direct() ? ", O_DIRECT" : "", blockCount(), blockSize(), blockCount() * blockSize() >> 20,
                maxTransferBytes() >> 10, optimalBoundaryBytes() == 0 ? "none" : (optimalBoundaryBytes() >> 10) + " KiB",
                pollCapable() ? ", polled I/O" : "");
    }
}
