package org.jpdk.bdev;

import java.lang.foreign.MemorySegment;

/**
 * One request as the submitter sees it, SPDK's {@code nvme_request}: preallocated per qpair,
 * taken at submission and returned when its callback has run. A request larger than the device's
 * transfer limit, or crossing its boundary, goes out as several {@link Tracker}s; {@code issued}
 * is how far it has gone out, {@code inflight} how many of its parts the kernel holds. It sits on
 * up to three intrusive lists of its qpair: outstanding (submission order, for timeouts), queued
 * (parts still to go out) and done (to complete without the kernel). All fields belong to the
 * qpair's lcore.
 */
final class IoRequest {
    static final byte READ = 0, WRITE = 1, FLUSH = 2, WRITE_ZEROES = 3, UNMAP = 4;

    final int index;
    /** Bumped each time the request is recycled, so an old id (for abort) no longer matches. */
    int gen;
    boolean live;
    byte op;
    /** The buffer, or null for a vectored request (iov[0..iovCount)) and for non-data ops. */
    MemorySegment buf;
    MemorySegment[] iov;
    int iovCount;
    /** Where the next part's bytes start in the iov array. */
    int iovIndex;
    long iovOffset;
    /** Device offset and length in bytes; a non-data op has length 1 (one part) and its range in rangeBytes. */
    long offset, length, issued;
    long rangeBytes;
    int inflight;
    int status;
    IoCallback callback;
    Object arg;
    long submitNanos;
    boolean aborted;

    IoRequest prev, next;       // outstanding
    IoRequest qPrev, qNext;     // queued
    boolean queued;
    IoRequest nextDone;         // done
    boolean onDone;

    IoRequest(int index) {
        this.index = index;
    }

    /** The id {@link Qpair#abort} takes: generation and index. */
    long id() {
        return (long) gen << 32 | index;
    }

    boolean isData() {
        return op <= WRITE;
    }
}
