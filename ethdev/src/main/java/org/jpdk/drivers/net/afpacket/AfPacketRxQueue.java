package org.jpdk.drivers.net.afpacket;

import org.jpdk.ethdev.RxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.jpdk.drivers.net.afpacket.PacketSocket.*;

/**
 * The receive side of one net_af_packet queue pair: walks the socket's RX ring from
 * {@link PacketSocket#rxNext}, copies each frame the kernel handed over (status USER) into mbufs
 * of the queue's pool and gives the frame straight back (status KERNEL).
 *
 * <ul>
 * <li>A frame longer than one mbuf's room becomes a chain (RX_SCATTER); the chain's extra segments
 * have no headroom.
 * <li>When the pool is dry the burst stops: rx_nombuf counts one, and the frame stays in the ring
 * for the next burst (as DPDK). If the app never frees mbufs, the ring fills and the kernel drops,
 * which shows as imissed.
 * <li>A frame the kernel had to cut (tp_snaplen below tp_len: longer than framesz allows) or that
 * is shorter than an Ethernet header is given back and counted in ierrors.
 * <li>A VLAN tag the kernel took out (TP_STATUS_VLAN_VALID) is reported as DPDK does: vlanTci and
 * {@link Mbuf#F_RX_VLAN}; with the VLAN_STRIP rx offload also {@link Mbuf#F_RX_VLAN_STRIPPED} and
 * the data stays untagged; without it the tag (with the kernel's TPID, 0x8100 if it gave none) is
 * put back in front of the EtherType, as rte_vlan_insert does, so the app sees the frame as sent.
 * <li>Every {@link #ERROR_CHECK_INTERVAL} empty bursts one poll (timeout 0) looks for an error the
 * kernel set on the socket: that is how a port that only receives learns that its interface was
 * deleted ({@link AfPacketDriver.Device#socketError}).
 * </ul>
 * Allocates nothing on the heap; the counters are written by the polling lcore only.
 */
final class AfPacketRxQueue extends RxQueue {
    private static final int ETH_HLEN = 14, VLAN_HLEN = 4, ETH_ADDRS = 12, TPID_8021Q = 0x8100;
    /**
     * Empty bursts between two looks at the socket's error state (one poll with timeout 0, no
     * allocation): a few milliseconds of busy polling, a fraction of a percent of its time.
     */
    static final int ERROR_CHECK_INTERVAL = 1 << 14;

    private final AfPacketDriver.Device dev;
    private final PacketSocket sock;
    private final MemorySegment ring;
    private final long[] frameOffsets;
    private final int frameCount, frameSize;
    private final Mempool<Mbuf> pool;
    private final boolean vlanStrip, timestamps;
    private int emptyBursts;

    AfPacketRxQueue(AfPacketDriver.Device dev, PacketSocket sock, Mempool<Mbuf> pool, boolean vlanStrip, boolean timestamps) {
        this.dev = dev;
        this.sock = sock;
        this.ring = sock.map;
        this.frameOffsets = sock.frameOffsets;
        this.frameCount = sock.frameCount;
        this.frameSize = sock.frameSize;
        this.pool = pool;
        this.vlanStrip = vlanStrip;
        this.timestamps = timestamps;
    }

    @Override
    public int rxBurst(Mbuf[] pkts, int off, int n) {
        PacketSocket s = sock;
        MemorySegment r = ring;
        long[] fo = frameOffsets;
        int i = s.rxNext, got = 0, bad = 0, port = portId;
        long bytes = 0;
        while (got < n) {
            long f = fo[i];
            int status = (int) STATUS.getAcquire(r, f);                       // A1
            if ((status & TP_STATUS_USER) == 0) break;
            int len = r.get(JAVA_INT, f + OFF_LEN), snap = r.get(JAVA_INT, f + OFF_SNAPLEN);
            int mac = r.get(JAVA_SHORT, f + OFF_MAC) & 0xffff;
            if (snap != len || snap < ETH_HLEN || mac + (long) snap > frameSize) {   // bounded: the copy stays in this frame
                bad++;
            } else {
                Mbuf m = copyIn(r, f + mac, snap);
                if (m == null) {
                    countNombuf(1);
                    break;                                                    // the frame stays for the next burst
                }
                if ((status & TP_STATUS_VLAN_VALID) != 0) vlan(m, r, f, status);
                if (timestamps) {
                    m.timestamp = (r.get(JAVA_INT, f + OFF_SEC) & 0xffffffffL) * 1_000_000_000L + r.get(JAVA_INT, f + OFF_NSEC);
                    m.olFlags |= Mbuf.F_RX_TIMESTAMP;
                }
                m.port = port;
                pkts[off + got++] = m;
                bytes += m.pktLen();
            }
            STATUS.setRelease(r, f, TP_STATUS_KERNEL);                        // R1
            i = i + 1 == frameCount ? 0 : i + 1;
        }
        s.rxNext = i;
        if (got > 0) countRx(got, bytes);
        if (bad > 0) countErrors(bad);
        if (got == 0 && (++emptyBursts & (ERROR_CHECK_INTERVAL - 1)) == 0) checkSocket();
        return got;
    }

    /** Every ERROR_CHECK_INTERVAL empty bursts: has the kernel flagged the socket (interface down or deleted)? */
    private void checkSocket() {
        if (!dev.isGone() && sock.errorPending()) dev.socketError(sock);
    }

    /** Copies {@code len} bytes at {@code at} into a fresh mbuf, chained when needed; null (nothing kept) when the pool is dry. */
    private Mbuf copyIn(MemorySegment r, long at, int len) {
        Mbuf head = Mbuf.alloc(pool);
        if (head == null) return null;
        int k = Math.min(len, head.tailroom());
        MemorySegment.copy(r, at, head.buffer(), head.dataOff(), k);
        head.appendOffset(k);
        for (int done = k; done < len; done += k) {
            Mbuf seg = Mbuf.alloc(pool);
            if (seg == null) {
                head.free();
                return null;
            }
            seg.setData(0, 0);
            k = Math.min(len - done, seg.tailroom());
            MemorySegment.copy(r, at + done, seg.buffer(), 0, k);
            seg.appendOffset(k);
            if (!head.chain(seg)) {
                seg.free();
                head.free();
                return null;
            }
        }
        return head;
    }

    private void vlan(Mbuf m, MemorySegment r, long f, int status) {
        int tci = r.get(JAVA_SHORT, f + OFF_VLAN_TCI) & 0xffff;
        m.vlanTci = tci;
        if (vlanStrip || m.dataLen() < ETH_ADDRS || m.prependOffset(VLAN_HLEN) < 0) {
            m.olFlags |= Mbuf.F_RX_VLAN | Mbuf.F_RX_VLAN_STRIPPED;
            return;
        }
        int tpid = (status & TP_STATUS_VLAN_TPID_VALID) != 0 ? r.get(JAVA_SHORT, f + OFF_VLAN_TPID) & 0xffff : 0;
        MemorySegment b = m.buffer();
        int d = m.dataOff();
        MemorySegment.copy(b, d + VLAN_HLEN, b, d, ETH_ADDRS);               // the MACs move to the front
        m.writeShort(ETH_ADDRS, tpid == 0 ? TPID_8021Q : tpid);
        m.writeShort(ETH_ADDRS + 2, tci);
        m.olFlags |= Mbuf.F_RX_VLAN;
    }

    /** Readable (POLLIN) while the RX ring holds a frame: the socket itself. */
    @Override
    protected int interruptFd() {
        return sock.fd;
    }
}
