package org.jpdk.virtio;

import org.jpdk.sys.Libc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/** Guest memory tables: regions mapped from descriptors, translations inside one region only, malformed tables refused. */
class GuestMemoryTest {
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    private int memfd(long size) {
        int fd = Libc.memfdCreate("guestmem-test", Libc.MFD_CLOEXEC);
        Libc.ftruncate(fd, size, "test memfd");
        return fd;
    }

    /** Two regions of one 192 KiB memfd: [0, 64K) at gpa 0, and [64K, 192K) at gpa 1 MiB. */
    private VhostUserMessage twoRegions() {
        VhostUserMessage m = new VhostUserMessage(arena);
        m.set(VhostUserMessage.SET_MEM_TABLE, VhostUserMessage.VERSION).memTable(2)
                .region(0, 0, 0x10000, 0x7f00_0000_0000L, 0)
                .region(1, 0x100000, 0x20000, 0x7f00_1000_0000L, 0x10000);
        int fd = memfd(0x30000);
        m.fds[0] = fd;
        m.fds[1] = Libc.fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 0);
        m.fdCount = 2;
        return m;
    }

    @Test
    void translatesInsideOneRegionOnly() {
        try (GuestMemory mem = GuestMemory.map(twoRegions(), "test")) {
            assertEquals(2, mem.regions());
            assertEquals(0, mem.regionOfGpa(0, 0x10000));
            assertEquals(-1, mem.regionOfGpa(0xfff8, 16), "crosses the end of region 0");
            assertEquals(-1, mem.regionOfGpa(0x10000, 1), "the gap between regions");
            assertEquals(1, mem.regionOfGpa(0x11fff0, 16));
            assertEquals(-1, mem.regionOfGpa(0x11fff0, 17));
            assertEquals(-1, mem.regionOfGpa(0x100000, -1L), "a length near 2^64 never wraps into range");
            assertEquals(-1, mem.regionOfGpa(-8, 16), "an address near 2^64 never wraps");
            assertEquals(1, mem.regionOfUva(0x7f00_1000_0000L + 8, 8));
            assertEquals(0x100008, mem.uvaToGpa(0x7f00_1000_0008L));
            assertEquals(-1, mem.uvaToGpa(0x1234));
            // region 1 starts at mmap_offset 64K of the file: what is written through it lands there
            MemorySegment s = mem.sliceGpa(0x100000, 8);
            s.set(JAVA_LONG, 0, 0x1122334455667788L);
            assertEquals(0x1122334455667788L, mem.sliceUva(0x7f00_1000_0000L, 8).get(JAVA_LONG, 0));
            assertNull(mem.sliceGpa(0x10000, 8));
            assertEquals(0x20000, mem.segment(1).byteSize(), "the segment is bounded to the region");
            assertThrows(IndexOutOfBoundsException.class, () -> mem.segment(1).get(JAVA_LONG, 0x20000));
        }
    }

    @Test
    void malformedTablesAreRefused() {
        VhostUserMessage m = twoRegions();
        m.region(1, 0x8000, 0x20000, 0x7f00_1000_0000L, 0x10000); // overlaps region 0
        assertTrue(assertThrows(VhostUserException.class, () -> GuestMemory.map(m, "t")).getMessage().contains("overlaps region 0"));
        assertEquals(-1, m.fds[0], "descriptors are closed on failure");

        VhostUserMessage one = twoRegions();
        Libc.close(one.fds[1]);
        one.fds[1] = -1;
        one.fdCount = 1;
        assertTrue(assertThrows(VhostUserException.class, () -> GuestMemory.map(one, "t")).getMessage()
                .contains("2 regions but 1 descriptors"));

        VhostUserMessage zero = twoRegions();
        zero.region(0, 0, 0, 0, 0);
        assertTrue(assertThrows(VhostUserException.class, () -> GuestMemory.map(zero, "t")).getMessage().contains("size must be positive"));

        VhostUserMessage wrap = twoRegions();
        wrap.region(1, -0x1000L, 0x20000, 0x7f00_1000_0000L, 0x10000);
        assertTrue(assertThrows(VhostUserException.class, () -> GuestMemory.map(wrap, "t")).getMessage().contains("wraps"));

        VhostUserMessage count = twoRegions();
        count.payload().set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0, 9);
        assertTrue(assertThrows(VhostUserException.class, () -> GuestMemory.map(count, "t")).getMessage().contains("9 regions"));

        VhostUserMessage notAFile = twoRegions();
        Libc.close(notAFile.fds[1]);
        notAFile.fds[1] = Libc.eventfd(0, Libc.EFD_CLOEXEC); // an eventfd cannot be mapped
        assertThrows(VhostUserException.class, () -> GuestMemory.map(notAFile, "t"));
    }
}
