package org.jpdk.bdev;

import java.lang.foreign.MemorySegment;

/**
 * One SQE in flight, SPDK's {@code nvme_tracker}: the part of a request the kernel holds, or a
 * cancel the qpair sent. Its user_data is {@code gen << 32 | index}; a CQE whose user_data does
 * not name a busy tracker of the same generation is counted and dropped, so a confused or stale
 * completion can never complete the wrong request. Each tracker owns {@link Qpair#MAX_IOV} iovec
 * slots in the qpair's memory, for a vectored part, which the kernel reads when it takes the SQE.
 */
final class Tracker {
    final int index;
    final boolean control;
    /** struct iovec[MAX_IOV]: u64 base, u64 len each. */
    final MemorySegment iovs;
    int gen;
    boolean busy;
    /** A cancel for this tracker is already out. */
    boolean cancelling;
    IoRequest request;
    /** The res a complete part returns: its byte count (0 for flush, fallocate and cancels). */
    int expected;

    Tracker(int index, boolean control, MemorySegment iovs) {
        this.index = index;
        this.control = control;
        this.iovs = iovs;
    }

    long userData() {
        return (long) gen << 32 | index;
    }
}
