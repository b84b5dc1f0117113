package org.jpdk.drivers.net.afxdp;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One of the four single-producer single-consumer rings an AF_XDP socket shares with the kernel,
 * seen from our side: we produce into the fill and TX rings and consume from the RX and
 * completion rings. The kernel tells where the fields sit (getsockopt XDP_MMAP_OFFSETS), so the
 * offsets are read at run time; each ring is its own mapping.
 *
 * <pre>
 * ring mapping (offsets from XDP_MMAP_OFFSETS; on 6.x producer 0, consumer 64, flags 128, desc 192)
 *   +producer  u32  written by the producer (release), free-running: slot = index &amp; (size - 1)
 *   +consumer  u32  written by the consumer (release)
 *   +flags     u32  XDP_RING_NEED_WAKEUP (1): the kernel sleeps until it is kicked          kernel
 *   +desc      entries, size of them:
 *                fill, completion: u64 addr (offset in the UMEM)
 *                rx, tx (struct xdp_desc, 16 bytes): +0 u64 addr, +8 u32 len, +12 u32 options
 * </pre>
 *
 * Ordering, the pairs the kernel's xsk_queue.h documents: a consumer acquire-loads the producer
 * index (A1, pairs with the producer's release of it after writing the entries) before it reads
 * entries, and release-stores its consumer index (R1) after it is done with them; a producer
 * acquire-loads the consumer index (A2, pairs with R1) before it overwrites slots, writes the
 * entries, then release-stores the producer index (R2, pairs with A1). Each side keeps a private
 * copy of the other's index and reads the shared one only when the copy says empty or full.
 *
 * <p>The kernel's indexes are not trusted: a producer index more than {@code size} ahead of ours,
 * or behind it, is clamped (nothing is read twice or out of the mapping, and the entries are
 * checked by the caller), a consumer index that runs ahead of our producer is ignored. Every
 * access goes through the mapping's bounded segment. One thread per ring, no allocation.
 */
final class XskRing {
    private static final VarHandle U32 = JAVA_INT.varHandle();
    static final int NEED_WAKEUP = 1;

    final MemorySegment map;
    private final long producerOff, consumerOff, flagsOff, descOff;
    final int size, mask, entrySize;
    /** Producer rings: the next index we fill; consumer rings: the next index we read. */
    private int local;
    /** Our copy of the other side's index: the kernel's consumer (producer rings) or producer (consumer rings). */
    private int other;

    private XskRing(MemorySegment map, long producerOff, long consumerOff, long flagsOff, long descOff, int size, int entrySize) {
        if (Integer.bitCount(size) != 1) throw new IllegalArgumentException("ring size " + size + " is not a power of two");
        if (descOff + (long) size * entrySize > map.byteSize()) {
            throw new IllegalArgumentException("ring of " + size + " entries at " + descOff + " does not fit its " + map.byteSize() + "-byte mapping");
        }
        this.map = map;
        this.producerOff = producerOff;
        this.consumerOff = consumerOff;
        this.flagsOff = flagsOff;
        this.descOff = descOff;
        this.size = size;
        this.mask = size - 1;
        this.entrySize = entrySize;
    }

    /** A ring we produce into (fill, TX): our index is the producer, both start where the kernel has them. */
    static XskRing producer(MemorySegment map, long producerOff, long consumerOff, long flagsOff, long descOff, int size, int entrySize) {
        XskRing r = new XskRing(map, producerOff, consumerOff, flagsOff, descOff, size, entrySize);
        r.local = (int) U32.getAcquire(map, producerOff);
        r.other = (int) U32.getAcquire(map, consumerOff);
        return r;
    }

    /** A ring we consume from (RX, completion): our index is the consumer. */
    static XskRing consumer(MemorySegment map, long producerOff, long consumerOff, long flagsOff, long descOff, int size, int entrySize) {
        XskRing r = new XskRing(map, producerOff, consumerOff, flagsOff, descOff, size, entrySize);
        r.local = (int) U32.getAcquire(map, consumerOff);
        r.other = (int) U32.getAcquire(map, producerOff);
        return r;
    }

    // ---------------------------------------------------------------- producer side (fill, TX)

    /**
     * How many slots we may fill now, at most {@code want}; re-reads the kernel's consumer index
     * (A2) only when our copy shows fewer than {@code want} free.
     */
    int free(int want) {
        int free = size - (local - other);
        if (free >= want) return want;
        int cons = (int) U32.getAcquire(map, consumerOff);           // A2
        int used = local - cons;
        if (used >= 0 && used <= size) other = cons;                  // else: a bogus index, keep ours
        free = size - (local - other);
        return Math.min(free, want);
    }

    /** The {@code i}-th slot after our producer index, as a byte offset in {@link #map}. */
    long slot(int i) {
        return descOff + (long) ((local + i) & mask) * entrySize;
    }

    /** Publishes {@code n} filled slots (R2). */
    void submit(int n) {
        local += n;
        U32.setRelease(map, producerOff, local);                      // R2
    }

    /**
     * Whether the kernel asked to be kicked (XDP_RING_NEED_WAKEUP). Fenced after the producer
     * store, so that a kernel that set the flag and then looked at an empty ring cannot be missed.
     */
    boolean needWakeup() {
        VarHandle.fullFence();                                        // StoreLoad: our producer before its flag
        return ((int) U32.getOpaque(map, flagsOff) & NEED_WAKEUP) != 0;
    }

    /** Entries the kernel has not consumed yet (producer rings). */
    int pending() {
        int cons = (int) U32.getAcquire(map, consumerOff);
        int used = local - cons;
        return used >= 0 && used <= size ? used : local - other;
    }

    // ---------------------------------------------------------------- consumer side (RX, completion)

    /**
     * How many entries are ready, at most {@code max}: our copy of the producer index first, the
     * shared one (A1) when the copy shows none. Clamped to the ring size.
     */
    int available(int max) {
        int ready = other - local;
        if (ready <= 0) {
            int prod = (int) U32.getAcquire(map, producerOff);       // A1
            ready = prod - local;
            if (ready < 0) return 0;                                  // behind us: bogus, nothing to read
            if (ready > size) {                                       // more than the ring holds: clamp
                ready = size;
                prod = local + size;
            }
            other = prod;
        }
        return Math.min(ready, max);
    }

    /** Byte offset of the {@code i}-th entry after our consumer index. */
    long entry(int i) {
        return descOff + (long) ((local + i) & mask) * entrySize;
    }

    /** Gives {@code n} read entries back to the kernel (R1). */
    void release(int n) {
        local += n;
        U32.setRelease(map, consumerOff, local);                      // R1
    }

    long addr(long at) {
        return map.get(JAVA_LONG, at);
    }

    int len(long at) {
        return map.get(JAVA_INT, at + 8);
    }

    void putAddr(long at, long addr) {
        map.set(JAVA_LONG, at, addr);
    }

    void putDesc(long at, long addr, int len) {
        map.set(JAVA_LONG, at, addr);
        map.set(JAVA_INT, at + 8, len);
        map.set(JAVA_INT, at + 12, 0);
    }
}
