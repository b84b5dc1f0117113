package org.jpdk.drivers.net.memif;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.Mapping;
import org.jpdk.sys.UnixSocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A memif client written for the tests: it speaks the protocol step by step and lets a test break
 * any rule on the way (a message of the wrong size, a field out of range, a missing descriptor, a
 * ring outside its region, descriptors that point anywhere), then reads what the server answers.
 * Its region 0 holds one C2S and one S2C ring of {@value #LOG2} log2 slots and their buffers,
 * laid out as a DPDK client lays them out.
 */
final class HostilePeer implements AutoCloseable {
    static final int LOG2 = 4, SIZE = 1 << LOG2, BSIZE = 2048;
    static final long RING_BYTES = MemifRing.bytes(LOG2), BUFFERS = 2 * RING_BYTES;
    static final long REGION_SIZE = BUFFERS + 2L * SIZE * BSIZE;

    final UnixSocket sock;
    final Arena arena = Arena.ofShared();
    final MemorySegment in = arena.allocate(256, 8), out = arena.allocate(MemifMessage.SIZE, 8);
    final int regionFd, c2sFd, s2cFd;
    final MemorySegment region;
    String disconnectReason;

    private HostilePeer(UnixSocket sock, boolean sealable) {
        this.sock = sock;
        regionFd = Libc.memfdCreate("hostile_region", Libc.MFD_CLOEXEC | (sealable ? Libc.MFD_ALLOW_SEALING : 0));
        Libc.ftruncate(regionFd, REGION_SIZE, "hostile region");
        region = Mapping.map(arena, REGION_SIZE, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, regionFd, 0, "hostile region");
        for (int r = 0; r < 2; r++) {
            MemorySegment ring = ring(r);
            MemifRing.init(ring);
            for (int j = 0; j < SIZE; j++) desc(ring, j, 0, 0, BSIZE, BUFFERS + ((long) r * SIZE + j) * BSIZE);
        }
        c2sFd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        s2cFd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
    }

    /** Connects to the server on abstract socket {@code name}. */
    static HostilePeer connect(String name) {
        return new HostilePeer(UnixSocket.connect(name, true), true);
    }

    /** As {@link #connect}, with a region memfd that cannot be sealed (as a DPDK zero-copy client's memory). */
    static HostilePeer connectUnsealable(String name) {
        return new HostilePeer(UnixSocket.connect(name, true), false);
    }

    /** Ring 0 (C2S) or 1 (S2C) of region 0. */
    MemorySegment ring(int r) {
        return region.asSlice(r * RING_BYTES, RING_BYTES);
    }

    static void desc(MemorySegment ring, int slot, int flags, int reg, long length, long offset) {
        long d = MemifRing.desc(slot);
        ring.set(JAVA_SHORT, d + MemifRing.D_FLAGS, (short) flags);
        ring.set(JAVA_SHORT, d + MemifRing.D_REGION, (short) reg);
        ring.set(JAVA_INT, d + MemifRing.D_LENGTH, (int) length);
        ring.set(JAVA_INT, d + MemifRing.D_OFFSET, (int) offset);
    }

    /** The next message's type (waiting up to 5 s); its bytes stay in {@link #in}. -1 when the server closed. */
    int receive() {
        return receive(5);
    }

    int receive(int seconds) {
        int[] fds = new int[1];
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            long r = sock.receive(in, fds);
            if (fds[0] >= 0) Libc.close(fds[0]);
            if (r == -Errno.EAGAIN) {
                if (System.nanoTime() > deadline) fail("no message from the server within " + seconds + " s");
                Thread.onSpinWait();
                continue;
            }
            if (r <= 0) return -1;
            assertEquals(MemifMessage.SIZE, r, "the server sends 128-byte messages");
            int type = MemifMessage.type(in);
            if (type == MemifMessage.DISCONNECT) {
                disconnectReason = MemifMessage.string(in, MemifMessage.DISCONNECT_REASON, MemifMessage.REASON_SIZE);
            }
            return type;
        }
    }

    void expect(int type) {
        int got = receive();
        if (got != type) {
            fail("expected " + MemifMessage.typeName(type) + ", got " + (got < 0 ? "end of file" : MemifMessage.typeName(got))
                    + (disconnectReason != null ? ": " + disconnectReason : ""));
        }
    }

    /** Waits for the server's DISCONNECT and returns its reason; the server then closes the connection. */
    String awaitDisconnect() {
        int t;
        while ((t = receive(10)) != MemifMessage.DISCONNECT) {
            if (t < 0) fail("the server closed without saying why");
        }
        assertEquals(-1, receive(), "the server closes after DISCONNECT");
        return disconnectReason;
    }

    void send(Consumer<MemorySegment> build, int... fds) {
        build.accept(out);
        assertEquals(MemifMessage.SIZE, sock.send(out, fds));
    }

    void sendRaw(int bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(bytes);
            MemifMessage.put16(m, 0, MemifMessage.INIT);
            sock.send(m, new int[0]);
        }
    }

    void init(long id, String secret) {
        send(m -> MemifMessage.init(m, id, secret, "hostile"));
    }

    void addRegion() {
        send(m -> MemifMessage.addRegion(m, 0, REGION_SIZE), regionFd);
    }

    void addRings() {
        send(m -> MemifMessage.addRing(m, true, 0, 0, 0, LOG2), c2sFd);
        expect(MemifMessage.ACK);
        send(m -> MemifMessage.addRing(m, false, 0, 0, RING_BYTES, LOG2), s2cFd);
        expect(MemifMessage.ACK);
    }

    /** A whole correct handshake for interface {@code id}: HELLO ... CONNECTED. */
    void handshake(long id, String secret) {
        expect(MemifMessage.HELLO);
        init(id, secret);
        expect(MemifMessage.ACK);
        addRegion();
        expect(MemifMessage.ACK);
        addRings();
        send(m -> MemifMessage.connect(m, MemifMessage.CONNECT, "hostile0"));
        expect(MemifMessage.CONNECTED);
    }

    /** Publishes {@code n} C2S slots from the current head, each described by {@code fill(slot)}. */
    void publishC2s(int n, java.util.function.IntConsumer fill) {
        MemorySegment r = ring(0);
        int head = MemifRing.head(r);
        for (int i = 0; i < n; i++) fill.accept((head + i) & (SIZE - 1));
        MemifRing.head(r, head + n);
    }

    @Override
    public void close() {
        sock.close();
        Libc.close(regionFd);
        Libc.close(c2sFd);
        Libc.close(s2cFd);
        arena.close();
    }
}
