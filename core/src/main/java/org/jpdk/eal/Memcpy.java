package org.jpdk.eal;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * {@code rte_memcpy}: copies between segments the way a packet path wants its frames copied. Up
 * to {@link #INLINE_MAX} bytes the copy is a loop of 8-byte moves that the JIT compiles into the
 * caller; longer copies go to {@link MemorySegment#copy}. Every access is bounds- and
 * liveness-checked as any segment access is, so a bad offset or length throws
 * {@link IndexOutOfBoundsException} and nothing outside the segments is touched; but unlike
 * {@code MemorySegment.copy}, a short copy whose range runs past a segment's end may have copied
 * its first bytes before it throws. Callers on a packet path check their ranges first anyway (a
 * descriptor against guest memory, a length against the buffer). Checking both ranges here once
 * more, before the loop, cost 10-15% of the vhost figure below.
 *
 * <p>Why not {@code MemorySegment.copy} for a 64-byte frame: from 64 bytes on it calls the JVM's
 * copy stub, and the call makes the compiled caller save its live registers to the stack around
 * it. Where the destination is memory another core reads (a guest's receive buffer, a memif ring,
 * a UMEM frame), each store to it waits for that core to give the line up, stores leave the store
 * buffer in order, and those spills queue behind them: our vhost sending 64-byte frames to DPDK's
 * virtio-user went from 8-12 to 17-18 Mpps with this copy in place of the call (DPDK's own pairing:
 * 16.5-17.3 in the same rounds; docs/benchmarks.md).
 *
 * <p>That is a gain for stores into another core's lines, not for loads out of them: vhost's
 * receive, copying frames that DPDK's virtio-user had just written into our mbufs, went from
 * 8.2-8.5 to 5.7-6.2 Mpps with this copy (three interleaved rounds), so it keeps
 * {@code MemorySegment.copy}. Measure a path before moving it.
 *
 * <p>Unlike {@code MemorySegment.copy}, overlapping ranges are not handled (as with
 * {@code rte_memcpy}): the source and destination must not overlap unless the destination starts
 * at or before the source.
 */
public final class Memcpy {
    /** Longest copy done inline; DPDK's vhost batches copies up to the same length (MAX_BATCH_LEN). */
    public static final long INLINE_MAX = 256;

    private Memcpy() {
    }

    /** Copies {@code len} bytes from {@code src} at {@code srcOff} to {@code dst} at {@code dstOff}. */
    public static void copy(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long len) {
        if (len > INLINE_MAX || len < 0) {
            MemorySegment.copy(src, srcOff, dst, dstOff, len);
            return;
        }
        long i = 0;
        for (; i + 8 <= len; i += 8) dst.set(JAVA_LONG_UNALIGNED, dstOff + i, src.get(JAVA_LONG_UNALIGNED, srcOff + i));
        for (; i < len; i++) dst.set(JAVA_BYTE, dstOff + i, src.get(JAVA_BYTE, srcOff + i));
    }
}
