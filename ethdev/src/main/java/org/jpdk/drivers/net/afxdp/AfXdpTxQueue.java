package org.jpdk.drivers.net.afxdp;

import org.jpdk.ethdev.TxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;

import java.lang.foreign.MemorySegment;

/**
 * The transmit side of one net_af_xdp queue, on the socket of the rx queue of the same index
 * (bound at start). A burst takes four steps:
 * <ol>
 * <li><b>reclaim</b>: every address on the completion ring (A1) is a frame the kernel is done
 * with; its mbuf goes back to its pool (one bulk free) and the entries are released (R1). An
 * address this queue never sent, or sent and already got back, is counted in oerrors and skipped.
 * <li><b>fill</b> the TX ring: an mbuf of the UMEM's pool (the rx pool) that is one segment, direct
 * and not shared is sent from where it lies, a descriptor pointing at its data, and stays with the
 * kernel until its completion; any other (another pool, a chain, a clone) is copied into a fresh
 * mbuf of the UMEM's pool and freed. A packet longer than the MTU allows (MTU + 14 + 4 for a tag)
 * or than a chunk holds, shorter than an Ethernet header, or a chain whose segments do not add up
 * to its pktLen ({@link Mbuf#lengthsConsistent}: a descriptor would reach past the data, a copy
 * past the buffer) is dropped and counted in oerrors. A
 * full ring, or {@code nb_desc} frames in flight, ends the burst: the caller keeps the rest.
 * <li><b>publish</b> the descriptors (R2);
 * <li><b>kick</b> the kernel, {@code sendto(MSG_DONTWAIT)}, when it asks (need-wakeup; always in
 * copy mode, where the sendto is what transmits) or when busy polling: once for a burst of up to
 * 32 (copy mode sends 32 per call and says EAGAIN while more wait; see {@link #kick}). A kick that
 * moves nothing (ENOBUFS, a full completion ring, an interface down) leaves the frames queued for
 * the next burst; they count as sent, as DPDK counts them. ENXIO means the interface is gone: from
 * then on every packet is dropped and counted in oerrors.
 * </ol>
 * Allocates nothing on the heap.
 */
final class AfXdpTxQueue extends TxQueue {
    private static final int ETH_HLEN = 14, RECLAIM_BATCH = 64;
    /** Kicks per burst at most: a full 2048-entry ring at 32 frames per copy-mode sendto, and one more. */
    private static final int MAX_KICKS = 65;
    private static final byte SENT = 1;

    private final AfXdpDriver.Device dev;
    private final int limit;
    private final Mbuf[] done = new Mbuf[RECLAIM_BATCH];
    // the socket's parts, set at start while no lcore polls (the port's start publishes them)
    private XskSocket sock;
    private XskRing tx, completion;
    private Umem umem;
    private Mempool<Mbuf> pool;
    private byte[] held;
    private int maxZeroCopyLen, maxCopyLen;
    private boolean busyPoll;
    /** Frames given to the kernel and not completed yet. */
    private int inFlight;
    /** The interface is gone (a kick said ENXIO): drop everything. */
    private boolean gone;

    AfXdpTxQueue(AfXdpDriver.Device dev, int nbDesc) {
        this.dev = dev;
        this.limit = nbDesc;
    }

    /** Binds the queue to {@code s}, its rx queue's socket; port stopped. */
    void bind(XskSocket s) {
        if (s == sock) return;
        sock = s;
        tx = s.tx;
        completion = s.completion;
        umem = s.umem;
        pool = umem.pool;
        held = s.txHeld;
        maxZeroCopyLen = umem.chunkSize;
        maxCopyLen = Math.min(umem.chunkSize, umem.bufLen - Mbuf.DEFAULT_HEADROOM);
        busyPoll = s.busyPoll;
        inFlight = 0;
        gone = false;
    }

