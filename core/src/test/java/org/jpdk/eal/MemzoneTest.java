package org.jpdk.eal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Memzones on the 4 KiB fall-back (forced with --no-huge); the hugepage path is in HugepageTest. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MemzoneTest {
    @BeforeEach
    void init() {
        EalMemory.shutdown();
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
    }

    @AfterEach
    void shutdown() {
        EalMemory.shutdown();
    }

    @Test
    void reserveLookupFreeAndReserveAgain() {
        Memzone z = Memzone.reserve("mz_a", 1000, 0, 64);
        assertEquals("mz_a", z.name());
        assertEquals(1000, z.len());
        assertEquals(1000, z.segment().byteSize());
        assertEquals(Hugepages.SIZE_4K, z.hugepageSize());
        assertEquals(0, z.socketId());
        assertSame(z, Memzone.lookup("mz_a"));
        z.free();
        assertNull(Memzone.lookup("mz_a"));
        assertThrows(IllegalStateException.class, z::free);
        Memzone again = Memzone.reserve("mz_a", 2000, Memzone.SOCKET_ID_ANY, 0);
        assertSame(again, Memzone.lookup("mz_a"));
    }

    @Test
    void duplicateNameIsRefusedNamingIt() {
        Memzone.reserve("mz_dup", 64, 0, 64);
        var e = assertThrows(IllegalStateException.class, () -> Memzone.reserve("mz_dup", 64, 0, 64));
        assertTrue(e.getMessage().contains("mz_dup") && e.getMessage().contains("exists"), e.getMessage());
    }

    @Test
    void badArgumentsNameTheArgument() {
        var e = assertThrows(IllegalArgumentException.class, () -> Memzone.reserve("mz_x", 64, 0, 48));
        assertTrue(e.getMessage().contains("align=48"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Memzone.reserve("mz_x", 64, 0, 32));
        e = assertThrows(IllegalArgumentException.class, () -> Memzone.reserve("x".repeat(32), 64, 0, 64));
        assertTrue(e.getMessage().contains("at most 31"), e.getMessage());
        Memzone.reserve("y".repeat(31), 64, 0, 64);
        e = assertThrows(IllegalArgumentException.class, () -> Memzone.reserve("mz_x", 0, 0, 64));
        assertTrue(e.getMessage().contains("len=0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Memzone.reserve("mz_x", 64, 7, 64));
        assertTrue(e.getMessage().contains("socketId=7"), e.getMessage());
        assertNull(Memzone.lookup("mz_x"));
    }

    @Test
    void zonesAreAlignedAsAsked() {
        for (long align = 64; align <= (1 << 20); align <<= 1) {
            Memzone z = Memzone.reserve("mz_al" + align, 100, 0, align);
            assertEquals(0, z.segment().address() % align, "align " + align);
        }
    }

    @Test
    void zonesAreZeroedEvenWhenMemoryIsReused() {
        Memzone z = Memzone.reserve("mz_dirty", 8192, 0, 64);
        long addr = z.segment().address();
        z.segment().fill((byte) 0x5a);
        z.free();
        Memzone again = Memzone.reserve("mz_clean", 8192, 0, 64);
        assertEquals(addr, again.segment().address(), "best fit reuses the freed block");
        for (long i = 0; i < 8192; i++) assertEquals(0, again.segment().get(ValueLayout.JAVA_BYTE, i));
    }

    @Test
    void useAfterFreeThrowsInsteadOfTouchingMemory() {
        Memzone z = Memzone.reserve("mz_uaf", 256, 0, 64);
        var seg = z.segment();
        var slice = seg.asSlice(64, 64);
        z.free();
        assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> slice.set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
        Memzone z2 = Memzone.reserve("mz_after", 256, 0, 64);
        EalMemory.shutdown();
        assertThrows(IllegalStateException.class, () -> z2.segment().get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, z2::free);
    }

    @Test
    void segmentIsBoundedToTheZone() {
        Memzone z = Memzone.reserve("mz_bound", 100, 0, 64);
        z.segment().set(ValueLayout.JAVA_BYTE, 99, (byte) 1);
        assertThrows(IndexOutOfBoundsException.class, () -> z.segment().set(ValueLayout.JAVA_BYTE, 100, (byte) 1));
    }

    @Test
    void boundedZonesDoNotCrossTheBoundary() {
        Memzone.reserve("mz_pad", 3000, 0, 64);
        for (int i = 0; i < 8; i++) {
            Memzone z = Memzone.reserveBounded("mz_b" + i, 3000, 0, 0, 64, 4096);
            long start = z.segment().address();
            assertEquals(start / 4096, (start + 2999) / 4096, "zone " + i + " at 0x" + Long.toHexString(start));
        }
        assertThrows(IllegalArgumentException.class, () -> Memzone.reserveBounded("mz_bad", 5000, 0, 0, 64, 4096));
    }

    @Test
    void pageSizeFlagsOn4kPagesFailUnlessOnlyAHint() {
        var e = assertThrows(MemoryException.class, () -> Memzone.reserve("mz_2m", 64, 0, Memzone.MEMZONE_2MB, 64));
        assertTrue(e.getMessage().contains("2048 kB"), e.getMessage());
        Memzone z = Memzone.reserve("mz_2m", 64, 0, Memzone.MEMZONE_2MB | Memzone.MEMZONE_SIZE_HINT_ONLY, 64);
        assertEquals(Hugepages.SIZE_4K, z.hugepageSize());
        assertThrows(IllegalArgumentException.class,
                () -> Memzone.reserve("mz_both", 64, 0, Memzone.MEMZONE_2MB | Memzone.MEMZONE_1GB, 64));
    }

    @Test
    void freeReturnsTheMemory() {
        Memzone.reserve("mz_keep", 64, 0, 64);
        long before = EalMemory.mappedBytes(-1);
        Memzone big = Memzone.reserve("mz_big", 16 << 20, 0, 64);
        assertTrue(EalMemory.mappedBytes(-1) >= before + (16 << 20));
        big.free();
        assertEquals(before, EalMemory.mappedBytes(-1), "the chunk mapped for the big zone is unmapped");
        assertEquals(Malloc.socketStats(0).heapTotalBytes(), Malloc.socketStats(0).heapFreeBytes()
                + Malloc.socketStats(0).heapAllocBytes());
    }

    @Test
    void walkAndDumpListEveryZone() {
        Memzone a = Memzone.reserve("mz_w1", 64, 0, 64);
        Memzone.reserve("mz_w2", 128, 0, 64);
        List<String> names = new ArrayList<>();
        Memzone.walk(z -> names.add(z.name()));
        assertEquals(List.of("mz_w1", "mz_w2"), names);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Memzone.dump(new PrintStream(out, true));
        String d = out.toString();
        assertTrue(d.contains("name:<mz_w1>, len:0x40, virt:0x" + Long.toHexString(a.segment().address())), d);
        assertTrue(d.contains("socket_id:0") && d.contains("pagesz:0x1000") && d.contains("iova:0x"), d);
        assertTrue(d.contains("name:<mz_w2>, len:0x80"), d);
    }

    @Test
    void reserveWithoutInitInitialisesWithDefaults() {
        EalMemory.shutdown();
        Memzone z = Memzone.reserve("mz_noinit", 4096, Memzone.SOCKET_ID_ANY, 64);
        assertTrue(EalMemory.initialised());
        assertEquals(EalMemory.defaultPageSize(), z.hugepageSize());
    }
}
