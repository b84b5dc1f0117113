package org.jpdk.app.pktgen;

import org.HdrHistogram.SingleWriterRecorder;
import org.jpdk.ethdev.EthDev;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Udp;

import static org.jpdk.app.pktgen.Pktgen.MAGIC;
import static org.jpdk.app.pktgen.Pktgen.SIG_LEN;
import static org.jpdk.app.pktgen.Pktgen.MAX_BURST;
import static org.jpdk.app.pktgen.Pktgen.LATENCY_MAX_NS;

/**
 * What one port receives: packet and byte counts, test packets by signature, sequence numbers
 * going backwards per sending port, and latency into a single-writer HdrHistogram recorder.
 * Run by one lcore; {@link #poll} allocates nothing.
 */
final class RxStream extends Counters {
    static final int PACKETS = 0, BYTES = 1, TEST = 2, OTHER = 3, BAD_CKSUM = 4, OUT_OF_ORDER = 5, FIRST = 6, LAST = 7;
    final EthDev port;
    final boolean verify;
    final Mbuf[] pkts = new Mbuf[MAX_BURST];
    final int[] nextSeq = new int[EthDev.MAX_PORTS];
    final boolean[] seen = new boolean[EthDev.MAX_PORTS];
    final SingleWriterRecorder latency = new SingleWriterRecorder(1, LATENCY_MAX_NS, 3);
    private boolean first = true;

    RxStream(EthDev port, boolean verify) {
        super(9);
        this.port = port;
        this.verify = verify;
    }

    int poll() {
        int n = port.rxBurst(0, pkts, 0, MAX_BURST);
        if (n == 0) return 0;
        long now = System.nanoTime();
        if (first) {
            first = false;
            put(FIRST, now);
        }
        put(LAST, now);
        long bytes = 0;
        int tests = 0, others = 0, bad = 0, late = 0;
        for (int i = 0; i < n; i++) {
            Mbuf m = pkts[i];
            bytes += m.pktLen();
            int sig = signature(m);
            if (sig < 0) {
                others++;
                continue;
            }
            tests++;
            if (verify && !(Ipv4.cksumVerify(m, sig >>> 16) && Ipv4.udptcpCksumVerify(m, sig >>> 16))) bad++;
            int at = sig & 0xffff;
            int from = m.readShort(at + 2) & (EthDev.MAX_PORTS - 1);
            int s = m.readInt(at + 4);
            if (seen[from] && s - nextSeq[from] < 0) {
                late++;
            } else {
                seen[from] = true;
                nextSeq[from] = s + 1;
            }
            long lat = now - m.readLong(at + 8);
            latency.recordValue(Math.max(1, Math.min(LATENCY_MAX_NS, lat)));
        }
        Mbuf.freeBulk(pkts, 0, n);
        add(PACKETS, n);
        add(BYTES, bytes);
        if (tests > 0) add(TEST, tests);
        if (others > 0) add(OTHER, others);
        if (bad > 0) add(BAD_CKSUM, bad);
        if (late > 0) add(OUT_OF_ORDER, late);
        return n;
    }

    /**
     * {@code l3 << 16 | signature offset} of a test packet (IPv4/UDP whose payload starts with
     * the magic and holds the whole signature, within a valid total length), else -1.
     */
    static int signature(Mbuf m) {
        int l2 = Ether.l2Len(m);
        if (l2 < 0 || m.readShort(l2 - 2) != Ether.TYPE_IPV4) return -1;
        int hl = Ipv4.headerLen(m, l2);
        if (hl < 0 || Ipv4.proto(m, l2) != Ipv4.PROTO_UDP || Ipv4.l4Len(m, l2) < Udp.HDR_LEN + SIG_LEN) return -1;
        int sig = l2 + hl + Udp.HDR_LEN;
        if (sig + SIG_LEN > m.dataLen() || m.readShort(sig) != MAGIC) return -1;
        return l2 << 16 | sig;
    }
}
