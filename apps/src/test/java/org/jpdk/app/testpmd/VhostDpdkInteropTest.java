package org.jpdk.app.testpmd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.jpdk.app.testpmd.AfPacketVethTest.RECEIVER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.SENDER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.with;
import static org.jpdk.app.testpmd.MemifDpdkInteropTest.dpdkInteractive;
import static org.jpdk.app.testpmd.MemifDpdkInteropTest.oursInteractive;
import static org.jpdk.app.testpmd.MemifDpdkInteropTest.oursListening;
import static org.jpdk.app.testpmd.MemifDpdkInteropTest.sendThenDrain;
import static org.jpdk.app.testpmd.NetnsTestPmd.portField;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our net_vhost against DPDK's virtio-user front end (Debian's dpdk-testpmd 22.11 with
 * {@code --vdev=net_virtio_user0,path=<our socket>}): frames both ways with counts equal on both
 * sides and every frame's bytes checked through a net_pcap capture on the receiving side; packed
 * rings without mergeable buffers; and the front end leaving and another coming to the same
 * port. DPDK's virtio-user hands its memory over as file descriptors, so it runs with
 * {@code --no-huge --single-file-segments} (memfd-backed). Without dpdk-testpmd they skip, and
 * under CI they fail.
 *
 * <p>As with memif, frames still in a vring when the connection goes are gone with it: the sender
 * stops forwarding but keeps its link, the receiver drains and stops, then both quit.
 */
class VhostDpdkInteropTest {
    static final List<String> DPDK_SHARED_MEMORY = List.of("--no-huge", "--single-file-segments", "-m", "128");

    private static String vhost(Path sock, String more) {
        return "net_vhost0,iface=" + sock + more;
    }

    private static String virtioUser(Path sock, String more) {
        return "net_virtio_user0,path=" + sock + ",queues=1" + more;
    }

    /**
     * Our sender starts only once DPDK's receiver forwards: dpdk-testpmd flushes its rx queues when
     * forwarding starts (flush_fwd_rx_queues), which would discard what a sender that started first
     * put in the vring. Our testpmd runs interactive without --auto-start; DPDK's with it.
     */
    private static String[] receiverFirst(NetnsTestPmd tx, NetnsTestPmd rx, long millis) {
        rx.await("packet forwarding - ports=", 40);
        MemifDpdkInteropTest.sleep(300);
        tx.await("testpmd> ", 40);
        tx.type("start", "packet forwarding - ports=", 20);
        return MemifDpdkInteropTest.drain(tx, rx, millis);
    }

    private static NetnsTestPmd oursWaiting(List<String> eal, String... app) {
        List<String> a = new java.util.ArrayList<>(List.of("-i"));
        a.addAll(List.of(app));
        return NetnsTestPmd.jpdk(null, eal, a.toArray(String[]::new));
    }

    private static void assertCounts(String txOut, String rxOut) {
        long sent = portField(txOut, 0, "TX-packets:"), received = portField(rxOut, 0, "RX-packets:");
        System.out.println("vhost interop: sent " + sent + ", received " + received);
        assertTrue(sent > 1000, "the sender sent next to nothing:\n" + txOut);
        assertEquals(sent, received, "every frame sent was received:\n" + txOut + "\n" + rxOut);
    }

