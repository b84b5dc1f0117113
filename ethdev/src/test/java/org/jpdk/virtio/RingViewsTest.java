package org.jpdk.virtio;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.*;

/** Split and packed ring views: a driver side and a device side agree through them, sizes and alignment are checked. */
class RingViewsTest {
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void splitRingDriverToDeviceAndBack() {
        int n = 8;
        SplitRing r = new SplitRing(n, arena.allocate(SplitRing.descBytes(n), 16), arena.allocate(SplitRing.availBytes(n), 2),
                arena.allocate(SplitRing.usedBytes(n), 4));
        // driver: a two-descriptor chain at head 3, published at avail idx 0xffff -> 0 (wraps the 16-bit counter)
        r.desc(3, 0x1000, 100, SplitRing.DESC_F_NEXT, 5);
        r.desc(5, 0x2000, 200, SplitRing.DESC_F_WRITE, 0);
        r.availRing(0xffff, 3);
        r.availIdx(0);
        assertEquals(0, r.availIdx());
        int head = r.availRing(0xffff);
        assertEquals(3, head);
        assertEquals(0x1000, r.descAddr(head));
        assertEquals(5, r.descNext(head));
        assertEquals(SplitRing.DESC_F_WRITE, r.descFlags(5));
        assertEquals(200, r.descLen(5));
        // device: used element, then idx
        r.usedElem(0xffff, 3, 200);
        r.usedIdx(0);
        assertEquals(0, r.usedIdx());
        assertEquals(3, r.usedElemId(7));
        assertEquals(200, r.usedElemLen(7));
        r.usedEvent(5);
        r.availEvent(9);
        assertEquals(5, r.usedEvent());
        assertEquals(9, r.availEvent());
        assertThrows(IndexOutOfBoundsException.class, () -> r.descAddr(n), "a descriptor index past the table throws");
    }

    @Test
    void usedElementsAreStoredOnlyWhereTheyDiffer() {
        int n = 8;
        MemorySegment d = arena.allocate(SplitRing.descBytes(n), 16), a = arena.allocate(SplitRing.availBytes(n), 2);
        MemorySegment u = arena.allocate(SplitRing.usedBytes(n), 4);
        SplitRing r = new SplitRing(n, d, a, u);
        for (int i = 0; i < n; i++) r.usedElemUnlessEqual(i, i, 76);
        // the same elements again through a read-only view of the used ring: any store would throw
        SplitRing ro = new SplitRing(n, d, a, u.asReadOnly());
        for (int i = 0; i < n; i++) ro.usedElemUnlessEqual(i + n, i, 76);   // the next lap, slot by slot
        assertThrows(IllegalArgumentException.class, () -> ro.usedElemUnlessEqual(2, 2, 77), "a length that differs is stored");
        assertThrows(IllegalArgumentException.class, () -> ro.usedElemUnlessEqual(7, 6, 76), "an id that differs is stored");
        r.usedElemUnlessEqual(n + 2, 5, 0x9000);
        r.usedElemUnlessEqual(n - 1, 0xfffffffe, -1);                       // the last slot: the compare stays inside the ring
        for (int i = 0; i < n; i++) {
            int id = i == 2 ? 5 : i == 7 ? 0xfffffffe : i, len = i == 2 ? 0x9000 : i == 7 ? -1 : 76;
            assertEquals(id, r.usedElemId(i), "id of slot " + i);
            assertEquals(len, r.usedElemLen(i), "len of slot " + i);
        }
    }

    @Test
    void needEventFollowsTheSpec() {
        // the other side asked for a notification once idx passes 5 (event 5): moving 4 -> 6 crosses it
        assertTrue(SplitRing.needEvent(5, 6, 4));
        assertTrue(SplitRing.needEvent(5, 6, 5));
        assertFalse(SplitRing.needEvent(5, 5, 4));
        assertFalse(SplitRing.needEvent(10, 6, 4));
        // across the 16-bit wrap
        assertTrue(SplitRing.needEvent(0xffff, 1, 0xfffe));
        assertFalse(SplitRing.needEvent(2, 1, 0xfffe));
    }

    @Test
    void splitRingRefusesShortOrMisalignedAreas() {
        MemorySegment d = arena.allocate(256, 16), a = arena.allocate(64, 16), u = arena.allocate(256, 16);
        assertThrows(IllegalArgumentException.class, () -> new SplitRing(12, d, a, u), "not a power of two");
        assertThrows(IllegalArgumentException.class, () -> new SplitRing(32, d, a, u), "descriptor table too small");
        assertThrows(IllegalArgumentException.class, () -> new SplitRing(8, d.asSlice(8), a, u), "descriptors misaligned");
        assertThrows(IllegalArgumentException.class, () -> new SplitRing(8, d, a.asSlice(1), u), "avail misaligned");
        assertEquals(8, new SplitRing(8, d, a, u).size);
    }

    @Test
    void packedRingAvailAndUsedWithWrapCounters() {
        int n = 4;
        PackedRing r = new PackedRing(n, arena.allocate(16L * n, 16), arena.allocate(4, 4), arena.allocate(4, 4));
        // driver, wrap counter 1: AVAIL set, USED clear
        r.desc(0, 0x4000, 64, 7);
        r.descFlags(0, PackedRing.availFlags(true) | PackedRing.DESC_F_WRITE);
        int f = r.descFlagsAcquire(0);
        assertTrue(PackedRing.isAvail(f, true));
        assertFalse(PackedRing.isAvail(f, false));
        assertFalse(PackedRing.isUsed(f, true));
        assertEquals(7, r.descId(0));
        assertEquals(0x4000, r.descAddr(0));
        // device marks it used with its wrap counter 1
        r.used(0, 7, 60);
        r.descFlags(0, PackedRing.usedFlags(true));
        f = r.descFlagsAcquire(0);
        assertTrue(PackedRing.isUsed(f, true));
        assertFalse(PackedRing.isAvail(f, true));
        assertEquals(60, r.descLen(0));
        // second lap, wrap counter 0: AVAIL clear, USED set
        r.descFlags(1, PackedRing.availFlags(false));
        assertTrue(PackedRing.isAvail(r.descFlagsAcquire(1), false));
        r.driverEvent(0x8002, PackedRing.EVENT_DESC);
        assertEquals(0x8002, r.driverEvent() & 0xffff);
        assertEquals(PackedRing.EVENT_DESC, r.driverEvent() >>> 16);
        r.deviceEvent(0, PackedRing.EVENT_DISABLE);
        assertEquals(PackedRing.EVENT_DISABLE, r.deviceEvent() >>> 16);
        assertThrows(IllegalArgumentException.class, () -> new PackedRing(4, arena.allocate(32, 16), arena.allocate(4, 4), arena.allocate(4, 4)));
    }
}
