package org.jpdk.drivers.net.vhost;

import org.jpdk.eal.Memcpy;
import org.jpdk.ethdev.TxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.virtio.PackedRing;
import org.jpdk.virtio.SplitRing;
import org.jpdk.virtio.VirtioNetHeader;

import java.lang.foreign.MemorySegment;

/**
 * Transmit queue {@code q} of a net_vhost port: the device side of the front end's receive vring
 * {@code 2q}. For each frame it gathers receive buffers the front end made available: one chain
 * without mergeable rx buffers (a frame that does not fit it is dropped and counted, the chain
 * left for the next frame), as many chains as the frame needs with them (num_buffers in the
 * header says how many). Every chain is walked and checked before a byte is written
 * ({@link VringView#walkSplit}); a device-readable buffer in a receive chain faults the ring. The
 * header (offloads from the mbuf's tx flags, {@link VirtioNetHeader#fromMbuf}) and the frame are
 * copied into the buffers, each chain returned as used with the bytes written, the used idx (or the
 * packed used flags) published with release, and the front end called if it asked. A frame that
 * finds no buffer stops the burst: it and the rest stay with the caller. Sent mbufs are freed.
 * Allocates nothing on the heap.
 */
final class VhostTxQueue extends TxQueue {
    final VhostDevice dev;
    final int index;
    final VringSlot slot = new VringSlot();

    VhostTxQueue(VhostDevice dev, int index) {
        this.dev = dev;
        this.index = index;
    }

    @Override
    public int txBurst(Mbuf[] pkts, int off, int n) {
        VringView v = null;
        try {
            v = slot.enter();
            if (v == null || v.faulted) return 0;
            int sent = v.packed ? sendPacked(v, pkts, off, n) : sendSplit(v, pkts, off, n);
            if (v.faulted) dev.fault(v.faultReason);
            return sent;
        } catch (RuntimeException | InternalError e) {
            if (v != null) {
                v.fault("guest memory failed under transmit (" + e + ")");
                dev.fault(v.faultReason);
            }
            return 0;
        } finally {
            slot.exit();
        }
    }

    /**
     * Split: in chunks of up to {@link VringView#CHUNK} frames, first reserves and walks the
     * buffers of every frame of the chunk (reading the avail ring and descriptors the front end
     * just wrote: cache misses that overlap when nothing waits on them), then copies every frame,
     * then writes the used elements; the used idx once, at the end of the burst. DPDK's vhost
     * (virtio_dev_rx_split) works in the same order, for the same reason.
     */
    private int sendSplit(VringView v, Mbuf[] pkts, int off, int n) {
        SplitRing r = v.split;
        int la = v.lastAvail;
        int avail = (r.availIdx() - la) & 0xffff;                             // A1: the front end's buffers
        if (avail > v.size) {
            v.fault("avail idx is " + avail + " entries past ours in a ring of " + v.size);
            return 0;
        }
        int[] fHeads = v.frameHeads, fBufs = v.frameBufs;
        int used = v.lastUsed, done = 0, dropped = 0;
        long bytes = 0;
        boolean more = true;
        while (more && done < n) {
            // 1: reserve and walk; a frame that finds too little room ends the burst
            int chunk = Math.min(n - done, VringView.CHUNK), f = 0, heads = 0, nb = 0;
            fHeads[0] = 0;
            fBufs[0] = 0;
            for (; f < chunk; f++) {
                if (nb >= v.size) break;                                      // scratch: the next chunk
                long need = v.hdrSize + (long) pkts[off + done + f].pktLen();
                int h0 = heads, b0 = nb;
                long cap = 0;
                while (cap < need && heads < avail && (heads == h0 || v.mergeable)) {
                    int head = r.availRing(la + heads);
                    int start = nb;
                    nb = v.walkSplitOne(head, nb);
                    if (nb < 0) return 0;                                     // faulted: nothing is published
                    long c = capacity(v, start, nb);
                    if (c < 0) return 0;
                    v.headId[heads] = head;
                    v.headCap[heads] = c;
                    heads++;
                    cap += c;
                }
                if (cap < need) {
                    boolean walked = heads > h0;
                    heads = h0;                                               // the chains stay for the next frame
                    nb = b0;
                    if (!walked || v.mergeable) {                             // no room now: the rest stays with the caller
                        more = false;
                        break;
                    }
                    // this frame can never fit one buffer: dropped, counted, the chain left for the next
                }
                fHeads[f + 1] = heads;
                fBufs[f + 1] = nb;
                // the header now: its store (a line the front end last read) is under way while the next chains are walked
                if (heads != h0) writeHeader(v, pkts[off + done + f], b0, heads - h0);
            }
            // 2: copy the frames that got buffers
            for (int i = 0; i < f; i++) if (fHeads[i] != fHeads[i + 1]) copyFrame(v, pkts[off + done + i], fBufs[i]);
            // 3: return every head as used, with the bytes written to it
            for (int i = 0; i < f; i++) {
                int h0 = fHeads[i], h1 = fHeads[i + 1];
                if (h0 == h1) {
                    dropped++;
                    continue;
                }
                Mbuf m = pkts[off + done + i];
                long left = v.hdrSize + (long) m.pktLen();
                for (int h = h0; h < h1; h++) {
                    long w = Math.min(left, v.headCap[h]);
                    r.usedElemUnlessEqual(used++, v.headId[h], (int) w);
                    left -= w;
                }
                bytes += m.pktLen();
            }
            la += heads;
            avail -= heads;
            done += f;
        }
        v.lastAvail = la & 0xffff;
        return finish(v, pkts, off, done, dropped, bytes, used);
    }

