package org.jpdk.sys;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SOCK_SEQPACKET with SCM_RIGHTS, memfd_create and seals: what memif's control channel and regions stand on. */
@Timeout(10)
class UnixSocketTest {
    private static String abstractName() {
        return "jpdk-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    }

    @Test
    void aMemfdPassedOverTheSocketMapsTheSameBytes() {
        String name = abstractName();
        try (UnixSocket server = UnixSocket.listen(name, true, 1);
             UnixSocket client = UnixSocket.connect(name, true);
             Arena a = Arena.ofConfined()) {
            UnixSocket conn = server.accept();
            assertTrue(conn != null, "accepted");
            try (conn) {
                long len = Libc.pageSize();
                int memfd = Libc.memfdCreate("jpdk-test", Libc.MFD_CLOEXEC | Libc.MFD_ALLOW_SEALING);
                Libc.ftruncate(memfd, len, "memfd");
                assertEquals(0, Libc.fcntl(memfd, Libc.F_ADD_SEALS, Libc.F_SEAL_SHRINK));
                assertEquals(Libc.F_SEAL_SHRINK, Libc.fcntl(memfd, Libc.F_GET_SEALS, 0));
                MemorySegment mine = Mapping.map(a, len, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, memfd, 0, "memfd");
                mine.set(JAVA_LONG, 64, 0x1122334455667788L);

                MemorySegment msg = a.allocate(128);
                msg.set(JAVA_INT, 0, 4);
                assertEquals(128, client.send(msg, memfd));
                Libc.close(memfd);

                MemorySegment in = a.allocate(256);
                int[] fds = new int[1];
                assertEquals(128, conn.receive(in, fds));
                assertEquals(4, in.get(JAVA_INT, 0));
                assertTrue(fds[0] >= 0, "a descriptor came with the message");
                MemorySegment theirs = Mapping.map(a, len, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fds[0], 0, "passed memfd");
                assertEquals(0x1122334455667788L, theirs.get(JAVA_LONG, 64));
                var shrink = assertThrows(LinuxException.class, () -> Libc.ftruncate(fds[0], 0, "passed memfd"));
                assertEquals(Errno.EPERM, shrink.errno(), "F_SEAL_SHRINK holds for the receiver too");
                Libc.close(fds[0]);

                assertEquals(-Errno.EAGAIN, conn.receive(in, fds), "nothing more waiting");
                client.close();
                assertEquals(0, conn.receive(in, fds), "peer closed: end of file");
            }
        }
    }

    @Test
    void oversizedMessagesReportTheirRealLengthAndSurplusDescriptorsAreClosed() {
        String name = abstractName();
        try (UnixSocket server = UnixSocket.listen(name, true, 1);
             UnixSocket client = UnixSocket.connect(name, true);
             UnixSocket conn = server.accept();
             Arena a = Arena.ofConfined()) {
            int e1 = Libc.eventfd(0, Libc.EFD_CLOEXEC), e2 = Libc.eventfd(0, Libc.EFD_CLOEXEC);
            assertEquals(300, client.send(a.allocate(300), new int[]{e1, e2}));
            int[] fds = new int[1];
            assertEquals(300, conn.receive(a.allocate(129), fds), "the real length, though only 129 bytes fit");
            assertTrue(fds[0] >= 0);
            Libc.close(fds[0]);
            Libc.close(e1);
            Libc.close(e2);
        }
    }

    @Test
    void pathSocketsRemoveTheirFileAndAStaleFileIsReplaced(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("t.sock");
        UnixSocket first = UnixSocket.listen(p.toString(), false, 1);
        assertTrue(Files.exists(p));
        var busy = assertThrows(LinuxException.class, () -> UnixSocket.listen(p.toString(), false, 1));
        assertEquals(Errno.EADDRINUSE, busy.errno(), busy.getMessage());
        first.close();
        assertFalse(Files.exists(p), "close removes the socket file");

        // a file left by a process that died: nobody listens, so it is replaced
        int fd = Libc.socket(Libc.AF_UNIX, Libc.SOCK_SEQPACKET, 0, "stale");
        try (Arena a = Arena.ofConfined()) {
            Libc.bind(fd, UnixSocket.sockaddr(a, p.toString(), false), "stale");
        }
        Libc.close(fd);
        assertTrue(Files.exists(p));
        try (UnixSocket again = UnixSocket.listen(p.toString(), false, 1);
             UnixSocket c = UnixSocket.connect(p.toString(), false)) {
            assertNotEquals(null, again.accept());
        }
    }

    @Test
    void connectErrorsNameTheSocketAndTheErrno(@TempDir Path dir) {
        var e = assertThrows(LinuxException.class, () -> UnixSocket.connect(dir.resolve("none.sock").toString(), false));
        assertEquals("connect(socket=" + dir.resolve("none.sock") + "): ENOENT", e.getMessage());
        var r = assertThrows(LinuxException.class, () -> UnixSocket.connect("jpdk-nobody-" + System.nanoTime(), true));
        assertEquals(Errno.ECONNREFUSED, r.errno());
        assertTrue(r.getMessage().startsWith("connect(socket=@jpdk-nobody-"), r.getMessage());
        var tooLong = assertThrows(IllegalArgumentException.class, () -> UnixSocket.connect("x".repeat(120), true));
        assertTrue(tooLong.getMessage().contains("at most 107"), tooLong.getMessage());
        try (UnixSocket s = UnixSocket.listen(abstractName(), true, 1)) {
            assertNull(s.accept(), "no connection pending");
        }
    }

    @Test
    void hugetlbMemfdWhenHugepagesAreFree() {
        long free = org.jpdk.eal.Hugepages.size(2L << 20).map(z -> z.free()).orElse(0L);
        org.junit.jupiter.api.Assumptions.assumeTrue(free >= 1, "no free 2 MiB hugepage");
        int fd = Libc.memfdCreate("jpdk-huge", Libc.MFD_CLOEXEC | Libc.MFD_HUGETLB | (21 << Libc.MFD_HUGE_SHIFT));
        try {
            Libc.ftruncate(fd, 2L << 20, "hugetlb memfd");
            try (Arena a = Arena.ofConfined()) {
                Mapping.map(a, 2L << 20, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, 0, "hugetlb memfd")
                        .set(JAVA_LONG, (2L << 20) - 8, 7L);
            }
        } finally {
            Libc.close(fd);
        }
    }
}
