package org.jpdk.ring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link LongRing}: layout, full/empty, bulk vs burst, wrap, attach validation, zero allocation. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class LongRingTest {
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    private MemorySegment segFor(int count, int flags) {
        return arena.allocate(LongRing.bytesFor(count, flags), 128);
    }

    private static long[] seq(long from, int n) {
        long[] a = new long[n];
        for (int i = 0; i < n; i++) a[i] = from + i;
        return a;
    }

    @Test
    void layoutIsTheDocumentedOne() {
        assertEquals(384 + 8 * 16, LongRing.bytesFor(16));
        assertEquals(384 + 8 * 1024, LongRing.bytesFor(1000, Ring.F_EXACT_SZ));
        MemorySegment seg = segFor(16, Ring.F_SC_DEQ);
        LongRing r = LongRing.create(seg, 16, Ring.F_SC_DEQ);
        assertEquals(LongRing.MAGIC, seg.get(ValueLayout.JAVA_INT, 0));
        assertEquals(16, seg.get(ValueLayout.JAVA_INT, 8));
        assertEquals(15, seg.get(ValueLayout.JAVA_INT, 12));
        assertEquals(15, seg.get(ValueLayout.JAVA_INT, 16));
        assertEquals(Ring.F_SC_DEQ, seg.get(ValueLayout.JAVA_INT, 20));
        assertTrue(r.enqueue(0xABCDL));
        assertEquals(1, seg.get(ValueLayout.JAVA_INT, 128), "prodHead");
        assertEquals(1, seg.get(ValueLayout.JAVA_INT, 132), "prodTail");
        assertEquals(0xABCDL, seg.get(ValueLayout.JAVA_LONG, 384), "slot 0");
        assertEquals(0xABCDL, r.dequeue(-1));
        assertEquals(1, seg.get(ValueLayout.JAVA_INT, 260), "consTail");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 3})
    void fullEmptyBulkBurst(int flags) {
        LongRing r = LongRing.create(segFor(16, flags), 16, flags);
        assertEquals(-7, r.dequeue(-7));
        assertEquals(0, r.enqueueBulk(seq(0, 16), 0, 16), "bulk larger than capacity 15 moves nothing");
        assertEquals(0, r.count());
        assertEquals(10, r.enqueueBulk(seq(0, 10), 0, 10));
        assertEquals(5, r.enqueueBurst(seq(10, 10), 0, 10));
        assertTrue(r.isFull());
        assertFalse(r.enqueue(99));
        long[] out = new long[16];
        assertEquals(0, r.dequeueBulk(out, 0, 16));
        assertEquals(15, r.dequeueBurst(out, 0, 16));
        assertArrayEquals(seq(0, 15), java.util.Arrays.copyOf(out, 15));
        assertTrue(r.isEmpty());
    }

    @Test
    void indexesWrapAt2To32AndAcrossTheSlotEnd() {
        LongRing r = LongRing.create(segFor(8, 0), 8, 0, -4);
        long[] out = new long[5];
        for (int round = 0; round < 30; round++) {
            assertEquals(5, r.mpEnqueueBulk(seq(round * 5L, 5), 0, 5));
            assertEquals(5, r.scDequeueBulk(out, 0, 5));
            assertArrayEquals(seq(round * 5L, 5), out);
        }
    }

    @Test
    void attachSeesTheSameRing() {
        MemorySegment seg = segFor(64, Ring.F_EXACT_SZ);
        LongRing a = LongRing.create(seg, 50, Ring.F_EXACT_SZ);
        LongRing b = LongRing.attach(seg);
        assertEquals(50, b.capacity());
        assertEquals(64, b.size());
        assertEquals(50, a.enqueueBurst(seq(0, 60), 0, 60));
        assertEquals(50, b.count());
        assertEquals(0L, b.dequeue(-1));
    }

    @Test
    void attachRefusesBadHeadersWithoutReadingOutside() {
        MemorySegment seg = segFor(16, 0);
        String m = assertThrows(IllegalArgumentException.class, () -> LongRing.attach(seg)).getMessage();
        assertTrue(m.contains("magic 0x00000000"), m);
        LongRing.create(seg, 16, 0);
        assertBad(seg, 8, 12, "size 12");
        assertBad(seg, 8, 1 << 30, "size");
        assertBad(seg, 12, 7, "mask 7");
        assertBad(seg, 16, 16, "capacity 16");
        assertBad(seg, 20, 0x20, "flags 32");
        assertBad(seg, 4, 2, "version 2");
        // A size the segment cannot hold: 32 slots claimed in a 16-slot segment.
        MemorySegment copy = arena.allocate(seg.byteSize(), 128).copyFrom(seg);
        copy.set(ValueLayout.JAVA_INT, 8, 32);
        copy.set(ValueLayout.JAVA_INT, 12, 31);
        m = assertThrows(IllegalArgumentException.class, () -> LongRing.attach(copy)).getMessage();
        assertTrue(m.contains("needs " + (384 + 8 * 32)), m);
        m = assertThrows(IllegalArgumentException.class, () -> LongRing.attach(seg.asSlice(0, 100))).getMessage();
        assertTrue(m.contains("100 bytes"), m);
        m = assertThrows(IllegalArgumentException.class, () -> LongRing.attach(MemorySegment.ofArray(new byte[1024]))).getMessage();
        assertTrue(m.contains("aligned"), m);
    }

    private void assertBad(MemorySegment seg, long offset, int value, String expect) {
        MemorySegment copy = arena.allocate(seg.byteSize(), 128).copyFrom(seg);
        copy.set(ValueLayout.JAVA_INT, offset, value);
        String m = assertThrows(IllegalArgumentException.class, () -> LongRing.attach(copy)).getMessage();
        assertTrue(m.contains(expect), m);
    }

    @Test
    void createRefusesBadArguments() {
        String m = assertThrows(IllegalArgumentException.class, () -> LongRing.create(segFor(16, 0), 16, Ring.F_MP_HTS_ENQ)).getMessage();
        assertTrue(m.contains("flags: 0x20") && m.contains("HTS/RTS"), m);
        m = assertThrows(IllegalArgumentException.class, () -> LongRing.create(segFor(16, 0), 32, 0)).getMessage();
        assertTrue(m.contains("needs at least"), m);
        m = assertThrows(IllegalArgumentException.class, () -> LongRing.bytesFor(100)).getMessage();
        assertTrue(m.contains("count: 100"), m);
    }

    @Test
    void corruptIndexesNeverReachOutsideTheSegment() {
        MemorySegment seg = segFor(8, 0);
        LongRing r = LongRing.create(seg, 8, 0);
        seg.set(ValueLayout.JAVA_INT, 132, 0x7fff_fff0); // a peer scribbles a huge producer tail
        long[] out = new long[8];
        assertEquals(7, r.dequeueBurst(out, 0, 7), "reads stay inside the slots (masked), whatever the indexes say");
    }

    /**
     * A peer that scribbles the indexes cannot make a claim larger than the capacity, so a burst
     * of more values than the ring has slots never runs past them into what follows in the
     * segment. Before the clamp, a huge producer tail let dequeueBurst(64) on an 8-slot ring read
     * 56 values beyond the slots, and a huge consumer tail let enqueueBurst(64) overwrite them.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 3})
    void corruptIndexesNeverReachPastTheSlots(int flags) {
        long ringBytes = LongRing.bytesFor(8, 0);
        long guard = 0x6B6B_6B6B_6B6B_6B6BL;
        MemorySegment seg = arena.allocate(ringBytes + 1024, 128);
        seg.asSlice(ringBytes).fill((byte) 0x6B);
        LongRing r = LongRing.create(seg.asSlice(0, ringBytes + 1024), 8, flags);
        long[] vals = seq(1, 64);

        seg.set(ValueLayout.JAVA_INT, 260, 0x4000_0000);  // consTail far ahead of the producer: "everything is free"
        int put = r.enqueueBurst(vals, 0, 64);
        assertTrue(put <= r.capacity(), "claimed " + put);
        for (long at = ringBytes; at < ringBytes + 1024; at += 8) assertEquals(guard, seg.get(ValueLayout.JAVA_LONG, at), "after the slots at " + at);

        LongRing.create(seg.asSlice(0, ringBytes + 1024), 8, flags);
        seg.set(ValueLayout.JAVA_INT, 132, 0x4000_0000);  // prodTail far ahead: "everything is filled"
        long[] out = new long[64];
        int got = r.dequeueBurst(out, 0, 64);
        assertTrue(got <= r.capacity(), "claimed " + got);
        for (long v : out) assertTrue(v != guard, "read a value from past the slots");
        assertEquals(0, r.dequeueBulk(out, 0, 64), "a bulk of more than the capacity moves nothing");
    }

    @Test
    void movesValuesWithoutAllocating() {
        LongRing r = LongRing.create(segFor(64, 0), 64, 0);
        long[] burst = seq(1, 32);
        RingAllocationTest.assertNoAllocation("long ring operations", () -> {
            for (int i = 0; i < 20_000; i++) {
                r.enqueue(i);
                r.dequeue(-1);
                r.enqueueBulk(burst, 0, 32);
                r.dequeueBulk(burst, 0, 32);
                r.spEnqueueBurst(burst, 0, 20);
                r.mcDequeueBurst(burst, 0, 32);
            }
        });
    }
}