    /** Publishes the used idx, calls the front end, frees and counts what was sent. */
    private int finish(VringView v, Mbuf[] pkts, int off, int done, int dropped, long bytes, int used) {
        if (v.faulted) return 0;
        v.lastUsed = used & 0xffff;
        v.split.usedIdx(v.lastUsed);                                          // R1: the used elements, then idx
        if (done > dropped) v.callSplit();
        return account(pkts, off, done, dropped, bytes);
    }

    private int account(Mbuf[] pkts, int off, int done, int dropped, long bytes) {
        Mbuf.freeBulk(pkts, off, done);
        if (done > dropped) countTx(done - dropped, bytes);
        if (dropped > 0) countErrors(dropped);
        return done;
    }

    private int sendPacked(VringView v, Mbuf[] pkts, int off, int n) {
        PackedRing r = v.ring;
        int done = 0, dropped = 0;
        long bytes = 0;
        for (; done < n; done++) {
            Mbuf m = pkts[off + done];
            long need = v.hdrSize + (long) m.pktLen();
            int heads = 0, nb = 0, s = v.lastAvail, descs = 0;
            boolean w = v.availWrap;
            long cap = 0;
            while (cap < need && descs < v.size && (heads == 0 || v.mergeable)) {
                if (!PackedRing.isAvail(r.descFlagsAcquire(s), w)) break;     // A1
                int start = nb;
                nb = v.walkPacked(s, nb, w);
                if (nb == -2) break;
                if (nb < 0) return 0;
                long c = capacity(v, start, nb);
                if (c < 0) return 0;
                v.headId[heads] = v.chainId;
                v.headDescs[heads] = v.chainDescs;
                v.headCap[heads] = c;
                heads++;
                cap += c;
                descs += v.chainDescs;
                s += v.chainDescs;
                if (s >= v.size) {
                    s -= v.size;
                    w = !w;
                }
            }
            if (cap < need) {
                if (heads == 1 && !v.mergeable) {
                    dropped++;
                    continue;
                }
                break;
            }
            copyOut(v, m, 0, heads);
            long left = need;
            for (int h = 0; h < heads; h++) {
                long wr = Math.min(left, v.headCap[h]);
                int u = v.lastUsed;
                r.used(u, v.headId[h], (int) wr);
                r.descFlags(u, PackedRing.usedFlags(v.usedWrap) | PackedRing.DESC_F_WRITE); // R1
                v.lastUsed = VhostRxQueue.advance(v, u, v.headDescs[h], true);
                left -= wr;
            }
            v.lastAvail = s;
            v.availWrap = w;
            bytes += m.pktLen();
        }
        if (done > dropped) v.callPacked();
        return account(pkts, off, done, dropped, bytes);
    }

