package org.jpdk.virtio;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A split virtqueue (virtio 1.2, 2.7) as bounded views of its three areas, for either side. The
 * areas come from the front end's memory; each segment is exactly the area's size, so a wrong
 * index can only throw, never reach past the ring.
 *
 * <pre>
 * descriptor table  16 x n   addr u64@0  len u32@8  flags u16@12 (NEXT 1, WRITE 2, INDIRECT 4)  next u16@14   driver writes
 * avail ring        6 + 2n   flags u16@0 (NO_INTERRUPT 1)  idx u16@2  ring u16[n]@4  used_event u16@4+2n          driver writes
 * used ring         6 + 8n   flags u16@0 (NO_NOTIFY 1)     idx u16@2  ring {id u32, len u32}[n]@4  avail_event u16@4+8n  device writes
 * </pre>
 *
 * Ordering: a side publishes entries, then its index with a release store ({@link #usedIdx(int)},
 * {@link #availIdx(int)}); the other side reads the index with an acquire load
 * ({@link #availIdx()}, {@link #usedIdx()}) before the entries (R1 pairs with A1). Event idx and
 * the suppression flags are read after a full fence on the side that decides whether to notify,
 * as the spec's memory barrier between publishing and checking. Indexes are free-running 16-bit
 * counters; a slot is {@code idx & (n - 1)}. The ring addresses must be aligned as the spec says
 * (desc 16, avail 2, used 4), which the constructor checks.
 */
public final class SplitRing {
    public static final int DESC_SIZE = 16;
    public static final int DESC_F_NEXT = 1, DESC_F_WRITE = 2, DESC_F_INDIRECT = 4;
    public static final int AVAIL_F_NO_INTERRUPT = 1, USED_F_NO_NOTIFY = 1;
    /** The largest ring: 32768 entries (virtio's limit for a split queue). */
    public static final int MAX_SIZE = 32768;

    private static final VarHandle U16 = ValueLayout.JAVA_SHORT.varHandle();

    public final MemorySegment desc, avail, used;
    public final int size, mask;

    /** Views over areas of at least {@link #descBytes}, {@link #availBytes} and {@link #usedBytes}; throws IllegalArgumentException otherwise. */
    public SplitRing(int size, MemorySegment desc, MemorySegment avail, MemorySegment used) {
        if (size < 1 || size > MAX_SIZE || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("split ring of " + size + " entries; a power of two up to " + MAX_SIZE);
        }
        check("descriptor table", desc, descBytes(size), 16);
        check("avail ring", avail, availBytes(size), 2);
        check("used ring", used, usedBytes(size), 4);
        this.size = size;
        this.mask = size - 1;
        this.desc = desc.asSlice(0, descBytes(size));
        this.avail = avail.asSlice(0, availBytes(size));
        this.used = used.asSlice(0, usedBytes(size));
    }

    private static void check(String what, MemorySegment s, long need, int align) {
        if (s.byteSize() < need) throw new IllegalArgumentException(what + " of " + s.byteSize() + " bytes; needs " + need);
        if ((s.address() & (align - 1)) != 0) {
            throw new IllegalArgumentException(what + " at 0x" + Long.toHexString(s.address()) + " is not " + align + "-byte aligned");
        }
    }

    public static long descBytes(int n) {
        return 16L * n;
    }

    public static long availBytes(int n) {
        return 6L + 2L * n;
    }

    public static long usedBytes(int n) {
        return 6L + 8L * n;
    }

    // ---------------------------------------------------------------- descriptors

    public long descAddr(int i) {
        return desc.get(JAVA_LONG_UNALIGNED, 16L * i);
    }

    public int descLen(int i) {
        return desc.get(JAVA_INT_UNALIGNED, 16L * i + 8);
    }

    public int descFlags(int i) {
        return desc.get(JAVA_SHORT_UNALIGNED, 16L * i + 12) & 0xffff;
    }

    public int descNext(int i) {
        return desc.get(JAVA_SHORT_UNALIGNED, 16L * i + 14) & 0xffff;
    }

    /** Driver side: fills descriptor {@code i}. */
    public void desc(int i, long addr, int len, int flags, int next) {
        writeDesc(desc, i, addr, len, flags, next);
    }

    /** Writes descriptor {@code i} of any table (an indirect one included). */
    public static void writeDesc(MemorySegment table, int i, long addr, int len, int flags, int next) {
        table.set(JAVA_LONG_UNALIGNED, 16L * i, addr);
        table.set(JAVA_INT_UNALIGNED, 16L * i + 8, len);
        table.set(JAVA_SHORT_UNALIGNED, 16L * i + 12, (short) flags);
        table.set(JAVA_SHORT_UNALIGNED, 16L * i + 14, (short) next);
    }

    // ---------------------------------------------------------------- avail ring (driver -> device)

    /** The driver's avail idx, acquire (A1: the entries and descriptors it covers are visible after it). */
    public int availIdx() {
        return (short) U16.getAcquire(avail, 2L) & 0xffff;
    }

    /** Driver side: publishes avail idx, release (R1). */
    public void availIdx(int idx) {
        U16.setRelease(avail, 2L, (short) idx);
    }

    public int availFlags() {
        return avail.get(JAVA_SHORT_UNALIGNED, 0) & 0xffff;
    }

    public void availFlags(int flags) {
        U16.setRelease(avail, 0L, (short) flags);
    }

    /** The head descriptor index in avail slot {@code idx & mask}. */
    public int availRing(int idx) {
        return avail.get(JAVA_SHORT_UNALIGNED, 4L + 2L * (idx & mask)) & 0xffff;
    }

    public void availRing(int idx, int head) {
        avail.set(JAVA_SHORT_UNALIGNED, 4L + 2L * (idx & mask), (short) head);
    }

    /** used_event (EVENT_IDX): the driver wants a call when the used idx passes this value. */
    public int usedEvent() {
        return (short) U16.getAcquire(avail, 4L + 2L * size) & 0xffff;
    }

    public void usedEvent(int v) {
        U16.setRelease(avail, 4L + 2L * size, (short) v);
    }

    // ---------------------------------------------------------------- used ring (device -> driver)

    public void usedElem(int idx, int id, int len) {
        long at = 4L + 8L * (idx & mask);
        used.set(JAVA_INT_UNALIGNED, at, id);
        used.set(JAVA_INT_UNALIGNED, at + 4, len);
    }

    /**
     * {@link #usedElem} that stores only when the element differs from what the slot holds. With
     * in-order rings a slot gets the same id and (for fixed-size frames) the same length every lap;
     * a load leaves the line shared with the driver that reads it, a store takes it back (DPDK's
     * {@code ASSIGN_UNLESS_EQUAL} rule, applied here to the used ring). The driver reads the
     * element only after the used idx that covers it, so what it reads is the same either way.
     */
    public void usedElemUnlessEqual(int idx, int id, int len) {
        long at = 4L + 8L * (idx & mask);
        if (used.get(JAVA_LONG_UNALIGNED, at) != ((long) len << 32 | (id & 0xffffffffL))) {
            used.set(JAVA_INT_UNALIGNED, at, id);
            used.set(JAVA_INT_UNALIGNED, at + 4, len);
        }
    }

    public int usedElemId(int idx) {
        return used.get(JAVA_INT_UNALIGNED, 4L + 8L * (idx & mask));
    }

    public int usedElemLen(int idx) {
        return used.get(JAVA_INT_UNALIGNED, 4L + 8L * (idx & mask) + 4);
    }

    /** Device side: publishes used idx, release (R1: the used elements before it are visible first). */
    public void usedIdx(int idx) {
        U16.setRelease(used, 2L, (short) idx);
    }

    /** The used idx, acquire (A1). */
    public int usedIdx() {
        return (short) U16.getAcquire(used, 2L) & 0xffff;
    }

    public int usedFlags() {
        return used.get(JAVA_SHORT_UNALIGNED, 0) & 0xffff;
    }

    public void usedFlags(int flags) {
        U16.setRelease(used, 0L, (short) flags);
    }

    /** avail_event (EVENT_IDX): the device wants a kick when the avail idx passes this value. */
    public void availEvent(int v) {
        U16.setRelease(used, 4L + 8L * size, (short) v);
    }

    public int availEvent() {
        return (short) U16.getAcquire(used, 4L + 8L * size) & 0xffff;
    }

    /**
     * vring_need_event: whether moving an index from {@code old} to {@code now} passed
     * {@code event} (the other side asked to be told once {@code event + 1} is reached). 16-bit arithmetic.
     */
    public static boolean needEvent(int event, int now, int old) {
        return ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
    }
}
