package org.jpdk.app.testpmd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.jpdk.app.testpmd.AfPacketVethTest.RECEIVER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.SENDER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.with;
import static org.jpdk.app.testpmd.MemifDpdkInteropTest.dpdkInteractive;
import static org.jpdk.app.testpmd.MemifDpdkInteropTest.oursInteractive;
import static org.jpdk.app.testpmd.MemifDpdkInteropTest.sendThenDrain;
import static org.jpdk.app.testpmd.NetnsTestPmd.portField;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our net_virtio_user against DPDK's net_vhost (Debian's dpdk-testpmd 22.11) over a vhost-user
 * socket, both directions: our txonly into DPDK's rxonly with the counts checked on both sides,
 * DPDK's txonly into ours with every frame's bytes checked through a net_pcap capture (64-byte
 * frames, and 9000-byte ones in chains that arrive over several mergeable rx buffers), our
 * frames' bytes checked through DPDK's own capture, and our port as the listener
 * ({@code server=1}) with DPDK's vhost connecting ({@code client=1}). Without dpdk-testpmd they
 * skip, and under CI they fail. The runs end as the memif interop's do: the sender stops
 * forwarding, the receiver drains and stops, then both quit.
 */
class VirtioUserDpdkInteropTest {
    private static String vhost(Path sock, String more) {
        return "net_vhost0,iface=" + sock + ",queues=1" + more;
    }

    private static String virtio(Path sock, String more) {
        return "net_virtio_user0,path=" + sock + more;
    }

    /** DPDK's vhost server first, its socket file there, so that our client's first connect finds it. */
    private static NetnsTestPmd listening(Path sock, NetnsTestPmd p) {
        long end = System.nanoTime() + 40_000_000_000L;
        while (!Files.exists(sock) && System.nanoTime() < end) sleep(20);
        assertTrue(Files.exists(sock), "no socket " + sock + ":\n" + p.output());
        return p;
    }

    private static void assertCounts(String txOut, String rxOut) {
        long sent = portField(txOut, 0, "TX-packets:"), received = portField(rxOut, 0, "RX-packets:");
        System.out.println("virtio-user interop: sent " + sent + ", received " + received);
        assertTrue(sent > 1000, "the sender sent next to nothing:\n" + txOut);
        assertEquals(sent, received, "every frame sent was received:\n" + txOut + "\n" + rxOut);
    }

    @Test
    @Timeout(90)
    void jpdkVirtioUserTxonlyToDpdkVhostRxonly(@TempDir Path dir) {
        Path sock = dir.resolve("vhost.sock");
        try (NetnsTestPmd rx = listening(sock, dpdkInteractive(null, with(RECEIVER_LCORES, "--vdev=" + vhost(sock, "")),
                "--forward-mode=rxonly"));
             NetnsTestPmd tx = oursInteractive(with(SENDER_LCORES, "--vdev", virtio(sock, "")), "--forward-mode=txonly")) {
            String[] out = sendThenDrain(tx, rx, 1500);
            assertCounts(out[0], out[1]);
        }
    }

