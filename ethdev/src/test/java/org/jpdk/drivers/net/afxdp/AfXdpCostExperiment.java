package org.jpdk.drivers.net.afxdp;

import org.jpdk.ethdev.EthDev;
import org.jpdk.mbuf.Mbuf;
import org.junit.jupiter.api.Test;

/**
 * Where a frame's time goes on one thread: bursts of 32 64-byte frames sent by one net_af_xdp port
 * into a veth pair and received by another, timing txBurst (which in copy mode includes the
 * kernel's whole path: the copy into a socket buffer, veth, the receiving veth's XDP program and
 * the copy into the receiver's UMEM) apart from rxBurst (reading descriptors, refilling the fill
 * ring), with busy polling on and off. Not run by the suite (no Test suffix); as root:
 * {@code mvn -q -o -pl ethdev -am test -Dtest=AfXdpCostExperiment -Dsurefire.failIfNoSpecifiedTests=false}.
 * On the 2-core build machine under load (load average 7): tx 1.8 to 3.0 µs per frame, rx 20 to 60 ns.
 */
class AfXdpCostExperiment extends AfXdpTestBase {
    @Test
    void nanosecondsPerFrame() {
        nf.veth(nsA, "va", nsB, "vb");
        for (String budget : new String[]{"64", "0"}) {
            EthDev a = ready(nsA, "net_af_xdp0,iface=va,busy_budget=" + budget);
            EthDev b = ready(nsB, "net_af_xdp1,iface=vb,busy_budget=" + budget);
            Mbuf[] tx = new Mbuf[32], rx = new Mbuf[32];
            for (int round = 0; round < 6; round++) {
                long txNs = 0, rxNs = 0, pkts = 0;
                for (int it = 0; it < 20000; it++) {
                    Mbuf.allocBulk(pool, tx, 0, 32);
                    for (int i = 0; i < 32; i++) {
                        tx[i].appendOffset(60);
                        tx[i].writeShort(12, ETHERTYPE);
                    }
                    long t0 = System.nanoTime();
                    for (int sent = 0; sent < 32; ) sent += a.txBurst(0, tx, sent, 32 - sent);
                    long t1 = System.nanoTime();
                    int got = 0;
                    while (got < 32) got += b.rxBurst(0, rx, got, 32 - got);
                    long t2 = System.nanoTime();
                    Mbuf.freeBulk(rx, 0, got);
                    txNs += t1 - t0;
                    rxNs += t2 - t1;
                    pkts += 32;
                }
                System.out.printf("busy_budget=%s round %d: tx %.0f ns per frame (the kernel's path included), rx %.0f ns per frame%n",
                        budget, round, (double) txNs / pkts, (double) rxNs / pkts);
            }
            EthDev.closeAll();
        }
    }
}