    @Test
    @Timeout(120)
    void dpdkVirtioUserTxonlyFramesReachJpdkVhostWhole(@TempDir Path dir) {
        Path sock = dir.resolve("vh.sock"), pcap = dir.resolve("rx.pcap");
        // our vhost receives and writes what it gets to a capture (io: vhost port 0 to pcap port 1)
        try (NetnsTestPmd rx = oursListening(sock, oursInteractive(with(RECEIVER_LCORES, "--vdev", vhost(sock, ""),
                "--vdev", "net_pcap0,tx_pcap=" + pcap), "--forward-mode=io"));
             NetnsTestPmd tx = dpdkInteractive(DPDK_SHARED_MEMORY, with(SENDER_LCORES, "--vdev=" + virtioUser(sock, "")),
                     "--forward-mode=txonly", "--txpkts=64")) {
            String[] out = sendThenDrain(tx, rx, 1500);
            assertCounts(out[0], out[1]);
            long written = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(tx.output()), 64, false);
            assertEquals(portField(out[1], 1, "TX-packets:"), written, "frames in " + pcap);
            assertEquals(portField(out[1], 0, "RX-packets:"), written + portField(out[1], 1, "TX-dropped:"),
                    "received = captured + dropped by the pcap port");
        }
    }

    @Test
    @Timeout(120)
    void jpdkVhostTxonlyFramesReachDpdkVirtioUserWhole(@TempDir Path dir) {
        Path sock = dir.resolve("vh.sock"), pcap = dir.resolve("rx.pcap");
        try (NetnsTestPmd tx = oursListening(sock, oursWaiting(with(SENDER_LCORES, "--vdev", vhost(sock, "")),
                "--forward-mode=txonly", "--txpkts=64"));
             NetnsTestPmd rx = dpdkInteractive(DPDK_SHARED_MEMORY, with(RECEIVER_LCORES, "--vdev=" + virtioUser(sock, ""),
                     "--vdev=net_pcap0,tx_pcap=" + pcap), "--forward-mode=io")) {
            String[] out = receiverFirst(tx, rx, 1500);
            assertCounts(out[0], out[1]);
            long written = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(tx.output()), 64, true);
            assertEquals(portField(out[1], 1, "TX-packets:"), written, "frames in " + pcap);
        }
    }

    @Test
    @Timeout(120)
    void packedRingsWithoutMergeableBuffersBothWays(@TempDir Path dir) {
        Path sock = dir.resolve("vh.sock");
        String fe = virtioUser(sock, ",packed_vq=1,mrg_rxbuf=0");
        try (NetnsTestPmd rx = oursListening(sock, oursInteractive(with(RECEIVER_LCORES, "--log-level", "pmd.net.vhost:info",
                "--vdev", vhost(sock, "")), "--forward-mode=rxonly"));
             NetnsTestPmd tx = dpdkInteractive(DPDK_SHARED_MEMORY, with(SENDER_LCORES, "--vdev=" + fe), "--forward-mode=txonly")) {
            rx.await("vring 1 (front end tx) runs (packed", 40);
            String[] out = sendThenDrain(tx, rx, 1500);
            assertCounts(out[0], out[1]);
        }
        Path sock2 = dir.resolve("vh2.sock");
        try (NetnsTestPmd tx = oursListening(sock2, oursWaiting(with(SENDER_LCORES, "--vdev", vhost(sock2, "")), "--forward-mode=txonly"));
             NetnsTestPmd rx = dpdkInteractive(DPDK_SHARED_MEMORY, with(RECEIVER_LCORES, "--vdev=" + virtioUser(sock2, ",packed_vq=1,mrg_rxbuf=0")),
                     "--forward-mode=rxonly")) {
            String[] out = receiverFirst(tx, rx, 1500);
            assertCounts(out[0], out[1]);
        }
    }

    @Test
    @Timeout(150)
    void theFrontEndLeavesAndAnotherComes(@TempDir Path dir) {
        Path sock = dir.resolve("vh.sock");
        try (NetnsTestPmd rx = oursListening(sock, oursInteractive(with(RECEIVER_LCORES, "--vdev", vhost(sock, "")), "--forward-mode=rxonly"))) {
            rx.await(MemifDpdkInteropTest.AUTO_STARTED, 40);
            long before = 0;
            for (int round = 0; round < 2; round++) {
                try (NetnsTestPmd tx = dpdkInteractive(DPDK_SHARED_MEMORY, with(SENDER_LCORES, "--vdev=" + virtioUser(sock, "")),
                        "--forward-mode=txonly")) {
                    tx.await(MemifDpdkInteropTest.AUTO_STARTED, 40);
                    MemifDpdkInteropTest.sleep(1000);
                    String txOut = tx.type("stop", MemifDpdkInteropTest.STOPPED, 20);
                    long sent = portField(txOut, 0, "TX-packets:");
                    assertTrue(sent > 1000, txOut);
                    long end = System.nanoTime() + 20_000_000_000L, got = -1;
                    while (System.nanoTime() < end) {
                        var m = java.util.regex.Pattern.compile("RX-packets:\\s+(\\d+)").matcher(rx.type("show port stats 0", "Tx-bps", 20));
                        got = m.find() ? Long.parseLong(m.group(1)) : -1;
                        if (got == before + sent) break;
                        MemifDpdkInteropTest.sleep(200);
                    }
                    assertEquals(before + sent, got, "round " + round + ": every frame of this front end arrived");
                    before = got;
                    tx.quit(20);
                }
            }
            String rxOut = rx.type("show port xstats 0", "vhost_protocol_errors", 20);
            assertTrue(rxOut.matches("(?s).*vhost_connects:\\s+2.*"), rxOut);
            rx.type("stop", MemifDpdkInteropTest.STOPPED, 20);
            rx.quit(20);
        }
    }
}
