package org.jpdk.drivers.net.virtio;

import org.jpdk.mbuf.Mbuf;

import org.jpdk.virtio.SplitRing;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The driver's side of one split virtqueue (virtio 1.2, 2.7) for one connection: the ring's areas
 * ({@link SplitRing}, in the front end's own memory, laid out in one zone as below) and what the
 * driver keeps beside them (which descriptors are free, which mbuf each in-flight head carries,
 * the shadow of the indexes). The back end reads the descriptor table and the available ring and
 * writes the used ring; whatever it writes is untrusted, so the driver never follows a
 * descriptor's {@code next} it could read back: chains are kept in {@link #next}, and a used
 * entry's id and length are checked before use.
 * <pre>
 *   offset 0                  descriptor table, 16 x size
 *   16 x size                 available ring, 6 + 2 x size
 *   align(.., 4096)           used ring, 6 + 8 x size
 *   align(.., 64)             tx only: one 12-byte virtio-net header per descriptor, for frames without headroom
 * </pre>
 * Ordering: descriptors and available entries are plain stores, then the available index a
 * release store ({@link #publishAvail}, R1 of {@link SplitRing}); the device's used index is read
 * with acquire before the entries it covers. Whether to kick reads the used flags after a full
 * fence (the StoreLoad the spec asks between publishing and reading VRING_USED_F_NO_NOTIFY).
 * Single-threaded: one lcore per queue.
 */
final class SplitVring {
    static final int DESC_F_NEXT = SplitRing.DESC_F_NEXT, DESC_F_WRITE = SplitRing.DESC_F_WRITE;
    static final int AVAIL_F_NO_INTERRUPT = SplitRing.AVAIL_F_NO_INTERRUPT;

    final SplitRing ring;
    final int size, mask;
    final MemorySegment headers;
    final long descAddr, availAddr, usedAddr, headersAddr;
    final int kickFd;
    /** The mbuf of each in-flight head (tx: the whole frame; rx: the posted buffer), null when free. */
    final Mbuf[] mbufs;
    /** The driver's own chain links (and free list) and chain lengths, never read back from the shared table. */
    final short[] next, chainLen;
    /** In-order tx: heads in the order they were made available. */
    final short[] order;
    int orderHead, orderTail;
    int freeHead, numFree;
    /** Shadow of the available index (free-running u16) and the next used index to read. */
    int availIdx, lastUsed;
    /** Chains the device holds: tx frames in flight, rx buffers posted. */
    int inFlight;
    /** VIRTIO_F_IN_ORDER was negotiated: the device uses chains in the order they were made available. */
    final boolean inOrder;
    /** The memory the back end was shown; every address put in a descriptor lies in it. */
    private final VhostBackend.MemRegion[] regions;
    private int lastRegion;
    /** Set when the device broke the ring; the ring is not touched again. */
    volatile boolean faulted;

    /** Bytes of a split ring of {@code size} entries, with a tx header area when {@code headers}. */
    static long bytes(int size, boolean headers) {
        return headersOffset(size) + (headers ? (long) size * VirtioUserDevice.NET_HDR_SIZE : 0);
    }

    private static long usedOffset(int size) {
        return align(SplitRing.descBytes(size) + SplitRing.availBytes(size), 4096);
    }

    private static long headersOffset(int size) {
        return align(usedOffset(size) + SplitRing.usedBytes(size), 64);
    }

    private static long align(long v, long a) {
        return (v + a - 1) & -a;
    }

    /** Zeroes {@code mem} (a ring of {@code size} entries laid out as above) and frees every descriptor. */
    SplitVring(MemorySegment mem, int size, int kickFd, boolean hasHeaders, boolean inOrder, VhostBackend.MemRegion[] regions) {
        this.size = size;
        this.mask = size - 1;
        this.kickFd = kickFd;
        this.inOrder = inOrder;
        this.regions = regions;
        mem.fill((byte) 0);
        long d = SplitRing.descBytes(size);
        ring = new SplitRing(size, mem.asSlice(0, d), mem.asSlice(d, SplitRing.availBytes(size)),
                mem.asSlice(usedOffset(size), SplitRing.usedBytes(size)));
        headers = hasHeaders ? mem.asSlice(headersOffset(size), (long) size * VirtioUserDevice.NET_HDR_SIZE) : null;
        descAddr = ring.desc.address();
        availAddr = ring.avail.address();
        usedAddr = ring.used.address();
        headersAddr = hasHeaders ? headers.address() : 0;
        mbufs = new Mbuf[size];
        next = new short[size];
        chainLen = new short[size];
        order = new short[size];
        for (int i = 0; i < size; i++) next[i] = (short) (i + 1);
        freeHead = 0;
        numFree = size;
    }

    /** Whether {@code [addr, addr+len)} lies in one region of the memory shown to the back end. */
    boolean inMemory(long addr, long len) {
        if (regions[lastRegion].contains(addr, len)) return true;
        for (int i = 0; i < regions.length; i++) {
            if (regions[i].contains(addr, len)) {
                lastRegion = i;
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- descriptors (driver-owned until made available)

    void setDesc(int i, long addr, int len, int flags, int nxt) {
        ring.desc(i, addr, len, flags, nxt);
    }

    /** Takes one free descriptor (the caller checked {@link #numFree}). */
    int takeDesc() {
        int d = freeHead;
        freeHead = next[d] & 0xffff;
        numFree--;
        return d;
    }

    /** Returns the chain of {@code len} descriptors starting at {@code head} to the free list. */
    void freeChain(int head, int len) {
        int last = head;
        for (int k = 1; k < len; k++) last = next[last] & 0xffff;
        next[last] = (short) freeHead;
        freeHead = head;
        numFree += len;
    }

    // ---------------------------------------------------------------- available ring (driver writes)

    void putAvail(int head) {
        ring.availRing(availIdx, head);
        availIdx = (availIdx + 1) & 0xffff;
    }

    /** Makes the descriptors and entries written so far the device's. */
    void publishAvail() {
        ring.availIdx(availIdx);
    }

    void availFlags(int flags) {
        ring.availFlags(flags);
    }

    /** Whether the device asks to be kicked, read after a StoreLoad fence that follows {@link #publishAvail}. */
    boolean wantsKick() {
        VarHandle.fullFence();
        return (ring.usedFlags() & SplitRing.USED_F_NO_NOTIFY) == 0;
    }

    // ---------------------------------------------------------------- used ring (device writes: untrusted)

    /** The device's used index (free-running u16), acquiring the entries before it. */
    int usedIdx() {
        return ring.usedIdx();
    }

    /** The id the device wrote in used entry {@code idx} (unchecked: compare with {@link #size}). */
    long usedId(int idx) {
        return ring.usedElemId(idx) & 0xffffffffL;
    }

    /** The length the device wrote in used entry {@code idx} (unchecked). */
    long usedLen(int idx) {
        return ring.usedElemLen(idx) & 0xffffffffL;
    }
}
