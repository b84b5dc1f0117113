package org.jpdk.drivers.net.memif;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The layout of one memif ring in shared memory, and its accessors. A ring is a header of two
 * cache lines and {@code 2^log2} descriptors; it lives in a region the client made (region 0 for
 * jpdk and DPDK), at the offset ADD_RING gave.
 *
 * <pre>
 * ring header                                                   writer
 *   +0    u32 cookie    0x3E31F20 (checked at connect)          client, at setup
 *   +4    u16 flags     bit 0 MASK_INT: "do not signal me"      the ring's consumer
 *   +6    u16 head      free-running, slot = head &amp; (size-1)    client
 *   +64   u16 tail      free-running, on its own cache line     server
 *   +128  desc[size]
 * descriptor (16 bytes)
 *   +0    u16 flags     bit 0 NEXT: the frame goes on in the next slot
 *   +2    u16 region    where the buffer is
 *   +4    u32 length    C2S: bytes of data; S2C: the client's capacity, then the server's data
 *   +8    u32 offset    of the buffer in its region
 *   +12   u32 metadata  unused
 * </pre>
 *
 * Ownership of slots passes with the two counters, which are the only synchronisation: a C2S ring
 * (client transmits) is filled by the client, which publishes {@code [tail, head)} with a release
 * store of head (R1); the server acquires head (A1), copies, and gives slots back with a release
 * store of tail (R2), which the client acquires (A2) before reusing them. An S2C ring (server
 * transmits) runs the other way round on the same counters: the client offers empty buffers up to
 * head (R1/A1), the server fills slots from tail and publishes them with tail (R2/A2). Every
 * counter read from the peer is untrusted: a difference beyond the ring's size is a protocol
 * error, never an index.
 */
final class MemifRing {
    static final int COOKIE = 0x3E31F20;
    static final int FLAG_MASK_INT = 1;
    static final int DESC_FLAG_NEXT = 1;
    static final long COOKIE_OFF = 0, FLAGS_OFF = 4, HEAD_OFF = 6, TAIL_OFF = 64, DESC_OFF = 128;
    static final int DESC_SIZE = 16;
    static final long D_FLAGS = 0, D_REGION = 2, D_LENGTH = 4, D_OFFSET = 8;
    static final int MAX_LOG2_SIZE = 14;

    /** head, tail and flags: 16-bit, read with acquire and written with release (see the class comment). */
    static final VarHandle U16 = JAVA_SHORT.varHandle();

    private MemifRing() {
    }

    /** Bytes of a ring of {@code 2^log2} descriptors: 128 + 16 · 2^log2. */
    static long bytes(int log2) {
        return DESC_OFF + ((long) DESC_SIZE << log2);
    }

    static int head(MemorySegment ring) {
        return (short) U16.getAcquire(ring, HEAD_OFF) & 0xffff;
    }

    static int tail(MemorySegment ring) {
        return (short) U16.getAcquire(ring, TAIL_OFF) & 0xffff;
    }

    static void head(MemorySegment ring, int v) {
        U16.setRelease(ring, HEAD_OFF, (short) v);
    }

    static void tail(MemorySegment ring, int v) {
        U16.setRelease(ring, TAIL_OFF, (short) v);
    }

    static int flags(MemorySegment ring) {
        return (short) U16.getAcquire(ring, FLAGS_OFF) & 0xffff;
    }

    static void flags(MemorySegment ring, int v) {
        U16.setRelease(ring, FLAGS_OFF, (short) v);
    }

    /** Sets up a ring: cookie, counters and flags zero. */
    static void init(MemorySegment ring) {
        ring.set(JAVA_INT, COOKIE_OFF, COOKIE);
        U16.setRelease(ring, FLAGS_OFF, (short) 0);
        U16.setRelease(ring, HEAD_OFF, (short) 0);
        U16.setRelease(ring, TAIL_OFF, (short) 0);
    }

    static int cookie(MemorySegment ring) {
        return ring.get(JAVA_INT, COOKIE_OFF);
    }

    static long desc(int slot) {
        return DESC_OFF + (long) slot * DESC_SIZE;
    }

    // A descriptor is two little-endian 64-bit words: flags | region << 16 | length << 32, then
    // offset | metadata << 32. Reading and writing it as two words costs two bounds checks, not four.

    /** The first word of the descriptor at {@code d}: flags, region and length. */
    static long word0(MemorySegment ring, long d) {
        return ring.get(JAVA_LONG_UNALIGNED, d);
    }

    static int flags(long word0) {
        return (int) word0 & 0xffff;
    }

    static int region(long word0) {
        return (int) (word0 >>> 16) & 0xffff;
    }

    static long length(long word0) {
        return word0 >>> 32;
    }

    /** The descriptor's buffer offset, unsigned. */
    static long offset(MemorySegment ring, long d) {
        return ring.get(JAVA_INT_UNALIGNED, d + D_OFFSET) & 0xffffffffL;
    }

    /** Writes the whole descriptor at {@code d} (metadata 0). */
    static void write(MemorySegment ring, long d, int flags, int region, long length, long offset) {
        ring.set(JAVA_LONG_UNALIGNED, d, (flags & 0xffffL) | (region & 0xffffL) << 16 | length << 32);
        ring.set(JAVA_LONG_UNALIGNED, d + D_OFFSET, offset & 0xffffffffL);
    }

    /** Writes the first word only (flags, region, length): a server filling a buffer the client offered. */
    static void write0(MemorySegment ring, long d, int flags, int region, long length) {
        ring.set(JAVA_LONG_UNALIGNED, d, (flags & 0xffffL) | (region & 0xffffL) << 16 | length << 32);
    }
}
