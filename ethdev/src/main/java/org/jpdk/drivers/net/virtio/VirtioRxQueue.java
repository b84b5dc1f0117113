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
        Vring r = slot.enter();
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

    private int receive(Vring r, Mbuf[] pkts, int off, int n) {
        int avail = r.usedRx(r.size);
        if (avail == Vring.FAULT) {
            dev.fault(r, "rx queue " + index + ": " + r.why);
            return 0;
        }
        if (avail == 0) return 0;
        boolean mrg = dev.mergeable();
        int got = 0, used = 0, port = portId;
        long bytes = 0;
        while (got < n && used < avail) {
            Mbuf m = check(r, used, true);
            if (m == null) break;
            int nb = 1;
            if (mrg) {
                nb = m.buffer().get(JAVA_SHORT_UNALIGNED, m.dataOff() - hdr + 10) & 0xffff;
                if (nb == 0 || nb > r.size) {
                    dev.fault(r, "rx queue " + index + ": a used buffer says its frame spans " + nb + " buffers");
                    break;
                }
                if (used + nb > avail) break; // the rest of the frame is not published yet
            }
            take(r, m, true);
            boolean whole = true;
            for (int k = 1; k < nb && whole; k++) {
                Mbuf seg = check(r, used + k, false);
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
        r.consumeRx(used);
        countRx(got, bytes);
        return got;
    }

    /** The posted buffer the {@code k}-th ready used entry names, checked (id, length); null after a fault. */
    private Mbuf check(Vring r, int k, boolean first) {
        long id = r.usedRxId(k), len = r.usedRxLen(k);
        if (id >= r.size || r.mbufs[(int) id] == null) {
            dev.fault(r, "rx queue " + index + ": a used entry names buffer " + id + ", none posted");
            return null;
        }
        Mbuf m = r.mbufs[(int) id];
        checkedId = (int) id;
        checkedLen = (int) len;
        int room = m.bufLen() - m.dataOff() + hdr;
        if (len > room || (first && len < hdr)) {
            dev.fault(r, "rx queue " + index + ": a used entry has length " + len + " for a buffer of " + room);
            return null;
        }
        return m;
    }

    /** Takes the buffer {@code m} just {@link #check}ed off the ring, its data window set (after the header when {@code first}). */
    private void take(Vring r, Mbuf m, boolean first) {
        int len = checkedLen;
        r.freeRx(checkedId);
        if (first) {
            m.setData(m.dataOff(), len - hdr);
        } else {
            m.setData(m.dataOff() - hdr, len);
        }
        m.setPktLen(m.dataLen());
    }

    /** Posts fresh buffers into the free descriptors, and kicks if the back end wants it. */
    private void refill(Vring r) {
        int want = Math.min(r.numFree, REFILL_BATCH);
        if (want == 0) return;
        if (!Mbuf.allocBulk(pool, fresh, 0, want)) {
            countNombuf(want);
            return;
        }
        post(r, fresh, want);
        r.publish();
        if (r.wantsKick()) Libc.writeNoErrno(r.kickFd, VirtioUserDevice.ONE, 8);
    }

    private void post(Vring r, Mbuf[] bufs, int n) {
        for (int i = 0; i < n; i++) {
            Mbuf m = bufs[i];
            bufs[i] = null;
            int start = m.dataOff() - hdr;
            r.addRx(m, m.buffer().address() + start, m.bufLen() - start);
        }
    }

    /**
     * Control thread, at connect, before the back end sees the ring: fills it with buffers.
     * Returns false when the pool could not give one buffer.
     */
    boolean prime(Vring r) {
        r.noInterrupts();
        while (r.numFree > 0) {
            int want = Math.min(r.numFree, REFILL_BATCH);
            if (!Mbuf.allocBulk(pool, fresh, 0, want)) {
                want = 1;
                if (!Mbuf.allocBulk(pool, fresh, 0, 1)) break;
            }
            post(r, fresh, want);
        }
        r.publish();
        return r.inFlight > 0;
    }

    @Override
    protected void release() {
        dev.queueReleased(this);
    }
}
