package org.jpdk.app.testpmd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.jpdk.app.testpmd.AfPacketVethTest.RECEIVER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.SENDER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.with;
import static org.jpdk.app.testpmd.NetnsTestPmd.portField;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our testpmd against DPDK's (Debian's dpdk-testpmd 22.11, its own net_memif) over a memif
 * socket, in both roles: txonly one way and rxonly the other with the counts checked on both
 * sides (memif loses nothing: a frame leaves only into a free slot, and the receiver drains the
 * ring before it stops), the frames' bytes checked through a net_pcap capture on the receiving
 * side, io forwarding through DPDK and back, DPDK's zero-copy client, our zero-copy client, and
 * our rx interrupts woken by DPDK's eventfd writes. Without dpdk-testpmd they skip, and under CI
 * they fail. The sockets are files in a temporary directory ({@code socket-abstract=no}).
 *
 * <p>How the runs end matters, because frames still in a ring when the connection goes are gone
 * with it: the sender stops forwarding but keeps its link (interactive {@code stop}), the receiver
 * drains the ring and stops, then the sender quits. Three habits of DPDK 22.11's net_memif shape
 * the rest. Its client connects once, at start, and never again, so our server starts first (its
 * socket exists) when DPDK is the client. Its statistics count only while connected (summed over
 * the rings of the connection, which a disconnect forgets), so DPDK prints its counts before we
 * disconnect. And it unmaps a connection's memory while its own lcore may still poll the ring, so
 * a peer that leaves while DPDK forwards can make it die of SIGSEGV; we leave only once DPDK's
 * forwarding has stopped.
 */
class MemifDpdkInteropTest {
    /** DPDK's zero-copy client needs its memory in files (hugepages, one per memseg list). */
    private static final List<String> DPDK_ZC_MEMORY = List.of("--in-memory", "--single-file-segments", "-m", "128");

    private static String memif(String role, Path sock, String more) {
        return "net_memif0,role=" + role + ",socket=" + sock + ",socket-abstract=no" + more;
    }

    /**
     * Both testpmds wait up to 9 s for their links at start, as dpdk-testpmd does, and a memif
     * link is up only once both are there: start both, then wait for both.
     */
    private static void ready(NetnsTestPmd... all) {
        for (NetnsTestPmd p : all) p.await(NetnsTestPmd.READY, 40);
    }

    private static void assertCounts(String txOut, String rxOut) {
        long sent = portField(txOut, 0, "TX-packets:"), received = portField(rxOut, 0, "RX-packets:");
        System.out.println("memif interop: sent " + sent + ", received " + received);
        assertTrue(sent > 1000, "the sender sent next to nothing:\n" + txOut);
        assertEquals(sent, received, "every frame sent was received:\n" + txOut + "\n" + rxOut);
        assertEquals(0, portField(rxOut, 0, "RX-dropped:"), rxOut);
    }

    /** Our interactive testpmd, forwarding from the start once its links are up. */
    static NetnsTestPmd oursInteractive(List<String> eal, String... app) {
        List<String> a = new java.util.ArrayList<>(List.of("-i", "--auto-start"));
        a.addAll(List.of(app));
        return NetnsTestPmd.jpdk(null, eal, a.toArray(String[]::new));
    }

    static final String AUTO_STARTED = "Start automatic packet forwarding";
    static final String STOPPED = "Accumulated forward statistics";

    private static final java.util.regex.Pattern PORT0_RX = java.util.regex.Pattern.compile("RX-packets:\\s+(\\d+)");

    /**
     * Both sides interactive and forwarding: runs {@code millis}, then the sender stops forwarding
     * (its link kept), the receiver's port 0 count is read until it reaches what was sent or stays put for 3 s,
     * the receiver stops, and both quit (the receiver first: DPDK's lcores are stopped before
     * either side disconnects). Returns {sender's stop output, receiver's stop output}.
     */
    static String[] sendThenDrain(NetnsTestPmd tx, NetnsTestPmd rx, long millis) {
        tx.await(AUTO_STARTED, 40);
        rx.await(AUTO_STARTED, 40);
        return drain(tx, rx, millis);
    }

