package org.jpdk.app.testpmd;

import org.jpdk.drivers.net.pcap.PcapReader;
import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.jpdk.app.testpmd.NetnsTestPmd.portField;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our testpmd on both ends of a veth pair between two namespaces, over net_af_packet: txonly on
 * {@code va}, rxonly (or io into a net_pcap file) on {@code vb}. Each side is a child JVM under
 * {@code ip netns exec}, its forwarding lcore on its own CPU (sender lcore 0, receiver lcore 1).
 * The sender runs at full speed, so the receiver's ring may overflow: the counts must then add up
 * exactly, received plus RX-dropped (the socket's tp_drops, imissed) equal to what was sent.
 */
class AfPacketVethTest {
    /** EAL options of the sender: its forwarding lcore is 0 (CPU 0), the receiver's is 1. */
    static final List<String> SENDER_LCORES = List.of("-l", "0,1", "--main-lcore", "1");
    static final List<String> RECEIVER_LCORES = List.of("-l", "0,1");
    private static final Pattern PORT0_MAC = Pattern.compile("Port 0: ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})");

    static List<String> with(List<String> eal, String... more) {
        List<String> l = new java.util.ArrayList<>(eal);
        l.addAll(List.of(more));
        return l;
    }

    @Test
    @Timeout(60)
    void txonlyToRxonlyCountsEveryFrame() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_packet0,iface=vb"),
                    "--forward-mode=rxonly").await(NetnsTestPmd.READY, 20);
                 NetnsTestPmd tx = NetnsTestPmd.jpdk(ns[0], with(SENDER_LCORES, "--vdev", "net_af_packet0,iface=va"),
                         "--forward-mode=txonly").await(NetnsTestPmd.READY, 20)) {
                String txOut = tx.runFor(1500);
                String rxOut = rx.runFor(300);
                assertCountsAddUp(nf, ns, txOut, rxOut);
            }
        }
    }

    /**
     * Checks the sender's TX-packets against the kernel and the receiver: every frame sent went
     * into {@code va} (which forwarded it to {@code vb} or counted it dropped, when the peer's
     * backlog was full), and every frame forwarded was received or counted in the receiver's
     * RX-dropped (imissed: the socket's ring was full).
     */
    static void assertCountsAddUp(NetnsFixture nf, String[] ns, String txOut, String rxOut) {
        long sent = portField(txOut, 0, "TX-packets:");
        long received = portField(rxOut, 0, "RX-packets:");
        long missed = portField(rxOut, 0, "RX-dropped:");
        String va = nf.ip(ns[0], "-s", "-j", "link", "show", "va");
        long vaTx = kernelCounter(va, "tx", "packets"), vethDropped = kernelCounter(va, "tx", "dropped");
        String why = "sent " + sent + ", received " + received + ", missed " + missed + "; va forwarded " + vaTx
                + ", dropped " + vethDropped + "; kernel:\n" + nf.ip(ns[0], "-s", "link", "show", "va")
                + nf.ip(ns[1], "-s", "link", "show", "vb");
        System.out.println("af_packet over veth: " + why.substring(0, why.indexOf("; kernel")));
        assertTrue(sent > 1000, "the sender sent next to nothing: " + why);
        assertTrue(received > 0, "nothing received: " + why);
        assertEquals(sent, vaTx + vethDropped, "every frame sent reached the kernel's va: " + why);
        assertEquals(vaTx, received + missed, "every frame va forwarded is received or counted missed: " + why);
    }

    /** A counter of {@code ip -s -j link show} output: {@code dir} is rx or tx, {@code name} e.g. packets, dropped. */
    static long kernelCounter(String json, String dir, String name) {
        Matcher m = Pattern.compile("\"" + dir + "\":\\{[^}]*\"" + name + "\":(\\d+)").matcher(json);
        assertTrue(m.find(), "no " + dir + " " + name + " in " + json);
        return Long.parseLong(m.group(1));
    }

    @Test
    @Timeout(60)
    void txonlyFramesArriveAsSent(@TempDir Path dir) {
        Path pcap = dir.resolve("rx.pcap");
        try (NetnsFixture nf = NetnsFixture.create()) {
            String[] ns = NetnsTestPmd.quietVethPair(nf);
            // the receiver forwards (io) everything from vb into a pcap file: port 0 -> port 1
            try (NetnsTestPmd rx = NetnsTestPmd.jpdk(ns[1], with(RECEIVER_LCORES, "--vdev", "net_af_packet0,iface=vb",
                    "--vdev", "net_pcap0,tx_pcap=" + pcap), "--forward-mode=io").await(NetnsTestPmd.READY, 20);
                 NetnsTestPmd tx = NetnsTestPmd.jpdk(ns[0], with(SENDER_LCORES, "--vdev", "net_af_packet0,iface=va"),
                         "--forward-mode=txonly", "--txpkts=64").await(NetnsTestPmd.READY, 20)) {
                String txOut = tx.runFor(700);
                String rxOut = rx.runFor(300);
                assertCountsAddUp(nf, ns, txOut, rxOut);
                long received = portField(rxOut, 0, "RX-packets:");
                assertEquals(received, portField(rxOut, 1, "TX-packets:"), "io forwarded every received frame to the pcap port");
                // the pool's buffers start zeroed and txonly writes only the headers: the payload is zeros
                long frames = assertTxonlyFrames(pcap, mac(txOut), 64, true);
                assertEquals(received, frames, "frames in " + pcap);
            }
        }
    }

    /** The MAC address testpmd printed for its port 0, as 6 bytes. */
    static byte[] mac(String testpmdOutput) {
        Matcher m = PORT0_MAC.matcher(testpmdOutput);
        assertTrue(m.find(), "no 'Port 0: MAC' line in:\n" + testpmdOutput);
        return HexFormat.ofDelimiter(":").parseHex(m.group(1));
    }

    /**
     * The Ether/IPv4/UDP frame testpmd's txonly sends from {@code srcMac} with the default
     * settings: to 02:00:00:00:00:00 (the default peer of port 0), 198.18.0.1:9 to 198.18.0.2:9,
     * TTL 64, no IP options, id 0, UDP checksum 0, {@code len} bytes in all.
     */
    static byte[] txonlyHeaders(byte[] srcMac, int len) {
        byte[] h = new byte[UdpTemplate.LEN];
        h[0] = 0x02;
        System.arraycopy(srcMac, 0, h, 6, 6);
        h[12] = 0x08;
        h[14] = 0x45;
        put16(h, 16, len - 14);
        h[22] = 64;
        h[23] = 17;
        put32(h, 26, 0xC612_0001);
        put32(h, 30, 0xC612_0002);
        put16(h, 24, ~ipSum(h, 14) & 0xffff);
        put16(h, 34, 9);
        put16(h, 36, 9);
        put16(h, 38, len - 34);
        return h;
    }

    /**
     * Checks every frame of {@code pcap}: {@code len} bytes whose headers are exactly
     * {@link #txonlyHeaders} (and, if {@code zeroPayload}, whose payload is zeros); returns the count.
     */
    static long assertTxonlyFrames(Path pcap, byte[] srcMac, int len, boolean zeroPayload) {
        byte[] want = txonlyHeaders(srcMac, len);
        byte[] zeros = new byte[len - want.length];
        long n = 0;
        try (PcapReader r = PcapReader.open(pcap)) {
            int st;
            while ((st = r.next()) == PcapReader.RECORD) {
                n++;
                assertEquals(len, r.origLen(), "frame " + n + ": length on the wire");
                assertEquals(len, r.caplen(), "frame " + n + ": bytes captured");
                byte[] b = r.window().asSlice(r.dataOffset(), r.caplen()).toArray(ValueLayout.JAVA_BYTE);
                byte[] head = java.util.Arrays.copyOf(b, want.length);
                if (!java.util.Arrays.equals(want, head)) {
                    assertArrayEquals(want, head, "frame " + n + ": headers\n want " + HexFormat.of().formatHex(want)
                            + "\n got  " + HexFormat.of().formatHex(head));
                }
                if (zeroPayload) {
                    assertArrayEquals(zeros, java.util.Arrays.copyOfRange(b, want.length, len), "frame " + n + ": payload");
                }
            }
            assertEquals(PcapReader.EOF, st, r.error());
        }
        return n;
    }

    private static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }

    private static void put32(byte[] b, int off, int v) {
        put16(b, off, v >>> 16);
        put16(b, off + 2, v);
    }

    /** The ones' complement sum of the 20-byte IPv4 header at {@code off} (checksum field zero). */
    private static int ipSum(byte[] b, int off) {
        int s = 0;
        for (int i = 0; i < 20; i += 2) s += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        while ((s >>> 16) != 0) s = (s & 0xffff) + (s >>> 16);
        return s;
    }
}
