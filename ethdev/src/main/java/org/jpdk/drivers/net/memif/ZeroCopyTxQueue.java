package org.jpdk.drivers.net.memif;

import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;


/**
 * A client's transmit queue in zero-copy mode: the producer of a C2S ring whose descriptors point
 * at the mbufs' own buffers, in the regions the client showed the server (its rx pools, each a
 * memzone of its own). A single-segment mbuf whose data lies in such a region is not copied: its
 * descriptor names the region and the data's offset, and the queue holds the mbuf in the slot
 * until the server gives the slot back (tail), then frees it. Anything else (a chain, an mbuf of a
 * pool the server was not shown, an external buffer) is copied into the slot's own buffer in
 * region 0, as copy mode does, and freed at once. Allocates nothing on the heap.
 */
final class ZeroCopyTxQueue extends MemifTxQueue {
    ZeroCopyTxQueue(MemifDevice dev, int index) {
        super(dev, index);
    }

    @Override
    int transmit(RingView v, Mbuf[] pkts, int off, int n) {
        MemorySegment r = v.ring;
        int done = MemifRing.tail(r);                                         // A2: slots the server is done with
        int inFlight = (v.head - v.tail) & 0xffff, consumed = (done - v.tail) & 0xffff;
        if (consumed > inFlight) return fault(v, "tail passed head by " + (consumed - inFlight), 0);
        if (consumed > 0) reclaim(v, consumed);
        int free = v.size - inFlight + consumed;
        if (free == 0) return 0;
        Mbuf[] slots = v.slots;
        MemorySegment[] regions = v.regions;
        long[] bases = v.regionBase;
        int mask = v.mask, slot = v.head, end = slot + free, sent = 0;
        long bytes = 0;
        try {
            while (sent < n && slot != end) {
                Mbuf m = pkts[off + sent];
                int region = m.next() == null ? regionOf(v, m.buffer().address(), m.bufLen()) : 0;
                if (region > 0) {
                    int s = slot & mask;
                    long d = MemifRing.desc(s);
                    MemifRing.write(r, d, 0, region, m.dataLen(), m.buffer().address() + m.dataOff() - bases[region]);
                    slots[s] = m;
                    slot++;
                } else {
                    int next = ClientTxQueue.copyFrame(v, m, slot, end);
                    if (next == ClientTxQueue.NO_ROOM) break;
                    if (next == ClientTxQueue.TOO_LONG) {
                        m.free();
                        countErrors(1);
                        sent++;
                        break;
                    }
                    slot = next;
                    bytes += m.pktLen();
                    sent++;
                    m.free();
                    continue;
                }
                bytes += m.pktLen();
                sent++;
            }
        } catch (RuntimeException | InternalError e) {
            // nothing was published: the mbufs this burst put in slots are ours to free, the copied ones are
            // freed already, so all of pkts[off..off+sent) counts as taken; the frame that failed is the caller's
            for (int t = v.head; t != slot; t++) {
                Mbuf held = slots[t & mask];
                if (held != null) {
                    slots[t & mask] = null;
                    held.free();
                }
            }
            return fault(v, "shared memory failed under transmit (" + e + ")", sent);
        }
        v.head = slot & 0xffff;
        MemifRing.head(r, slot);                                              // R1: the slots go to the server
        if (sent > 0) countTx(sent, bytes);
        return sent;
    }

    /** The region (1..) of the shown memory that holds {@code [addr, addr + len)}, or 0 for none. */
    private static int regionOf(RingView v, long addr, int len) {
        int i = v.lastRegion;
        if (i < v.regions.length && addr - v.regionBase[i] >= 0 && addr + len - v.regionBase[i] <= v.regionSize[i]) return i;
        for (i = 1; i < v.regions.length; i++) {
            if (addr - v.regionBase[i] >= 0 && addr + len - v.regionBase[i] <= v.regionSize[i]) {
                v.lastRegion = i;
                return i;
            }
        }
        return 0;
    }

    /** Frees the mbufs of the {@code k} slots from {@code v.tail} that the server has consumed. */
    private static void reclaim(RingView v, int k) {
        Mbuf[] slots = v.slots, out = v.scratch;
        int mask = v.mask, t = v.tail, got = 0;
        for (int i = 0; i < k; i++, t++) {
            int s = t & mask;
            Mbuf m = slots[s];
            if (m != null) {
                out[got++] = m;
                slots[s] = null;
            }
        }
        v.tail = t & 0xffff;
        if (got > 0) Mbuf.freeBulk(out, 0, got);
    }

    @Override
    void releaseView(RingView v) {
        for (int s = 0; s < v.size; s++) {
            Mbuf m = v.slots[s];
            if (m != null) {
                v.slots[s] = null;
                m.free();
            }
        }
    }
}
