package org.jpdk.drivers.net.memif;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.lang.foreign.MemorySegment;


/**
 * A client's receive queue in zero-copy mode: the consumer of an S2C ring whose slots point at
 * mbufs of the queue's own pool (a region the server was shown). The client posts fresh mbufs,
 * their data room as the capacity, and advances head; the server writes each frame straight into
 * them and advances tail; the client hands those very mbufs to the app, without a copy, and posts
 * new ones (in batches of at least 32, as DPDK, or whenever the ring is empty). The server controls
 * only a slot's length (checked against what was posted) and its chain flag; the buffer is the
 * posted mbuf's whatever the descriptor says. The mbufs posted belong to the queue until received,
 * and go back to the pool when the connection ends. Allocates nothing on the heap.
 */
final class ZeroCopyRxQueue extends MemifRxQueue {
    private static final int REFILL_BATCH = 32;

    ZeroCopyRxQueue(MemifDevice dev, int index, Mempool<Mbuf> pool) {
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
            int offered = (v.head - last) & 0xffff;
            if (avail > offered) return fault(v, "tail is " + avail + " slots past the last received, beyond the " + offered + " offered");
            Mbuf[] slots = v.slots;
            int mask = v.mask, slot = last, end = last + avail, errors = 0, port = portId;
            long bytes = 0;
            Mbuf head = null;
            try {
                while (slot != end && got < n) {
                    // the frame's extent first: a chain must end within what was published
                    int last1 = slot;
                    boolean runsPast = false;
                    while ((MemifRing.flags(MemifRing.word0(r, MemifRing.desc(last1 & mask))) & MemifRing.DESC_FLAG_NEXT) != 0) {
                        if (++last1 == end) {
                            runsPast = true;
                            break;
                        }
                    }
                    if (runsPast) {                                           // deliver what came before it, then stop
                        fault(v, "a chained frame runs past the published tail");
                        break;
                    }
                    head = null;
                    boolean bad = false;
                    for (; slot != last1 + 1; slot++) {
                        int s = slot & mask;
                        long len = MemifRing.length(MemifRing.word0(r, MemifRing.desc(s))); // before the mbuf leaves its slot
                        Mbuf m = slots[s];
                        slots[s] = null;
                        if (bad || len > m.bufLen() - m.dataOff()) {
                            bad = true;
                            m.free();
                            continue;
                        }
                        m.setData(m.dataOff(), (int) len);
                        m.setPktLen((int) len);
                        if (head == null) head = m;
                        else if (!head.chain(m)) {
                            m.free();
                            bad = true;
                        }
                    }
                    if (bad) {
                        if (head != null) head.free();
                        head = null;
                        errors++;
                        continue;
                    }
                    head.port = port;
                    pkts[off + got++] = head;
                    bytes += head.pktLen();
                    head = null;
                }
            } catch (RuntimeException | InternalError e) {
                if (head != null) head.free();
                Mbuf.freeBulk(pkts, off, got);
                return fault(v, "shared memory failed under receive (" + e + ")");
            }
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

    /** Posts fresh mbufs into the empty slots, once there are enough of them, and advances head (R1). */
    private void refill(RingView v) {
        int head = v.head, room = v.size - ((head - v.tail) & 0xffff);
        if (room == 0 || (room < REFILL_BATCH && room != v.size)) return;
        Mbuf[] fresh = v.scratch;
        int k = room;
        while (!Mbuf.allocBulk(pool, fresh, 0, k)) {                          // a low pool: post what there is
            k >>= 1;
            if (k < Math.min(REFILL_BATCH, room)) {
                countNombuf(room);
                return;
            }
        }
        MemorySegment r = v.ring;
        Mbuf[] slots = v.slots;
        int mask = v.mask, region = v.poolRegion, i = 0;
        long base = v.regionBase[region];
        try {
            for (; i < k; i++, head++) {
                int s = head & mask;
                Mbuf m = fresh[i];
                fresh[i] = null;
                slots[s] = m;
                MemifRing.write(r, MemifRing.desc(s), 0, region, m.tailroom(), m.buffer().address() + m.dataOff() - base);
            }
        } catch (RuntimeException | InternalError e) {
            for (; i < k; i++) {
                if (fresh[i] != null) fresh[i].free();
                fresh[i] = null;
            }
            fault(v, "shared memory failed under refill (" + e + ")");
            return;
        }
        v.head = head & 0xffff;
        MemifRing.head(r, head);
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
