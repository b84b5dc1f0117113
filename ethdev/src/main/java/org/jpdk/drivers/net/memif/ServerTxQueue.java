package org.jpdk.drivers.net.memif;

import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;


/**
 * A server's transmit queue: the producer of an S2C ring. The client offers empty buffers up to
 * head, each descriptor naming a region, an offset and a capacity (its length); the server copies
 * each frame into the next offered buffers (chained with NEXT when one is too small), writes the
 * lengths, frees the mbufs and publishes with tail. Each offered descriptor is read once and
 * checked (region exists, buffer inside it) before a byte is written; one that is not breaks the
 * protocol (the server cannot skip a slot) and faults the connection. A frame that does not fit
 * in what is offered waits for the next burst; one that would not fit even in a whole empty ring
 * is dropped and counted in oerrors. Allocates nothing on the heap.
 */
final class ServerTxQueue extends MemifTxQueue {
    ServerTxQueue(MemifDevice dev, int index) {
        super(dev, index);
    }

    @Override
    int transmit(RingView v, Mbuf[] pkts, int off, int n) {
        MemorySegment r = v.ring;
        int first = v.tail;
        int offered = (MemifRing.head(r) - first) & 0xffff;                 // A1: the client's buffers
        if (offered > v.size) return fault(v, "head is " + offered + " slots past tail in a ring of " + v.size, 0);
        if (offered == 0) return 0;
        MemorySegment[] regions = v.regions;
        long[] sizes = v.regionSize;
        int mask = v.mask, slot = first, end = first + offered, sent = 0;
        long bytes = 0;
        try {
            frames:
            while (sent < n && slot != end) {
                Mbuf m = pkts[off + sent];
                int start = slot;
                long d = MemifRing.desc(slot & mask);
                MemorySegment dst = null;
                int dstRegion = 0;
                long dstAt = 0, dstCap = 0, dstOff = 0;
                boolean open = false;
                for (Mbuf seg = m; seg != null; seg = seg.next()) {
                    int srcOff = 0, srcLen = seg.dataLen();
                    while (srcLen > 0 || !open) {
                        if (!open || dstOff == dstCap) {
                            if (open) {                                      // this buffer is full: on to the next
                                MemifRing.write0(r, d, MemifRing.DESC_FLAG_NEXT, dstRegion, dstOff);
                                if (++slot == end) {
                                    if (end - start == v.size) {             // not even a whole ring holds it
                                        m.free();
                                        countErrors(1);
                                        return finish(v, r, pkts, off, sent, start, bytes) + 1;
                                    }
                                    slot = start;
                                    break frames;
                                }
                                d = MemifRing.desc(slot & mask);
                            }
                            long w = MemifRing.word0(r, d);
                            int region = MemifRing.region(w);
                            long cap = MemifRing.length(w), at = MemifRing.offset(r, d);
                            if (region >= regions.length || at + cap > sizes[region]) {
                                return fault(v, "offered buffer region " + region + " offset " + at + " len " + cap + " out of bounds",
                                        finish(v, r, pkts, off, sent, start, bytes));
                            }
                            dst = regions[region];
                            dstRegion = region;
                            dstAt = at;
                            dstCap = cap;
                            dstOff = 0;
                            open = true;
                        }
                        int k = (int) Math.min(srcLen, dstCap - dstOff);
                        if (k > 0) {
                            MemorySegment.copy(seg.buffer(), seg.dataOff() + srcOff, dst, dstAt + dstOff, k);
                            srcOff += k;
                            srcLen -= k;
                            dstOff += k;
                        }
                    }
                }
                MemifRing.write0(r, d, 0, dstRegion, dstOff);
                slot++;
                bytes += m.pktLen();
                sent++;
            }
        } catch (RuntimeException | InternalError e) {
            return fault(v, "peer memory failed under transmit (" + e + ")", 0);
        }
        return finish(v, r, pkts, off, sent, slot, bytes);
    }

    /** Frees the sent mbufs, publishes the filled slots (R2) and counts; returns {@code sent}. */
    private int finish(RingView v, MemorySegment r, Mbuf[] pkts, int off, int sent, int slot, long bytes) {
        Mbuf.freeBulk(pkts, off, sent);
        v.tail = slot & 0xffff;
        MemifRing.tail(r, slot);                                              // R2: the frames go to the client
        if (sent > 0) countTx(sent, bytes);
        return sent;
    }
}
