package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

/**
 * testpmd's txonly mode (txonly.c): receives nothing and sends bursts of {@code cfg.burst}
 * Ether/IPv4/UDP packets of {@code cfg.txPktLength()} bytes from the transmit port's address to
 * its peer, {@code txIpSrc:txUdpSrc -> txIpDst:txUdpDst}, as chains of
 * {@code cfg.txPktSegLengths} segments. The headers come from a template made in
 * {@link #streamBegin}, stored only where a recycled buffer does not already hold them
 * ({@link UdpTemplate#copyTo}); the payload is whatever the buffer held, as in DPDK. When the pool runs
 * out it sends what it could make (nothing counted when nothing was made). Allocates nothing
 * after streamBegin.
 */
final class TxOnly implements FwdEngine {
    @Override
    public String name() {
        return "txonly";
    }

    @Override
    public void streamBegin(FwdStream fs) {
        fs.engineState = template(fs);
    }

    static UdpTemplate template(FwdStream fs) {
        FwdConfig c = fs.cfg;
        return new UdpTemplate("txonly", c.peerAddrs[fs.txPort.id()].value(), fs.txPort.macAddr().value(),
                c.txIpSrc, c.txIpDst, c.txUdpSrc, c.txUdpDst, c.txIpTtl, c.txPktLength());
    }

    @Override
    public void forward(FwdStream fs) {
        UdpTemplate t = fs.engineState instanceof UdpTemplate u ? u : (UdpTemplate) (fs.engineState = template(fs));
        FwdConfig c = fs.cfg;
        Mbuf[] pkts = fs.pkts;
        int burst = c.burst;
        Mempool<Mbuf> pool = c.txPool;
        int[] segs = c.txPktSegLengths;
        int made = 0;
        if (Mbuf.allocBulk(pool, pkts, 0, burst)) {
            for (; made < burst && build(pkts[made], pool, segs); made++) t.copyTo(pkts[made]);
            if (made < burst) Mbuf.freeBulk(pkts, made, burst - made);
        } else {
            // nearly empty pool: one packet at a time, each with its segments, until something runs out (as txonly.c)
            for (; made < burst; made++) {
                Mbuf m = Mbuf.alloc(pool);
                if (m == null) break;
                if (!build(m, pool, segs)) {
                    m.free();
                    break;
                }
                t.copyTo(m);
                pkts[made] = m;
            }
        }
        fs.txBurst(made);
    }

    /** {@code n} fresh mbufs at the front of {@code pkts}: in one bulk get, else one by one until the pool is empty (as txonly.c). */
    static int allocBurst(Mempool<Mbuf> pool, Mbuf[] pkts, int n) {
        if (Mbuf.allocBulk(pool, pkts, 0, n)) return n;
        int i = 0;
        while (i < n && (pkts[i] = Mbuf.alloc(pool)) != null) i++;
        return i;
    }

    /** Gives {@code pkt} its segments and lengths; false (pkt left as a fresh single segment) if the pool runs out or a length does not fit. */
    static boolean build(Mbuf pkt, Mempool<Mbuf> pool, int[] segs) {
        if (pkt.appendOffset(segs[0]) < 0) return false;
        for (int i = 1; i < segs.length; i++) {
            Mbuf seg = Mbuf.alloc(pool);
            if (seg == null || seg.appendOffset(segs[i]) < 0 || !pkt.chain(seg)) {
                if (seg != null) seg.free();
                unchain(pkt);
                return false;
            }
        }
        return true;
    }

    private static void unchain(Mbuf pkt) {
        Mbuf rest = pkt.next();
        if (rest != null) rest.free(); // frees the chain after the first segment; pkt itself is freed by the caller
        pkt.reset();
    }
}
