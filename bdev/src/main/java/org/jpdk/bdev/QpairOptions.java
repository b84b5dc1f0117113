package org.jpdk.bdev;

/**
 * How {@link Bdev#allocQpair(QpairOptions)} sets up a queue pair, as SPDK's
 * {@code spdk_nvme_io_qpair_opts}: the ring depth, how many requests may wait in the qpair beyond
 * it, and how the kernel side is driven. Immutable; {@code with...} methods return a changed copy.
 *
 * @param depth            requests in flight in the kernel at once, 1 to 4096 (the io_uring has
 *                         the next power of two of twice as many SQEs, for cancels, and twice that of CQEs)
 * @param requests         request objects, preallocated: submissions beyond {@code depth} wait in
 *                         the qpair; beyond {@code requests} they are refused with {@code -ENOMEM}
 *                         (0: 4 x depth, at least 64)
 * @param sqpoll           a kernel thread polls the SQ (IORING_SETUP_SQPOLL): no syscall to submit
 *                         while it is awake, one CPU spent on it
 * @param sqpollIdleMillis how long the SQPOLL thread spins before it sleeps
 * @param iopoll           completions polled from the device (IORING_SETUP_IOPOLL): {@code AUTO}
 *                         when the device says it can ({@code queue/io_poll} is 1) and the bdev is O_DIRECT
 * @param taskrunFlag      completions wait until the qpair enters the kernel, which the kernel flags
 *                         in the SQ ring (COOP_TASKRUN | TASKRUN_FLAG), instead of interrupting the
 *                         lcore to post them (default true)
 * @param fixedFiles       the device's fd is registered with the ring (IOSQE_FIXED_FILE), saving a
 *                         file reference per I/O (default true)
 */
public record QpairOptions(int depth, int requests, boolean sqpoll, int sqpollIdleMillis, Iopoll iopoll,
                           boolean taskrunFlag, boolean fixedFiles) {
    /** Whether a qpair polls the device for completions. */
    public enum Iopoll { AUTO, ON, OFF }

    public static final int MAX_DEPTH = 4096;

    public QpairOptions {
        if (depth < 1 || depth > MAX_DEPTH) throw new IllegalArgumentException("depth=" + depth + ": allowed 1.." + MAX_DEPTH);
        if (requests != 0 && (requests < depth || requests > 1 << 20)) {
            throw new IllegalArgumentException("requests=" + requests + ": allowed " + depth + " (the depth).." + (1 << 20) + ", or 0 (4 x depth)");
        }
        if (sqpollIdleMillis < 0) throw new IllegalArgumentException("sqpollIdleMillis=" + sqpollIdleMillis + ": allowed >= 0");
        if (iopoll == null) throw new IllegalArgumentException("iopoll=null: allowed AUTO, ON or OFF");
    }

    /** Depth {@code depth}, 4 x depth requests, no SQPOLL, IOPOLL when the device can, taskrun flag, fixed files. */
    public static QpairOptions of(int depth) {
        return new QpairOptions(depth, 0, false, 1000, Iopoll.AUTO, true, true);
    }

    /** The request count in force: {@link #requests}, or 4 x depth (at least 64) when 0. */
    public int requestCount() {
        return requests != 0 ? requests : Math.max(64, 4 * depth);
    }

    public QpairOptions withRequests(int v) {
        return new QpairOptions(depth, v, sqpoll, sqpollIdleMillis, iopoll, taskrunFlag, fixedFiles);
    }

    public QpairOptions withSqpoll(boolean v) {
        return new QpairOptions(depth, requests, v, sqpollIdleMillis, iopoll, taskrunFlag, fixedFiles);
    }

    public QpairOptions withSqpollIdleMillis(int v) {
        return new QpairOptions(depth, requests, sqpoll, v, iopoll, taskrunFlag, fixedFiles);
    }

    public QpairOptions withIopoll(Iopoll v) {
        return new QpairOptions(depth, requests, sqpoll, sqpollIdleMillis, v, taskrunFlag, fixedFiles);
    }

    public QpairOptions withTaskrunFlag(boolean v) {
        return new QpairOptions(depth, requests, sqpoll, sqpollIdleMillis, iopoll, v, fixedFiles);
    }

    public QpairOptions withFixedFiles(boolean v) {
        return new QpairOptions(depth, requests, sqpoll, sqpollIdleMillis, iopoll, taskrunFlag, v);
    }
}
