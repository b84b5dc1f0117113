package org.jpdk.drivers.net.vhost;

import org.jpdk.ethdev.RxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Epoll;
import org.jpdk.sys.Libc;
import org.jpdk.virtio.PackedRing;
import org.jpdk.virtio.VirtioNetHeader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Receive queue {@code q} of a net_vhost port: the device side of the front end's transmit vring
 * {@code 2q + 1}. A burst takes the chains the front end made available (split: from the avail
 * ring after an acquire of its idx; packed: while the next descriptor's flags say available),
 * walks each into checked buffers ({@link VringView#walkSplit}), copies the virtio-net header
 * aside (a plain one in the frame's only buffer is just read in place) and the frame into mbufs
 * of the queue's pool (chained when longer than one, unless {@code linear-buffer}; with
 * {@code ext-buffer} a long frame gets one external buffer instead),
 * applies the header's offload request, and returns every chain as used with length 0, publishing
 * the used idx (or the packed used flags) with release, then calls the front end if it asked.
 * A chain whose frame is longer than {@link #MAX_FRAME} is dropped and counted in ierrors. When the
 * pool runs dry the rest stays in the ring (rx_nombuf). Allocates nothing on the heap per packet.
 *
 * <p>Rx interrupts: the queue's interrupt fd is an epoll set of its own holding the current vring's
 * kick eventfd; enabling asks the front end to kick (used flags, or avail_event with EVENT_IDX)
 * and kicks itself if something is already waiting.
 */
final class VhostRxQueue extends RxQueue {
    /** The longest frame taken from the front end (a 64 KiB GSO frame and its headers). */
    static final int MAX_FRAME = 65535 + 14 + 4;

    final VhostDevice dev;
    final int index;
    final Mempool<Mbuf> pool;
    final VringSlot slot = new VringSlot();
    private final Epoll intr = new Epoll(1);
    private final MemorySegment drainCell = Arena.ofAuto().allocate(JAVA_LONG);
    volatile boolean intrWanted;

    VhostRxQueue(VhostDevice dev, int index, Mempool<Mbuf> pool) {
        this.dev = dev;
        this.index = index;
        this.pool = pool;
    }

    @Override
    public int rxBurst(Mbuf[] pkts, int off, int n) {
        VringView v = null;
        try {
            v = slot.enter();
            int rarp = index == 0 ? dev.takeRarp(pkts, off, n, pool) : 0;
            if (v == null || v.faulted) return rarp;
            int got = v.packed ? receivePacked(v, pkts, off + rarp, n - rarp) : receiveSplit(v, pkts, off + rarp, n - rarp);
            if (v.faulted) dev.fault(v.faultReason);
            return rarp + got;
        } catch (RuntimeException | InternalError e) { // guest memory went away under the burst
            if (v != null) {
                v.fault("guest memory failed under receive (" + e + ")");
                dev.fault(v.faultReason);
            }
            return 0;
        } finally {
            slot.exit();
        }
    }

    /**
     * Split: in chunks of up to {@link VringView#CHUNK} chains, walks and checks every chain of
     * the chunk first (the avail ring and descriptor loads, cache misses on lines the front end
     * just wrote, then overlap), then copies each into its mbuf, then returns the chains as used;
     * the used idx once per burst. A fault anywhere gives back every mbuf and publishes nothing.
     */
    private int receiveSplit(VringView v, Mbuf[] pkts, int off, int n) {
        var r = v.split;
        int last = v.lastAvail;
        int avail = (r.availIdx() - last) & 0xffff;                           // A1: the front end's chains
        if (avail == 0 || n <= 0) return 0;
        if (avail > v.size) {
            v.fault("avail idx is " + avail + " entries past ours in a ring of " + v.size);
            return 0;
        }
        int count = Math.min(n, avail);
        if (!Mbuf.allocBulk(pool, pkts, off, count)) {
            countNombuf(count);
            return 0;
        }
        int[] fBufs = v.frameBufs, heads = v.headId;
        int got = 0, errors = 0, used = v.lastUsed, taken = 0;
        long bytes = 0;
        while (taken < count) {
            // 1: walk the chunk's chains
            int chunk = Math.min(count - taken, VringView.CHUNK), f = 0, nb = 0;
            fBufs[0] = 0;
            for (; f < chunk && nb < v.size; f++) {
                int head = r.availRing(last + taken + f);
                nb = v.walkSplitOne(head, nb);
                if (nb < 0) {
                    Mbuf.freeBulk(pkts, off, count);
                    return 0;
                }
                heads[f] = head;
                fBufs[f + 1] = nb;
            }
            // 2: copy each into the next mbuf; a dropped frame's mbuf serves the next chain
            for (int i = 0; i < f; i++) {
                Mbuf m = pkts[off + got];
                if (copyIn(v, fBufs[i], fBufs[i + 1], m) == 0) {
                    m.reset();
                    errors++;
                    continue;
                }
                bytes += m.pktLen();
                got++;
            }
            // 3: every chain goes back used, with length 0 (nothing written to it)
            for (int i = 0; i < f; i++) r.usedElemUnlessEqual(used++, heads[i], 0);
            taken += f;
        }
        if (got < count) Mbuf.freeBulk(pkts, off + got, count - got);
        v.lastAvail = (last + count) & 0xffff;
        v.lastUsed = used & 0xffff;
        r.usedIdx(v.lastUsed);                                                // R1: the used elements, then idx
        if (v.notify && v.eventIdx) r.availEvent(v.lastAvail);
        v.callSplit();
        if (got > 0) countRx(got, bytes);
        if (errors > 0) countErrors(errors);
        return got;
    }

    private int receivePacked(VringView v, Mbuf[] pkts, int off, int n) {
        PackedRing r = v.ring;
        int got = 0, errors = 0;
        long bytes = 0;
        Mbuf spare = null;
        while (got < n) {
            int s = v.lastAvail;
            if (!PackedRing.isAvail(r.descFlagsAcquire(s), v.availWrap)) break; // A1
            int nb = v.walkPacked(s, 0, v.availWrap);
            if (nb == -2) break;
            if (nb < 0) {
                if (spare != null) spare.free();
                Mbuf.freeBulk(pkts, off, got);
                return 0;
            }
            Mbuf m = spare != null ? spare : Mbuf.alloc(pool);
            spare = null;
            if (m == null) {
                countNombuf(1);
                break;
            }
            int res = copyIn(v, 0, nb, m);
            int descs = v.chainDescs;
            int u = v.lastUsed;
            r.used(u, v.chainId, 0);
            r.descFlags(u, PackedRing.usedFlags(v.usedWrap));                 // R1: id and len, then flags
            v.lastUsed = advance(v, u, descs, true);
            v.lastAvail = advance(v, s, descs, false);
            if (res == 0) {
                m.reset();
                spare = m;
                errors++;
                continue;
            }
            bytes += m.pktLen();
            pkts[off + got++] = m;
        }
        if (spare != null) spare.free();
        if (got + errors > 0) v.callPacked();
        if (got > 0) countRx(got, bytes);
        if (errors > 0) countErrors(errors);
        return got;
    }

    /** Moves a packed cursor by {@code k} slots, flipping its wrap counter at the end of the ring. */
    static int advance(VringView v, int at, int k, boolean used) {
        at += k;
        if (at >= v.size) {
            at -= v.size;
            if (used) v.usedWrap = !v.usedWrap;
            else v.availWrap = !v.availWrap;
        }
        return at;
    }

    /**
     * Copies the walked chain (buffers {@code [first, end)}) into {@code m}: the first {@code hdrSize}
     * bytes to the header scratch, the rest as the frame. Returns 1 when done, 0 when the frame
     * is dropped (too long, or no mbuf for the rest; the caller counts it and resets {@code m}).
     */
    private int copyIn(VringView v, int first, int end, Mbuf m) {
        // the usual frame's copy is compiled into this method, the general case stays a call (C2
        // keeps this one a call from the burst loop all the same; calling copyOne from the loop
        // itself measured no better: docs/benchmarks.md)
        return end - first == 1 && copyOne(v, first, m) ? 1 : copyChain(v, first, end, m);
    }

    /** The usual frame: header and frame in one buffer, and the frame fits the mbuf; false (nothing done) otherwise. */
    private boolean copyOne(VringView v, int b, Mbuf m) {
        int hdrSize = v.hdrSize;
        long frameLen = v.bufLen[b] - hdrSize;
        if (frameLen < 0 || frameLen > m.tailroom()) return false;
        MemorySegment src = v.mem.segment(v.bufRegion[b]);
        long at = v.bufOff[b];
        int off = m.appendOffset((int) frameLen);
        MemorySegment.copy(src, at + hdrSize, m.buffer(), m.dataOff() + off, frameLen);
        m.port = portId;
        // a plain header (no flags, no GSO) is read in place; any other is copied aside first
        if (!VirtioNetHeader.plain(src, at)) {
            MemorySegment.copy(src, at, v.hdr, 0, hdrSize);
            VirtioNetHeader.toMbuf(v.hdr, 0, m);
        }
        return true;
    }

    /** {@link #copyIn} for any chain: the header may span buffers, the frame may need segments or an external buffer. */
    private int copyChain(VringView v, int first, int end, Mbuf m) {
        long total = 0;
        for (int b = first; b < end; b++) total += v.bufLen[b];
        int hdrSize = v.hdrSize;
        if (total < hdrSize || total - hdrSize > MAX_FRAME) return 0;
        int frameLen = (int) (total - hdrSize);
        if (frameLen > m.tailroom()) {
            if (dev.cfg.extBuffer() && dev.extBuffers.attach(m, frameLen)) {
                // one buffer for the whole frame
            } else if (dev.cfg.linearBuffer()) {
                return 0;
            }
        }
        MemorySegment hdr = v.hdr;
        long hdrLeft = hdrSize;
        Mbuf last = m;
        for (int b = first; b < end; b++) {
            MemorySegment src = v.mem.segment(v.bufRegion[b]);
            long at = v.bufOff[b], len = v.bufLen[b];
            if (hdrLeft > 0) {
                long k = Math.min(hdrLeft, len);
                MemorySegment.copy(src, at, hdr, hdrSize - hdrLeft, k);
                hdrLeft -= k;
                at += k;
                len -= k;
            }
            while (len > 0) {
                int room = last.tailroom();
                if (room == 0) {
                    Mbuf seg = Mbuf.alloc(pool);
                    if (seg == null) {
                        countNombuf(1);
                        if (m.next() != null) freeChainTail(m);
                        return 0;
                    }
                    seg.setData(0, 0);
                    if (!m.chain(seg)) {
                        seg.free();
                        freeChainTail(m);
                        return 0;
                    }
                    last = seg;
                    room = seg.tailroom();
                }
                int k = (int) Math.min(len, room);
                MemorySegment.copy(src, at, last.buffer(), last.dataOff() + last.dataLen(), k);
                m.appendOffset(k);
                at += k;
                len -= k;
            }
        }
        m.port = portId;
        if (!VirtioNetHeader.plain(hdr, 0)) VirtioNetHeader.toMbuf(hdr, 0, m);
        return 1;
    }

    /** Frees the segments chained after {@code m} and leaves {@code m} a fresh single mbuf. */
    private static void freeChainTail(Mbuf m) {
        Mbuf tail = m.next();
        m.reset();
        if (tail != null) tail.free();
    }

    // ---------------------------------------------------------------- interrupts

    @Override
    protected int interruptFd() {
        return intr.fd();
    }

    @Override
    protected void interruptEnabled() {
        intrWanted = true;
        try {
            VringView v = slot.enter();
            if (v == null || v.faulted) return;
            v.kicks(true);
            VarHandle.fullFence(); // StoreLoad: kicks asked for before the look (pairs with the front end's fence)
            if (v.pending() && v.kickFd >= 0) Libc.writeNoErrno(v.kickFd, VringView.ONE, 8);
        } catch (RuntimeException | InternalError e) {
            // the memory went away: the control thread is taking this vring down anyway
        } finally {
            slot.exit();
        }
    }

    @Override
    protected void interruptDisabled() {
        intrWanted = false;
        try {
            VringView v = slot.enter();
            if (v == null || v.faulted) return;
            v.kicks(false);
            if (v.kickFd >= 0) Libc.readNoErrno(v.kickFd, drainCell, 8);
        } catch (RuntimeException | InternalError e) {
            // as above
        } finally {
            slot.exit();
        }
    }

    // ---- control thread

    void attach(VringView v) {
        v.kicks(intrWanted);
        if (v.kickFd >= 0) intr.add(v.kickFd, Epoll.EPOLLIN, 0);
        slot.attach(v);
    }

    VringView detach(long waitNanos) {
        VringView v = slot.detach(waitNanos);
        if (v != null && v.kickFd >= 0) intr.remove(v.kickFd);
        return v;
    }

    @Override
    protected void release() {
        dev.queueReleased(this);
        intr.close();
    }
}
