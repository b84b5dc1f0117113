package org.jpdk.drivers.net.afpacket;

import org.jpdk.ethdev.TxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.jpdk.drivers.net.afpacket.PacketSocket.*;

/**
 * The transmit side of one net_af_packet queue pair. A burst takes three steps:
 * <ol>
 * <li><b>fill</b>: from {@link PacketSocket#txNext}, copy each mbuf (every segment, gathered) into a
 * frame the kernel has given back (AVAILABLE), set tp_len and release-store SEND_REQUEST. A
 * frame still SEND_REQUEST or SENDING means the ring is full: the burst stops there and the
 * caller keeps the rest. A frame the kernel marked WRONG_FORMAT is counted in oerrors and reused.
 * <li><b>free</b> the mbufs taken, in one bulk free;
 * <li><b>kick</b> the kernel once: {@code sendto(fd, NULL, 0, MSG_DONTWAIT)} sends every
 * SEND_REQUEST frame (through {@link Libc#sendNoErrno}, which allocates nothing; only a failed
 * kick is repeated with errno capture to learn why). EAGAIN/ENOBUFS leave frames queued for the next kick (they count as sent, as
 * in DPDK). Any other error (ENXIO: the interface is gone; ENETDOWN: it is down) sent nothing:
 * the frames of this burst go back to AVAILABLE, the cursor moves back to the first of them (the
 * kernel's own cursor is there) and they count as oerrors. ENXIO also tells the port that its
 * interface is gone ({@link AfPacketDriver.Device#interfaceGone}); later bursts are dropped and
 * counted at once.
 * </ol>
 * A packet longer than a frame holds ({@code framesz - 32}) or than the interface's MTU allows
 * (MTU + 14 + 4 for a tag), and a chain whose segments do not add up to its pktLen
 * ({@link Mbuf#lengthsConsistent}), are dropped and counted in oerrors. The copy goes into a slice
 * bounded to the frame's data area ({@link PacketSocket#txData}), so even a wrong length could
 * only throw, never write into the next frame's header. Allocates nothing on the heap.
 */
final class AfPacketTxQueue extends TxQueue {
    private static final int ETH_HLEN = 14;

    private final AfPacketDriver.Device dev;
    private final PacketSocket sock;
    private final MemorySegment ring;
    private final long[] frameOffsets;
    private final MemorySegment[] txData;
    private final int frameCount;

    AfPacketTxQueue(AfPacketDriver.Device dev, PacketSocket sock) {
        this.dev = dev;
        this.sock = sock;
        this.ring = sock.map;
        this.frameOffsets = sock.frameOffsets;
        this.txData = sock.txData;
        this.frameCount = sock.frameCount;
    }

    @Override
    public int txBurst(Mbuf[] pkts, int off, int n) {
        if (n <= 0) return 0;
        if (dev.isGone()) return dropAll(pkts, off, n);
        PacketSocket s = sock;
        MemorySegment r = ring;
        long[] fo = frameOffsets;
        int base = frameCount, max = dev.txMaxLen;
        int first = s.txNext, i = first, k = 0, filled = 0, bad = 0;
        long bytes = 0;
        for (; k < n; k++) {                                                 // fill
            Mbuf m = pkts[off + k];
            int len = m.pktLen();
            if (len > max || len < ETH_HLEN || !m.lengthsConsistent()) {   // too long, a runt, or a chain at odds with pktLen
                bad++;
                continue;
            }
            long f = fo[base + i];
            int st = (int) STATUS.getAcquire(r, f);
            if (st != TP_STATUS_AVAILABLE) {
                if (st != TP_STATUS_WRONG_FORMAT) break;                     // full: the caller keeps the rest
                bad++;
            }
            MemorySegment frame = txData[i];                                 // bounded: this frame's data area
            int at = 0;
            for (Mbuf seg = m; seg != null; seg = seg.next()) {
                int dl = seg.dataLen();
                MemorySegment.copy(seg.buffer(), seg.dataOff(), frame, at, dl);
                at += dl;
            }
            r.set(JAVA_INT, f + OFF_LEN, len);
            STATUS.setRelease(r, f, TP_STATUS_SEND_REQUEST);
            filled++;
            bytes += len;
            i = i + 1 == frameCount ? 0 : i + 1;
        }
        s.txNext = i;
        Mbuf.freeBulk(pkts, off, k);                                         // free
        if (filled > 0) {
            long kick;
            if (Libc.sendNoErrno(s.fd, MemorySegment.NULL, 0, Libc.MSG_DONTWAIT) < 0   // kick
                    && !retryable(kick = Libc.send(s.fd, MemorySegment.NULL, 0, Libc.MSG_DONTWAIT))) {
                kickFailed(first, filled, bytes, bad, (int) -kick);
                return k;
            }
            countTx(filled, bytes);
        }
        if (bad > 0) countErrors(bad);
        return k;
    }

    /**
     * After a failed kick: every frame of the burst (from {@code first}) still SEND_REQUEST goes
     * back to AVAILABLE and {@code txNext} to the first of them; those count as errors, the
     * others (if the kernel sent some before failing) as sent.
     */
    private void kickFailed(int first, int filled, long bytes, int bad, int errno) {
        // ENXIO: the socket's device is gone (deleted); ENETDOWN is a link that is only down
        if (errno == Errno.ENXIO || errno == Errno.ENODEV) dev.interfaceGone("sendto: " + Errno.name(errno));
        PacketSocket s = sock;
        MemorySegment r = ring;
        int i = first, lost = 0, next = -1;
        long lostBytes = 0;
        for (int c = 0; c < filled; c++) {
            long f = frameOffsets[frameCount + i];
            if ((int) STATUS.getAcquire(r, f) == TP_STATUS_SEND_REQUEST) {
                if (next < 0) next = i;
                lostBytes += r.get(JAVA_INT, f + OFF_LEN);
                STATUS.setRelease(r, f, TP_STATUS_AVAILABLE);
                lost++;
            }
            i = i + 1 == frameCount ? 0 : i + 1;
        }
        if (next >= 0) s.txNext = next;
        if (filled > lost) countTx(filled - lost, bytes - lostBytes);
        countErrors(bad + lost);
    }

    /** The interface is gone: every packet is dropped and counted, the ring and the kernel left alone. */
    private int dropAll(Mbuf[] pkts, int off, int n) {
        Mbuf.freeBulk(pkts, off, n);
        countErrors(n);
        return n;
    }
}
