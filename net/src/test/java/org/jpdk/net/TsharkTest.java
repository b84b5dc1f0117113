package org.jpdk.net;

import static org.jpdk.net.PacketType.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sample packets written to a pcap (by hand: the classic format is a 24-byte file header and
 * a 16-byte record header per packet) and read back by tshark: every field tshark decodes equals
 * what our views read, tshark finds every checksum good where our verifiers do, and tshark's
 * protocol stack agrees with our packet type.
 */
class TsharkTest {
    private static final String[] FIELDS = {"frame.protocols", "ieee8021ad.id", "vlan.id", "ip.src", "ip.dst", "ip.hdr_len", "ip.ttl",
            "ip.checksum.status", "ipv6.src", "ipv6.dst", "udp.srcport", "udp.dstport", "udp.checksum.status", "tcp.srcport",
            "tcp.dstport", "tcp.hdr_len", "tcp.checksum.status", "icmp.type", "icmp.checksum.status", "icmpv6.type",
            "icmpv6.checksum.status", "arp.opcode", "arp.src.proto_ipv4", "vxlan.vni"};

    @TempDir
    Path dir;

    static byte[] pcap(byte[][] frames) {
        int size = 24;
        for (byte[] f : frames) size += 16 + f.length;
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(65535).putInt(1); // LINKTYPE_ETHERNET
        for (int i = 0; i < frames.length; i++) b.putInt(i).putInt(0).putInt(frames[i].length).putInt(frames[i].length).put(frames[i]);
        return b.array();
    }

