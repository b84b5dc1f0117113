package org.jpdk.drivers.net.virtio;

import org.jpdk.eal.Memzone;
import org.jpdk.ethdev.TxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.sys.Libc;

import java.lang.foreign.MemorySegment;

/**
 * A virtio-user transmit queue: vring {@code 2q+1}, whose descriptors point at the frames' own
 * mbuf buffers (no copy: the back end maps the same memory). A frame is one descriptor chain: the
 * 12-byte virtio-net header pushed into the first segment's headroom when that segment is the
 * frame's alone (then header and data share a descriptor), or else in a header slot of the ring's
 * own, then one descriptor per segment. The mbufs stay with the ring until the back end returns
 * the chain in the used ring (in submission order when IN_ORDER was negotiated, else by head id),
 * and are freed then: a burst first reaps what is used. A used index further ahead than the frames
 * in flight, or an id that is no head in flight, is the back end breaking the ring: counted, and
 * the port disconnects. The kick is one eventfd write per burst, only when the back end asks for
 * it (VRING_USED_F_NO_NOTIFY clear). Allocates nothing.
 */
final class VirtioTxQueue extends TxQueue {
    private final VirtioUserDevice dev;
    final int index;
    final Memzone mem;
    final RingSlot slot = new RingSlot();
    /** Frames dropped because a segment lies outside the memory shown to the back end. */
    volatile long outsideMemory;

    VirtioTxQueue(VirtioUserDevice dev, int index, Memzone mem) {
        this.dev = dev;
        this.index = index;
        this.mem = mem;
    }

    @Override
    public int txBurst(Mbuf[] pkts, int off, int n) {
        SplitVring r = slot.enter();
        try {
            if (r == null || r.faulted) return 0;
            return send(r, pkts, off, n);
        } catch (RuntimeException e) {
            if (r != null) dev.fault(r, "tx queue " + index + ": " + e);
            return 0;
        } finally {
            slot.exit();
        }
    }

    private int send(SplitVring r, Mbuf[] pkts, int off, int n) {
        reap(r);
        int i = 0, errors = 0;
        long bytes = 0;
        int before = r.availIdx;
        for (; i < n; i++) {
            Mbuf m = pkts[off + i];
            boolean push = m.refcnt() == 1 && !m.hasExtbuf() && !m.isIndirect() && m.headroom() >= VirtioUserDevice.NET_HDR_SIZE;
            int need = m.nbSegs() + (push ? 0 : 1);
            if (need > r.numFree) {
                if (need > r.size) { // can never fit: drop
                    m.free();
                    errors++;
                    continue;
                }
                reap(r);
                if (need > r.numFree) break;
            }
            if (!shown(r, m)) {
                m.free();
                errors++;
                continue;
            }
            bytes += m.pktLen();
            enqueue(r, m, push);
        }
        if (r.availIdx != before) {
            r.publishAvail();
            if (r.wantsKick()) Libc.writeNoErrno(r.kickFd, VirtioUserDevice.ONE, 8);
        }
        countTx(i - errors, bytes);
        if (errors > 0) countErrors(errors);
        return i;
    }

    /** Whether every segment of {@code m} lies in the memory shown to the back end. */
    private boolean shown(SplitVring r, Mbuf m) {
        for (Mbuf s = m; s != null; s = s.next()) {
            if (!r.inMemory(s.buffer().address() + s.dataOff(), s.dataLen())) {
                outsideMemory++;
                return false;
            }
        }
        return true;
    }

    /** Writes the chain of {@code m} (room checked) and makes its head available (published by the caller). */
    private static void enqueue(SplitVring r, Mbuf m, boolean push) {
        int head = r.takeDesc(), cur = head, chain = 1;
        long addr;
        int len;
        Mbuf seg;
        if (push) {
            MemorySegment hdr = m.prepend(VirtioUserDevice.NET_HDR_SIZE);
            hdr.fill((byte) 0);
            addr = hdr.address();
            len = m.dataLen();
            seg = m.next();
        } else {
            long at = (long) head * VirtioUserDevice.NET_HDR_SIZE;
            r.headers.asSlice(at, VirtioUserDevice.NET_HDR_SIZE).fill((byte) 0);
            addr = r.headersAddr + at;
            len = VirtioUserDevice.NET_HDR_SIZE;
            seg = m;
        }
        for (; seg != null; seg = seg.next()) {
            int d = r.takeDesc();
            r.setDesc(cur, addr, len, SplitVring.DESC_F_NEXT, d);
            r.next[cur] = (short) d;
            cur = d;
            chain++;
            addr = seg.buffer().address() + seg.dataOff();
            len = seg.dataLen();
        }
        r.setDesc(cur, addr, len, 0, 0);
        r.chainLen[head] = (short) chain;
        r.mbufs[head] = m;
        r.inFlight++;
        if (r.inOrder) r.order[r.orderTail++ & r.mask] = (short) head;
        r.putAvail(head);
    }

    /** Frees the frames the back end has used. */
    private void reap(SplitVring r) {
        int u = r.usedIdx(), n = (u - r.lastUsed) & 0xffff;
        if (n == 0) return;
        if (n > r.inFlight) {
            dev.fault(r, "tx queue " + index + ": the used index moved " + n + " entries with " + r.inFlight + " frames in flight");
            return;
        }
        for (int k = 0; k < n; k++) {
            int head;
            if (r.inOrder) {
                head = r.order[r.orderHead++ & r.mask] & 0xffff;
            } else {
                long id = r.usedId(r.lastUsed);
                if (id >= r.size || r.mbufs[(int) id] == null) {
                    dev.fault(r, "tx queue " + index + ": used entry " + r.lastUsed + " names descriptor " + id + ", no frame in flight");
                    return;
                }
                head = (int) id;
            }
            Mbuf m = r.mbufs[head];
            r.mbufs[head] = null;
            r.freeChain(head, r.chainLen[head]);
            r.inFlight--;
            r.lastUsed = (r.lastUsed + 1) & 0xffff;
            m.free();
        }
    }

    /** Frees what {@code r} still held (the lcore has left it). */
    static void release(SplitVring r) {
        for (int i = 0; i < r.size; i++) {
            if (r.mbufs[i] != null) r.mbufs[i].free();
            r.mbufs[i] = null;
        }
    }

    @Override
    protected void release() {
        dev.queueReleased(this);
    }
}
