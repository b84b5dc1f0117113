package org.jpdk.drivers.net.virtio;

import org.jpdk.sys.Libc;
import org.jpdk.sys.UnixSocket;
import org.jpdk.virtio.GuestMemory;
import org.jpdk.virtio.PackedRing;
import org.jpdk.virtio.SplitRing;
import org.jpdk.virtio.VhostUserChannel;
import org.jpdk.virtio.VhostUserException;
import org.jpdk.virtio.VhostUserMessage;
import org.jpdk.virtio.VirtioFeatures;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.jpdk.virtio.VhostUserMessage.*;

/**
 * A vhost-user back end for tests of the front end, in the test's process: a server socket, a
 * thread that answers the session's messages (features, protocol features, acks, the memory table
 * mapped through {@link GuestMemory}, the vrings), and ring operations the test calls from its own
 * thread once {@link #ready} says the rings are set: {@link #takeTx} reads the frames the front end
 * sent and returns their buffers, {@link #deliver} writes a frame into the front end's rx buffers
 * (spread over several with num_buffers when MRG_RXBUF was negotiated), and the raw writers put
 * what a hostile back end would in a used ring. {@link #hangUp} drops the connection.
 */
final class FakeVhostBackend implements AutoCloseable {
    static final long OFFERED = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1) | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF)
            | VirtioFeatures.bit(VirtioFeatures.F_PROTOCOL_FEATURES) | VirtioFeatures.bit(VirtioFeatures.F_IN_ORDER)
            | VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED);
    static final long PROTOCOL = VirtioFeatures.bit(VirtioFeatures.PROTOCOL_F_REPLY_ACK) | VirtioFeatures.bit(VirtioFeatures.PROTOCOL_F_MQ);

    private final UnixSocket listener;
    private final Thread thread;
    private final long offered;
    private volatile boolean closing, hangUp;
    private volatile VhostUserChannel ch;
    private volatile GuestMemory mem;
    private final int[] num = new int[4];
    private final long[][] addr = new long[4][];
    private final SplitRing[] rings = new SplitRing[4];
    private final PackedRing[] packed = new PackedRing[4];
    /** Packed rings: the wrap counters of the next available slot to read and the next used slot to write. */
    private final boolean[] availWrap = new boolean[4], usedWrap = new boolean[4];
    private final int[] lastAvail = new int[4], usedIdx = new int[4];
    private volatile long features;
    private volatile int enabled, sessions;
    final List<String> requests = java.util.Collections.synchronizedList(new ArrayList<>());

    FakeVhostBackend(String path, long offered) {
        this.offered = offered;
        listener = UnixSocket.listen(path, false, 1, Libc.SOCK_STREAM);
        thread = Thread.ofPlatform().daemon().name("fake-vhost").start(this::serve);
    }

    private void serve() {
        try (Arena arena = Arena.ofShared()) {
            VhostUserMessage m = new VhostUserMessage(arena);
            MemorySegment pfd = arena.allocate(8, 8);
            while (!closing) {
                if (hangUp) {
                    dropConnection();
                    hangUp = false;
                }
                if (ch == null) {
                    pfd.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, listener.fd());
                    pfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 4, (short) Libc.POLLIN);
                    pfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 6, (short) 0);
                    if (Libc.pollNoErrno(pfd, 1, 50) <= 0) continue;
                    UnixSocket s = listener.accept();
                    if (s != null) ch = new VhostUserChannel(s, 2000);
                    continue;
                }
                try {
                    VhostUserChannel c = ch;
                    if (c == null || !c.await(50)) continue;
                    if (c.receive(m)) handle(c, m);
                } catch (VhostUserException e) {
                    dropConnection();
                }
            }
        }
    }

    private void handle(VhostUserChannel c, VhostUserMessage m) {
        int req = m.request();
        requests.add(requestName(req));
        boolean ack = m.needsReply();
        switch (req) {
            case GET_FEATURES -> {
                c.send(m.reply().u64(offered));
                return;
            }
            case GET_PROTOCOL_FEATURES -> {
                c.send(m.reply().u64(PROTOCOL));
                return;
            }
            case GET_QUEUE_NUM -> {
                c.send(m.reply().u64(2L));
                return;
            }
            case GET_VRING_BASE -> {
                int v = m.u32(STATE_INDEX);
                rings[v & 3] = null;
                c.send(m.reply().state(v, lastAvail[v & 3]));
                return;
            }
            case SET_FEATURES -> features = m.u64();
            case SET_MEM_TABLE -> {
                GuestMemory old = mem;
                mem = GuestMemory.map(m, "fake");
                if (old != null) old.close();
            }
            case SET_VRING_NUM -> num[m.u32(STATE_INDEX) & 3] = m.u32(STATE_NUM);
            case SET_VRING_ADDR -> addr[m.u32(ADDR_INDEX) & 3] = new long[]{m.u64(ADDR_DESC), m.u64(ADDR_AVAIL), m.u64(ADDR_USED)};
            case SET_VRING_KICK -> {
                int v = (int) (m.u64() & 3);
                long[] a = addr[v];
                int n = num[v];
                if (VirtioFeatures.has(features, VirtioFeatures.F_RING_PACKED)) {
                    packed[v] = new PackedRing(n, mem.sliceUva(a[0], 16L * n), mem.sliceUva(a[1], 4), mem.sliceUva(a[2], 4));
                    availWrap[v] = usedWrap[v] = true;
                    rings[v] = new SplitRing(n, mem.sliceUva(a[0], 16L * n), mem.sliceUva(a[0], SplitRing.availBytes(n)),
                            mem.sliceUva(a[0], SplitRing.usedBytes(n))); // a stand-in so that ready() sees the ring; unused
                } else {
                    packed[v] = null;
                    rings[v] = new SplitRing(n, mem.sliceUva(a[0], SplitRing.descBytes(n)), mem.sliceUva(a[1], SplitRing.availBytes(n)),
                            mem.sliceUva(a[2], SplitRing.usedBytes(n)));
                }
                lastAvail[v] = 0;
                usedIdx[v] = 0;
                // the kick fd is not used: this back end polls
            }
            case SET_VRING_ENABLE -> {
                enabled |= (m.u32(STATE_NUM) != 0 ? 1 : 0) << (m.u32(STATE_INDEX) & 3);
                if (enabled == 3) sessions++;
            }
            default -> {
            }
        }
        m.closeFds();
        if (ack) c.send(m.reply().u64(0L));
    }

    private void dropConnection() {
        VhostUserChannel c = ch;
        ch = null;
        java.util.Arrays.fill(rings, null);
        enabled = 0;
        if (c != null) c.close();
    }

    /** Waits until the front end has enabled vrings 0 and 1 in {@code session} sessions (1: the first). */
    boolean ready(int session, long millis) {
        long end = System.nanoTime() + millis * 1_000_000L;
        while (System.nanoTime() < end) {
            if (sessions >= session && enabled == 3 && rings[0] != null && rings[1] != null) return true;
            sleep(10);
        }
        return false;
    }

    long features() {
        return features;
    }

    /** Drops the connection as a dying back end would. */
    void hangUp() {
        hangUp = true;
        while (hangUp) sleep(5);
    }

    private boolean mergeable() {
        return VirtioFeatures.has(features, VirtioFeatures.NET_F_MRG_RXBUF);
    }

    /** Reads up to {@code max} frames the front end made available on vring 1 (headers stripped), and returns their chains as used. */
    List<byte[]> takeTx(int max) {
        if (packed[1] != null) return takeTxPacked(max);
        SplitRing r = rings[1];
        List<byte[]> out = new ArrayList<>();
        int avail = r.availIdx();
        while (out.size() < max && lastAvail[1] != avail) {
            int head = r.availRing(lastAvail[1]);
            ByteArrayOutputStream frame = new ByteArrayOutputStream();
            int d = head, hops = 0;
            while (true) {
                MemorySegment s = mem.sliceUva(r.descAddr(d), r.descLen(d));
                if (s == null) throw new AssertionError("descriptor " + d + " outside the memory table");
                frame.writeBytes(s.toArray(JAVA_BYTE));
                if ((r.descFlags(d) & SplitRing.DESC_F_NEXT) == 0) break;
                d = r.descNext(d);
                if (++hops > r.size) throw new AssertionError("chain loops");
            }
            byte[] all = frame.toByteArray();
            byte[] data = java.util.Arrays.copyOfRange(all, VirtioUserDevice.NET_HDR_SIZE, all.length);
            out.add(data);
            r.usedElem(usedIdx[1], head, 0);
            usedIdx[1] = (usedIdx[1] + 1) & 0xffff;
            lastAvail[1] = (lastAvail[1] + 1) & 0xffff;
        }
        r.usedIdx(usedIdx[1]);
        return out;
    }

    /** Writes {@code frame} into the front end's rx buffers (vring 0); false when it has too few. */
    boolean deliver(byte[] frame) {
        if (packed[0] != null) return deliverPacked(frame);
        SplitRing r = rings[0];
        int avail = r.availIdx(), have = (avail - lastAvail[0]) & 0xffff;
        int hdr = VirtioUserDevice.NET_HDR_SIZE;
        int total = frame.length + hdr, done = 0, used = 0;
        int[] heads = new int[r.size], lens = new int[r.size];
        MemorySegment first = null;
        while (done < total) {
            if (used == have || (used == 1 && !mergeable())) return false;
            int head = r.availRing(lastAvail[0] + used);
            int cap = r.descLen(head);
            MemorySegment buf = mem.sliceUva(r.descAddr(head), cap);
            int n = Math.min(cap, total - done);
            for (int i = 0; i < n; i++) {
                int at = done + i;
                buf.set(JAVA_BYTE, i, at < hdr ? 0 : frame[at - hdr]);
            }
            if (first == null) first = buf;
            heads[used] = head;
            lens[used] = n;
            used++;
            done += n;
        }
        first.set(JAVA_SHORT_UNALIGNED, 10, (short) used);
        for (int k = 0; k < used; k++) r.usedElem(usedIdx[0] + k, heads[k], lens[k]);
        usedIdx[0] = (usedIdx[0] + used) & 0xffff;
        lastAvail[0] = (lastAvail[0] + used) & 0xffff;
        r.usedIdx(usedIdx[0]);
        return true;
    }

    /** Hostile: writes a used entry {@code (id, len)} on {@code vring} and moves its used index by {@code advance}. */
    void rawUsed(int vring, int id, int len, int advance) {
        if (packed[vring] != null) {
            putUsed(vring, id, len, 1);
            return;
        }
        SplitRing r = rings[vring];
        r.usedElem(usedIdx[vring], id, len);
        usedIdx[vring] = (usedIdx[vring] + advance) & 0xffff;
        r.usedIdx(usedIdx[vring]);
    }

    /** Hostile: the next rx frame's first buffer says it spans {@code numBuffers} buffers. */
    void rawRxNumBuffers(int numBuffers) {
        if (packed[0] != null) {
            PackedRing p = packed[0];
            int slot = lastAvail[0], id = p.descId(slot);
            MemorySegment buf = mem.sliceUva(p.descAddr(slot), p.descLen(slot));
            buf.asSlice(0, 64).fill((byte) 0);
            buf.set(JAVA_SHORT_UNALIGNED, 10, (short) numBuffers);
            advanceAvail(0, 1);
            putUsed(0, id, 64, 1);
            return;
        }
        SplitRing r = rings[0];
        int head = r.availRing(lastAvail[0]);
        MemorySegment buf = mem.sliceUva(r.descAddr(head), r.descLen(head));
        buf.asSlice(0, 64).fill((byte) 0);
        buf.set(JAVA_SHORT_UNALIGNED, 10, (short) numBuffers);
        r.usedElem(usedIdx[0], head, 64);
        usedIdx[0] = (usedIdx[0] + 1) & 0xffff;
        lastAvail[0] = (lastAvail[0] + 1) & 0xffff;
        r.usedIdx(usedIdx[0]);
    }

    // ---------------------------------------------------------------- packed rings

    private void advanceAvail(int v, int n) {
        lastAvail[v] += n;
        if (lastAvail[v] >= num[v]) {
            lastAvail[v] -= num[v];
            availWrap[v] = !availWrap[v];
        }
    }

    /** Writes a used descriptor (id, len) at the next used slot and steps over {@code slots} slots. */
    private void putUsed(int v, int id, int len, int slots) {
        PackedRing p = packed[v];
        int at = usedIdx[v];
        p.used(at, id, len);
        p.descFlags(at, PackedRing.usedFlags(usedWrap[v]));
        usedIdx[v] += slots;
        if (usedIdx[v] >= num[v]) {
            usedIdx[v] -= num[v];
            usedWrap[v] = !usedWrap[v];
        }
    }

    private boolean availAt(int v, int k) {
        int i = lastAvail[v] + k;
        boolean w = availWrap[v];
        if (i >= num[v]) {
            i -= num[v];
            w = !w;
        }
        return PackedRing.isAvail(packed[v].descFlagsAcquire(i), w);
    }

    private int slotAt(int v, int k) {
        int i = lastAvail[v] + k;
        return i >= num[v] ? i - num[v] : i;
    }

    private List<byte[]> takeTxPacked(int max) {
        PackedRing p = packed[1];
        List<byte[]> out = new ArrayList<>();
        while (out.size() < max && availAt(1, 0)) {
            ByteArrayOutputStream frame = new ByteArrayOutputStream();
            int k = 0, id;
            while (true) {
                int i = slotAt(1, k);
                MemorySegment s = mem.sliceUva(p.descAddr(i), p.descLen(i));
                if (s == null) throw new AssertionError("descriptor " + i + " outside the memory table");
                frame.writeBytes(s.toArray(JAVA_BYTE));
                id = p.descId(i);
                k++;
                if ((p.descFlagsAcquire(i) & PackedRing.DESC_F_NEXT) == 0) break;
                if (k > num[1]) throw new AssertionError("chain longer than the ring");
            }
            byte[] all = frame.toByteArray();
            out.add(java.util.Arrays.copyOfRange(all, VirtioUserDevice.NET_HDR_SIZE, all.length));
            advanceAvail(1, k);
            putUsed(1, id, 0, k);
        }
        return out;
    }

    private boolean deliverPacked(byte[] frame) {
        PackedRing p = packed[0];
        int hdr = VirtioUserDevice.NET_HDR_SIZE, total = frame.length + hdr, done = 0, used = 0;
        List<int[]> bufs = new ArrayList<>();
        MemorySegment first = null;
        while (done < total) {
            if (!availAt(0, used) || (used == 1 && !mergeable())) return false;
            int i = slotAt(0, used);
            int cap = p.descLen(i);
            MemorySegment buf = mem.sliceUva(p.descAddr(i), cap);
            int n = Math.min(cap, total - done);
            for (int b = 0; b < n; b++) {
                int at = done + b;
                buf.set(JAVA_BYTE, b, at < hdr ? 0 : frame[at - hdr]);
            }
            if (first == null) first = buf;
            bufs.add(new int[]{p.descId(i), n});
            used++;
            done += n;
        }
        first.set(JAVA_SHORT_UNALIGNED, 10, (short) used);
        advanceAvail(0, used);
        for (int[] b : bufs) putUsed(0, b[0], b[1], 1);
        return true;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closing = true;
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        dropConnection();
        listener.close();
        GuestMemory m = mem;
        mem = null;
        if (m != null) m.close();
    }
}