    @Override
    public int txBurst(Mbuf[] pkts, int off, int n) {
        if (n <= 0) return 0;
        if (inFlight > 0) reclaim();
        if (gone || dev.isGone()) return dropAll(pkts, off, n);
        XskRing r = tx;
        int room = r.free(Math.min(n, limit - inFlight));
        int max = dev.txMaxLen;
        int k = 0, sent = 0, bad = 0;
        long bytes = 0;
        for (; k < n && sent < room; k++) {
            Mbuf m = pkts[off + k];
            int len = m.pktLen();
            if (len < ETH_HLEN || len > max || !m.lengthsConsistent()) {   // a runt, too long, or a chain at odds with pktLen
                m.free();
                bad++;
                continue;
            }
            long addr;
            if (m.pool() == pool && m.next() == null && !m.isIndirect() && m.refcnt() == 1 && len <= maxZeroCopyLen) {
                int idx = m.index();
                if (held[idx] != 0) {                                       // sent twice: the first is still the kernel's
                    bad++;
                    continue;
                }
                held[idx] = SENT;
                addr = umem.chunk(idx) + m.dataOff();
            } else {
                Mbuf c = len <= maxCopyLen ? Mbuf.alloc(pool) : null;
                if (c == null) {
                    if (len > maxCopyLen) {
                        m.free();
                        bad++;
                        continue;
                    }
                    break;                                                  // the pool is dry: the caller keeps the rest
                }
                copy(m, c);
                m.free();
                held[c.index()] = SENT;
                addr = umem.chunk(c.index()) + c.dataOff();
            }
            r.putDesc(r.slot(sent++), addr, len);
            bytes += len;
        }
        if (sent > 0) {
            r.submit(sent);                                                 // R2
            inFlight += sent;
            if (busyPoll || r.needWakeup()) kick();
            countTx(sent, bytes);
        }
        if (bad > 0) countErrors(bad);
        return k;
    }

    private static void copy(Mbuf from, Mbuf to) {
        MemorySegment dst = to.buffer();
        long at = to.dataOff();
        for (Mbuf seg = from; seg != null; seg = seg.next()) {
            int dl = seg.dataLen();
            MemorySegment.copy(seg.buffer(), seg.dataOff(), dst, at, dl);
            at += dl;
        }
        to.appendOffset(from.pktLen());
    }

    /** Completed frames back to their pool; returns how many. */
    private int reclaim() {
        XskRing c = completion;
        int total = 0, n;
        while ((n = c.available(RECLAIM_BATCH)) > 0) {
            int k = 0, bad = 0;
            for (int i = 0; i < n; i++) {
                long a = c.addr(c.entry(i));
                int idx = umem.indexOfData((a & Umem.ADDR_MASK) + (a >>> Umem.OFFSET_SHIFT), 1);
                if (idx < 0 || held[idx] != SENT) {
                    bad++;
                    continue;
                }
                held[idx] = 0;
                done[k++] = pool.object(idx);
            }
            c.release(n);                                                   // R1
            inFlight -= n - bad;
            Mbuf.freeBulk(done, 0, k);
            if (bad > 0) countErrors(bad);
            total += n;
            if (n < RECLAIM_BATCH) break;
        }
        return total;
    }

    /**
     * Kicks the kernel until it has taken every descriptor of the TX ring: once for a burst of up
     * to 32 frames, since copy mode sends at most 32 per sendto and answers EAGAIN while more wait
     * (frames left in the ring would otherwise wait for the app's next burst, which may never
     * come). Between kicks the completion ring is drained, so that the kernel has room to complete
     * into. A kick that moved nothing ends it, through {@link #kickFailed} to learn why.
     */
    private void kick() {
        int fd = sock.fd, last = -1;
        for (int kicks = 0; kicks < MAX_KICKS; kicks++) {
            if (Libc.sendNoErrno(fd, MemorySegment.NULL, 0, Libc.MSG_DONTWAIT) >= 0) return;
            int pending = tx.pending();
            if (pending == 0) return;
            if (pending == last) {
                kickFailed();
                return;
            }
            last = pending;
            reclaim();
        }
    }

    /** A kick failed without progress: learn why (once more, with errno); only "the interface is gone" changes anything. */
    private void kickFailed() {
        long r = Libc.send(sock.fd, MemorySegment.NULL, 0, Libc.MSG_DONTWAIT);
        if (r == -Errno.ENXIO || r == -Errno.ENODEV || r == -Errno.ENETDOWN) {
            dev.socketError("sendto", (int) -r);
            gone = dev.isGone();
        }
    }

    private int dropAll(Mbuf[] pkts, int off, int n) {
        Mbuf.freeBulk(pkts, off, n);
        countErrors(n);
        return n;
    }
}
