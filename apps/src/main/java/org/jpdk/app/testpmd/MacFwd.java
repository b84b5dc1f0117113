package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ether;

/**
 * testpmd's mac mode (macfwd.c): every packet leaves with the transmit port's address as source
 * and that port's peer ({@code --eth-peer}) as destination. Packets shorter than the two addresses
 * are forwarded untouched. Allocates nothing after {@link #streamBegin}.
 */
final class MacFwd implements FwdEngine {
    @Override
    public String name() {
        return "mac";
    }

    @Override
    public void streamBegin(FwdStream fs) {
        fs.engineState = Addrs.of(fs);
    }

    @Override
    public void forward(FwdStream fs) {
        int n = fs.rxBurst();
        if (n == 0) return;
        Addrs a = Addrs.get(fs);
        Mbuf[] pkts = fs.pkts;
        for (int i = 0; i < n; i++) {
            Mbuf m = pkts[i];
            if (m.dataLen() >= 2 * Ether.ADDR_LEN) Ether.setAddrs(m, a.dst, a.src);
        }
        fs.txBurst(n);
    }

    /**
     * The addresses a stream writes (mac, csum): the transmit port's own and its peer's, read once
     * in streamBegin because {@code EthDev.macAddr()} synchronizes.
     */
    static final class Addrs {
        final long src, dst;

        private Addrs(long src, long dst) {
            this.src = src;
            this.dst = dst;
        }

        static Addrs of(FwdStream fs) {
            return new Addrs(fs.txPort.macAddr().value(), fs.cfg.peerAddrs[fs.txPort.id()].value());
        }

        /** The stream's addresses; made here once if streamBegin was not called. */
        static Addrs get(FwdStream fs) {
            if (fs.engineState instanceof Addrs a) return a;
            Addrs a = of(fs);
            fs.engineState = a;
            return a;
        }
    }
}
