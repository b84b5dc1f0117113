package org.jpdk.sys;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class LibcTest {
    @Test
    void errnoNames() {
        assertEquals("ENOMEM", Errno.name(12));
        assertEquals("EAGAIN", Errno.name(Errno.EAGAIN));
        assertEquals("EINVAL", Errno.name(22));
        assertEquals("errno 999", Errno.name(999));
        assertEquals("errno -1", Errno.name(-1));
    }

    @Test
    void linuxExceptionNamesCallObjectAndErrno() {
        LinuxException e = new LinuxException("bind", "AF_PACKET, iface=veth0", Errno.ENODEV);
        assertEquals("bind(AF_PACKET, iface=veth0): ENODEV", e.getMessage());
        assertEquals(Errno.ENODEV, e.errno());
    }

    @Test
    void anonymousMmapIsUsableAndMunmapped() {
        long len = Libc.pageSize() * 2;
        long addr = Libc.mmap(0, len, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0,
                "anonymous, len=" + len);
        MemorySegment seg = MemorySegment.ofAddress(addr).reinterpret(len); // bounded: the len bytes mapped above, unused after munmap
        seg.set(ValueLayout.JAVA_LONG, len - 8, 0x1234L);
        assertEquals(0x1234L, seg.get(ValueLayout.JAVA_LONG, len - 8));
        assertEquals(0L, seg.get(ValueLayout.JAVA_LONG, 0), "anonymous memory is zeroed");
        Libc.munmap(addr, len);
    }

    /**
     * A length the segment does not hold is refused before the call: the kernel trusts the length
     * and FFM cannot see it. Before, read(fd, 8-byte segment, 64) had /dev/zero write 56 bytes past
     * the segment (here into the rest of a 128-byte allocation, so the test stays harmless).
     */
    @Test
    void lengthsLongerThanTheSegmentAreRefusedBeforeTheKernelSeesThem() {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment room = a.allocate(128, 8), eight = room.asSlice(0, 8);
            room.fill((byte) 0x5a);
            int fd = Libc.open("/dev/zero", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            try {
                assertThrows(IndexOutOfBoundsException.class, () -> Libc.read(fd, eight, 64));
                assertThrows(IndexOutOfBoundsException.class, () -> Libc.write(fd, eight, 9));
                assertThrows(IndexOutOfBoundsException.class, () -> Libc.send(fd, eight, 16, 0));
                assertThrows(IndexOutOfBoundsException.class, () -> Libc.sendNoErrno(fd, MemorySegment.NULL, 1, 0));
                assertThrows(IndexOutOfBoundsException.class, () -> Libc.recv(fd, eight, 16, 0));
                assertThrows(IndexOutOfBoundsException.class, () -> Libc.poll(eight, 2, 0));
                assertThrows(IndexOutOfBoundsException.class, () -> Libc.pollNoErrno(eight, 2, 0));
                assertThrows(IndexOutOfBoundsException.class, () -> Libc.epollWait(-1, eight, 1, 0));
                assertThrows(IndexOutOfBoundsException.class, () -> Uio.readv(fd, room.asSlice(0, 16), 2));
                assertThrows(IndexOutOfBoundsException.class, () -> Uio.writev(fd, room.asSlice(0, 16), 2));
                for (long i = 0; i < 128; i++) assertEquals((byte) 0x5a, room.get(ValueLayout.JAVA_BYTE, i), "byte " + i + " untouched");
                assertEquals(8, Libc.read(fd, eight, 8), "a length that fits goes through");
                assertEquals(-Errno.EBADF, Libc.send(-1, MemorySegment.NULL, 0, 0), "NULL, 0 (the kick) passes the check");
            } finally {
                Libc.close(fd);
            }
        }
    }

    @Test
    void failedMmapThrowsWithErrnoName() {
        LinuxException e = assertThrows(LinuxException.class, () -> Libc.mmap(0, 0, Libc.PROT_READ,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0, "len=0"));
        assertEquals("mmap(len=0): EINVAL", e.getMessage());
        assertEquals(Errno.EINVAL, e.errno());
    }

    @Test
    void gettidDiffersPerThreadAndEqualsPidOnlyForTheFirst() throws Exception {
        int mine = Libc.gettid();
        int[] other = new int[1];
        Thread t = new Thread(() -> other[0] = Libc.gettid());
        t.start();
        t.join();
        assertTrue(mine > 0);
        assertNotEquals(mine, other[0]);
        assertTrue(Libc.getpid() > 0);
    }

    @Test
    void affinityRoundTripsInAThread() throws Exception {
        BitSet all = Libc.schedGetaffinity(0);
        assertTrue(all.get(0), "CPU 0 is available");
        BitSet[] seen = new BitSet[1];
        Thread t = new Thread(() -> {
            BitSet one = new BitSet();
            one.set(all.nextSetBit(0));
            Libc.schedSetaffinity(0, one);
            seen[0] = Libc.schedGetaffinity(0);
        });
        t.start();
        t.join();
        BitSet expected = new BitSet();
        expected.set(all.nextSetBit(0));
        assertEquals(expected, seen[0]);
        assertEquals(all, Libc.schedGetaffinity(0), "other threads unaffected");
    }

    @Test
    void settingAnEmptyAffinityFailsWithEinval() {
        LinuxException e = assertThrows(LinuxException.class, () -> Libc.schedSetaffinity(0, new BitSet()));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().startsWith("sched_setaffinity(tid=0, cpus={}): EINVAL"), e.getMessage());
    }
}
