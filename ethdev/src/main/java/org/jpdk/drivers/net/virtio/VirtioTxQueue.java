package org.jpdk.drivers.net.virtio;

import org.jpdk.eal.Memzone;
import org.jpdk.ethdev.TxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.virtio.VirtioNetHeader;
import org.jpdk.sys.Libc;

import java.lang.foreign.MemorySegment;

/**
 * A virtio-user transmit queue: vring {@code 2q+1}, whose descriptors point at the frames' own
 * mbuf buffers (no copy: the back end maps the same memory). A frame is one descriptor chain: the
 * 12-byte virtio-net header pushed into the first segment's headroom when that segment is the
 * frame's alone (then header and data share a descriptor), or else in a header slot of the ring's
 * own, then one descriptor per segment. The mbufs stay with the ring until the back end returns
 * the chain, and are freed then: a burst first reaps what is used. A completion the ring finds
 * impossible ({@link Vring#nextUsedTx}) is the back end breaking the ring: counted, and the port
 * disconnects. The kick is one eventfd write per burst, only when the back end asks for it.
 * Allocates nothing.
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
        Vring r = slot.enter();
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

    private int send(Vring r, Mbuf[] pkts, int off, int n) {
        if (r.numFree < n) reap(r); // room first only when short of it: the frames done are otherwise reaped after the publish
        int i = 0, errors = 0, added = 0;
        long bytes = 0;
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
            if (push) {
                // a header of zeros, stored only where the headroom holds something else: the
                // back end reads this line for every frame, and a recycled mbuf still has it
                VirtioNetHeader.writePlainUnlessEqual(m.prepend(VirtioUserDevice.NET_HDR_SIZE), 0, VirtioUserDevice.NET_HDR_SIZE, 0);
            }
            r.addTx(m, push, need);
            added++;
        }
        if (added > 0) {
            r.publish();
            // between the publish and the kick's fence: the fence waits until the descriptor and
            // avail idx stores have taken their lines back from the back end, and the reap's load
            // of the used idx and its frees run meanwhile instead of before them
            reap(r);
            if (!r.faulted && r.wantsKick()) Libc.writeNoErrno(r.kickFd, VirtioUserDevice.ONE, 8);
        } else if (r.numFree >= n) {
            reap(r);
        }
        countTx(added, bytes);
        if (errors > 0) countErrors(errors);
        return i;
    }

    /** Whether every segment of {@code m} lies in the memory shown to the back end. */
    private boolean shown(Vring r, Mbuf m) {
        for (Mbuf s = m; s != null; s = s.next()) {
            if (!r.inMemory(s.buffer().address() + s.dataOff(), s.dataLen())) {
                outsideMemory++;
                return false;
            }
        }
        return true;
    }

    /** Frees the frames the back end has finished with. */
    private void reap(Vring r) {
        for (int k = r.inFlight; k > 0; k--) {
            int id = r.nextUsedTx();
            if (id == Vring.NONE) return;
            if (id == Vring.FAULT) {
                dev.fault(r, "tx queue " + index + ": " + r.why);
                return;
            }
            Mbuf m = r.mbufs[id];
            r.mbufs[id] = null;
            m.free();
        }
    }

    /** Frees what {@code r} still held (the lcore has left it). */
    static void release(Vring r) {
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
