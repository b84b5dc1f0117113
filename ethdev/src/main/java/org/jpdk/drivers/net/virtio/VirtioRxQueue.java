package org.jpdk.drivers.net.virtio;

import org.jpdk.eal.Memzone;
import org.jpdk.ethdev.RxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Libc;

import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A virtio-user receive queue: vring {@code 2q}, kept full of mbuf buffers, each one
 * device-writable descriptor that starts 12 bytes before the mbuf's data room, so that the back
 * end's virtio-net header lands in the headroom and the frame where the data belongs. With
 * VIRTIO_NET_F_MRG_RXBUF a frame may span several buffers, the first header's {@code num_buffers}
 * saying how many; they become one mbuf chain. The back end's used entries are untrusted: an id
 * that is no posted buffer, a length beyond the buffer or short of the header, a
 * {@code num_buffers} of 0 or beyond the ring, or a used index further ahead than the buffers
 * posted is counted and disconnects the port (never a crash, never an mbuf freed twice). The ring
 * asks for no interrupts (VRING_AVAIL_F_NO_INTERRUPT): the lcore polls. Refills after each burst
 * from the queue's pool, and kicks only when the back end asks for it. Allocates nothing.
 */
final class VirtioRxQueue extends RxQueue {
    private static final int REFILL_BATCH = 64;
    private final VirtioUserDevice dev;
    final int index;
    final Mempool<Mbuf> pool;
    final Memzone mem;
    final RingSlot slot = new RingSlot();
    private final Mbuf[] fresh = new Mbuf[REFILL_BATCH];
    private final int hdr = VirtioUserDevice.NET_HDR_SIZE;
    /** The id and length {@link #check} read, which {@link #take} uses (the device's ring is read once). */
    private int checkedId, checkedLen;

    VirtioRxQueue(VirtioUserDevice dev, int index, Mempool<Mbuf> pool, Memzone mem) {
        this.dev = dev;
        this.index = index;
        this.pool = pool;
        this.mem = mem;
    }

    @Override
    public int rxBurst(Mbuf[] pkts, int off, int n) {
        SplitVring r = slot.enter();
        try {
            if (r == null || r.faulted) return 0;
            int got = receive(r, pkts, off, n);
            refill(r);
            return got;
        } catch (RuntimeException e) {
            if (r != null) dev.fault(r, "rx queue " + index + ": " + e);
            return 0;
        } finally {
            slot.exit();
        }
    }

    private int receive(SplitVring r, Mbuf[] pkts, int off, int n) {
        int u = r.usedIdx(), avail = (u - r.lastUsed) & 0xffff;
        if (avail == 0) return 0;
        if (avail > r.inFlight) {
            dev.fault(r, "rx queue " + index + ": the used index moved " + avail + " entries with " + r.inFlight + " buffers posted");
            return 0;
        }
        boolean mrg = dev.mergeable();
        int got = 0, used = 0, port = portId;
        long bytes = 0;
        while (got < n && used < avail) {
            int at = r.lastUsed + used;
            Mbuf m = check(r, at, true);
            if (m == null) break;
            int nb = 1;
            if (mrg) {
                nb = m.buffer().get(JAVA_SHORT_UNALIGNED, m.dataOff() - hdr + 10) & 0xffff;
                if (nb == 0 || nb > r.size) {
                    dev.fault(r, "rx queue " + index + ": used entry " + (at & 0xffff) + " says its frame spans " + nb + " buffers");
                    break;
                }
                if (used + nb > avail) break; // the rest of the frame is not published yet
            }
            take(r, m, true);
            boolean whole = true;
            for (int k = 1; k < nb && whole; k++) {
                Mbuf seg = check(r, at + k, false);
                if (seg == null) {
                    whole = false;
                } else {
                    take(r, seg, false);
                    m.chain(seg);
                }
            }
            if (!whole) {
                m.free();
                break;
            }
            used += nb;
            m.port = port;
            pkts[off + got++] = m;
            bytes += m.pktLen();
        }
        r.lastUsed = (r.lastUsed + used) & 0xffff;
        countRx(got, bytes);
        return got;
    }

    /** The posted buffer used entry {@code at} names, checked (id, length); null after a fault. */
    private Mbuf check(SplitVring r, int at, boolean first) {
        long id = r.usedId(at), len = r.usedLen(at);
        if (id >= r.size || r.mbufs[(int) id] == null) {
            dev.fault(r, "rx queue " + index + ": used entry " + (at & 0xffff) + " names descriptor " + id + ", no buffer posted");
            return null;
        }
        Mbuf m = r.mbufs[(int) id];
        checkedId = (int) id;
        checkedLen = (int) len;
        int room = m.bufLen() - m.dataOff() + hdr;
        if (len > room || (first && len < hdr)) {
            dev.fault(r, "rx queue " + index + ": used entry " + (at & 0xffff) + " has length " + len + " for a buffer of " + room);
            return null;
        }
        return m;
    }

    /** Takes the buffer {@code m} just {@link #check}ed off the ring, its data window set (after the header when {@code first}). */
    private void take(SplitVring r, Mbuf m, boolean first) {
        int id = checkedId, len = checkedLen;
        r.mbufs[id] = null;
        r.freeChain(id, 1);
        r.inFlight--;
        if (first) {
            m.setData(m.dataOff(), len - hdr);
        } else {
            m.setData(m.dataOff() - hdr, len);
        }
        m.setPktLen(m.dataLen());
    }

    /** Posts fresh buffers into the free descriptors, and kicks if the back end wants it. */
    private void refill(SplitVring r) {
        int want = Math.min(r.numFree, REFILL_BATCH);
        if (want == 0) return;
        if (!Mbuf.allocBulk(pool, fresh, 0, want)) {
            countNombuf(want);
            return;
        }
        post(r, fresh, want);
        r.publishAvail();
        if (r.wantsKick()) Libc.writeNoErrno(r.kickFd, VirtioUserDevice.ONE, 8);
    }

    private void post(SplitVring r, Mbuf[] bufs, int n) {
        for (int i = 0; i < n; i++) {
            Mbuf m = bufs[i];
            bufs[i] = null;
            int d = r.takeDesc();
            int start = m.dataOff() - hdr;
            r.setDesc(d, m.buffer().address() + start, m.bufLen() - start, SplitVring.DESC_F_WRITE, 0);
            r.mbufs[d] = m;
            r.inFlight++;
            r.putAvail(d);
        }
    }

    /**
     * Control thread, at connect, before the back end sees the ring: fills it with buffers.
     * Returns false when the pool could not give one buffer.
     */
    boolean prime(SplitVring r) {
        r.availFlags(SplitVring.AVAIL_F_NO_INTERRUPT);
        while (r.numFree > 0) {
            int want = Math.min(r.numFree, REFILL_BATCH);
            if (!Mbuf.allocBulk(pool, fresh, 0, want)) {
                want = 1;
                if (!Mbuf.allocBulk(pool, fresh, 0, 1)) break;
            }
            post(r, fresh, want);
        }
        r.publishAvail();
        return r.inFlight > 0;
    }

    @Override
    protected void release() {
        dev.queueReleased(this);
    }
}
