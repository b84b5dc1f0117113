package org.jpdk.drivers.net.memif;

import org.jpdk.eal.Memcpy;
import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;


/**
 * A client's transmit queue in copy mode: the producer of a C2S ring whose buffers are the
 * client's own, {@code bsize} bytes per slot in region 0. Each frame is copied into the next free
 * slots (chained with NEXT when longer than {@code bsize}), each descriptor written whole (region
 * 0, the slot's offset, the length, the flags), the mbufs freed, and the slots published with head.
 * The server gives slots back with tail; a tail that passes head faults the connection. A frame
 * longer than the whole ring is dropped and counted in oerrors. Allocates nothing on the heap.
 */
final class ClientTxQueue extends MemifTxQueue {
    ClientTxQueue(MemifDevice dev, int index) {
        super(dev, index);
    }

    @Override
    int transmit(RingView v, Mbuf[] pkts, int off, int n) {
        MemorySegment r = v.ring;
        int first = v.head;
        int used = (first - MemifRing.tail(r)) & 0xffff;                     // A2: what the server gave back
        if (used > v.size) return fault(v, "tail is ahead of head " + first, 0);
        int free = v.size - used;
        if (free == 0) return 0;
        int slot = first, end = first + free, sent = 0;
        long bytes = 0;
        try {
            while (sent < n && slot != end) {
                Mbuf m = pkts[off + sent];
                int next = copyFrame(v, m, slot, end);
                if (next == NO_ROOM) break;
                if (next == TOO_LONG) {
                    m.free();
                    countErrors(1);
                    return finish(v, r, pkts, off, sent, slot, bytes) + 1;
                }
                slot = next;
                bytes += m.pktLen();
                sent++;
            }
        } catch (RuntimeException | InternalError e) {
            return fault(v, "shared memory failed under transmit (" + e + ")", 0);
        }
        return finish(v, r, pkts, off, sent, slot, bytes);
    }

    static final int NO_ROOM = -1, TOO_LONG = -2;

    /**
     * Copies frame {@code m} into the ring's own buffers from {@code slot} (region 0, {@code bsize}
     * per slot, chained with NEXT), writing each descriptor whole; returns the slot after the frame,
     * {@link #NO_ROOM} when it does not fit before {@code end} (nothing is published, so nothing
     * needs undoing) or {@link #TOO_LONG} when it would not fit even in a whole empty ring.
     */
    static int copyFrame(RingView v, Mbuf m, int slot, int end) {
        MemorySegment r = v.ring, region = v.regions[0];
        int mask = v.mask, bsize = v.bsize, start = slot, s = slot & mask;
        long base = v.bufBase, d = MemifRing.desc(s), dst = base + (long) s * bsize;
        int dstOff = 0;
        for (Mbuf seg = m; seg != null; seg = seg.next()) {
            int srcOff = 0, srcLen = seg.dataLen();
            while (srcLen > 0) {
                if (dstOff == bsize) {                                      // this buffer is full: on to the next
                    writeDesc(r, d, MemifRing.DESC_FLAG_NEXT, dstOff, dst);
                    if (++slot == end) return end - start == v.size ? TOO_LONG : NO_ROOM;
                    s = slot & mask;
                    d = MemifRing.desc(s);
                    dst = base + (long) s * bsize;
                    dstOff = 0;
                }
                int k = Math.min(srcLen, bsize - dstOff);
                Memcpy.copy(seg.buffer(), seg.dataOff() + srcOff, region, dst + dstOff, k);
                srcOff += k;
                srcLen -= k;
                dstOff += k;
            }
        }
        writeDesc(r, d, 0, dstOff, dst);
        return slot + 1;
    }

    private static void writeDesc(MemorySegment r, long d, int flags, int length, long offset) {
        MemifRing.write(r, d, flags, 0, length, offset);
    }

    /** Frees the sent mbufs, publishes the filled slots (R1) and counts; returns {@code sent}. */
    private int finish(RingView v, MemorySegment r, Mbuf[] pkts, int off, int sent, int slot, long bytes) {
        Mbuf.freeBulk(pkts, off, sent);
        v.head = slot & 0xffff;
        MemifRing.head(r, slot);
        if (sent > 0) countTx(sent, bytes);
        return sent;
    }
}