    static List<String> tshark(Path file) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/tshark", "-r", file.toString(), "-o", "ip.check_checksum:TRUE",
                "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-T", "fields", "-E", "separator=|",
                "-E", "occurrence=a"));
        for (String f : FIELDS) {
            cmd.add("-e");
            cmd.add(f);
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("tshark timed out");
        }
        assertEquals(0, p.exitValue(), "tshark exit status");
        return List.of(new String(out, StandardCharsets.UTF_8).split("\n"));
    }

    @Test
    void viewsChecksumsAndTypesAgreeWithTshark() throws Exception {
        boolean present = Files.isExecutable(Path.of("/usr/bin/tshark"));
        if (!present && "true".equals(System.getProperty("jpdk.ci"))) fail("tshark is not installed and jpdk.ci=true");
        Assumptions.assumeTrue(present, "tshark is not installed; skipping (install wireshark's tshark to run this)");
        byte[][] frames = PacketTypeTest.samples();
        Path file = Files.write(dir.resolve("samples.pcap"), pcap(frames));
        List<String> lines = tshark(file);
        assertEquals(frames.length, lines.size());
        try (Mempool<Mbuf> pool = Mbuf.createPool("tshark_test", 31, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY)) {
            for (int i = 0; i < frames.length; i++) {
                String[] v = lines.get(i).split("\\|", -1);
                Mbuf m = Pkts.mbuf(pool, frames[i]);
                try {
                    check(m, v, "packet " + i + " (" + v[0] + ")");
                } finally {
                    m.free();
                }
            }
        }
    }

    private static String field(String[] v, String name) {
        for (int i = 0; i < FIELDS.length; i++) if (FIELDS[i].equals(name)) return v[i];
        throw new IllegalArgumentException(name);
    }

    private static void check(Mbuf m, String[] v, String what) throws Exception {
        int t = PacketType.parse(m);
        String protos = field(v, "frame.protocols");
        boolean tunnel = (t & TUNNEL_MASK) != 0;
        int l3 = tunnel ? m.outerL2Len : m.l2Len;
        int l3len = tunnel ? m.outerL3Len : m.l3Len;
        int l4 = l3 + l3len;
        int innerL3 = tunnel ? m.outerL2Len + m.outerL3Len + m.l2Len : -1;

        // the type against tshark's protocol stack
        assertEquals(protos.contains("vlan") || protos.contains("ieee8021ad"), (t & L2_MASK) == L2_ETHER_VLAN || (t & L2_MASK) == L2_ETHER_QINQ, what);
        assertEquals(protos.startsWith("eth:ethertype:arp"), (t & L2_MASK) == L2_ETHER_ARP, what);
        assertEquals(protos.contains(":ip:") || protos.endsWith(":ip"), isIpv4(t), what);
        assertEquals(protos.contains(":ipv6"), isIpv6(t) || (t & INNER_L3_MASK) == INNER_L3_IPV6, what);
        assertEquals(protos.contains("vxlan"), (t & TUNNEL_MASK) == TUNNEL_VXLAN, what);
        assertEquals(protos.endsWith(":tcp") || protos.contains(":tcp:"), (t & L4_MASK) == L4_TCP || (t & INNER_L4_MASK) == INNER_L4_TCP, what);
        assertEquals(protos.contains(":icmp"), (t & L4_MASK) == L4_ICMP, what);

        // tshark names an 802.1ad S-tag ieee8021ad and 802.1Q tags vlan; ours are in wire order from offset 14
        String tags = String.join(",", field(v, "ieee8021ad.id"), field(v, "vlan.id")).replaceAll("^,|,$", "");
        if (!tags.isEmpty()) {
            String[] ids = tags.split(",");
            for (int k = 0; k < ids.length; k++) assertEquals(Integer.parseInt(ids[k]), Ether.vlanId(m, 14 + 4 * k), what);
            assertEquals(14 + 4 * ids.length, m.l2Len, what);
        }
        if (isIpv4(t)) {
            String[] src = field(v, "ip.src").split(","), dst = field(v, "ip.dst").split(",");
            assertEquals(InetAddress.getByName(src[0]), v4(Ipv4.src(m, l3)), what);
            assertEquals(InetAddress.getByName(dst[0]), v4(Ipv4.dst(m, l3)), what);
            assertEquals(Integer.parseInt(field(v, "ip.hdr_len").split(",")[0]), l3len, what);
            assertEquals(Integer.parseInt(field(v, "ip.ttl").split(",")[0]), Ipv4.ttl(m, l3), what);
            for (String s : field(v, "ip.checksum.status").split(",")) assertEquals("1", s, what + ": tshark finds the IPv4 checksum good");
            assertTrue(Ipv4.cksumVerify(m, l3), what);
            if (innerL3 >= 0 && (t & INNER_L3_MASK) == INNER_L3_IPV4) {
                assertEquals(InetAddress.getByName(src[1]), v4(Ipv4.src(m, innerL3)), what);
                assertTrue(Ipv4.cksumVerify(m, innerL3), what);
            }
        }
        if (isIpv6(t)) {
            assertEquals(InetAddress.getByName(field(v, "ipv6.src").split(",")[0]), v6(Ipv6.srcHi(m, l3), Ipv6.srcLo(m, l3)), what);
            assertEquals(InetAddress.getByName(field(v, "ipv6.dst").split(",")[0]), v6(Ipv6.dstHi(m, l3), Ipv6.dstLo(m, l3)), what);
        }
        int l4t = t & L4_MASK;
        if (l4t == L4_UDP) {
            assertEquals(Integer.parseInt(field(v, "udp.srcport").split(",")[0]), Udp.srcPort(m, l4), what);
            assertEquals(Integer.parseInt(field(v, "udp.dstport").split(",")[0]), Udp.dstPort(m, l4), what);
            assertEquals("1", field(v, "udp.checksum.status").split(",")[0], what + ": tshark finds the UDP checksum good");
            assertTrue(isIpv4(t) ? Ipv4.udptcpCksumVerify(m, l3) : Ipv6.l4CksumVerify(m, l3, l3len, Ipv4.PROTO_UDP), what);
        }
        if (l4t == L4_TCP || (t & INNER_L4_MASK) == INNER_L4_TCP) {
            int tl4 = l4t == L4_TCP ? l4 : innerL3 + m.l3Len;
            assertEquals(Integer.parseInt(field(v, "tcp.srcport")), Tcp.srcPort(m, tl4), what);
            assertEquals(Integer.parseInt(field(v, "tcp.dstport")), Tcp.dstPort(m, tl4), what);
            assertEquals(Integer.parseInt(field(v, "tcp.hdr_len")), m.l4Len, what);
            assertEquals("1", field(v, "tcp.checksum.status"), what + ": tshark finds the TCP checksum good");
            int tl3 = l4t == L4_TCP ? l3 : innerL3;
            assertTrue(isIpv6(t) && l4t == L4_TCP ? Ipv6.l4CksumVerify(m, l3, l3len, Ipv4.PROTO_TCP) : Ipv4.udptcpCksumVerify(m, tl3), what);
        }
        if (l4t == L4_ICMP && isIpv4(t)) {
            assertEquals(Integer.parseInt(field(v, "icmp.type")), Icmp.type(m, l4), what);
            assertEquals("1", field(v, "icmp.checksum.status"), what);
            assertTrue(Icmp.cksumVerify(m, l4, m.dataLen() - l4), what);
        }
        if (l4t == L4_ICMP && isIpv6(t)) {
            assertEquals(Integer.parseInt(field(v, "icmpv6.type")), Icmp.type(m, l4), what);
            assertEquals("1", field(v, "icmpv6.checksum.status"), what);
            assertTrue(Icmp6.cksumVerify(m, l3, l3len), what);
        }
        if ((t & L2_MASK) == L2_ETHER_ARP) {
            assertEquals(Integer.parseInt(field(v, "arp.opcode")), Arp.op(m, 14), what);
            assertEquals(InetAddress.getByName(field(v, "arp.src.proto_ipv4")), v4(Arp.sip(m, 14)), what);
            assertTrue(Arp.isEtherIpv4(m, 14), what);
        }
        if ((t & TUNNEL_MASK) == TUNNEL_VXLAN) {
            assertEquals(Integer.parseInt(field(v, "vxlan.vni")), Vxlan.vni(m, l4 + Udp.HDR_LEN), what);
        }
    }

    private static InetAddress v4(int a) throws Exception {
        return InetAddress.getByAddress(ByteBuffer.allocate(4).putInt(a).array());
    }

    private static InetAddress v6(long hi, long lo) throws Exception {
        return InetAddress.getByAddress(ByteBuffer.allocate(16).putLong(hi).putLong(lo).array());
    }
}
