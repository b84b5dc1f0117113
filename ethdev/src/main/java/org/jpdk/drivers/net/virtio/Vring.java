package org.jpdk.drivers.net.virtio;

import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;

/**
 * The driver's side of one virtqueue for one connection, split ({@link SplitVring}) or packed
 * ({@link PackedVring}): the ring in the front end's own memory, and what the driver keeps beside
 * it. Each buffer the device holds has an id below {@link #size}: {@link #mbufs} holds its mbuf
 * (tx: the whole frame; rx: the posted buffer) and {@link #chainLen} its descriptor count. The
 * device's writes are untrusted: the queues check every id and length it returns before use, and
 * a ring never follows a link it could read back from shared memory. Single-threaded: one lcore
 * per queue (and the control thread before the ring is attached, after it is detached).
 *
 * <p>Zone layout (one memzone per vring, in EAL memory, 4 KiB aligned): the ring's areas at the
 * offsets each subclass gives, then for tx one 12-byte virtio-net header slot per id, for frames
 * whose first segment has no headroom of its own for it.
 */
abstract class Vring {
    final int size;
    final int kickFd;
    final boolean inOrder;
    final Mbuf[] mbufs;
    final short[] chainLen;
    /** Descriptors free (split: in its free list; packed: ring slots not held by the device). */
    int numFree;
    /** Buffers the device holds: tx frames in flight, rx buffers posted. */
    int inFlight;
    final MemorySegment headers;
    final long headersAddr;
    /** The addresses the back end is told in SET_VRING_ADDR: descriptors, driver area, device area. */
    final long descAddr, availAddr, usedAddr;
    /** Why the device broke the ring, when a method returned {@link #FAULT}. */
    String why;
    /** Set when the device broke the ring; the ring is not touched again. */
    volatile boolean faulted;
    private final VhostBackend.MemRegion[] regions;
    private int lastRegion;

    static final int NONE = -1, FAULT = -2;

    Vring(int size, int kickFd, boolean inOrder, VhostBackend.MemRegion[] regions, MemorySegment headers,
          long descAddr, long availAddr, long usedAddr) {
        this.size = size;
        this.kickFd = kickFd;
        this.inOrder = inOrder;
        this.regions = regions;
        this.headers = headers;
        this.headersAddr = headers == null ? 0 : headers.address();
        this.descAddr = descAddr;
        this.availAddr = availAddr;
        this.usedAddr = usedAddr;
        mbufs = new Mbuf[size];
        chainLen = new short[size];
        numFree = size;
    }

    static long align(long v, long a) {
        return (v + a - 1) & -a;
    }

    /** Whether {@code [addr, addr+len)} lies in one region of the memory shown to the back end. */
    final boolean inMemory(long addr, long len) {
        if (regions[lastRegion].contains(addr, len)) return true;
        for (int i = 0; i < regions.length; i++) {
            if (regions[i].contains(addr, len)) {
                lastRegion = i;
                return true;
            }
        }
        return false;
    }

    /** The SET_VRING_BASE value: where the driver starts (packed: with its wrap counter in bit 15). */
    abstract int base();

    /** Asks the device for no interrupts on this ring (the lcore polls). */
    abstract void noInterrupts();

    // ---------------------------------------------------------------- tx

    /**
     * Makes frame {@code m} available as one chain of {@code segs} descriptors (free, checked by the
     * caller). {@code pushed}: the header is already in front of the first segment's data, which
     * then takes one descriptor with it; otherwise the header is buffer {@code id}'s slot (zeroed
     * here) and each segment follows. Not yet published.
     */
    abstract void addTx(Mbuf m, boolean pushed, int segs);

    /** The first descriptor of frame {@code m} with buffer id {@code id}: its address (and {@link #firstLen}). */
    final long firstAddr(Mbuf m, boolean pushed, int id) {
        if (pushed) return m.buffer().address() + m.dataOff();
        long at = (long) id * VirtioUserDevice.NET_HDR_SIZE;
        headers.asSlice(at, VirtioUserDevice.NET_HDR_SIZE).fill((byte) 0);
        return headersAddr + at;
    }

    static int firstLen(Mbuf m, boolean pushed) {
        return pushed ? m.dataLen() : VirtioUserDevice.NET_HDR_SIZE;
    }

    /** The id of the next tx chain the device has finished with (taken off the ring), {@link #NONE}, or {@link #FAULT}. */
    abstract int nextUsedTx();

    // ---------------------------------------------------------------- rx

    /** Posts {@code m}'s buffer {@code [addr, addr+len)} as one device-writable descriptor. Not yet published. */
    abstract void addRx(Mbuf m, long addr, int len);

    /** How many used rx entries are ready, counting at most {@code max}; {@link #FAULT} when the count is impossible. */
    abstract int usedRx(int max);

    /** The id of the {@code k}-th ready used rx entry (unchecked). */
    abstract long usedRxId(int k);

    /** The length of the {@code k}-th ready used rx entry (unchecked). */
    abstract long usedRxLen(int k);

    /** Takes the first {@code n} ready used rx entries off the ring. */
    abstract void consumeRx(int n);

    /** Gives buffer {@code id} (one descriptor) back to the driver's free state. */
    abstract void freeRx(int id);

    // ---------------------------------------------------------------- both

    /** Makes what was added since the last publish the device's. */
    abstract void publish();

    /** Whether the device asks to be kicked now, read after a StoreLoad fence that follows {@link #publish}. */
    abstract boolean wantsKick();
}
