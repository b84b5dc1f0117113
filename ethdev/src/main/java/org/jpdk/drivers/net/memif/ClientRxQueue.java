package org.jpdk.drivers.net.memif;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.lang.foreign.MemorySegment;


/**
 * A client's receive queue in copy mode: the consumer of an S2C ring whose buffers are the
 * client's own, {@code bsize} bytes per slot in region 0. The server fills slots from tail and
 * publishes them with tail; the client copies each frame out and offers the slots again by
 * advancing head, rewriting each descriptor (region 0, its own offset, length {@code bsize}), so a
 * server that scribbled on a descriptor changes nothing for the next round. Data is read from the
 * slot's own buffer, never from where the descriptor says: the server controls only the length
 * (checked against {@code bsize}) and the chain flag. A tail beyond what was offered faults the
 * connection. Allocates nothing on the heap.
 */
final class ClientRxQueue extends MemifRxQueue {
    ClientRxQueue(MemifDevice dev, int index, Mempool<Mbuf> pool) {
        super(dev, index, pool);
    }

    @Override
    boolean pending(RingView v) {
        return MemifRing.tail(v.ring) != (v.tail & 0xffff);
    }

    @Override
    int receive(RingView v, Mbuf[] pkts, int off, int n) {
        MemorySegment r = v.ring;
        int last = v.tail;
        int avail = (MemifRing.tail(r) - last) & 0xffff;                      // A2: the server's frames
        int got = 0;
        if (avail != 0) {
            if (avail > ((v.head - last) & 0xffff)) return fault(v, "tail is " + avail + " slots past the last received, beyond the "
                    + ((v.head - last) & 0xffff) + " offered");
            MemorySegment region = v.regions[0];
            int mask = v.mask, slot = last, end = last + avail, errors = 0, port = portId, bsize = v.bsize;
            long bytes = 0, base = v.bufBase;
            Mbuf frame = null;
            int fresh = 0;                                                    // pkts[off+got .. off+fresh): mbufs taken in bulk, unused yet
            try {
                int want = Math.min(n, avail);
                if (Mbuf.allocBulk(pool, pkts, off, want)) fresh = want;
                while (slot != end && got < n) {
                    int start = slot;
                    frame = got < fresh ? pkts[off + got] : Mbuf.alloc(pool);
                    if (frame == null) {
                        countNombuf(1);
                        break;
                    }
                    Mbuf seg = frame;
                    boolean bad = false, more;
                    do {
                        if (slot == end) {
                            fresh = drop(frame, pkts, off, got, fresh);
                            frame = null;
                            slot = start;
                            fault(v, "a chained frame runs past the published tail");
                            break;
                        }
                        int s = slot & mask;
                        long d = MemifRing.desc(s);
                        long w = MemifRing.word0(r, d);
                        more = (MemifRing.flags(w) & MemifRing.DESC_FLAG_NEXT) != 0;
                        long len = MemifRing.length(w);
                        slot++;
                        if (bad) continue;
                        if (len > bsize) {
                            bad = true;
                            continue;
                        }
                        seg = copyIn(region, base + (long) s * bsize, (int) len, frame, seg);
                        if (seg == null) {
                            fresh = drop(frame, pkts, off, got, fresh);
                            frame = null;
                            slot = start;
                            countNombuf(1);
                            break;
                        }
                    } while (more);
                    if (frame == null) break;
                    if (bad) {
                        fresh = drop(frame, pkts, off, got, fresh);
                        frame = null;
                        errors++;
                        continue;
                    }
                    frame.port = port;
                    pkts[off + got++] = frame;
                    bytes += frame.pktLen();
                    frame = null;
                }
            } catch (RuntimeException | InternalError e) {
                if (frame != null && got >= fresh) frame.free();
                Mbuf.freeBulk(pkts, off, Math.max(got, fresh));
                return fault(v, "peer memory failed under receive (" + e + ")");
            }
            if (fresh > got) Mbuf.freeBulk(pkts, off + got, fresh - got);
            v.tail = slot & 0xffff;
            if (got > 0) countRx(got, bytes);
            if (errors > 0) countErrors(errors);
        }
        refill(v);
        return got;
    }

    @Override
    void prime(RingView v) {
        refill(v);
    }

    /** Offers every slot the client has emptied: descriptor rewritten, head advanced (R1). */
    private void refill(RingView v) {
        int head = v.head, room = (v.size - ((head - v.tail) & 0xffff));
        if (room == 0) return;
        MemorySegment r = v.ring;
        int mask = v.mask, bsize = v.bsize;
        long base = v.bufBase;
        try {
            for (int i = 0; i < room; i++, head++) {
                int s = head & mask;
                MemifRing.write(r, MemifRing.desc(s), 0, 0, bsize, base + (long) s * bsize);
            }
        } catch (RuntimeException | InternalError e) {
            fault(v, "peer memory failed under refill (" + e + ")");
            return;
        }
        v.head = head & 0xffff;
        MemifRing.head(r, head);
    }
}
