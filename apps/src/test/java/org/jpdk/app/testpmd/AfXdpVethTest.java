package org.jpdk.app.testpmd;

import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.jpdk.app.testpmd.AfPacketVethTest.RECEIVER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.SENDER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.kernelCounter;
import static org.jpdk.app.testpmd.AfPacketVethTest.with;
import static org.jpdk.app.testpmd.NetnsTestPmd.portField;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Our testpmd on both ends of a veth pair over net_af_xdp (each a child JVM under {@code ip netns
 * exec}, sender on CPU 0, receiver on CPU 1): counts and contents, two queues, and the XDP program
 * gone from the interface after the app exits and after it is killed with SIGKILL.
 */
class AfXdpVethTest {
    /**
     * Every frame the sender counted is accounted for: received, or counted in the receiver's
     * RX-dropped (the kernel's drops for an empty fill ring, imissed), or dropped by the veth
     * itself (its XDP queue to the peer full: va's tx dropped counter).
     */
    static void assertCountsAddUp(NetnsFixture nf, String[] ns, String txOut, String rxOut, String before) {
        long sent = portField(txOut, 0, "TX-packets:");
        long received = portField(rxOut, 0, "RX-packets:");
        long missed = portField(rxOut, 0, "RX-dropped:");
        String va = nf.ip(ns[0], "-s", "-j", "link", "show", "va");
        long vethDropped = kernelCounter(va, "tx", "dropped") - kernelCounter(before, "tx", "dropped");
        String why = "sent " + sent + ", received " + received + ", missed " + missed + ", va dropped " + vethDropped;
        System.out.println("af_xdp over veth: " + why);
        assertTrue(sent > 1000, "the sender sent next to nothing: " + why + "\n" + txOut);
        assertTrue(received > 0, "nothing received: " + why + "\n" + rxOut);
        assertEquals(sent, received + missed + vethDropped, "every frame sent is received or counted where it was dropped: " + why
                + "; kernel:\n" + nf.ip(ns[0], "-s", "link", "show", "va") + nf.ip(ns[1], "-s", "link", "show", "vb"));
    }

    @Test
    @Timeout(90)
    void txonlyToRxonlyCountsEveryFrameAndTheFramesAreWhatWasSent(@TempDir Path dir) {
        Path pcap = dir.resolve("rx.pcap");
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            String before = nf.ip(ns[0], "-s", "-j", "link", "show", "va");
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_xdp0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 30);
                 NetnsTestPmd tx = NetnsTestPmd.jpdk(ns[0], with(SENDER_LCORES, "--vdev", "net_af_xdp0,iface=va"),
                         "--forward-mode=txonly").await(NetnsTestPmd.READY, 30)) {
                String txOut = tx.runFor(1500);
                String rxOut = rx.runFor(300);
                assertCountsAddUp(nf, ns, txOut, rxOut, before);
            }
            // contents: the receiver forwards (io) everything from vb into a pcap file
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_xdp0,iface=vb",
                    "--vdev", "net_pcap0,tx_pcap=" + pcap), "--forward-mode=io").await(NetnsTestPmd.READY, 30);
                 NetnsTestPmd tx = NetnsTestPmd.jpdk(ns[0], with(SENDER_LCORES, "--vdev", "net_af_xdp0,iface=va"),
                         "--forward-mode=txonly", "--txpkts=64").await(NetnsTestPmd.READY, 30)) {
                String txOut = tx.runFor(500);
                String rxOut = rx.runFor(300);
                long received = portField(rxOut, 0, "RX-packets:");
                assertTrue(received > 0, rxOut);
                assertEquals(received, portField(rxOut, 1, "TX-packets:"), "io forwarded every received frame to the pcap port");
                // the pool's buffers start zeroed and txonly writes only the headers: the payload is zeros
                long frames = AfPacketVethTest.assertTxonlyFrames(pcap, AfPacketVethTest.mac(txOut), 64, true);
                assertEquals(received, frames, "frames in " + pcap);
            }
        }
    }

    private static final Pattern STREAM = Pattern.compile("Forward Stats for RX Port= 0/Queue= (\\d) -> TX Port= 0/Queue= \\d -------\\s+RX-packets: (\\d+)");

    @Test
    @Timeout(90)
    void twoQueuesBothCarryFrames() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String a = nf.namespace(), b = nf.namespace();
            for (String n : new String[]{a, b}) nf.exec(n, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            nf.ip(a, "link", "add", "va", "numrxqueues", "2", "numtxqueues", "2", "type", "veth", "peer", "name", "vb",
                    "numrxqueues", "2", "numtxqueues", "2", "netns", b);
            nf.ip(a, "link", "set", "va", "up");
            nf.ip(b, "link", "set", "vb", "up");
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(b, with(RECEIVER_LCORES, "--vdev", "net_af_xdp0,iface=vb,queue_count=2,shared_umem=1"),
                    "--forward-mode=rxonly", "--rxq=2", "--txq=2").await(NetnsTestPmd.READY, 30);
                 NetnsTestPmd tx = NetnsTestPmd.jpdk(a, with(SENDER_LCORES, "--vdev", "net_af_xdp0,iface=va,queue_count=2"),
                         "--forward-mode=txonly", "--rxq=2", "--txq=2").await(NetnsTestPmd.READY, 30)) {
                String txOut = tx.runFor(1000);
                String rxOut = rx.runFor(300);
                Matcher m = STREAM.matcher(rxOut);
                long[] perQueue = new long[2];
                while (m.find()) perQueue[Integer.parseInt(m.group(1))] = Long.parseLong(m.group(2));
                assertTrue(perQueue[0] > 0 && perQueue[1] > 0, "both rx queues received (frames sent on va queue q arrive on vb queue q): "
                        + perQueue[0] + " / " + perQueue[1] + "\n" + rxOut);
                assertEquals(portField(rxOut, 0, "RX-packets:"), perQueue[0] + perQueue[1]);
                assertTrue(portField(txOut, 0, "TX-packets:") >= perQueue[0] + perQueue[1]);
            }
        }
    }

    /** Waits up to 5 s for {@code ip link show} of {@code iface} to show no XDP program (the kernel releases a link from a work queue). */
    static void awaitNoXdp(NetnsFixture nf, String ns, String iface) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        String shown;
        while ((shown = nf.ip(ns, "link", "show", iface)).contains("xdp")) {
            if (System.nanoTime() > deadline) fail("an XDP program is still attached 5 s after the app went: " + shown);
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    @Timeout(90)
    void theXdpProgramIsGoneAfterTheAppExitsAndAfterSigkill() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_xdp0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 30)) {
                String shown = nf.ip(ns[1], "link", "show", "vb");
                assertTrue(shown.contains("prog/xdp") && shown.contains("name jpdk_xsk"), "attached while the app runs: " + shown);
                rx.runFor(100);
            }
            awaitNoXdp(nf, ns[1], "vb");
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_xdp0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 30)) {
                assertTrue(nf.ip(ns[1], "link", "show", "vb").contains("prog/xdp"));
                rx.sigkill();
                assertFalse(rx.isAlive());
            }
            awaitNoXdp(nf, ns[1], "vb");                          // the bpf link died with the process
        }
    }
}