    @Test
    @Timeout(90)
    void jpdkVirtioUserFramesReachDpdkVhostWhole(@TempDir Path dir) {
        Path sock = dir.resolve("vhost.sock"), pcap = dir.resolve("rx.pcap");
        try (NetnsTestPmd rx = listening(sock, dpdkInteractive(null, with(RECEIVER_LCORES, "--vdev=" + vhost(sock, ""),
                "--vdev=net_pcap0,tx_pcap=" + pcap), "--forward-mode=io"));
             NetnsTestPmd tx = oursInteractive(with(SENDER_LCORES, "--vdev", virtio(sock, ",mrg_rxbuf=0,in_order=0")),
                     "--forward-mode=txonly", "--txpkts=64")) {
            String[] out = sendThenDrain(tx, rx, 1000);
            long sent = portField(out[0], 0, "TX-packets:"), received = portField(out[1], 0, "RX-packets:");
            assertTrue(sent > 1000, out[0]);
            assertEquals(sent, received, "every frame we sent reached DPDK's vhost:\n" + out[0] + "\n" + out[1]);
            long written = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(tx.output()), 64, true);
            assertEquals(portField(out[1], 1, "TX-packets:"), written, "frames in " + pcap);
        }
    }

    @Test
    @Timeout(90)
    void dpdkVhostTxonlyFramesReachJpdkVirtioUserWhole(@TempDir Path dir) {
        Path sock = dir.resolve("vhost.sock"), pcap = dir.resolve("rx.pcap");
        try (NetnsTestPmd tx = listening(sock, dpdkInteractive(null, with(SENDER_LCORES, "--vdev=" + vhost(sock, "")),
                "--forward-mode=txonly", "--txpkts=64"));
             NetnsTestPmd rx = oursInteractive(with(RECEIVER_LCORES, "--vdev", virtio(sock, ""),
                     "--vdev", "net_pcap0,tx_pcap=" + pcap), "--forward-mode=io")) {
            String[] out = sendThenDrain(tx, rx, 1000);
            long sent = portField(out[0], 0, "TX-packets:"), received = portField(out[1], 0, "RX-packets:");
            assertTrue(sent > 1000, out[0]);
            assertEquals(sent, received, "every frame DPDK's vhost sent reached us:\n" + out[0] + "\n" + out[1]);
            long written = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(tx.output()), 64, false);
            assertEquals(portField(out[1], 1, "TX-packets:"), written, "frames in " + pcap);
            assertEquals(received, written + portField(out[1], 1, "TX-dropped:"), "received = captured + dropped by the pcap port");
        }
    }

    @Test
    @Timeout(90)
    void dpdkVhostJumboFramesArriveOverMergeableBuffers(@TempDir Path dir) {
        Path sock = dir.resolve("vhost.sock"), pcap = dir.resolve("rx.pcap");
        // DPDK builds 9000-byte frames of five segments; our 2048-byte rx buffers take each in five
        try (NetnsTestPmd tx = listening(sock, dpdkInteractive(null, with(SENDER_LCORES, "--vdev=" + vhost(sock, "")),
                "--forward-mode=txonly", "--txpkts=2000,2000,2000,2000,1000"));
             NetnsTestPmd rx = oursInteractive(with(RECEIVER_LCORES, "--vdev", virtio(sock, ""),
                     "--vdev", "net_pcap0,tx_pcap=" + pcap), "--forward-mode=io")) {
            String[] out = sendThenDrain(tx, rx, 1000);
            long sent = portField(out[0], 0, "TX-packets:"), received = portField(out[1], 0, "RX-packets:");
            assertTrue(sent > 100, out[0]);
            assertEquals(sent, received, "every jumbo frame reached us:\n" + out[0] + "\n" + out[1]);
            long written = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(tx.output()), 9000, false);
            assertEquals(portField(out[1], 1, "TX-packets:"), written, "frames in " + pcap);
        }
    }

    @Test
    @Timeout(90)
    void packedRingsBothWays(@TempDir Path dir) {
        Path sock = dir.resolve("vhost.sock"), pcap = dir.resolve("rx.pcap");
        // our frames into DPDK's capture, over packed rings
        try (NetnsTestPmd rx = listening(sock, dpdkInteractive(null, with(RECEIVER_LCORES, "--vdev=" + vhost(sock, ""),
                "--vdev=net_pcap0,tx_pcap=" + pcap), "--forward-mode=io"));
             NetnsTestPmd tx = oursInteractive(with(SENDER_LCORES, "--vdev", virtio(sock, ",packed_vq=1")),
                     "--forward-mode=txonly", "--txpkts=64")) {
            String[] out = sendThenDrain(tx, rx, 1000);
            long sent = portField(out[0], 0, "TX-packets:"), received = portField(out[1], 0, "RX-packets:");
            assertTrue(tx.output().contains("RING_PACKED"), "packed rings negotiated:\n" + tx.output());
            assertTrue(sent > 1000, out[0]);
            assertEquals(sent, received, "every frame we sent reached DPDK's vhost:\n" + out[0] + "\n" + out[1]);
            long written = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(tx.output()), 64, true);
            assertEquals(portField(out[1], 1, "TX-packets:"), written, "frames in " + pcap);
        }
    }

    @Test
    @Timeout(90)
    void dpdkVhostJumboFramesOverPackedRings(@TempDir Path dir) {
        Path sock = dir.resolve("vhost.sock"), pcap = dir.resolve("rx.pcap");
        try (NetnsTestPmd tx = listening(sock, dpdkInteractive(null, with(SENDER_LCORES, "--vdev=" + vhost(sock, "")),
                "--forward-mode=txonly", "--txpkts=2000,2000,2000,2000,1000"));
             NetnsTestPmd rx = oursInteractive(with(RECEIVER_LCORES, "--vdev", virtio(sock, ",packed_vq=1"),
                     "--vdev", "net_pcap0,tx_pcap=" + pcap), "--forward-mode=io")) {
            String[] out = sendThenDrain(tx, rx, 1000);
            long sent = portField(out[0], 0, "TX-packets:"), received = portField(out[1], 0, "RX-packets:");
            assertTrue(rx.output().contains("RING_PACKED"), "packed rings negotiated:\n" + rx.output());
            assertTrue(sent > 100, out[0]);
            assertEquals(sent, received, "every jumbo frame reached us:\n" + out[0] + "\n" + out[1]);
            long written = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(tx.output()), 9000, false);
            assertEquals(portField(out[1], 1, "TX-packets:"), written, "frames in " + pcap);
        }
    }

    @Test
    @Timeout(90)
    void dpdkVhostClientToJpdkVirtioUserServer(@TempDir Path dir) {
        Path sock = dir.resolve("vhost.sock");
        try (NetnsTestPmd rx = oursInteractive(with(RECEIVER_LCORES, "--vdev", virtio(sock, ",server=1")), "--forward-mode=rxonly");
             NetnsTestPmd tx = dpdkInteractive(null, with(SENDER_LCORES, "--vdev=" + vhost(sock, ",client=1")),
                     "--forward-mode=txonly")) {
            String[] out = sendThenDrain(tx, rx, 1500);
            assertCounts(out[0], out[1]);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
