package org.jpdk.bpf;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Our tcpdump filter compiler against tcpdump itself (Debian's): a capture of varied traffic
 * (IPv4 and IPv6 TCP with each flag, UDP, ICMP, ICMPv6, fragments, IP options, ARP, VLAN and
 * QinQ tags, SCTP, broadcast, short and long frames) is written here, then for every expression
 * the packets our filter accepts (run as classic BPF, and converted to eBPF through both runners)
 * must be exactly the ones {@code tcpdump -r capture -w - EXPR} keeps; tcpdump's own code
 * ({@code -ddd}) run by our classic interpreter must agree too.
 */
class PcapFilterTest {
    @TempDir
    Path dir;

    static final String[] EXPRESSIONS = {
            "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6", "sctp", "vlan", "vlan 100", "vlan and ip", "vlan 200 and udp port 53",
            "host 10.0.0.1", "src host 10.0.0.1", "dst host 10.0.0.2", "host 10.0.0.1 or host 192.168.1.5", "host 10.0.0.1 or 192.168.1.5",
            "ip host 10.0.0.9", "arp host 10.0.0.9", "net 10.0.0.0/8", "net 192.168", "src net 172.16.0.0 mask 255.255.0.0", "dst net 10.0.0.0/24",
            "port 53", "udp port 53", "tcp port 80", "src port 1234", "dst port 443", "tcp dst port 80 or tcp dst port 443", "port 80 or 443",
            "portrange 1000-2000", "tcp portrange 20-25", "udp dst portrange 100-200",
            "ether host 02:00:00:00:00:01", "ether src 02:00:00:00:00:02", "ether dst ff:ff:ff:ff:ff:ff", "ether broadcast", "ether multicast",
            "ether proto 0x806", "ether proto \\ip6", "proto 17", "ip proto 1", "ip6 proto 58", "ip proto \\tcp",
            "less 64", "greater 200", "less 100 and tcp", "not ip", "not (tcp or udp)", "!tcp && !udp", "tcp and not port 80",
            "ip[9] = 17", "ip[8] < 64", "ip[6:2] & 0x1fff != 0", "ip[0] & 0xf > 5", "tcp[tcpflags] & tcp-syn != 0",
            "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "tcp[13] = 0x12", "tcp[tcpflags] & tcp-rst != 0 or tcp[tcpflags] & tcp-fin != 0",
            "udp[8:2] = 0x1234", "udp[2:2] > 1000", "icmp[icmptype] = icmp-echo", "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
            "icmp6[icmp6type] = icmp6-echo", "ip6 host 2001:db8::1", "ip6 src host 2001:db8::2", "ip6 net 2001:db8::/32", "host fe80::1",
            "len > 100 and len < 300", "ip[2:2] - 20 > 40", "ip[2:2] * 2 >= 200", "(ip[2:2] - ((ip[0] & 0xf) << 2)) > 30",
            "udp and (port 53 or port 123)", "ip and udp or arp", "tcp or udp and host 10.0.0.1", "src host 10.0.0.1 and (dst port 80 or dst port 22)",
            "ip6 and tcp", "ip6 and udp port 53", "ether[0] & 1 = 1", "ether[12:2] = 0x8100", "arp[6:2] = 2", "src or dst host 10.0.0.2",
    };

    /** tcpdump, or a skip (a failure under CI, which installs it). */
    static String tcpdump() {
        for (String p : List.of("/usr/bin/tcpdump", "/usr/sbin/tcpdump")) if (Files.isExecutable(Path.of(p))) return p;
        String why = "needs tcpdump (apt-get install tcpdump) to compare filters";
        if ("true".equals(System.getProperty("jpdk.ci")) || "true".equals(System.getenv("CI"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
        return null;
    }

    static byte[] run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + String.join(" ", cmd));
        assertEquals(0, p.exitValue(), String.join(" ", cmd));
        return out;
    }

    @Test
    void ourFiltersSelectExactlyWhatTcpdumpSelects() throws Exception {
        String tcpdump = tcpdump();
        List<byte[]> pkts = Capture.varied();
        Path cap = dir.resolve("varied.pcap");
        Files.write(cap, Capture.pcap(pkts));
        List<String> index = pkts.stream().map(b -> HexFormat.of().formatHex(b)).toList();
        List<String> failures = new ArrayList<>();
        for (String expr : EXPRESSIONS) {
            BitSet theirs = new BitSet();
            for (byte[] b : Capture.read(run(tcpdump, "-r", cap.toString(), "-w", "-", expr))) theirs.set(index.indexOf(HexFormat.of().formatHex(b)));
            Cbpf ours = PcapFilter.compile(expr);
            Cbpf libpcaps = Cbpf.parseDdd(new String(run(tcpdump, "-ddd", "-y", "EN10MB", expr)));
            BpfProgram ebpf = ours.toProgram();
            BpfVm interp = ebpf.interpreter(), comp = ebpf.compiled();
            BitSet mine = new BitSet(), viaEbpf = new BitSet(), viaJit = new BitSet(), theirCode = new BitSet();
            for (int i = 0; i < pkts.size(); i++) {
                MemorySegment s = MemorySegment.ofArray(pkts.get(i));
                if (ours.run(s) != 0) mine.set(i);
                if (interp.exec(s) != 0) viaEbpf.set(i);
                if (comp.exec(s) != 0) viaJit.set(i);
                if (libpcaps.run(s) != 0) theirCode.set(i);
            }
            assertEquals(theirs, theirCode, "tcpdump's own code run by our classic interpreter, for '" + expr + "'");
            assertEquals(mine, viaEbpf, "classic vs converted eBPF (interpreter) for '" + expr + "'");
            assertEquals(mine, viaJit, "classic vs converted eBPF (compiled) for '" + expr + "'");
            if (!theirs.equals(mine)) failures.add("'" + expr + "': tcpdump " + theirs + ", ours " + mine + "\n" + ours);
            assertTrue(theirs.cardinality() > 0 || expr.startsWith("ip[2:2] * 2"), "'" + expr + "' selects something in the capture");
        }
        assertEquals(List.of(), failures);
        assertTrue(EXPRESSIONS.length >= 40);
    }

    @Test
    void errorsPointAtTheWord() {
        BpfException e = assertThrows(BpfException.class, () -> PcapFilter.compile("tcp and hots 10.0.0.1"));
        assertTrue(e.getMessage().startsWith("filter 'tcp and hots 10.0.0.1': unknown word 'hots' at column 9"), e.getMessage());
        assertTrue(e.getMessage().endsWith("\n          ^"), e.getMessage());
        for (String bad : List.of("host", "port 99999", "net 10.0.0.1/8", "tcp[13:3] = 1", "ip[1] / 0 = 1", "(tcp", "tcp)", "host 300.1.1.1",
                "ether host 1:2:3", "portrange 10", "ip6 host 1.2.3.4 ::")) {
            BpfException x = assertThrows(BpfException.class, () -> PcapFilter.compile(bad), bad);
            assertTrue(x.getMessage().startsWith("filter '" + bad + "': "), x.getMessage());
        }
        assertEquals(PcapFilter.SNAPLEN, PcapFilter.compile("").run(MemorySegment.ofArray(new byte[1])), "the empty filter accepts all");
    }

    /** The test capture: frames built byte by byte, each different from the others. */
    static final class Capture {
        static int seq;

        static byte[] eth(long dst, long src, int... typeAndTags) {
            ByteBuffer b = ByteBuffer.allocate(12 + 2 * typeAndTags.length);
            b.putShort((short) (dst >>> 32)).putInt((int) dst).putShort((short) (src >>> 32)).putInt((int) src);
            for (int i = 0; i < typeAndTags.length - 1; i += 2) b.putShort((short) typeAndTags[i]).putShort((short) typeAndTags[i + 1]);
            b.putShort((short) typeAndTags[typeAndTags.length - 1]);
            return b.array();
        }

        static byte[] ipv4(int src, int dst, int proto, int fragField, int optWords, byte[] l4) {
            int ihl = 5 + optWords;
            ByteBuffer b = ByteBuffer.allocate(ihl * 4 + l4.length);
            b.put((byte) (0x40 | ihl)).put((byte) 0).putShort((short) (ihl * 4 + l4.length)).putShort((short) ++seq).putShort((short) fragField)
                    .put((byte) (32 + seq % 64)).put((byte) proto).putShort((short) 0).putInt(src).putInt(dst);
            for (int i = 0; i < optWords; i++) b.putInt(0x01010101);
            return b.put(l4).array();
        }

        static byte[] ipv6(byte[] src, byte[] dst, int nh, byte[] l4) {
            ByteBuffer b = ByteBuffer.allocate(40 + l4.length);
            b.putInt(0x60000000 | seq++).putShort((short) l4.length).put((byte) nh).put((byte) 64).put(src).put(dst).put(l4);
            return b.array();
        }

        static byte[] tcp(int sport, int dport, int flags, int payload) {
            ByteBuffer b = ByteBuffer.allocate(20 + payload);
            b.putShort((short) sport).putShort((short) dport).putInt(++seq).putInt(0).put((byte) 0x50).put((byte) flags).putShort((short) 1024);
            return b.array();
        }

        static byte[] udp(int sport, int dport, int word8, int payload) {
            ByteBuffer b = ByteBuffer.allocate(8 + Math.max(2, payload));
            b.putShort((short) sport).putShort((short) dport).putShort((short) (8 + payload)).putShort((short) 0).putShort((short) word8);
            return b.array();
        }

        static byte[] icmp(int type, int code) {
            return ByteBuffer.allocate(16).put((byte) type).put((byte) code).putShort((short) 0).putInt(++seq).array();
        }

        static byte[] cat(byte[]... parts) {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            for (byte[] p : parts) o.writeBytes(p);
            return o.toByteArray();
        }

        static int ip(String s) {
            String[] p = s.split("\\.");
            return Integer.parseInt(p[0]) << 24 | Integer.parseInt(p[1]) << 16 | Integer.parseInt(p[2]) << 8 | Integer.parseInt(p[3]);
        }

        static byte[] ip6(String s) {
            try {
                return java.net.InetAddress.getByName(s).getAddress();
            } catch (IOException e) {
                throw new IllegalArgumentException(e);
            }
        }

        static List<byte[]> varied() {
            seq = 0;
            long m1 = 0x020000000001L, m2 = 0x020000000002L, bcast = 0xffffffffffffL, mcast = 0x01005e000001L;
            String[] hosts = {"10.0.0.1", "10.0.0.2", "192.168.1.5", "172.16.3.4", "10.0.0.9", "8.8.8.8"};
            int[] flagsList = {0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0xc2};
            int[][] ports = {{1234, 80}, {80, 1234}, {40000, 443}, {1500, 22}, {22, 1999}, {5000, 25}, {21, 3000}, {7, 8}};
            List<byte[]> l = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                String s = hosts[i % hosts.length], d = hosts[(i * 5 + 1) % hosts.length];
                int[] p = ports[i % ports.length];
                l.add(cat(eth(i % 2 == 0 ? m1 : m2, i % 2 == 0 ? m2 : m1, 0x800),
                        ipv4(ip(s), ip(d), 6, i == 5 ? 0x4000 : 0, i == 7 ? 1 : 0, tcp(p[0], p[1], flagsList[i % flagsList.length], i * 13))));
            }
            int[][] uports = {{3333, 53}, {53, 3333}, {123, 123}, {1000, 150}, {2001, 1999}, {150, 5353}, {9, 2000}};
            for (int i = 0; i < 14; i++) {
                int[] p = uports[i % uports.length];
                l.add(cat(eth(i == 3 ? bcast : m2, m1, 0x800), ipv4(ip(hosts[(i + 2) % hosts.length]), ip(hosts[i % hosts.length]), 17, 0, 0,
                        udp(p[0], p[1], i % 3 == 0 ? 0x1234 : i, 10 + i * 20))));
            }
            // fragments: a first fragment (MF) and a later one whose bytes look like ports 53
            l.add(cat(eth(m2, m1, 0x800), ipv4(ip("10.0.0.1"), ip("10.0.0.2"), 17, 0x2000, 0, udp(4444, 53, 1, 40))));
            l.add(cat(eth(m2, m1, 0x800), ipv4(ip("10.0.0.1"), ip("10.0.0.2"), 17, 0x0010, 0, udp(53, 53, 1, 40))));
            l.add(cat(eth(m2, m1, 0x800), ipv4(ip("10.0.0.2"), ip("10.0.0.1"), 6, 0x0020, 0, tcp(80, 80, 2, 10))));
            int[][] icmps = {{8, 0}, {0, 0}, {3, 3}, {11, 0}, {5, 1}};
            for (int i = 0; i < icmps.length; i++) l.add(cat(eth(m1, m2, 0x800), ipv4(ip(hosts[i]), ip(hosts[i + 1]), 1, 0, 0, icmp(icmps[i][0], icmps[i][1]))));
            l.add(cat(eth(m1, m2, 0x800), ipv4(ip("10.0.0.1"), ip("10.0.0.2"), 132, 0, 0, udp(2905, 2905, 7, 20))));
            byte[] a1 = ip6("2001:db8::1"), a2 = ip6("2001:db8::2"), a3 = ip6("2001:db9::3"), ll = ip6("fe80::1"), lb = ip6("::1");
            l.add(cat(eth(m1, m2, 0x86dd), ipv6(a1, a2, 6, tcp(1234, 80, 0x02, 0))));
            l.add(cat(eth(m2, m1, 0x86dd), ipv6(a2, a1, 6, tcp(80, 1234, 0x12, 30))));
            l.add(cat(eth(m2, m1, 0x86dd), ipv6(a3, a1, 17, udp(3333, 53, 0x1234, 20))));
            l.add(cat(eth(m2, m1, 0x86dd), ipv6(a1, a3, 17, udp(53, 3333, 5, 100))));
            l.add(cat(eth(mcast, m1, 0x86dd), ipv6(ll, ip6("ff02::1"), 58, icmp(135, 0))));
            l.add(cat(eth(m1, m2, 0x86dd), ipv6(a1, a2, 58, icmp(128, 0))));
            l.add(cat(eth(m2, m1, 0x86dd), ipv6(a2, a1, 58, icmp(129, 0))));
            l.add(cat(eth(m2, m1, 0x86dd), ipv6(lb, ll, 44, cat(new byte[]{17, 0, 0, 1, 0, 0, 0, 7}, udp(5000, 123, 3, 16)))));
            l.add(cat(eth(m2, m1, 0x86dd), ipv6(a1, ll, 44, cat(new byte[]{58, 0, 0, 0, 0, 0, 0, 8}, icmp(128, 0)))));
            for (int i = 0; i < 4; i++) {
                ByteBuffer arp = ByteBuffer.allocate(28).putShort((short) 1).putShort((short) 0x800).put((byte) 6).put((byte) 4).putShort((short) (i % 2 + 1));
                arp.putShort((short) 0x0200).putInt(i + 1).putInt(ip(hosts[i + 2])).putShort((short) 0).putInt(0).putInt(ip(hosts[4 - i]));
                l.add(cat(eth(i % 2 == 0 ? bcast : m1, m2, i == 3 ? 0x8035 : 0x806), arp.array(), new byte[18]));
            }
            l.add(cat(eth(m2, m1, 0x8100, 100, 0x800), ipv4(ip("10.0.0.1"), ip("192.168.1.5"), 17, 0, 0, udp(3333, 53, 1, 20))));
            l.add(cat(eth(m2, m1, 0x8100, 200, 0x800), ipv4(ip("10.0.0.1"), ip("192.168.1.5"), 17, 0, 0, udp(3333, 53, 2, 20))));
            l.add(cat(eth(m2, m1, 0x8100, 0x2000 | 200, 0x800), ipv4(ip("10.0.0.2"), ip("8.8.8.8"), 6, 0, 0, tcp(5555, 80, 0x02, 0))));
            l.add(cat(eth(m2, m1, 0x88a8, 300, 0x8100, 100, 0x800), ipv4(ip("10.0.0.9"), ip("10.0.0.1"), 1, 0, 0, icmp(8, 0))));
            l.add(cat(eth(m2, m1, 0x8100, 100, 0x86dd), ipv6(a1, a2, 17, udp(53, 53, 0, 8))));
            l.add(cat(eth(bcast, m1, 0x9000), new byte[46]));
            l.add(cat(eth(m2, m1, 0x800), ipv4(ip("10.0.0.1"), ip("10.0.0.2"), 47, 0, 0, new byte[300])));
            return l;
        }

        static byte[] pcap(List<byte[]> pkts) {
            ByteBuffer b = ByteBuffer.allocate(24 + pkts.stream().mapToInt(p -> 16 + p.length).sum()).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(65535).putInt(1);
            int t = 0;
            for (byte[] p : pkts) b.putInt(1_700_000_000).putInt(t++).putInt(p.length).putInt(p.length).put(p);
            return b.array();
        }

        static List<byte[]> read(byte[] file) {
            List<byte[]> out = new ArrayList<>();
            if (file.length == 0) return out;
            ByteBuffer b = ByteBuffer.wrap(file).order(file[0] == (byte) 0xd4 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
            b.position(24);
            while (b.remaining() >= 16) {
                b.getInt();
                b.getInt();
                int cap = b.getInt();
                b.getInt();
                byte[] p = new byte[cap];
                b.get(p);
                out.add(p);
            }
            return out;
        }
    }
}
