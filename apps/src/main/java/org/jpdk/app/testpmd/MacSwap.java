package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ether;

/**
 * testpmd's macswap mode (macswap.c): swaps the destination and source addresses of every packet
 * and sends it back out. Packets shorter than the two addresses go untouched. Allocates nothing.
 */
final class MacSwap implements FwdEngine {
    @Override
    public String name() {
        return "macswap";
    }

    @Override
    public void forward(FwdStream fs) {
        int n = fs.rxBurst();
        if (n == 0) return;
        Mbuf[] pkts = fs.pkts;
        for (int i = 0; i < n; i++) {
            Mbuf m = pkts[i];
            if (m.dataLen() >= 2 * Ether.ADDR_LEN) Ether.swapMacs(m);
        }
        fs.txBurst(n);
    }
}
