package org.jpdk.virtio;

import org.jpdk.sys.EventFd;
import org.jpdk.sys.Libc;
import org.jpdk.sys.UnixSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/** vhost-user framing over a stream socket: whole messages with descriptors, and every broken frame refused in bounded time. */
class VhostUserChannelTest {
    private Path dir;
    private UnixSocket listener;
    private VhostUserChannel front, back;
    private final Arena arena = Arena.ofConfined();

    @BeforeEach
    void connect() throws Exception {
        dir = Files.createTempDirectory("vhost-chan");
        String path = dir.resolve("sock").toString();
        listener = UnixSocket.listen(path, false, 1, Libc.SOCK_STREAM);
        front = new VhostUserChannel(UnixSocket.connect(path, false, Libc.SOCK_STREAM), 200);
        UnixSocket accepted = null;
        for (int i = 0; i < 100 && accepted == null; i++) {
            accepted = listener.accept();
            if (accepted == null) Thread.sleep(10);
        }
        back = new VhostUserChannel(accepted, 200);
    }

    @AfterEach
    void close() throws Exception {
        front.close();
        back.close();
        listener.close();
        arena.close();
        Files.deleteIfExists(dir.resolve("sock"));
        Files.delete(dir);
    }

    private static VhostUserMessage receive(VhostUserChannel c, VhostUserMessage m) {
        for (int i = 0; i < 200; i++) {
            if (c.receive(m)) return m;
            c.await(10);
        }
        throw new AssertionError("no message");
    }

    @Test
    void messagesAndDescriptorsArriveWhole() {
        VhostUserMessage out = new VhostUserMessage(arena), in = new VhostUserMessage(arena);
        assertFalse(back.receive(in), "nothing waiting yet");
        try (EventFd a = new EventFd(); EventFd b = new EventFd()) {
            out.set(VhostUserMessage.SET_MEM_TABLE, VhostUserMessage.VERSION).memTable(2)
                    .region(0, 0, 0x10000, 0x7f0000000000L, 0)
                    .region(1, 0x100000, 0x20000, 0x7f0000100000L, 0x1000);
            out.addFd(a.fd()).addFd(b.fd());
            front.send(out);
            out.set(VhostUserMessage.SET_VRING_ADDR, VhostUserMessage.VERSION | VhostUserMessage.NEED_REPLY)
                    .vringAddr(1, 0, 0x1000, 0x3000, 0x2000, 0);
            front.send(out);
            out.set(VhostUserMessage.GET_FEATURES, VhostUserMessage.VERSION);
            front.send(out);

            receive(back, in);
            assertEquals(VhostUserMessage.SET_MEM_TABLE, in.request());
            assertEquals(8 + 64, in.size());
            assertEquals(2, in.u32(VhostUserMessage.MEM_NREGIONS));
            assertEquals(0x100000, in.region(1, VhostUserMessage.REGION_GPA));
            assertEquals(0x1000, in.region(1, VhostUserMessage.REGION_MMAP_OFFSET));
            assertEquals(2, in.fdCount);
            // the received descriptors are the same eventfds: a signal on one is read on the other
            a.signal();
            MemorySegment cell = arena.allocate(JAVA_LONG);
            assertEquals(8, Libc.read(in.fds[0], cell, 8));
            assertEquals(1, cell.get(JAVA_LONG, 0));
            in.closeFds();

            receive(back, in);
            assertEquals(VhostUserMessage.SET_VRING_ADDR, in.request());
            assertTrue(in.needsReply());
            assertEquals(0x2000, in.u64(VhostUserMessage.ADDR_AVAIL));
            assertEquals(0, in.fdCount);

            receive(back, in);
            assertEquals(VhostUserMessage.GET_FEATURES, in.request());
            assertEquals(0, in.size());
            back.send(in.reply().u64(0x1234_0000_0000L));
            receive(front, out);
            assertEquals(VhostUserMessage.VERSION | VhostUserMessage.REPLY, out.flags());
            assertEquals(0x1234_0000_0000L, out.u64());
        }
    }

    @Test
    void aMessageCutShortTimesOut() {
        MemorySegment raw = arena.allocate(12);
        raw.set(JAVA_INT_UNALIGNED, 0, VhostUserMessage.SET_VRING_ADDR);
        raw.set(JAVA_INT_UNALIGNED, 4, VhostUserMessage.VERSION);
        raw.set(JAVA_INT_UNALIGNED, 8, 40); // announces 40 bytes, sends none
        assertEquals(12, front.socket().send(raw, -1));
        VhostUserMessage in = new VhostUserMessage(arena);
        back.await(1000);
        VhostUserException e = assertThrows(VhostUserException.class, () -> back.receive(in));
        assertFalse(e.closed());
        assertTrue(e.getMessage().contains("stopped after 0 of 40 bytes"), e.getMessage());
    }

    @Test
    void oversizedPayloadAndWrongVersionAreRefused() {
        MemorySegment raw = arena.allocate(12);
        raw.set(JAVA_INT_UNALIGNED, 0, VhostUserMessage.SET_MEM_TABLE);
        raw.set(JAVA_INT_UNALIGNED, 4, VhostUserMessage.VERSION);
        raw.set(JAVA_INT_UNALIGNED, 8, 0x7fff_ffff);
        front.socket().send(raw, -1);
        VhostUserMessage in = new VhostUserMessage(arena);
        back.await(1000);
        VhostUserException e = assertThrows(VhostUserException.class, () -> back.receive(in));
        assertTrue(e.getMessage().contains("SET_MEM_TABLE: payload of 2147483647 bytes"), e.getMessage());

        raw.set(JAVA_INT_UNALIGNED, 4, 2);
        raw.set(JAVA_INT_UNALIGNED, 8, 0);
        front.socket().send(raw, -1);
        back.await(1000);
        e = assertThrows(VhostUserException.class, () -> back.receive(in));
        assertTrue(e.getMessage().contains("protocol version 2"), e.getMessage());
    }

    @Test
    void peerClosingIsReportedAsClosed() {
        front.close();
        VhostUserMessage in = new VhostUserMessage(arena);
        back.await(1000);
        VhostUserException e = assertThrows(VhostUserException.class, () -> back.receive(in));
        assertTrue(e.closed());
    }

    @Test
    void expectedSizes() {
        assertEquals(40, VhostUserMessage.expectedSize(VhostUserMessage.SET_VRING_ADDR));
        assertEquals(8, VhostUserMessage.expectedSize(VhostUserMessage.SET_VRING_NUM));
        assertEquals(0, VhostUserMessage.expectedSize(VhostUserMessage.SET_OWNER));
        assertEquals(-1, VhostUserMessage.expectedSize(VhostUserMessage.SET_MEM_TABLE));
        assertEquals("SET_VRING_KICK", VhostUserMessage.requestName(12));
        assertThrows(IllegalArgumentException.class, () -> new VhostUserMessage(arena).memTable(9));
    }
}
