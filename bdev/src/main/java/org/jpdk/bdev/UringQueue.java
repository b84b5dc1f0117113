package org.jpdk.bdev;

import org.jpdk.eal.Log;
import org.jpdk.sys.Errno;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The io_uring transport of a qpair, the part of SPDK's uring bdev module below its request
 * handling: one {@link IoUring} with the device's fd registered (IOSQE_FIXED_FILE, one file
 * reference less per I/O) and the registered buffers ({@link FixedBuffers}), the encoding of each
 * operation as an SQE, and the policy of when to enter the kernel.
 *
 * <p>When to enter: the ring is set up with COOP_TASKRUN | TASKRUN_FLAG where the kernel has them
 * (5.19), so completions are not forced on the lcore by an interrupt; the kernel flags
 * {@code IORING_SQ_TASKRUN} and the next {@link #doorbell} collects them with
 * {@code IORING_ENTER_GETEVENTS}, in the same call that submits the SQEs filled since the last
 * one. Nothing to submit and nothing flagged: no system call. With SQPOLL a kernel thread takes
 * the SQEs (a wakeup only when it sleeps); with IOPOLL completions appear only while the kernel
 * polls the device, so a doorbell with entries out always enters.
 */
final class UringQueue implements QueueTransport {
    static final int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2, FALLOC_FL_ZERO_RANGE = 0x10;
    private static final Log.Type LOG = Bdev.LOG;

    private final IoUring ring;
    private final String what;
    private final int fileFd, fileFlags;
    private final boolean sqpoll;
    /** Completions show only when we enter: IOPOLL, or COOP_TASKRUN without the flag that says when. */
    private final boolean enterToReap;
    private final Arena arena;
    /** struct io_uring_getevents_arg (24 bytes) then the __kernel_timespec it names (16 bytes); null without EXT_ARG. */
    private final MemorySegment waitArg;
    private final FixedBuffers fixed;
    private long enters, retries, sleeps;

    /**
     * An io_uring of {@code entries} SQEs for {@code bdev}; {@code iopoll} when the device polls.
     * Throws LinuxException when io_uring refuses (the errno, the flags, a hint).
     */
    UringQueue(Bdev bdev, QpairOptions o, int entries, boolean iopoll, String what) {
        this.what = what;
        int flags = (iopoll ? IoUring.SETUP_IOPOLL : 0) | (o.sqpoll() ? IoUring.SETUP_SQPOLL : 0);
        // optional: dropped one by one (highest first) when an older kernel refuses them
        int optional = IoUring.SETUP_SUBMIT_ALL | (o.sqpoll() || !o.taskrunFlag() ? 0 : IoUring.SETUP_COOP_TASKRUN | IoUring.SETUP_TASKRUN_FLAG);
        this.ring = IoUring.create(entries, flags, optional, o.sqpollIdleMillis(), what);
        this.sqpoll = (ring.setupFlags & IoUring.SETUP_SQPOLL) != 0;
        this.enterToReap = (ring.setupFlags & IoUring.SETUP_IOPOLL) != 0
                || (ring.setupFlags & (IoUring.SETUP_COOP_TASKRUN | IoUring.SETUP_TASKRUN_FLAG)) == IoUring.SETUP_COOP_TASKRUN;
        try {
            int ff = -1;
            if (o.fixedFiles()) {
                try (Arena a = Arena.ofConfined()) {
                    // bounded: one s32 fd, nr_args = 1
                    int r = IoUringCalls.register(ring.fd, IoUring.REGISTER_FILES, a.allocateFrom(JAVA_INT, bdev.fd), 1);
                    if (r >= 0) ff = 0;
                    else LOG.log(Log.INFO, "%s: fd not registered (IORING_REGISTER_FILES: %s)", what, Errno.name(-r));
                }
            }
            fileFd = ff >= 0 ? 0 : bdev.fd;
            fileFlags = ff >= 0 ? IoUring.SQE_FIXED_FILE : 0;
            arena = Arena.ofShared();
            if ((ring.features & IoUring.FEAT_EXT_ARG) != 0) {
                waitArg = arena.allocate(40, 8);
                // bounded: getevents_arg (24 bytes) names the timespec in its own last 16 bytes
                waitArg.set(JAVA_LONG, 16, waitArg.address() + 24);
            } else {
                waitArg = null;
            }
            fixed = new FixedBuffers(ring, what);
        } catch (RuntimeException e) {
            ring.close();
            throw e;
        }
    }

    @Override
    public int entries() {
        return ring.sqEntries;
    }

    @Override
    public void read(long tag, long offset, long addr, int len, int bufferSlot) {
        if (bufferSlot >= 0) ring.prep(IoUring.OP_READ_FIXED, fileFlags, fileFd, offset, addr, len, 0, tag, bufferSlot);
        else ring.prep(IoUring.OP_READ, fileFlags, fileFd, offset, addr, len, 0, tag, 0);
        if (sqpoll) ring.publish();
    }

    @Override
    public void write(long tag, long offset, long addr, int len, int bufferSlot) {
        if (bufferSlot >= 0) ring.prep(IoUring.OP_WRITE_FIXED, fileFlags, fileFd, offset, addr, len, 0, tag, bufferSlot);
        else ring.prep(IoUring.OP_WRITE, fileFlags, fileFd, offset, addr, len, 0, tag, 0);
        if (sqpoll) ring.publish();
    }

    @Override
    public void readv(long tag, long offset, long iovecs, int count) {
        ring.prep(IoUring.OP_READV, fileFlags, fileFd, offset, iovecs, count, 0, tag, 0);
        if (sqpoll) ring.publish();
    }

    @Override
    public void writev(long tag, long offset, long iovecs, int count) {
        ring.prep(IoUring.OP_WRITEV, fileFlags, fileFd, offset, iovecs, count, 0, tag, 0);
        if (sqpoll) ring.publish();
    }

    @Override
    public void flush(long tag) {
        ring.prep(IoUring.OP_FSYNC, fileFlags, fileFd, 0, 0, 0, IoUring.FSYNC_DATASYNC, tag, 0);
        if (sqpoll) ring.publish();
    }

    @Override
    public void writeZeroes(long tag, long offset, long len) {
        ring.prep(IoUring.OP_FALLOCATE, fileFlags, fileFd, offset, len, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, tag, 0);
        if (sqpoll) ring.publish();
    }

    @Override
    public void unmap(long tag, long offset, long len) {
        ring.prep(IoUring.OP_FALLOCATE, fileFlags, fileFd, offset, len, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, tag, 0);
        if (sqpoll) ring.publish();
    }

    @Override
    public void cancel(long tag, long target) {
        ring.prep(IoUring.OP_ASYNC_CANCEL, 0, -1, 0, target, 0, 0, tag, 0);
        if (sqpoll) ring.publish();
    }

    @Override
    public void nop(long tag) {
        ring.prep(IoUring.OP_NOP, 0, -1, 0, 0, 0, 0, tag, 0);
        if (sqpoll) ring.publish();
    }

    /**
     * Enters the kernel if there is something to submit, completions it holds for us (the TASKRUN
     * or CQ_OVERFLOW flag), or, with IOPOLL, entries to poll for; else returns at once. An enter
     * refused for the moment (EAGAIN, EBUSY, EINTR) is counted and left to the next doorbell.
     */
    @Override
    public int doorbell(boolean inflight) {
        int flags = 0;
        boolean submit = false;
        if (ring.unentered() > 0) {
            ring.publish();
            if (sqpoll) {
                ring.handedToSqThread();
                if (ring.sqThreadNeedsWakeup()) flags |= IoUring.ENTER_SQ_WAKEUP;
            } else {
                submit = true;
            }
        }
        if ((ring.sqFlags() & (IoUring.SQ_TASKRUN | IoUring.SQ_CQ_OVERFLOW)) != 0
                || enterToReap && inflight && ring.cqReady() == 0) {
            flags |= IoUring.ENTER_GETEVENTS;
        }
        if (!submit && flags == 0) return 0;
        enters++;
        int r = ring.enter(submit, flags);
        if (r >= 0) return 0;
        if (IoUringCalls.retryable(-r)) {
            retries++; // SQEs stay unentered and go with the next doorbell
            return 0;
        }
        return r;
    }

    /** Sleeps in {@code io_uring_enter(GETEVENTS, min_complete=1)} with a timeout (EXT_ARG, 5.11). */
    @Override
    public int await(long timeoutNanos) {
        if (waitArg == null) return 0;
        long t = Math.max(1, timeoutNanos);
        waitArg.set(JAVA_LONG, 24, t / 1_000_000_000L);
        waitArg.set(JAVA_LONG, 32, t % 1_000_000_000L);
        sleeps++;
        int r = ring.waitCqe(waitArg);
        return r >= 0 || r == -Errno.ETIME || IoUringCalls.retryable(-r) ? 1 : r;
    }

    @Override
    public int completionsReady() {
        return ring.cqReady();
    }

    @Override
    public long completionTag() {
        return ring.cqeUserData();
    }

    @Override
    public int completionResult() {
        return ring.cqeRes();
    }

    @Override
    public void nextCompletion() {
        ring.cqAdvance();
    }

    @Override
    public int bufferSlot(MemorySegment buf, long addr, long len) {
        return fixed.slotOf(buf, addr, len);
    }

    @Override
    public FixedBuffers buffers() {
        return fixed;
    }

    @Override
    public String describe() {
        return "io_uring " + IoUring.flagNames(ring.setupFlags);
    }

    /** The io_uring setup flags in force. */
    String ringFlags() {
        return IoUring.flagNames(ring.setupFlags);
    }

    @Override
    public long enters() {
        return enters;
    }

    @Override
    public long retries() {
        return retries;
    }

    @Override
    public long sleeps() {
        return sleeps;
    }

    @Override
    public long badCompletions() {
        return ring.badCqTails;
    }

    /**
     * Unregisters the device's file first (the ring lets go of its files from a kernel worker after
     * close; unregistering makes this qpair's last reference go now, so a umount right after
     * works), then unmaps and closes the ring.
     */
    @Override
    public void close() {
        try {
            if (fileFlags != 0) IoUringCalls.register(ring.fd, IoUring.UNREGISTER_FILES, MemorySegment.NULL, 0);
        } finally {
            try {
                ring.close();
            } finally {
                arena.close();
            }
        }
    }

    @Override
    public String toString() {
        return what + ": " + describe();
    }
}
