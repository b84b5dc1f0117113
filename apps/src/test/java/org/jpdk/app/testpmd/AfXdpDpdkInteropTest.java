package org.jpdk.app.testpmd;

import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.jpdk.app.testpmd.AfPacketVethTest.RECEIVER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.SENDER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.with;
import static org.jpdk.app.testpmd.NetnsTestPmd.portField;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our testpmd on net_af_xdp against DPDK's (Debian's dpdk-testpmd 22.11) on the other end of a
 * veth pair, both directions: against its net_af_xdp (which attaches libxdp's program to its own
 * interface) and against its net_af_packet. Without root or dpdk-testpmd they skip; under CI they
 * fail.
 *
 * <p>DPDK's net_af_xdp reports the kernel's drops as RX-dropped, so at full speed the counts must
 * add up exactly as between two jpdk ports; its net_af_packet does not (see
 * AfPacketDpdkInteropTest), so toward it the send is one bounded {@code --tx-first} burst.
 */
class AfXdpDpdkInteropTest {
    @Test
    @Timeout(90)
    void dpdkAfXdpTxonlyToJpdkAfXdpRxonly() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            String before = nf.ip(ns[0], "-s", "-j", "link", "show", "va");
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_xdp0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 30);
                 NetnsTestPmd tx = NetnsTestPmd.dpdk(ns[0], with(SENDER_LCORES, "--vdev=net_af_xdp0,iface=va"),
                         "--forward-mode=txonly").await(NetnsTestPmd.READY, 30)) {
                String txOut = tx.runFor(1500);
                String rxOut = rx.runFor(300);
                AfXdpVethTest.assertCountsAddUp(nf, ns, txOut, rxOut, before);
            }
        }
    }

    @Test
    @Timeout(90)
    void jpdkAfXdpTxonlyToDpdkAfXdpRxonly() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            String before = nf.ip(ns[0], "-s", "-j", "link", "show", "va");
            try (NetnsTestPmd rx = NetnsTestPmd.dpdk(ns[1], with(RECEIVER_LCORES, "--vdev=net_af_xdp0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 30);
                 NetnsTestPmd tx = NetnsTestPmd.jpdk(ns[0], with(SENDER_LCORES, "--vdev", "net_af_xdp0,iface=va"),
                         "--forward-mode=txonly").await(NetnsTestPmd.READY, 30)) {
                String txOut = tx.runFor(1500);
                String rxOut = rx.runFor(300);
                AfXdpVethTest.assertCountsAddUp(nf, ns, txOut, rxOut, before);
            }
            AfXdpVethTest.awaitNoXdp(nf, ns[1], "vb");
        }
    }

    @Test
    @Timeout(90)
    void dpdkAfPacketToJpdkAfXdpAndBack() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            String before = nf.ip(ns[0], "-s", "-j", "link", "show", "va");
            // DPDK's af_packet at full speed into our af_xdp: our drops are counted, so everything adds up
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_xdp0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 30);
                 NetnsTestPmd tx = NetnsTestPmd.dpdk(ns[0], with(SENDER_LCORES, "--vdev=net_af_packet0,iface=va"),
                         "--forward-mode=txonly").await(NetnsTestPmd.READY, 30)) {
                String txOut = tx.runFor(1500);
                String rxOut = rx.runFor(300);
                AfXdpVethTest.assertCountsAddUp(nf, ns, txOut, rxOut, before);
            }
            // our af_xdp into DPDK's af_packet: one bounded burst, fewer than its ring holds, all of it received
            try (NetnsTestPmd rx = NetnsTestPmd.dpdk(ns[0], with(RECEIVER_LCORES, "--vdev=net_af_packet0,iface=va"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 30);
                 NetnsTestPmd tx = NetnsTestPmd.jpdk(ns[1], with(SENDER_LCORES, "--vdev", "net_af_xdp0,iface=vb"),
                         "--forward-mode=io", "--tx-first", "--burst=256").await(NetnsTestPmd.READY, 30)) {
                String txOut = tx.runFor(300);
                String rxOut = rx.runFor(300);
                long sent = portField(txOut, 0, "TX-packets:");
                assertEquals(256, sent, "our tx-first burst went out whole:\n" + txOut);
                assertEquals(sent, portField(rxOut, 0, "RX-packets:"), "DPDK's af_packet received every frame we sent:\n" + rxOut);
            }
        }
    }

    @Test
    @Timeout(90)
    void dpdkAfXdpTxFirstBurstReachesJpdkWhole() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_xdp0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 30);
                 NetnsTestPmd tx = NetnsTestPmd.dpdk(ns[0], with(SENDER_LCORES, "--vdev=net_af_xdp0,iface=va"),
                         "--forward-mode=io", "--tx-first", "--burst=256").await(NetnsTestPmd.READY, 30)) {
                String txOut = tx.runFor(300);
                String rxOut = rx.runFor(300);
                long sent = portField(txOut, 0, "TX-packets:");
                assertTrue(sent > 0 && sent <= 256, "DPDK's tx-first burst:\n" + txOut);
                assertEquals(sent, portField(rxOut, 0, "RX-packets:"), "we received every frame DPDK sent:\n" + rxOut);
                assertEquals(0, portField(rxOut, 0, "RX-dropped:"), rxOut);
            }
        }
    }
}
