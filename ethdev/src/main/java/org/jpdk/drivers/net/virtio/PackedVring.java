package org.jpdk.drivers.net.virtio;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.virtio.PackedRing;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A packed virtqueue (virtio 1.2, 2.8) on the driver's side: one descriptor ring that both sides
 * write ({@link PackedRing}). The driver fills slots in ring order from {@link #nextAvail}, marking
 * them available with its wrap counter, a chain's head flags stored last (release), so the device
 * sees whole chains. The device writes one used descriptor per buffer, in the slot of the buffer's
 * first descriptor onwards, in the order it finishes; the driver reads them in ring order from
 * {@link #nextUsed} with its own used wrap counter, and steps over as many slots as the buffer
 * took (its {@link #chainLen}, the driver's own count). Buffer ids come from a free stack of the
 * driver's. IN_ORDER is not negotiated with packed rings: every used descriptor names its buffer.
 * <pre>
 *   offset 0                  descriptor ring, 16 x size
 *   16 x size                 driver event suppression, 4 (the driver writes DISABLE: it polls)
 *   16 x size + 64            device event suppression, 4 (read before a kick)
 *   align(16 x size + 128, 64)   tx only: header slots, 12 x size
 * </pre>
 */
final class PackedVring extends Vring {
    final PackedRing ring;
    private final short[] freeIds;
    private int freeTop;
    private int nextAvail, nextUsed;
    private boolean availWrap = true, usedWrap = true;

    static long bytes(int size, boolean headers) {
        return align(16L * size + 128, 64) + (headers ? (long) size * VirtioUserDevice.NET_HDR_SIZE : 0);
    }

    static PackedVring in(MemorySegment mem, int size, int kickFd, boolean hasHeaders, VhostBackend.MemRegion[] regions) {
        mem.fill((byte) 0);
        long d = 16L * size;
        PackedRing ring = new PackedRing(size, mem.asSlice(0, d), mem.asSlice(d, 4), mem.asSlice(d + 64, 4));
        MemorySegment headers = hasHeaders ? mem.asSlice(align(d + 128, 64), (long) size * VirtioUserDevice.NET_HDR_SIZE) : null;
        return new PackedVring(ring, kickFd, regions, headers);
    }

    private PackedVring(PackedRing ring, int kickFd, VhostBackend.MemRegion[] regions, MemorySegment headers) {
        super(ring.size, kickFd, false, regions, headers, ring.desc.address(), ring.driver.address(), ring.device.address());
        this.ring = ring;
        freeIds = new short[size];
        for (int i = 0; i < size; i++) freeIds[i] = (short) (size - 1 - i);
        freeTop = size;
    }

    @Override
    int base() {
        return 1 << 15; // slot 0, wrap counter 1
    }

    @Override
    void noInterrupts() {
        ring.driverEvent(0, PackedRing.EVENT_DISABLE);
    }

    private int takeId() {
        return freeIds[--freeTop] & 0xffff;
    }

    /** Fills the next slot and returns its index; its flags are the caller's to store. */
    private int fill(long addr, int len, int id) {
        int i = nextAvail;
        ring.desc(i, addr, len, id);
        if (++nextAvail == size) {
            nextAvail = 0;
            availWrap = !availWrap;
        }
        return i;
    }

    @Override
    void addTx(Mbuf m, boolean pushed, int segs) {
        int id = takeId();
        boolean headWrap = availWrap;
        int head = fill(firstAddr(m, pushed, id), firstLen(m, pushed), id);
        int prev = head;
        boolean prevWrap = headWrap;
        for (Mbuf seg = pushed ? m.next() : m; seg != null; seg = seg.next()) {
            boolean w = availWrap;
            int i = fill(seg.buffer().address() + seg.dataOff(), seg.dataLen(), id);
            if (prev != head) ring.descFlags(prev, PackedRing.DESC_F_NEXT | PackedRing.availFlags(prevWrap));
            prev = i;
            prevWrap = w;
        }
        if (prev != head) ring.descFlags(prev, PackedRing.availFlags(prevWrap));
        // the head last: it publishes the whole chain (R1)
        ring.descFlags(head, (prev != head ? PackedRing.DESC_F_NEXT : 0) | PackedRing.availFlags(headWrap));
        chainLen[id] = (short) segs;
        mbufs[id] = m;
        numFree -= segs;
        inFlight++;
    }

    /** Steps {@link #nextUsed} over {@code n} slots. */
    private void skipUsed(int n) {
        nextUsed += n;
        if (nextUsed >= size) {
            nextUsed -= size;
            usedWrap = !usedWrap;
        }
    }

    @Override
    int nextUsedTx() {
        if (inFlight == 0) return NONE;
        int f = ring.descFlagsAcquire(nextUsed);
        if (!PackedRing.isUsed(f, usedWrap)) return NONE;
        int id = ring.descId(nextUsed);
        if (id >= size || mbufs[id] == null) {
            why = "used descriptor " + nextUsed + " names buffer " + id + ", no frame in flight";
            return FAULT;
        }
        skipUsed(chainLen[id]);
        numFree += chainLen[id];
        freeIds[freeTop++] = (short) id;
        inFlight--;
        return id;
    }

    @Override
    void addRx(Mbuf m, long addr, int len) {
        int id = takeId();
        boolean w = availWrap;
        int i = fill(addr, len, id);
        ring.descFlags(i, PackedRing.DESC_F_WRITE | PackedRing.availFlags(w));
        chainLen[id] = 1;
        mbufs[id] = m;
        numFree--;
        inFlight++;
    }

    /** The slot {@code k} after {@link #nextUsed}, and whether it wrapped (k below the ring size). */
    private int slot(int k) {
        int i = nextUsed + k;
        return i >= size ? i - size : i;
    }

    private boolean wrapAt(int k) {
        return nextUsed + k >= size ? !usedWrap : usedWrap;
    }

    @Override
    int usedRx(int max) {
        int n = 0, limit = Math.min(max, inFlight);
        while (n < limit && PackedRing.isUsed(ring.descFlagsAcquire(slot(n)), wrapAt(n))) n++;
        return n;
    }

    @Override
    long usedRxId(int k) {
        return ring.descId(slot(k));
    }

    @Override
    long usedRxLen(int k) {
        return ring.descLen(slot(k)) & 0xffffffffL;
    }

    @Override
    void consumeRx(int n) {
        skipUsed(n);
    }

    @Override
    void freeRx(int id) {
        mbufs[id] = null;
        freeIds[freeTop++] = (short) id;
        numFree++;
        inFlight--;
    }

    @Override
    void publish() {
        // each chain was published by its head's flags
    }

    @Override
    boolean wantsKick() {
        VarHandle.fullFence();
        return (ring.deviceEvent() >>> 16) != PackedRing.EVENT_DISABLE;
    }
}
