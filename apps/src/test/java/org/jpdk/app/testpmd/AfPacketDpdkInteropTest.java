package org.jpdk.app.testpmd;

import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.jpdk.app.testpmd.AfPacketVethTest.RECEIVER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.SENDER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.with;
import static org.jpdk.app.testpmd.NetnsTestPmd.portField;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our testpmd against DPDK's (Debian's dpdk-testpmd 22.11, its own net_af_packet) over a veth
 * pair between two namespaces, in both directions. Without root or dpdk-testpmd they skip, and
 * under CI ({@code -Djpdk.ci=true}) they fail.
 *
 * <p>DPDK 22.11's net_af_packet does not report the socket's drops (its RX-dropped stays 0 while
 * the kernel drops frames its ring has no room for), so when DPDK receives, the exact check uses a
 * bounded send: our testpmd's {@code --tx-first} (one txonly burst, then io forwarding of nothing)
 * of fewer frames than DPDK's ring holds (framecnt 512). At full speed only "no more than sent"
 * can be checked there.
 */
class AfPacketDpdkInteropTest {
    @Test
    @Timeout(60)
    void dpdkTxonlyToJpdkRxonly() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_packet0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 20);
                 NetnsTestPmd tx = NetnsTestPmd.dpdk(ns[0], with(SENDER_LCORES, "--vdev=net_af_packet0,iface=va"),
                         "--forward-mode=txonly").await(NetnsTestPmd.READY, 20)) {
                String txOut = tx.runFor(1500);
                String rxOut = rx.runFor(300);
                AfPacketVethTest.assertCountsAddUp(nf, ns, txOut, rxOut);
            }
        }
    }

    @Test
    @Timeout(60)
    void dpdkTxonlyFramesAreWhatDpdkSends(@TempDir Path dir) {
        Path pcap = dir.resolve("rx.pcap");
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_packet0,iface=vb",
                    "--vdev", "net_pcap0,tx_pcap=" + pcap), "--forward-mode=io").await(NetnsTestPmd.READY, 20);
                 NetnsTestPmd tx = NetnsTestPmd.dpdk(ns[0], with(SENDER_LCORES, "--vdev=net_af_packet0,iface=va"),
                         "--forward-mode=txonly", "--txpkts=64").await(NetnsTestPmd.READY, 20)) {
                String txOut = tx.runFor(700);
                String rxOut = rx.runFor(300);
                AfPacketVethTest.assertCountsAddUp(nf, ns, txOut, rxOut);
                long received = portField(rxOut, 0, "RX-packets:");
                // DPDK's txonly leaves the payload as the buffer held it: only the headers are compared
                long frames = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(txOut), 64, false);
                assertEquals(received, frames, "frames in " + pcap);
            }
        }
    }

    @Test
    @Timeout(60)
    void jpdkTxonlyToDpdkRxonly() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            // bounded: one txonly burst of 256, fewer than DPDK's rx ring holds, so nothing may be lost
            try (NetnsTestPmd rx = NetnsTestPmd.dpdk(ns[1], with(RECEIVER_LCORES, "--vdev=net_af_packet0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 20);
                 NetnsTestPmd tx = NetnsTestPmd.jpdk(ns[0], with(SENDER_LCORES, "--vdev", "net_af_packet0,iface=va"),
                         "--forward-mode=io", "--tx-first", "--burst=256").await(NetnsTestPmd.READY, 20)) {
                String txOut = tx.runFor(300);
                String rxOut = rx.runFor(300);
                long sent = portField(txOut, 0, "TX-packets:");
                assertEquals(256, sent, "our tx-first burst went out whole:\n" + txOut);
                assertEquals(sent, portField(rxOut, 0, "RX-packets:"), "DPDK received every frame we sent:\n" + rxOut);
            }
            // full speed: DPDK counts no drops of its own, so only "received, and no more than sent"
            String before = nf.ip(ns[0], "-s", "-j", "link", "show", "va");
            try (NetnsTestPmd rx = NetnsTestPmd.dpdk(ns[1], with(RECEIVER_LCORES, "--vdev=net_af_packet0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 20);
                 NetnsTestPmd tx = NetnsTestPmd.jpdk(ns[0], with(SENDER_LCORES, "--vdev", "net_af_packet0,iface=va"),
                         "--forward-mode=txonly").await(NetnsTestPmd.READY, 20)) {
                String txOut = tx.runFor(1000);
                String rxOut = rx.runFor(300);
                long sent = portField(txOut, 0, "TX-packets:"), received = portField(rxOut, 0, "RX-packets:");
                String va = nf.ip(ns[0], "-s", "-j", "link", "show", "va");
                long vaTx = AfPacketVethTest.kernelCounter(va, "tx", "packets") - AfPacketVethTest.kernelCounter(before, "tx", "packets");
                long vaDropped = AfPacketVethTest.kernelCounter(va, "tx", "dropped") - AfPacketVethTest.kernelCounter(before, "tx", "dropped");
                assertTrue(sent > 1000, "we sent next to nothing:\n" + txOut);
                assertEquals(sent, vaTx + vaDropped, "every frame we sent reached va: before " + before + ", after " + va);
                assertTrue(received > 0 && received <= vaTx, "DPDK received " + received + " of " + vaTx + " that va forwarded");
            }
        }
    }

    @Test
    @Timeout(60)
    void dpdkTxFirstBurstReachesJpdkWhole() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_packet0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 20);
                 NetnsTestPmd tx = NetnsTestPmd.dpdk(ns[0], with(SENDER_LCORES, "--vdev=net_af_packet0,iface=va"),
                         "--forward-mode=io", "--tx-first", "--burst=256").await(NetnsTestPmd.READY, 20)) {
                String txOut = tx.runFor(300);
                String rxOut = rx.runFor(300);
                long sent = portField(txOut, 0, "TX-packets:");
                assertEquals(256, sent, "DPDK's tx-first burst went out whole:\n" + txOut);
                assertEquals(sent, portField(rxOut, 0, "RX-packets:"), "we received every frame DPDK sent:\n" + rxOut);
                assertEquals(0, portField(rxOut, 0, "RX-dropped:"), rxOut);
            }
        }
    }
}