    /** The bytes buffers {@code [start, end)} take; -1 (a fault) if one of them is device-readable. */
    private static long capacity(VringView v, int start, int end) {
        long c = 0;
        for (int b = start; b < end; b++) {
            if ((v.bufFlags[b] & SplitRing.DESC_F_WRITE) == 0) return v.fault("a device-readable buffer in a receive chain");
            c += v.bufLen[b];
        }
        return c;
    }

    /** Writes the header and then the frame of {@code m} across the buffers from {@code first} on (they were checked to fit it). */
    private static void copyOut(VringView v, Mbuf m, int first, int heads) {
        writeHeader(v, m, first, heads);
        copyFrame(v, m, first);
    }

    /**
     * Writes the virtio-net header of {@code m} at the start of buffer {@code first}: straight
     * into guest memory when that buffer holds it whole (always, with the front ends we know),
     * else through the scratch header across buffers.
     */
    private static void writeHeader(VringView v, Mbuf m, int first, int heads) {
        int size = v.hdrSize;
        boolean plain = (m.olFlags & (Mbuf.F_TX_L4_MASK | Mbuf.F_TX_TCP_SEG | Mbuf.F_TX_IP_CKSUM | Mbuf.F_RX_L4_CKSUM_MASK)) == 0;
        MemorySegment hdr;
        long at;
        boolean direct = v.bufLen[first] >= size;
        if (direct) {
            hdr = v.mem.segment(v.bufRegion[first]);
            at = v.bufOff[first];
        } else {
            hdr = v.hdr;
            at = 0;
        }
        if (plain) {
            VirtioNetHeader.writePlainUnlessEqual(hdr, at, size, heads);
        } else {
            VirtioNetHeader.fromMbuf(m, v.features, hdr, at, size);
            if (size == VirtioNetHeader.SIZE) VirtioNetHeader.numBuffers(hdr, at, heads);
        }
        if (direct) return;
        int b = first;
        long pos = 0, from = 0, k = size;
        while (k > 0) {
            long room = v.bufLen[b] - pos;
            if (room == 0) {
                b++;
                pos = 0;
                continue;
            }
            long c = Math.min(room, k);
            MemorySegment.copy(hdr, from, v.mem.segment(v.bufRegion[b]), v.bufOff[b] + pos, c);
            from += c;
            pos += c;
            k -= c;
        }
    }

    /** Copies the frame of {@code m}, segment by segment, into the buffers from {@code first} on, after the header. */
    private static void copyFrame(VringView v, Mbuf m, int first) {
        int b = first;
        long pos = v.hdrSize;
        while (pos > v.bufLen[b]) pos -= v.bufLen[b++];                      // past the header (zero-length buffers are not listed)
        for (Mbuf s = m; s != null; s = s.next()) {
            MemorySegment src = s.buffer();
            long at = s.dataOff();
            long len = s.dataLen();
            while (len > 0) {
                long room = v.bufLen[b] - pos;
                if (room == 0) {
                    b++;
                    pos = 0;
                    continue;
                }
                long c = Math.min(room, len);
                Memcpy.copy(src, at, v.mem.segment(v.bufRegion[b]), v.bufOff[b] + pos, c);
                at += c;
                pos += c;
                len -= c;
            }
        }
    }

    // ---- control thread

    void attach(VringView v) {
        v.kicks(false);
        slot.attach(v);
    }

    VringView detach(long waitNanos) {
        return slot.detach(waitNanos);
    }

    @Override
    protected void release() {
        dev.queueReleased(this);
    }
}