    /** The rest of {@link #sendThenDrain} once both forward: runs {@code millis}, stops the sender, drains the receiver, quits both. */
    static String[] drain(NetnsTestPmd tx, NetnsTestPmd rx, long millis) {
        sleep(millis);
        String txOut = tx.type("stop", STOPPED, 20);
        // Wait until the receiver has counted every frame sent, or its count has stayed put for
        // 3 s: a receiving lcore can stall for a while on a loaded machine (a DPDK testpmd
        // writing a pcap file blocks in write(2) when the disk is busy), so one quiet interval
        // is not the end of the ring.
        long sent = portField(txOut, 0, "TX-packets:");
        long last = -1, quietSince = System.nanoTime(), end = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < end) {
            var m = PORT0_RX.matcher(rx.type("show port stats 0", "Tx-bps", 20));
            long n = m.find() ? Long.parseLong(m.group(1)) : -2;
            if (n >= sent) break;
            if (n != last) {
                last = n;
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince > 3_000_000_000L) {
                break;
            }
            sleep(200);
        }
        String rxOut = rx.type("stop", STOPPED, 20);
        rx.quit(20);
        tx.quit(20);
        return new String[]{txOut, rxOut};
    }

    /**
     * DPDK's testpmd, interactive and forwarding from the start ({@code -i --auto-start}); memory
     * null: the default. With {@code --no-flush-rx}: otherwise dpdk-testpmd drains and frees what
     * its rx queues hold just before forwarding starts, and counts none of it in its forward
     * statistics (it snapshots the port counters after the flush). A sender whose link came up
     * first (our txonly server, once DPDK's client connected) had frames in the ring by then: a CI
     * run saw DPDK's port counters at 4,894,944 received, all we sent, and its forward statistics
     * at 4,894,688, the 256 flushed. Our testpmd never flushes.
     */
    static NetnsTestPmd dpdkInteractive(List<String> memory, List<String> eal, String... app) {
        List<String> a = new java.util.ArrayList<>(List.of("-i", "--auto-start", "--no-flush-rx"));
        a.addAll(List.of(app));
        return memory == null ? NetnsTestPmd.dpdk(null, eal, a.toArray(String[]::new))
                : NetnsTestPmd.dpdk(null, memory, eal, a.toArray(String[]::new));
    }

    /** Starts our server and waits until its socket file exists, so that DPDK's client (which connects only once) finds it. */
    static NetnsTestPmd oursListening(Path sock, NetnsTestPmd ours) {
        long end = System.nanoTime() + 40_000_000_000L;
        while (!java.nio.file.Files.exists(sock) && System.nanoTime() < end) sleep(20);
        assertTrue(java.nio.file.Files.exists(sock), "our server made no socket " + sock + ":\n" + ours.output());
        return ours;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    @Timeout(90)
    void jpdkClientTxonlyToDpdkServerRxonly(@TempDir Path dir) {
        Path sock = dir.resolve("m.sock");
        try (NetnsTestPmd rx = dpdkInteractive(null, with(RECEIVER_LCORES, "--vdev=" + memif("server", sock, "")), "--forward-mode=rxonly");
             NetnsTestPmd tx = oursInteractive(with(SENDER_LCORES, "--vdev", memif("client", sock, "")), "--forward-mode=txonly")) {
            String[] out = sendThenDrain(tx, rx, 1500);
            assertCounts(out[0], out[1]);
        }
    }

    @Test
    @Timeout(90)
    void dpdkClientTxonlyToJpdkServerRxonly(@TempDir Path dir) {
        Path sock = dir.resolve("m.sock");
        try (NetnsTestPmd rx = oursListening(sock, oursInteractive(with(RECEIVER_LCORES, "--vdev", memif("server", sock, "")),
                "--forward-mode=rxonly"));
             NetnsTestPmd tx = dpdkInteractive(null, with(SENDER_LCORES, "--vdev=" + memif("client", sock, "")), "--forward-mode=txonly")) {
            String[] out = sendThenDrain(tx, rx, 1500);
            assertCounts(out[0], out[1]);
        }
    }

    @Test
    @Timeout(90)
    void dpdkServerTxonlyFramesReachAJpdkClientWhole(@TempDir Path dir) {
        Path sock = dir.resolve("m.sock"), pcap = dir.resolve("rx.pcap");
        // our client receives and writes what it gets to a capture (io: memif port 0 to pcap port 1)
        try (NetnsTestPmd tx = dpdkInteractive(null, with(SENDER_LCORES, "--vdev=" + memif("server", sock, "")),
                "--forward-mode=txonly", "--txpkts=64");
             NetnsTestPmd rx = oursInteractive(with(RECEIVER_LCORES, "--vdev", memif("client", sock, ""),
                     "--vdev", "net_pcap0,tx_pcap=" + pcap), "--forward-mode=io")) {
            String[] out = sendThenDrain(tx, rx, 1000);
            String txOut = out[0], rxOut = out[1];
            long sent = portField(txOut, 0, "TX-packets:"), received = portField(rxOut, 0, "RX-packets:");
            assertTrue(sent > 1000, txOut);
            assertEquals(sent, received, "every frame DPDK's server sent reached our client:\n" + txOut + "\n" + rxOut);
            long written = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(tx.output()), 64, false);
            assertEquals(portField(rxOut, 1, "TX-packets:"), written, "frames in " + pcap);
            assertEquals(received, written + portField(rxOut, 1, "TX-dropped:"), "received = captured + dropped by the pcap port");
        }
    }

    @Test
    @Timeout(90)
    void jpdkServerTxonlyFramesReachADpdkClientWhole(@TempDir Path dir) {
        Path sock = dir.resolve("m.sock"), pcap = dir.resolve("rx.pcap");
        // DPDK's client receives and writes what it gets to a capture with its own net_pcap
        try (NetnsTestPmd tx = oursListening(sock, oursInteractive(with(SENDER_LCORES, "--vdev", memif("server", sock, "")),
                "--forward-mode=txonly", "--txpkts=64"));
             NetnsTestPmd rx = dpdkInteractive(null, with(RECEIVER_LCORES, "--vdev=" + memif("client", sock, ""),
                     "--vdev=net_pcap0,tx_pcap=" + pcap), "--forward-mode=io")) {
            String[] out = sendThenDrain(tx, rx, 1000);
            long sent = portField(out[0], 0, "TX-packets:"), received = portField(out[1], 0, "RX-packets:");
            assertTrue(sent > 1000, out[0]);
            assertEquals(sent, received, "every frame our server sent reached DPDK's client:\n--- ours\n" + tx.output()
                    + "\n--- DPDK's\n" + rx.output());
            long written = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(tx.output()), 64, true);
            assertEquals(portField(out[1], 1, "TX-packets:"), written, "frames in " + pcap);
        }
    }

    @Test
    @Timeout(90)
    void ioForwardingThroughDpdkAndBack(@TempDir Path dir) {
        Path sock = dir.resolve("m.sock");
        // DPDK's two servers (ids 0 and 1), our two clients on them; both forward io, port 0 <-> port 1;
        // one burst from each of our ports (tx-first, once the links are up) then circulates
        String s0 = "net_memif0,role=server,id=0,socket=" + sock + ",socket-abstract=no";
        String s1 = "net_memif1,role=server,id=1,socket=" + sock + ",socket-abstract=no";
        try (NetnsTestPmd dpdk = NetnsTestPmd.dpdk(null, with(SENDER_LCORES, "--vdev=" + s0, "--vdev=" + s1), "--forward-mode=io");
             NetnsTestPmd ours = NetnsTestPmd.jpdk(null, with(RECEIVER_LCORES, "--vdev", s0.replace("server", "client"),
                     "--vdev", s1.replace("server", "client")), "-i", "--forward-mode=io")) {
            ours.await("testpmd> ", 40); // after its links came up
            dpdk.await(NetnsTestPmd.READY, 40);
            ours.type("start tx_first", "TX RS bit threshold", 20);
            sleep(1500);
            String oursOut = ours.type("stop", STOPPED, 20);
            sleep(300);
            String[] out = {oursOut, dpdk.stop(10)};
            ours.quit(20);
            for (int p = 0; p < 2; p++) {
                long ourRx = portField(out[0], p, "RX-packets:"), theirTx = portField(out[1], p, "TX-packets:");
                long ourTx = portField(out[0], p, "TX-packets:"), theirRx = portField(out[1], p, "RX-packets:");
                System.out.printf("memif io loop port %d: ours rx %d tx %d, DPDK rx %d tx %d%n", p, ourRx, ourTx, theirRx, theirTx);
                assertTrue(ourRx > 1000 && theirRx > 1000, "frames went round:\n" + out[0] + "\n" + out[1]);
                assertEquals(ourTx, theirRx, "port " + p + ": DPDK received every frame we sent (we stopped first)");
                // DPDK kept sending what it received after we stopped: our rings hold those
                assertTrue(theirTx - ourRx >= 0 && theirTx - ourRx <= 1024, "port " + p + ": DPDK sent " + theirTx + ", we received " + ourRx);
            }
        }
    }

    @Test
    @Timeout(90)
    void dpdkZeroCopyClientToJpdkServer(@TempDir Path dir) {
        Path sock = dir.resolve("m.sock");
        try (NetnsTestPmd rx = oursListening(sock, oursInteractive(with(RECEIVER_LCORES, "--vdev", memif("server", sock, "")),
                "--forward-mode=rxonly"));
             NetnsTestPmd tx = dpdkInteractive(DPDK_ZC_MEMORY, with(SENDER_LCORES, "--vdev=" + memif("client", sock, ",zero-copy=yes")),
                     "--forward-mode=txonly")) {
            String[] out = sendThenDrain(tx, rx, 1500);
            assertCounts(out[0], out[1]);
        }
    }

    @Test
    @Timeout(90)
    void jpdkZeroCopyClientToDpdkServerAndBack(@TempDir Path dir) {
        Path sock = dir.resolve("m.sock");
        try (NetnsTestPmd rx = dpdkInteractive(null, with(RECEIVER_LCORES, "--vdev=" + memif("server", sock, "")), "--forward-mode=rxonly");
             NetnsTestPmd tx = oursInteractive(with(SENDER_LCORES, "--vdev", memif("client", sock, ",zero-copy=yes")), "--forward-mode=txonly")) {
            String[] out = sendThenDrain(tx, rx, 1500);
            assertCounts(out[0], out[1]);
        }
        Path sock2 = dir.resolve("m2.sock");
        try (NetnsTestPmd tx = dpdkInteractive(null, with(SENDER_LCORES, "--vdev=" + memif("server", sock2, "")), "--forward-mode=txonly");
             NetnsTestPmd rx = oursInteractive(with(RECEIVER_LCORES, "--vdev", memif("client", sock2, ",zero-copy=yes")),
                     "--forward-mode=rxonly")) {
            String[] out = sendThenDrain(tx, rx, 1500);
            assertCounts(out[0], out[1]);
        }
    }

    @Test
    @Timeout(90)
    void dpdksEventfdWritesWakeOurSleepingRxQueue(@TempDir Path dir) {
        Path sock = dir.resolve("m.sock");
        // our server sleeps on its rx interrupt (the ring unmasked); DPDK's client sends one burst once its link is up
        try (NetnsTestPmd rx = oursListening(sock, NetnsTestPmd.jpdk(null, with(RECEIVER_LCORES, "--vdev", memif("server", sock, "")),
                "--forward-mode=rxonly", "--rx-idle=interrupt"));
             NetnsTestPmd tx = NetnsTestPmd.dpdk(null, with(SENDER_LCORES, "--vdev=" + memif("client", sock, "")),
                     "--forward-mode=io", "--tx-first", "--burst=32")) {
            ready(rx, tx);
            String txOut = tx.runFor(1000);
            String rxOut = rx.runFor(300);
            assertEquals(32, portField(txOut, 0, "TX-packets:"), txOut);
            assertEquals(32, portField(rxOut, 0, "RX-packets:"), "our sleeping lcore received DPDK's burst:\n" + rxOut);
            assertTrue(rxOut.contains("woken by rx"), rxOut);
        }
    }
}
