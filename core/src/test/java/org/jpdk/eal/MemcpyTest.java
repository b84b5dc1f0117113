package org.jpdk.eal;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MemcpyTest {
    /** Every length up to past the inline limit, at odd and even offsets: the bytes MemorySegment.copy would copy, and none beside them. */
    @Test
    void copiesWhatMemorySegmentCopyCopies() {
        SplittableRandom rnd = new SplittableRandom(7);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(1024), dst = a.allocate(1024), want = a.allocate(1024);
            for (int len = 0; len <= Memcpy.INLINE_MAX + 40; len++) {
                for (int so : new int[]{0, 1, 7, 64}) {
                    for (int d0 : new int[]{0, 3, 8, 61}) {
                        for (long i = 0; i < 1024; i++) src.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
                        byte fill = (byte) rnd.nextInt();
                        dst.fill(fill);
                        want.fill(fill);
                        Memcpy.copy(src, so, dst, d0, len);
                        MemorySegment.copy(src, so, want, d0, len);
                        assertArrayEquals(want.toArray(ValueLayout.JAVA_BYTE), dst.toArray(ValueLayout.JAVA_BYTE),
                                "len " + len + " from " + so + " to " + d0);
                    }
                }
            }
        }
    }

    @Test
    void outOfRangeThrowsAndTouchesNothingOutside() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment whole = a.allocate(256);
            whole.fill((byte) 0x5a);
            MemorySegment src = a.allocate(64), dst = whole.asSlice(64, 64);
            assertThrows(IndexOutOfBoundsException.class, () -> Memcpy.copy(src, 0, dst, 8, 64));
            assertThrows(IndexOutOfBoundsException.class, () -> Memcpy.copy(src, 8, dst, 0, 64));
            assertThrows(IndexOutOfBoundsException.class, () -> Memcpy.copy(src, -1, dst, 0, 8));
            assertThrows(IndexOutOfBoundsException.class, () -> Memcpy.copy(src, 0, dst, 0, -1));
            assertThrows(IndexOutOfBoundsException.class, () -> Memcpy.copy(a.allocate(600), 0, a.allocate(400), 0, 500));
            for (long i = 128; i < 256; i++) assertEquals((byte) 0x5a, whole.get(ValueLayout.JAVA_BYTE, i), "byte " + i + " past the destination");
            for (long i = 0; i < 64; i++) assertEquals((byte) 0x5a, whole.get(ValueLayout.JAVA_BYTE, i), "byte " + i + " before the destination");
        }
    }

    @Test
    void readOnlyDestinationAndClosedArenaThrow() {
        MemorySegment src;
        try (Arena a = Arena.ofConfined()) {
            src = a.allocate(64);
            MemorySegment ro = a.allocate(64).asReadOnly();
            assertThrows(IllegalArgumentException.class, () -> Memcpy.copy(src, 0, ro, 0, 64));
        }
        MemorySegment dst = Arena.ofAuto().allocate(64);
        assertThrows(IllegalStateException.class, () -> Memcpy.copy(src, 0, dst, 0, 64));
    }
}
