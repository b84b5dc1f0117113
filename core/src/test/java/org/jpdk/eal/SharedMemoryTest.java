package org.jpdk.eal;

import org.jpdk.sys.Libc;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * EAL memory as a peer sees it: every mapping is a shared mapping of a file descriptor, so that
 * what {@link Memzone#fileRange()} describes, mapped a second time (as a peer that received the
 * descriptor maps it), shows the same bytes both ways.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SharedMemoryTest {
    @AfterEach
    void shutdown() {
        EalMemory.shutdown();
    }

    @AfterAll
    static void restoreHugepages() throws IOException {
        HugepageTest.restore();
    }

    /** Maps {@code r} a second time, as a peer would, and checks both mappings see each other's writes. */
    private static void assertPeerSeesTheZone(Memzone z) {
        FileRange r = z.fileRange();
        long skip = r.offset() - r.mapOffset();
        long len = r.mapLength();
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment peer = org.jpdk.sys.Mapping.map(arena, len, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, r.fd(),
                    r.mapOffset(), "peer view").asSlice(skip);
            z.segment().set(JAVA_LONG, 0, 0x0123456789abcdefL);
            assertEquals(0x0123456789abcdefL, peer.get(JAVA_LONG, 0), "the peer reads what we wrote");
            peer.set(JAVA_LONG_UNALIGNED, z.len() - 8, 77L);
            assertEquals(77L, z.segment().get(JAVA_LONG_UNALIGNED, z.len() - 8), "we read what the peer wrote");
        }
    }

    private static String fdTarget(int fd) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
    }

    @Test
    void fourKilobytePagesAreAShmemMemfd() throws IOException {
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true).withHugeDir(null, "shm"));
        Memzone z = Memzone.reserve("sm_4k", 10_000, 0, 64);
        Memseg m = z.memseg();
        assertTrue(m.fd() >= 0);
        assertTrue(fdTarget(m.fd()).startsWith("/memfd:shmmap_"), fdTarget(m.fd()));
        assertEquals(0, m.fileOffset());
        assertEquals(null, m.file());
        assertEquals(Libc.F_SEAL_SHRINK, Libc.fcntl(m.fd(), Libc.F_GET_SEALS, 0) & Libc.F_SEAL_SHRINK,
                "sealed: a peer cannot truncate it under us");
        assertPeerSeesTheZone(z);
    }

    @Test
    void hugepagesAreAHugetlbMemfdByDefaultAndInMemory() throws IOException {
        HugepageTest.requireFree2M(4);
        for (boolean inMemory : new boolean[]{false, true}) {
            EalMemory.init(MemoryOptions.defaults().withInMemory(inMemory));
            Memzone z = Memzone.reserve("sm_huge", 3 << 20, 0, 64);
            assertEquals(Hugepages.SIZE_2M, z.hugepageSize());
            assertTrue(fdTarget(z.memseg().fd()).startsWith("/memfd:rtemap_"), fdTarget(z.memseg().fd()));
            assertTrue(Files.readString(Path.of("/proc/self/maps")).contains("/memfd:rtemap_"), "mapped from the memfd");
            assertPeerSeesTheZone(z);
            EalMemory.shutdown();
        }
    }

    @Test
    void singleFileSegmentsPutEveryMappingOfAListInOneFileAtItsOwnOffset() {
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true).withSingleFileSegments(true));
        Memzone a = Memzone.reserve("sm_a", 3 << 20, 0, 64);
        Memzone b = Memzone.reserve("sm_b", 3 << 20, 0, 64); // does not fit the first chunk: a second mapping
        Memseg ma = a.memseg(), mb = b.memseg();
        assertNotEquals(ma.address(), mb.address());
        assertEquals(ma.fd(), mb.fd(), "one file for the list");
        assertEquals(0, ma.fileOffset());
        assertEquals(ma.len(), mb.fileOffset(), "the second mapping follows the first in the file");
        List<MemsegList> lists = EalMemory.memsegLists();
        assertEquals(1, lists.size());
        assertEquals(ma.fd(), lists.get(0).fd());
        assertPeerSeesTheZone(a);
        assertPeerSeesTheZone(b);
        // a zone in the middle of a chunk: the range starts at its own offset, mapped from the page below
        Memzone c = Memzone.reserve("sm_c", 100, 0, 64);
        assertEquals(c.memseg().fileOffset() + (c.segment().address() - c.memseg().address()), c.fileRange().offset());
        assertPeerSeesTheZone(c);
        b.free(); // its chunk goes: the list's file stays open for the others
        assertPeerSeesTheZone(a);
    }

    @Test
    void withoutSingleFileSegmentsEachMappingHasItsOwnFile() {
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
        Memzone a = Memzone.reserve("sm_a", 3 << 20, 0, 64);
        Memzone b = Memzone.reserve("sm_b", 3 << 20, 0, 64);
        assertNotEquals(a.memseg().fd(), b.memseg().fd());
        assertEquals(0, b.memseg().fileOffset());
        assertEquals(-1, EalMemory.memsegLists().get(0).fd());
    }

    @Test
    void aDedicatedZoneHasAPageAlignedMappingAndFileOfItsOwn() throws IOException {
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true).withSingleFileSegments(true));
        Memzone heapZone = Memzone.reserve("sm_heap", 1000, 0, 64);
        Memzone z = Memzone.reserve("sm_own", 10_000, 0, Memzone.MEMZONE_DEDICATED, 64);
        assertTrue(z.dedicated());
        assertEquals(10_000, z.len());
        Memseg m = z.memseg();
        assertEquals(m.address(), z.segment().address(), "starts the mapping");
        assertEquals(0, m.address() % Libc.pageSize());
        assertEquals(3 * 4096, m.len(), "page rounded");
        assertNotEquals(heapZone.memseg().fd(), m.fd(), "a file of its own, not the list's");
        FileRange r = z.fileRange();
        assertEquals(new FileRange(m.fd(), 0, 3 * 4096, 4096), r);
        assertPeerSeesTheZone(z);
        String maps = Files.readString(Path.of("/proc/self/maps"));
        String start = Long.toHexString(m.address()) + "-";
        assertTrue(maps.contains("\n" + start) || maps.startsWith(start));
        z.free();
        assertThrows(IllegalStateException.class, () -> z.segment().get(JAVA_LONG, 0), "a freed zone's segment throws");
        maps = Files.readString(Path.of("/proc/self/maps"));
        assertFalse(maps.contains("\n" + start), "free unmapped it");
        assertEquals(null, Memzone.lookup("sm_own"));

        Memzone again = Memzone.reserve("sm_own", 100, 0, Memzone.MEMZONE_DEDICATED, 4096);
        EalMemory.shutdown();
        assertThrows(IllegalStateException.class, () -> again.segment().get(JAVA_LONG, 0), "shutdown closes it");
        var e = assertThrows(IllegalArgumentException.class, () -> {
            EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
            Memzone.reserve("sm_big_align", 100, 0, Memzone.MEMZONE_DEDICATED, 1 << 20);
        });
        assertTrue(e.getMessage().contains("dedicated zone starts on a page of 4096 bytes"), e.getMessage());
        assertEquals(0, EalMemory.mappedBytes(-1), "the refused zone's mapping was given back");
    }

    @Test
    void zoneIovaIsTranslatedPageByPageInPaMode() {
        HugepageTest.requireFree2M(8);
        HugepageTest.precondition(HugepageTest.root(), "PA mode needs root (CAP_SYS_ADMIN) for /proc/self/pagemap PFNs");
        EalMemory.init(MemoryOptions.defaults());
        assertEquals(EalMemory.IovaMode.PA, EalMemory.iovaMode());
        Memzone z = Memzone.reserve("sm_pa", 6 << 20, 0, Memzone.MEMZONE_DEDICATED, 64);
        long base = z.segment().address();
        for (long off = 0; off < z.len(); off += Hugepages.SIZE_2M / 2) {
            assertEquals(EalMemory.virt2iova(base + off), z.iova(off), "offset " + off);
        }
        assertEquals(z.iova(), z.iova(0));
        assertThrows(IndexOutOfBoundsException.class, () -> z.iova(z.len()));
    }
}
