package org.jpdk.drivers.net.vhost;

import org.jpdk.sys.EventFd;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.Mapping;
import org.jpdk.sys.UnixSocket;
import org.jpdk.virtio.PackedRing;
import org.jpdk.virtio.SplitRing;
import org.jpdk.virtio.VhostUserChannel;
import org.jpdk.virtio.VhostUserException;
import org.jpdk.virtio.VhostUserMessage;
import org.jpdk.virtio.VirtioFeatures;
import org.jpdk.virtio.VirtioNetHeader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A small virtio-net front end for the back end's tests, built on the shared layer: guest memory
 * in one memfd (mapped here too), one queue pair of split or packed rings, the vhost-user
 * handshake, and the driver's side of the rings (transmit frames on vring 1, post receive buffers
 * on vring 0, read what the device used). Every field can also be sent wrong: the hostile tests
 * send raw messages and write raw descriptors through {@link #msg}, {@link #tx} and {@link #rx}.
 *
 * <pre>
 * memory (one region, gpa GPA, front-end VA UVA):
 *   [0, 64K)        vring 0 (rx): desc, avail, used       [64K, 128K)  vring 1 (tx)
 *   [128K, ...)     buffers, BUF bytes each: rx buffers from 0, tx buffers from size
 * </pre>
 */
final class TestFrontEnd implements AutoCloseable {
    static final long GPA = 0x4000_0000L, UVA = 0x7f12_0000_0000L;
    static final int MEM = 4 << 20, BUF = 2048, RING_AREA = 64 << 10, BUFS = 2 * RING_AREA;

    final Arena arena = Arena.ofShared();
    final VhostUserChannel ch;
    final VhostUserMessage msg = new VhostUserMessage(arena);
    final int memfd;
    final MemorySegment mem;
    final int size;
    final boolean packed;
    long features;
    SplitRing rx, tx;
    PackedRing prx, ptx;
    final EventFd[] kick = {new EventFd(), new EventFd()}, call = {new EventFd(), new EventFd()};
    // driver cursors
    int txNext, txUsedSeen, rxNext, rxUsedSeen;
    boolean txWrap = true, rxWrap = true, txUsedWrap = true, rxUsedWrap = true;
    int txPackedNext, rxPackedNext, txPackedUsed, rxPackedUsed;

    TestFrontEnd(Path sock, int size, boolean packed) {
        this.size = size;
        this.packed = packed;
        UnixSocket s = null;
        for (int i = 0; i < 200 && s == null; i++) {
            try {
                s = UnixSocket.connect(sock.toString(), false, Libc.SOCK_STREAM);
            } catch (LinuxException e) {
                sleep(20);
            }
        }
        if (s == null) throw new AssertionError("no back end listens on " + sock);
        ch = new VhostUserChannel(s, 2000);
        memfd = Libc.memfdCreate("test-guest", Libc.MFD_CLOEXEC);
        Libc.ftruncate(memfd, MEM, "test guest memory");
        mem = Mapping.map(arena, MEM, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, memfd, 0, "test guest memory");
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static long gpa(long off) {
        return GPA + off;
    }

    static long uva(long off) {
        return UVA + off;
    }

    /** Sends {@code msg} as it stands. */
    void send() {
        ch.send(msg);
    }

    /** Waits for a reply to the request just sent. */
    VhostUserMessage reply() {
        long end = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < end) {
            if (ch.receive(msg)) return msg;
            ch.await(50);
        }
        throw new AssertionError("no reply");
    }

    /** Whether the back end closed the connection within {@code millis}. */
    boolean closedWithin(long millis) {
        long end = System.nanoTime() + millis * 1_000_000L;
        while (System.nanoTime() < end) {
            try {
                if (ch.receive(msg)) continue;
            } catch (VhostUserException e) {
                if (e.closed()) return true;
                throw e;
            }
            ch.await(20);
        }
        return false;
    }

    void request(int request) {
        msg.set(request, VhostUserMessage.VERSION);
    }

    /** The handshake as QEMU and DPDK's virtio-user make it, negotiating {@code want} of what is offered. */
    TestFrontEnd handshake(long want) {
        request(VhostUserMessage.SET_OWNER);
        send();
        request(VhostUserMessage.GET_FEATURES);
        send();
        long offered = reply().u64();
        features = offered & want;
        if (packed) features |= offered & VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED);
        else features &= ~VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED);
        request(VhostUserMessage.GET_PROTOCOL_FEATURES);
        send();
        long proto = reply().u64();
        request(VhostUserMessage.SET_PROTOCOL_FEATURES);
        msg.u64(proto & (VirtioFeatures.bit(VirtioFeatures.PROTOCOL_F_REPLY_ACK) | VirtioFeatures.bit(VirtioFeatures.PROTOCOL_F_MQ)));
        send();
        request(VhostUserMessage.SET_FEATURES);
        msg.u64(features);
        ack();
        memTable();
        for (int v = 0; v < 2; v++) setupVring(v);
        return this;
    }

    /** Sends {@code msg} asking for REPLY_ACK and checks the answer is success. */
    void ack() {
        msg.flags(VhostUserMessage.VERSION | VhostUserMessage.NEED_REPLY);
        int req = msg.request();
        send();
        VhostUserMessage r = reply();
        if (r.request() != req || r.u64() != 0) throw new AssertionError("REPLY_ACK for " + VhostUserMessage.requestName(req) + ": " + r.u64());
    }

    void memTable() {
        request(VhostUserMessage.SET_MEM_TABLE);
        msg.memTable(1).region(0, GPA, MEM, UVA, 0).addFd(memfd);
        send();
    }

    void setupVring(int v) {
        long base = (long) v * RING_AREA;
        MemorySegment area = mem.asSlice(base, RING_AREA);
        long desc = 0, avail = 16L * size, used = (avail + (packed ? 4 : SplitRing.availBytes(size)) + 63) & ~63L;
        if (packed) {
            PackedRing r = new PackedRing(size, area.asSlice(desc, 16L * size), area.asSlice(avail, 4), area.asSlice(used, 4));
            if (v == 0) prx = r;
            else ptx = r;
        } else {
            SplitRing r = new SplitRing(size, area.asSlice(desc, SplitRing.descBytes(size)), area.asSlice(avail, SplitRing.availBytes(size)),
                    area.asSlice(used, SplitRing.usedBytes(size)));
            if (v == 0) rx = r;
            else tx = r;
        }
        request(VhostUserMessage.SET_VRING_CALL);
        msg.u64((long) v).addFd(call[v].fd());
        send();
        request(VhostUserMessage.SET_VRING_NUM);
        msg.state(v, size);
        send();
        request(VhostUserMessage.SET_VRING_BASE);
        msg.state(v, packed ? 0x8000 : 0);
        send();
        request(VhostUserMessage.SET_VRING_ADDR);
        msg.vringAddr(v, 0, uva(base + desc), uva(base + used), uva(base + avail), 0);
        send();
        request(VhostUserMessage.SET_VRING_KICK);
        msg.u64((long) v).addFd(kick[v].fd());
        send();
        request(VhostUserMessage.SET_VRING_ENABLE);
        msg.state(v, 1);
        ack();
    }

    int hdrSize() {
        return VirtioNetHeader.size(features);
    }

    // ---------------------------------------------------------------- transmit (vring 1)

    /** Offset of tx buffer {@code slot}. */
    long txBuf(int slot) {
        return BUFS + (long) (size + slot) * BUF;
    }

    /** Makes {@code frame} available on vring 1 in one descriptor, after a plain header; returns false when the ring is full. */
    boolean transmit(byte[] frame) {
        return transmit(frame, 0, 0, 0);
    }

    /** Transmits {@code frame} behind a virtio-net header with these flags and checksum offsets (no GSO). */
    boolean transmit(byte[] frame, int hdrFlags, int csumStart, int csumOffset) {
        int h = hdrSize();
        if (frame.length + h > BUF) throw new IllegalArgumentException("frame of " + frame.length);
        if (packed) {
            int s = txPackedNext;
            if (inFlightTx() == size) return false;
            long b = txBuf(s);
            header(b, h, hdrFlags, csumStart, csumOffset);
            MemorySegment.copy(frame, 0, mem, JAVA_BYTE, b + h, frame.length);
            ptx.desc(s, gpa(b), h + frame.length, s);
            ptx.descFlags(s, PackedRing.availFlags(txWrap));
            if (++txPackedNext == size) {
                txPackedNext = 0;
                txWrap = !txWrap;
            }
            txSent++;
            return true;
        }
        if (((txNext - tx.usedIdx()) & 0xffff) == size) return false;
        int slot = txNext & (size - 1);
        long b = txBuf(slot);
        header(b, h, hdrFlags, csumStart, csumOffset);
        MemorySegment.copy(frame, 0, mem, JAVA_BYTE, b + h, frame.length);
        tx.desc(slot, gpa(b), h + frame.length, 0, 0);
        tx.availRing(txNext, slot);
        txNext = (txNext + 1) & 0xffff;
        tx.availIdx(txNext);
        return true;
    }

    private void header(long b, int h, int flags, int csumStart, int csumOffset) {
        VirtioNetHeader.writePlain(mem, b, h);
        mem.set(JAVA_BYTE, b + VirtioNetHeader.FLAGS, (byte) flags);
        mem.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, b + VirtioNetHeader.CSUM_START, (short) csumStart);
        mem.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, b + VirtioNetHeader.CSUM_OFFSET, (short) csumOffset);
    }

    int txSent;

    private int inFlightTx() {
        return txSent - txCompletedPacked();
    }

    int txPackedDone;

    /** Packed: counts descriptors the device marked used on vring 1. */
    int txCompletedPacked() {
        while (PackedRing.isUsed(ptx.descFlagsAcquire(txPackedUsed), txUsedWrap)) {
            txPackedDone++;
            if (++txPackedUsed == size) {
                txPackedUsed = 0;
                txUsedWrap = !txUsedWrap;
            }
        }
        return txPackedDone;
    }

    /** How many transmitted chains the device returned. */
    int txCompleted() {
        return packed ? txCompletedPacked() : tx.usedIdx();
    }

    // ---------------------------------------------------------------- receive (vring 0)

    long rxBuf(int slot) {
        return BUFS + (long) slot * BUF;
    }

    /** Posts {@code n} receive buffers of {@code len} bytes (at most BUF) on vring 0. */
    void postRx(int n, int len) {
        for (int i = 0; i < n; i++) {
            if (packed) {
                int s = rxPackedNext;
                prx.desc(s, gpa(rxBuf(s)), len, s);
                prx.descFlags(s, PackedRing.availFlags(rxWrap) | PackedRing.DESC_F_WRITE);
                if (++rxPackedNext == size) {
                    rxPackedNext = 0;
                    rxWrap = !rxWrap;
                }
                continue;
            }
            int slot = rxNext & (size - 1);
            rx.desc(slot, gpa(rxBuf(slot)), len, SplitRing.DESC_F_WRITE, 0);
            rx.availRing(rxNext, slot);
            rxNext = (rxNext + 1) & 0xffff;
        }
        if (!packed) rx.availIdx(rxNext);
    }

    /** Frames the device wrote into receive buffers since the last call (headers stripped, mergeable buffers joined). */
    List<byte[]> received() {
        List<byte[]> out = new ArrayList<>();
        int h = hdrSize();
        while (true) {
            int id, len;
            if (packed) {
                if (!PackedRing.isUsed(prx.descFlagsAcquire(rxPackedUsed), rxUsedWrap)) break;
                id = prx.descId(rxPackedUsed);
                len = prx.descLen(rxPackedUsed);
                if (++rxPackedUsed == size) {
                    rxPackedUsed = 0;
                    rxUsedWrap = !rxUsedWrap;
                }
            } else {
                if (rx.usedIdx() == (rxUsedSeen & 0xffff)) break;
                id = rx.usedElemId(rxUsedSeen);
                len = rx.usedElemLen(rxUsedSeen);
                rxUsedSeen++;
            }
            long b = rxBuf(id);
            int nbufs = h == VirtioNetHeader.SIZE ? mem.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + VirtioNetHeader.NUM_BUFFERS) : 1;
            java.io.ByteArrayOutputStream frame = new java.io.ByteArrayOutputStream();
            frame.write(mem.asSlice(b + h, len - h).toArray(JAVA_BYTE), 0, len - h);
            for (int k = 1; k < nbufs; k++) {
                if (packed) {
                    id = prx.descId(rxPackedUsed);
                    len = prx.descLen(rxPackedUsed);
                    if (++rxPackedUsed == size) {
                        rxPackedUsed = 0;
                        rxUsedWrap = !rxUsedWrap;
                    }
                } else {
                    id = rx.usedElemId(rxUsedSeen);
                    len = rx.usedElemLen(rxUsedSeen);
                    rxUsedSeen++;
                }
                frame.write(mem.asSlice(rxBuf(id), len).toArray(JAVA_BYTE), 0, len);
            }
            out.add(frame.toByteArray());
        }
        return out;
    }

    @Override
    public void close() {
        ch.close();
        for (EventFd e : kick) e.close();
        for (EventFd e : call) e.close();
        Libc.close(memfd);
        if (arena.scope().isAlive()) arena.close();
    }
}
