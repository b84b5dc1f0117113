package org.jpdk.bdev;

import org.jpdk.eal.Log;
import org.jpdk.sys.Errno;
import org.jpdk.sys.LinuxException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A queue pair of a {@link Bdev}, as SPDK's {@code spdk_nvme_qpair} and the uring bdev's channel:
 * SPDK's request layer over one queue ({@link QueueTransport}: an io_uring, {@link UringQueue})
 * driven by one lcore, with its requests ({@link IoRequest}, SPDK's
 * {@code nvme_request}) and SQE slots ({@link Tracker}, SPDK's {@code nvme_tracker})
 * preallocated. Submissions ({@link #read}, {@link #write}, {@link #readv}, {@link #writev},
 * {@link #flush}, {@link #writeZeroes}, {@link #unmap}) fill SQEs at once while slots are free and
 * wait in the qpair, in order, when they are not; {@link #processCompletions} hands the filled SQEs
 * to the kernel with one {@code io_uring_enter} (none with SQPOLL while its thread is awake),
 * reaps completions from the CQ in memory, runs their callbacks, sends waiting requests out as
 * slots free, and checks timeouts. The kernel is entered only when there is something to submit,
 * when it flagged completions waiting for us (COOP_TASKRUN with TASKRUN_FLAG), or, with IOPOLL,
 * to poll the device: an lcore that finds nothing to do makes no system call.
 *
 * <p>Requests longer than the device's transfer limit, or crossing its optimal I/O boundary, go
 * out in parts; the callback runs once, after the last part, with the first error. A request
 * with more bytes than its parts returned (a short read at the end of a file) fails with EIO.
 * Timeouts are checked over the outstanding requests in submission order, from a cursor past
 * those already reported, so a check costs one clock read and one compare when nothing is late.
 * When the device is found gone (an errno that says so, or repeated I/O errors, see
 * {@link BdevOptions#errorsBeforeRemoval}), every outstanding request is failed with ENODEV (those
 * in the kernel are cancelled and fail when it returns them), the removal callback runs once, and
 * every later submission completes with ENODEV: the qpair keeps answering, nothing waits forever.
 *
 * <p>Memory ordering with the kernel, which shares the rings ({@link IoUring} draws them): the SQ
 * tail and the CQ head are ours, the SQ head and the CQ tail the kernel's. SQEs are filled with
 * plain stores, then the SQ tail is release-stored (R1), pairing with the kernel's
 * {@code smp_load_acquire} of the tail: the kernel never reads a half-written SQE. The CQ tail is
 * acquire-loaded (A1), pairing with the kernel's {@code smp_store_release} after it wrote the
 * CQEs; the CQEs are read, and the CQ head is release-stored (R2), pairing with the kernel's
 * acquire of the head before it reuses a slot, so our reads of a CQE happen before the kernel can
 * overwrite it. With SQPOLL the kernel thread may be asleep: after publishing a tail, a full
 * fence (StoreLoad) comes before reading {@code NEED_WAKEUP}, else a flag set just as we stored
 * could be missed. {@code TASKRUN} is read opaque: a flag seen late costs one more poll, never a
 * completion, since the kernel keeps it set until we enter. The SQ head is never read: an SQE slot
 * is reused only after its tracker completed, and trackers (I/O and cancels) never outnumber the
 * SQ, so the kernel consumed the SQE long before. The CQ has twice the SQ's entries and cannot
 * overflow; its tail is still untrusted: a distance from our head beyond the ring's size is
 * counted and read as nothing, slot indexes are masked, and a CQE's user_data must name a busy
 * tracker of the same generation or it is counted ({@link #spuriousCompletions}) and dropped.
 *
 * <p>Thread contract: one thread (the lcore) submits, polls and aborts; {@link #close} from that
 * thread or after it stopped polling. Submission and completion allocate nothing, take no lock and
 * log nothing; the callbacks run on the polling thread, inside {@link #processCompletions}, in the
 * order the kernel completed the requests (the done list's first).
 */
public final class Qpair implements AutoCloseable {
    /** Buffers a vectored request may have. */
    public static final int MAX_IOV = 64;
    private static final Log.Type LOG = Bdev.LOG;
    /** How long {@link #close} waits for the kernel to hand back cancelled requests. */
    static final long CLOSE_WAIT_NANOS = 2_000_000_000L;

    private final Bdev bdev;
    /** The queue beneath: io_uring here; the seam an NVMe queue pair would plug into. */
    private final QueueTransport queue;
    private final String what;
    private final int depth;
    private final int blockSize;
    private final long blockCount, maxTransfer, boundary;
    private final boolean readOnly;
    private final int errorsBeforeRemoval;
    private final Arena arena;

    private final IoRequest[] requests;
    private final int[] freeRequests;
    private int freeRequestCount;
    private final Tracker[] trackers;
    private final int[] freeIo, freeControl;
    private int freeIoCount, freeControlCount;

    private final RequestLists lists = new RequestLists();
    /** 0 while the qpair works; else the errno every request now fails with. */
    private int deadErrno;
    private int consecutiveErrors;
    private boolean closed;

    // statistics, written by the lcore only (read them there, or after it stopped)
    private long submitted, completed, parts, failed, spurious, timedOut, aborted;

    Qpair(Bdev bdev, QpairOptions o, int id) {
        this.bdev = bdev;
        this.what = bdev.path() + " qpair " + id;
        this.depth = o.depth();
        this.blockSize = bdev.blockSize();
        this.blockCount = bdev.blockCount();
        this.maxTransfer = bdev.maxTransferBytes();
        this.boundary = bdev.optimalBoundaryBytes();
        this.readOnly = bdev.readOnly();
        this.errorsBeforeRemoval = bdev.errorsBeforeRemoval();
        boolean poll = switch (o.iopoll()) {
            case ON -> true;
            case OFF -> false;
            case AUTO -> bdev.pollCapable() && bdev.direct();
        };
        if (poll && !bdev.direct()) {
            throw new IllegalArgumentException("iopoll=ON: " + bdev.path() + " is not open with O_DIRECT; polled I/O needs it");
        }
        int trackerCount = 2 * depth; // depth for I/O, depth for cancels
        int entries = Integer.highestOneBit(trackerCount - 1) << 1;
        if (entries < trackerCount) entries = trackerCount;
        this.queue = new UringQueue(bdev, o, entries, poll, what);
        try {
            arena = Arena.ofShared();
            MemorySegment iovMemory = arena.allocate((long) trackerCount * MAX_IOV * 16, 64);
            trackers = new Tracker[trackerCount];
            freeIo = new int[depth];
            freeControl = new int[depth];
            for (int i = 0; i < trackerCount; i++) {
                boolean control = i >= depth;
                trackers[i] = new Tracker(i, control, iovMemory.asSlice((long) i * MAX_IOV * 16, MAX_IOV * 16L));
                if (control) freeControl[freeControlCount++] = i;
            }
            for (int i = depth - 1; i >= 0; i--) freeIo[freeIoCount++] = i;
            int n = o.requestCount();
            requests = new IoRequest[n];
            freeRequests = new int[n];
            for (int i = 0; i < n; i++) requests[i] = new IoRequest(i);
            for (int i = n - 1; i >= 0; i--) freeRequests[freeRequestCount++] = i;
            BdevMemory.attach(queue.buffers());
        } catch (RuntimeException e) {
            queue.close();
            throw e;
        }
        LOG.log(Log.INFO, "%s: depth %d, %s", what, depth, queue.describe());
    }

    // ------------------------------------------------------------------ submission

    /**
     * Reads {@code blocks} blocks at {@code lba} into {@code buf} (native, at least that long; under
     * O_DIRECT aligned to the block size) and calls {@code cb.complete(arg, status)} when done.
     * Returns 0 when accepted, {@code -EINVAL} for a bad range or buffer, {@code -ENOMEM} when every
     * request of the qpair is in use (poll, then try again), {@code -ENXIO} once the qpair is closed. Never blocks, allocates nothing; the
     * SQE reaches the kernel at the next {@link #processCompletions}.
     */
    public int read(MemorySegment buf, long lba, int blocks, IoCallback cb, Object arg) {
        return data(IoRequest.READ, buf, null, 0, lba, blocks, cb, arg);
    }

    /** Writes {@code blocks} blocks at {@code lba} from {@code buf}; as {@link #read}, {@code -EROFS} on a read-only device. */
    public int write(MemorySegment buf, long lba, int blocks, IoCallback cb, Object arg) {
        return data(IoRequest.WRITE, buf, null, 0, lba, blocks, cb, arg);
    }

    /**
     * Reads {@code blocks} blocks at {@code lba} into the buffers {@code iov[0..iovcnt)} in turn
     * (at most {@link #MAX_IOV}, together at least that long). The array is read as parts go out:
     * leave it unchanged until the callback runs.
     */
    public int readv(MemorySegment[] iov, int iovcnt, long lba, int blocks, IoCallback cb, Object arg) {
        return data(IoRequest.READ, null, iov, iovcnt, lba, blocks, cb, arg);
    }

    /** Writes {@code blocks} blocks at {@code lba} from {@code iov[0..iovcnt)}; as {@link #readv}. */
    public int writev(MemorySegment[] iov, int iovcnt, long lba, int blocks, IoCallback cb, Object arg) {
        return data(IoRequest.WRITE, null, iov, iovcnt, lba, blocks, cb, arg);
    }

    /**
     * Makes writes that completed before this was submitted durable ({@code fdatasync}, as NVMe's
     * Flush); not ordered with requests still in flight.
     */
    public int flush(IoCallback cb, Object arg) {
        return range(IoRequest.FLUSH, 0, 0, cb, arg);
    }

    /** Zeroes {@code blocks} blocks at {@code lba} ({@code fallocate(FALLOC_FL_ZERO_RANGE)}). */
    public int writeZeroes(long lba, long blocks, IoCallback cb, Object arg) {
        return range(IoRequest.WRITE_ZEROES, lba, blocks, cb, arg);
    }

    /**
     * Discards {@code blocks} blocks at {@code lba}, which then read as zeroes
     * ({@code fallocate(FALLOC_FL_PUNCH_HOLE)}: a hole in a file, a discard with zeroing on a device;
     * {@code -EOPNOTSUPP} from a device that cannot).
     */
    public int unmap(long lba, long blocks, IoCallback cb, Object arg) {
        return range(IoRequest.UNMAP, lba, blocks, cb, arg);
    }

    private int data(byte op, MemorySegment buf, MemorySegment[] iov, int iovcnt, long lba, int blocks, IoCallback cb, Object arg) {
        if (cb == null || blocks <= 0 || lba < 0 || lba > blockCount - blocks) return -Errno.EINVAL;
        long len = (long) blocks * blockSize;
        if (buf != null) {
            if (!buf.isNative() || buf.byteSize() < len) return -Errno.EINVAL;
        } else {
            if (iov == null || iovcnt <= 0 || iovcnt > MAX_IOV || iovcnt > iov.length) return -Errno.EINVAL;
            long sum = 0;
            for (int i = 0; i < iovcnt; i++) {
                MemorySegment s = iov[i];
                if (s == null || !s.isNative()) return -Errno.EINVAL;
                sum += s.byteSize();
            }
            if (sum < len) return -Errno.EINVAL;
        }
        if (op == IoRequest.WRITE && readOnly) return -Errno.EROFS;
        if (closed) return -Errno.ENXIO;
        IoRequest r = take();
        if (r == null) return -Errno.ENOMEM;
        r.op = op;
        r.buf = buf;
        r.iov = iov;
        r.iovCount = iovcnt;
        r.offset = lba * blockSize;
        r.length = len;
        r.callback = cb;
        r.arg = arg;
        start(r);
        return 0;
    }

    private int range(byte op, long lba, long blocks, IoCallback cb, Object arg) {
        if (cb == null) return -Errno.EINVAL;
        if (op != IoRequest.FLUSH && (blocks <= 0 || lba < 0 || lba > blockCount - blocks)) return -Errno.EINVAL;
        if (readOnly) return -Errno.EROFS;
        if (closed) return -Errno.ENXIO;
        IoRequest r = take();
        if (r == null) return -Errno.ENOMEM;
        r.op = op;
        r.offset = lba * blockSize;
        r.rangeBytes = blocks * blockSize;
        r.length = 1; // one part
        r.callback = cb;
        r.arg = arg;
        start(r);
        return 0;
    }

    private IoRequest take() {
        if (freeRequestCount == 0) return null;
        IoRequest r = requests[freeRequests[--freeRequestCount]];
        r.live = true;
        return r;
    }

    /** Puts a filled request on its way: out now if nothing waits before it and slots are free. */
    private void start(IoRequest r) {
        submitted++;
        Bdev.Timeouts t = bdev.timeouts;
        r.submitNanos = t != null ? System.nanoTime() : 0;
        lists.linkOutstanding(r);
        if (deadErrno != 0) {
            r.status = -deadErrno;
            r.length = 0;
            lists.addDone(r);
            return;
        }
        if (lists.queueHead == null && issue(r)) return;
        lists.enqueue(r);
    }

    /**
     * Sends out as many parts of {@code r} as free I/O slots allow; true when all of it is out.
     * A part ends at the transfer limit and at the next boundary; it uses the buffer's fixed slot
     * when the buffer is registered.
     */
    private boolean issue(IoRequest r) {
        while (r.issued < r.length) {
            if (freeIoCount == 0) return false;
            Tracker t = trackers[freeIo[--freeIoCount]];
            t.busy = true;
            t.gen++;
            t.request = r;
            r.inflight++;
            parts++;
            if (!r.isData()) {
                t.expected = 0;
                r.issued = r.length;
                prepRange(r, t);
                continue;
            }
            long off = r.offset + r.issued;
            long piece = Math.min(r.length - r.issued, maxTransfer);
            if (boundary != 0) piece = Math.min(piece, boundary - off % boundary);
            t.expected = (int) piece;
            boolean read = r.op == IoRequest.READ;
            long tag = t.userData();
            if (r.buf != null) {
                // bounded: issued + piece <= length <= buf.byteSize() (checked at submission); the
                // segment stays reachable through r.buf until the callback, but an arena its owner
                // closes meanwhile cannot be held open (see docs/safety.md)
                long addr = r.buf.address() + r.issued;
                int slot = queue.bufferSlot(r.buf, addr, piece);
                if (read) queue.read(tag, off, addr, (int) piece, slot);
                else queue.write(tag, off, addr, (int) piece, slot);
            } else {
                int n = fillIovecs(r, t, piece);
                if (read) queue.readv(tag, off, t.iovs.address(), n);
                else queue.writev(tag, off, t.iovs.address(), n);
            }
            r.issued += piece;
        }
        return true;
    }

    private void prepRange(IoRequest r, Tracker t) {
        switch (r.op) {
            case IoRequest.FLUSH -> queue.flush(t.userData());
            case IoRequest.WRITE_ZEROES -> queue.writeZeroes(t.userData(), r.offset, r.rangeBytes);
            default -> queue.unmap(t.userData(), r.offset, r.rangeBytes);
        }
    }

    /**
     * Writes the iovecs of the next {@code piece} bytes of {@code r} into {@code t}'s slots; returns
     * their count. Bounded: at most iovCount <= MAX_IOV entries, the tracker's slots; each entry
     * within its segment (iovOffset + take <= byteSize), the segments together at least the length.
     */
    private static int fillIovecs(IoRequest r, Tracker t, long piece) {
        int n = 0;
        long left = piece;
        while (left > 0) {
            MemorySegment s = r.iov[r.iovIndex];
            long take = Math.min(s.byteSize() - r.iovOffset, left);
            if (take > 0) {
                t.iovs.set(JAVA_LONG, n * 16L, s.address() + r.iovOffset);
                t.iovs.set(JAVA_LONG, n * 16L + 8, take);
                n++;
                left -= take;
                r.iovOffset += take;
            }
            if (r.iovOffset == s.byteSize()) {
                r.iovIndex++;
                r.iovOffset = 0;
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ completion

    /**
     * Submits what was filled since the last call (one {@code io_uring_enter}, or none with SQPOLL
     * awake), reaps up to {@code max} completions (0: all there are) and runs their callbacks,
     * sends waiting requests out as slots free, and reports late requests to the timeout callback.
     * Returns the number of requests completed. Never blocks; allocates nothing.
     */
    public int processCompletions(int max) {
        if (closed) throw closedException();
        int limit = max <= 0 ? Integer.MAX_VALUE : max;
        if (deadErrno == 0 && bdev.removedErrno() != 0) die(Errno.ENODEV, false);
        int n = 0;
        if (lists.doneHead != null) n = finishDone(limit);
        kick();
        if (n < limit) n += reap(limit - n);
        if (lists.queueHead != null) drainQueue();
        if (lists.timeoutCursor != null) {
            Bdev.Timeouts t = bdev.timeouts;
            if (t != null) checkTimeouts(t);
        }
        return n;
    }

    /** Rings the doorbell: submits what was filled, collects what the kernel holds for us. */
    private void kick() {
        int r = queue.doorbell(freeIoCount < depth);
        if (r < 0) die(-r, true); // the queue itself is broken (EBADF, EFAULT, ...): nothing it holds will come back
    }

    /**
     * Sleeps in the kernel until a request completes or {@code timeoutNanos} pass, for an lcore
     * with nothing else to do (SPDK's interrupt mode; {@link QpairIdleStrategy} calls it after a run
     * of empty polls). Submits what is pending first. Returns false at once, without sleeping, when
     * nothing is in the kernel, a completion is already there, or the kernel cannot bound the wait
     * (no IORING_FEAT_EXT_ARG, before 5.11); true when it slept. Completions are not reaped: the
     * next {@link #processCompletions} does that. Allocates nothing.
     */
    public boolean awaitCompletions(long timeoutNanos) {
        if (closed) throw closedException();
        kick();
        if (freeIoCount == depth || lists.doneHead != null || queue.completionsReady() > 0) return false;
        int r = queue.await(timeoutNanos);
        if (r < 0) die(-r, true);
        return r > 0;
    }

    private int reap(int limit) {
        int done = 0;
        int ready = queue.completionsReady();
        while (ready > 0 && done < limit) {
            long ud = queue.completionTag();
            int res = queue.completionResult();
            queue.nextCompletion(); // before the callback: one that throws cannot make us read the CQE twice
            if (complete(ud, res)) done++;
            if (--ready == 0) ready = queue.completionsReady();
        }
        return done;
    }

    /** Completes the part named by {@code ud}; true when that finished a request (its callback ran). */
    private boolean complete(long ud, int res) {
        int ti = (int) ud, gen = (int) (ud >>> 32);
        if (ti < 0 || ti >= trackers.length) {
            spurious++;
            return false;
        }
        Tracker t = trackers[ti];
        if (!t.busy || t.gen != gen) {
            spurious++;
            return false;
        }
        IoRequest r = t.request;
        int expected = t.expected;
        release(t);
        if (t.control) return false; // a cancel: its target reports for itself
        r.inflight--;
        int st = res < 0 ? res : res == expected ? 0 : -Errno.EIO;
        if (st == 0) {
            consecutiveErrors = 0;
        } else {
            if (r.status == 0) r.status = st;
            r.length = r.issued; // send no more parts of a failed request
            failed++;
            noteError(-st);
        }
        if (r.inflight == 0 && r.issued >= r.length && !r.onDone) {
            finish(r);
            return true;
        }
        return false;
    }

    /** Decides whether an error means the device is gone (see {@link BdevOptions#errorsBeforeRemoval}). */
    private void noteError(int errno) {
        switch (errno) {
            case Errno.ENODEV, Errno.ENXIO, Errno.ENOTCONN, Errno.ESHUTDOWN, Errno.EBADFD, Errno.ENOMEDIUM -> deviceGone(errno);
            case Errno.EIO, Errno.ETIMEDOUT, Errno.EREMOTEIO, Errno.ENOLINK, Errno.EILSEQ -> {
                if (++consecutiveErrors >= errorsBeforeRemoval) deviceGone(errno);
            }
            default -> {
            }
        }
    }

    private void deviceGone(int errno) {
        if (deadErrno != 0) return;
        die(Errno.ENODEV, false);
        bdev.markRemoved(errno);
    }

    /**
     * From now on every request fails with {@code errno}: outstanding ones get it as their status,
     * those the kernel holds are cancelled (and complete when it returns them, or at once when
     * {@code abandon}: the ring is broken and will return nothing), the rest complete at the next
     * poll. Runs once per qpair.
     */
    private void die(int errno, boolean abandon) {
        if (deadErrno != 0) return;
        deadErrno = errno;
        LOG.log(Log.WARNING, "%s: failing %d outstanding requests with %s", what, outstanding(), Errno.name(errno));
        for (IoRequest r = lists.outHead; r != null; r = r.next) {
            if (r.status == 0) r.status = -errno;
            r.length = r.issued;
            if (r.queued) lists.dequeue(r);
        }
        for (Tracker t : trackers) {
            if (!t.busy) continue;
            if (abandon) {
                IoRequest r = t.request;
                release(t);
                if (!t.control) r.inflight--;
            } else if (!t.control) {
                cancel(t);
            }
        }
        for (IoRequest r = lists.outHead; r != null; r = r.next) {
            if (r.inflight == 0 && !r.onDone) lists.addDone(r);
        }
    }

    private int finishDone(int limit) {
        int n = 0;
        while (lists.doneHead != null && n < limit) {
            finish(lists.takeDone());
            n++;
        }
        return n;
    }

    /** Recycles {@code r} and runs its callback, last, so that a callback that throws leaves the qpair whole. */
    private void finish(IoRequest r) {
        if (r.queued) lists.dequeue(r);
        lists.unlinkOutstanding(r);
        IoCallback cb = r.callback;
        Object arg = r.arg;
        int status = r.status;
        recycle(r);
        completed++;
        cb.complete(arg, status);
    }

    private void recycle(IoRequest r) {
        r.buf = null;
        r.iov = null;
        r.callback = null;
        r.arg = null;
        r.iovCount = r.iovIndex = 0;
        r.iovOffset = r.offset = r.length = r.issued = r.rangeBytes = 0;
        r.inflight = r.status = 0;
        r.aborted = false;
        r.live = false;
        r.gen++;
        freeRequests[freeRequestCount++] = r.index;
    }

    private void release(Tracker t) {
        t.busy = false;
        t.cancelling = false;
        t.request = null;
        if (t.control) freeControl[freeControlCount++] = t.index;
        else freeIo[freeIoCount++] = t.index;
    }

    /** Sends waiting requests out, in order, while slots are free. */
    private void drainQueue() {
        while (lists.queueHead != null && freeIoCount > 0) {
            IoRequest r = lists.queueHead;
            if (!issue(r)) break;
            lists.dequeue(r);
        }
    }

    // ------------------------------------------------------------------ timeouts and abort

    /**
     * Reports the requests outstanding longer than the limit, oldest first, each once; stops at
     * the first that is not late, which is where the next check starts.
     */
    private void checkTimeouts(Bdev.Timeouts t) {
        long now = System.nanoTime();
        IoRequest r = lists.timeoutCursor;
        while (r != null) {
            if (r.submitNanos != 0) {
                if (now - r.submitNanos < t.nanos()) return;
                timedOut++;
                lists.timeoutCursor = r.next;
                t.callback().timedOut(this, r.id(), r.arg);
                r = lists.timeoutCursor;
            } else {
                r = lists.timeoutCursor = r.next; // submitted while timeouts were off
            }
        }
    }

    /**
     * Aborts request {@code request} (the id a {@link TimeoutCallback} was given): parts not yet
     * sent are dropped, parts in the kernel are cancelled ({@code IORING_OP_ASYNC_CANCEL}); its
     * callback runs with {@code -ECANCELED} once the kernel has returned every part (a part the
     * device has already taken may still complete, or fail, on its own). Returns 0, or
     * {@code -ENOENT} when there is no such request (any more), {@code -EALREADY} when it is being
     * aborted. Allocates nothing.
     */
    public int abort(long request) {
        int i = (int) request, gen = (int) (request >>> 32);
        if (i < 0 || i >= requests.length) return -Errno.ENOENT;
        IoRequest r = requests[i];
        if (!r.live || r.gen != gen) return -Errno.ENOENT;
        if (r.aborted) return -Errno.EALREADY;
        r.aborted = true;
        aborted++;
        if (r.status == 0) r.status = -Errno.ECANCELED;
        r.length = r.issued;
        if (r.queued) lists.dequeue(r);
        if (r.inflight == 0) {
            if (!r.onDone) lists.addDone(r);
            return 0;
        }
        for (Tracker t : trackers) {
            if (t.busy && !t.control && t.request == r) cancel(t);
        }
        return 0;
    }

    /** Sends an ASYNC_CANCEL for {@code target}'s SQE, once; skipped when no control slot is free. */
    private void cancel(Tracker target) {
        if (target.cancelling || freeControlCount == 0) return;
        target.cancelling = true;
        Tracker c = trackers[freeControl[--freeControlCount]];
        c.busy = true;
        c.gen++;
        c.request = target.request;
        c.expected = 0;
        queue.cancel(c.userData(), target.userData());
    }

    /**
     * For tests of the CQ checks: a NOP whose CQE carries {@code userData} (naming no tracker, or a
     * stale one), sent at the next poll. Not counted against the depth; use it with slots to spare.
     */
    void injectNop(long userData) {
        queue.nop(userData);
    }

    private IllegalStateException closedException() {
        return new IllegalStateException(what + ": closed");
    }

    // ------------------------------------------------------------------ state and statistics

    public Bdev bdev() {
        return bdev;
    }

    /** The most requests in the kernel at once. */
    public int depth() {
        return depth;
    }

    /** Requests submitted and not yet completed (in the kernel, waiting, or about to complete). */
    public int outstanding() {
        return requests.length - freeRequestCount;
    }

    /** Request parts the kernel holds now. */
    public int inflight() {
        return depth - freeIoCount;
    }

    /** Whether every request now fails (the device is gone or the ring broke), and with which errno. */
    public int deadErrno() {
        return deadErrno;
    }

    /** Requests submitted, completed, failed (any error), reported late, and aborted; SQEs sent for them. */
    public long submitted() {
        return submitted;
    }

    public long completed() {
        return completed;
    }

    public long failed() {
        return failed;
    }

    public long timedOut() {
        return timedOut;
    }

    public long aborted() {
        return aborted;
    }

    /** Parts sent to the kernel: one per request, more for split ones. */
    public long parts() {
        return parts;
    }

    /** io_uring_enter calls made, and those that had to be repeated (EAGAIN, EBUSY, EINTR). */
    public long enters() {
        return queue.enters();
    }

    public long enterRetries() {
        return queue.retries();
    }

    /** Times {@link #awaitCompletions} slept in the kernel. */
    public long sleeps() {
        return queue.sleeps();
    }

    /** CQEs that named no request in flight: dropped (a correct kernel makes none). */
    public long spuriousCompletions() {
        return spurious + queue.badCompletions();
    }

    /** The queue and its setup, e.g. {@code io_uring CQSIZE|SUBMIT_ALL|COOP_TASKRUN|TASKRUN_FLAG}. */
    public String ringFlags() {
        return queue.describe();
    }

    /** Fixed-buffer slots registered with this qpair's ring. */
    public int registeredBuffers() {
        return queue.buffers().size();
    }

    /**
     * Cancels everything the kernel holds and waits (up to 2 s) for it to come back, completes
     * every other outstanding request with {@code -ECANCELED} (callbacks run here), then unmaps the
     * rings and closes the ring. Requests the kernel still holds after that are not reported: their
     * buffers may still be written until the device lets go of them, so their owners must not be told
     * they are free.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (deadErrno == 0) deadErrno = Errno.ECANCELED;
            for (IoRequest r = lists.outHead; r != null; r = r.next) {
                if (r.status == 0) r.status = -Errno.ECANCELED;
                r.length = r.issued;
                if (r.queued) lists.dequeue(r);
            }
            for (Tracker t : trackers) if (t.busy && !t.control) cancel(t);
            long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
            while (true) {
                for (IoRequest r = lists.outHead; r != null; r = r.next) {
                    if (r.inflight == 0 && !r.onDone) lists.addDone(r);
                }
                if (lists.doneHead != null) finishDone(Integer.MAX_VALUE);
                kick();
                reap(Integer.MAX_VALUE);
                if (inflight() == 0 || System.nanoTime() > deadline) break;
                Thread.onSpinWait();
                if (queue.completionsReady() == 0) Thread.yield();
            }
            if (inflight() > 0) {
                LOG.log(Log.WARNING, "%s: closed with %d requests still held by the kernel; not reported", what, inflight());
            }
        } catch (LinuxException | IllegalStateException e) {
            LOG.log(Log.WARNING, "%s: close: %s", what, e.getMessage());
        } finally {
            BdevMemory.detach(queue.buffers());
            bdev.detach(this);
            queue.close();
            arena.close();
        }
    }

    @Override
    public String toString() {
        return what + " (depth " + depth + ", " + queue.describe() + ")";
    }
}
