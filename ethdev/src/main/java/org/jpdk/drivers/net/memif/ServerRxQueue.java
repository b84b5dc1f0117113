package org.jpdk.drivers.net.memif;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.lang.foreign.MemorySegment;


/**
 * A server's receive queue: the consumer of a C2S ring, whose descriptors the client wrote and
 * which point anywhere into the client's regions. Every descriptor is read once into locals and
 * checked before use: its region must exist, {@code offset + length} must lie inside it, its length
 * be at most {@link #MAX_FRAME}. A frame with a bad descriptor is dropped and counted in ierrors
 * (its slots are still consumed); a head counter beyond the ring, or a chain that runs past the
 * published slots, breaks the protocol and faults the connection. Frames are copied into mbufs of
 * the queue's pool, chained when longer than one; when the pool runs dry the frame stays in the
 * ring for the next burst (rx_nombuf). Allocates nothing on the heap.
 */
final class ServerRxQueue extends MemifRxQueue {
    /** The longest frame taken from a peer; longer ones are counted errors (a peer must not drain the pool). */
    static final int MAX_FRAME = 65535;

    ServerRxQueue(MemifDevice dev, int index, Mempool<Mbuf> pool) {
        super(dev, index, pool);
    }

    @Override
    boolean pending(RingView v) {
        return MemifRing.head(v.ring) != (v.tail & 0xffff);
    }

    @Override
    int receive(RingView v, Mbuf[] pkts, int off, int n) {
        MemorySegment r = v.ring;
        int last = v.tail;
        int avail = (MemifRing.head(r) - last) & 0xffff;                      // A1: the client's slots
        if (avail == 0) return 0;
        if (avail > v.size) return fault(v, "head is " + avail + " slots past tail in a ring of " + v.size);
        MemorySegment[] regions = v.regions;
        long[] sizes = v.regionSize;
        int mask = v.mask, slot = last, end = last + avail, got = 0, errors = 0, port = portId;
        long bytes = 0;
        Mbuf frame = null;
        int fresh = 0;                                                        // pkts[off+got .. off+fresh): mbufs taken in bulk, unused yet
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
                long total = 0;
                do {
                    if (slot == end) {
                        fresh = drop(frame, pkts, off, got, fresh);
                        frame = null;
                        slot = start;
                        fault(v, "a chained frame runs past the published head");
                        break;
                    }
                    long d = MemifRing.desc(slot & mask);
                    long w = MemifRing.word0(r, d);
                    more = (MemifRing.flags(w) & MemifRing.DESC_FLAG_NEXT) != 0;
                    int region = MemifRing.region(w);
                    long len = MemifRing.length(w), offset = MemifRing.offset(r, d);
                    slot++;
                    total += len;
                    if (bad) continue;
                    if (region >= regions.length || offset + len > sizes[region] || total > MAX_FRAME) {
                        bad = true;
                        continue;
                    }
                    seg = copyIn(regions[region], offset, (int) len, frame, seg);
                    if (seg == null) {                                         // no mbuf for the rest
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
        MemifRing.tail(r, slot);                                              // R2: the slots go back
        if (got > 0) countRx(got, bytes);
        if (errors > 0) countErrors(errors);
        return got;
    }
}
