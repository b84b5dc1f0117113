package org.jpdk.app.l3fwd;

import org.jpdk.drivers.net.pcap.PcapReader;
import org.jpdk.drivers.net.pcap.PcapWriter;
import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.PortConf;
import org.jpdk.hash.FlowKey;
import org.jpdk.hash.Hash;
import org.jpdk.lpm.Lpm;
import org.jpdk.lpm.Lpm6;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class L3fwdTest {
    record Result(int rc, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = L3fwd.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static long field(String out, String header, String label) {
        int at = out.lastIndexOf(header);
        assertTrue(at >= 0, "no '" + header + "' in:\n" + out);
        Matcher m = Pattern.compile(Pattern.quote(label) + "\\s+(\\d+)").matcher(out);
        assertTrue(m.find(at), "no '" + label + "' after '" + header + "'");
        return Long.parseLong(m.group(1));
    }

    static long mac(String out, int port) {
        Matcher m = Pattern.compile("Port " + port + ", MAC address: (\\S+),").matcher(out);
        assertTrue(m.find(), out);
        return MacAddr.parse(m.group(1)).value();
    }

    static final long IN_DST = 0x02_00_00_00_ee_01L, IN_SRC = 0x02_00_00_00_ee_02L;

    /** Ethernet + IPv4 (IHL 5) + UDP + 18 payload bytes, header checksum right. */
    static byte[] ipv4(int src, int dst, int sport, int dport, int ttl) {
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + 8 + 18);
        putMac(b, IN_DST);
        putMac(b, IN_SRC);
        b.putShort((short) 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 46).putShort((short) 0x1234).putShort((short) 0x4000);
        b.put((byte) ttl).put((byte) 17).putShort((short) 0).putInt(src).putInt(dst);
        b.putShort((short) sport).putShort((short) dport).putShort((short) 26).putShort((short) 0);
        for (int i = 0; i < 18; i++) b.put((byte) (i * 7 + dst));
        byte[] f = b.array();
        int ck = ipChecksum(f, 14, 20);
        f[24] = (byte) (ck >>> 8);
        f[25] = (byte) ck;
        return f;
    }

    /** Ethernet + IPv6 + UDP + 14 payload bytes. */
    static byte[] ipv6(long dstHi, long dstLo, int sport, int dport, int hops) {
        ByteBuffer b = ByteBuffer.allocate(14 + 40 + 8 + 14);
        putMac(b, IN_DST);
        putMac(b, IN_SRC);
        b.putShort((short) 0x86DD);
        b.putInt(0x6000_0000).putShort((short) 22).put((byte) 17).put((byte) hops);
        b.putLong(dstHi).putLong(1); // source: same /64, host 1
        b.putLong(dstHi).putLong(dstLo);
        b.putShort((short) sport).putShort((short) dport).putShort((short) 22).putShort((short) 0);
        for (int i = 0; i < 14; i++) b.put((byte) i);
        return b.array();
    }

    static byte[] arp() {
        byte[] f = new byte[60];
        Arrays.fill(f, 0, 6, (byte) 0xff);
        f[12] = 0x08;
        f[13] = 0x06;
        return f;
    }

    private static void putMac(ByteBuffer b, long mac) {
        for (int k = 0; k < 6; k++) b.put((byte) (mac >>> (40 - 8 * k)));
    }

    /** The Internet checksum of f[off..off+len) with the checksum field (bytes 10-11) taken as 0. */
    static int ipChecksum(byte[] f, int off, int len) {
        int sum = 0;
        for (int i = 0; i < len; i += 2) {
            if (i == 10) continue;
            sum += (f[off + i] & 0xff) << 8 | (f[off + i + 1] & 0xff);
        }
        while (sum >>> 16 != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return ~sum & 0xffff;
    }

    /** What l3fwd should send for an IPv4 (or, with {@code v6}, IPv6) frame: MACs, TTL - 1, checksum recomputed. */
    static byte[] forwarded(byte[] in, long dst, long src, boolean v6) {
        byte[] g = in.clone();
        for (int k = 0; k < 6; k++) {
            g[k] = (byte) (dst >>> (40 - 8 * k));
            g[6 + k] = (byte) (src >>> (40 - 8 * k));
        }
        if (v6) {
            g[14 + 7]--;
        } else {
            g[14 + 8]--;
            int ck = ipChecksum(g, 14, 20);
            g[24] = (byte) (ck >>> 8);
            g[25] = (byte) ck;
        }
        return g;
    }

    static void writePcap(Path file, List<byte[]> frames) {
        try (PcapWriter w = PcapWriter.create(file)) {
            long ts = 1_000_000_000L;
            for (byte[] f : frames) w.write(MemorySegment.ofArray(f), 0, f.length, ts++);
        }
    }

    static List<byte[]> readPcap(Path file) {
        List<byte[]> l = new ArrayList<>();
        try (PcapReader r = PcapReader.open(file)) {
            while (r.next() == PcapReader.RECORD) {
                byte[] b = new byte[r.caplen()];
                r.copy(0, MemorySegment.ofArray(b), 0, b.length);
                l.add(b);
            }
            assertEquals(PcapReader.EOF, r.state(), r.error());
        }
        return l;
    }

    static void assertFrames(List<byte[]> want, List<byte[]> got, String what) {
        assertEquals(want.size(), got.size(), what + ": packet count");
        for (int i = 0; i < want.size(); i++) assertArrayEquals(want.get(i), got.get(i), what + ": packet " + i);
    }

    static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    static final long V6_NET = 0x2001_0200_0000_0000L;

    private static String[] pcapArgs(Path dir, String... app) {
        List<String> a = new ArrayList<>(List.of("-l", "0", "--no-huge",
                "--vdev", "net_pcap0,rx_pcap=" + dir.resolve("in0.pcap") + ",tx_pcap=" + dir.resolve("out0.pcap"),
                "--vdev", "net_pcap1,rx_pcap=" + dir.resolve("in1.pcap") + ",tx_pcap=" + dir.resolve("out1.pcap"),
                "--", "-p", "0x3", "-T", "0", "--run-seconds=0.6"));
        a.addAll(Arrays.asList(app));
        return a.toArray(new String[0]);
    }

    @Test
    void lpmRoutesRewritesAndDropsOnPcapPorts(@TempDir Path dir) {
        byte[] toPort1 = ipv4(ip(10, 9, 0, 1), ip(198, 18, 1, 5), 1000, 9, 64);
        byte[] toPort0 = ipv4(ip(10, 9, 0, 1), ip(198, 18, 0, 7), 1000, 9, 2);
        byte[] miss = ipv4(ip(10, 9, 0, 1), ip(10, 0, 0, 1), 1000, 9, 64);
        byte[] toDisabled = ipv4(ip(10, 9, 0, 1), ip(198, 18, 5, 1), 1000, 9, 64); // route to port 5, not enabled: rx port
        byte[] ttl1 = ipv4(ip(10, 9, 0, 1), ip(198, 18, 1, 9), 1000, 9, 1);
        byte[] badCksum = ipv4(ip(10, 9, 0, 1), ip(198, 18, 1, 10), 1000, 9, 64);
        badCksum[25] ^= 0x55;
        byte[] v6ToPort1 = ipv6(V6_NET | 1, 5, 1000, 9, 64);
        byte[] v6Ttl1 = ipv6(V6_NET | 1, 6, 1000, 9, 1);
        byte[] fromPort1 = ipv4(ip(10, 9, 0, 1), ip(198, 18, 0, 3), 1000, 9, 64);
        writePcap(dir.resolve("in0.pcap"), List.of(toPort1, toPort0, miss, toDisabled, ttl1, arp(), badCksum, v6ToPort1, v6Ttl1));
        writePcap(dir.resolve("in1.pcap"), List.of(fromPort1));
        Result r = run(pcapArgs(dir, "--eth-dest=1,02:00:00:00:00:aa"));
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("LPM: 2 IPv4 routes, 2 IPv6 routes\n"), r.out);
        assertTrue(r.out.contains("Skipping 14 IPv4 routes to ports not in the port mask\n"), r.out);
        long mac0 = mac(r.out, 0), mac1 = mac(r.out, 1), dst1 = 0x02_00_00_00_00_aaL, dst0 = L3fwd.DST_MAC_BASE;
        assertFrames(List.of(forwarded(toPort1, dst1, mac1, false), forwarded(v6ToPort1, dst1, mac1, true)),
                readPcap(dir.resolve("out1.pcap")), "port 1");
        assertFrames(List.of(forwarded(toPort0, dst0, mac0, false), forwarded(miss, dst0, mac0, false),
                forwarded(toDisabled, dst0, mac0, false), forwarded(fromPort1, dst0, mac0, false)),
                readPcap(dir.resolve("out0.pcap")), "port 0");
        assertEquals(9, field(r.out, "Statistics for port 0 ---", "Packets received:"));
        assertEquals(4, field(r.out, "Statistics for port 0 ---", "Packets dropped:"));
        assertEquals(4, field(r.out, "Statistics for port 0 ---", "Packets sent:"));
        assertEquals(2, field(r.out, "Statistics for port 1 ---", "Packets sent:"));
        assertTrue(r.out.contains("L3FWD: dropped on receive: 1 not IP, 1 bad IP header or checksum, 2 TTL expired, "
                + "0 longer than --max-pkt-len\n"), r.out);
        assertTrue(r.out.endsWith("Closing port 0... Done\nClosing port 1... Done\nBye...\n"), r.out);
    }

    @Test
    void lpmRoutesFromFilesAndMaxPktLen(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("v4.cfg"), """
                # test routes
                R10.0.0.0/8 1

                R10.1.0.0/16 0
                R10.1.2.128/25\t1
                """);
        Files.writeString(dir.resolve("v6.cfg"), "R2001:db8::/32 1\nR2001:db8:0:1::/64 0\n");
        byte[] a = ipv4(1, ip(10, 2, 3, 4), 1, 2, 64);    // /8 → 1
        byte[] b = ipv4(1, ip(10, 1, 3, 4), 1, 2, 64);    // /16 → 0
        byte[] c = ipv4(1, ip(10, 1, 2, 200), 1, 2, 64);  // /25 → 1
        byte[] d = ipv6(0x2001_0db8_0000_0001L, 9, 1, 2, 9); // /64 → 0
        byte[] e = ipv6(0x2001_0db8_0000_0002L, 9, 1, 2, 9); // /32 → 1
        byte[] big = ipv4(1, ip(10, 2, 3, 4), 1, 2, 64);
        big = Arrays.copyOf(big, 200); // longer than --max-pkt-len 100 (IPv4 total length stays 46: trailer)
        writePcap(dir.resolve("in0.pcap"), List.of(a, b, c, d, e, big));
        writePcap(dir.resolve("in1.pcap"), List.of());
        Result r = run(pcapArgs(dir, "-L", "--rule_ipv4=" + dir.resolve("v4.cfg"), "--rule_ipv6", dir.resolve("v6.cfg").toString(),
                "--max-pkt-len", "100", "--parse-ptype"));
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("LPM: 3 IPv4 routes, 2 IPv6 routes\n"), r.out);
        long mac0 = mac(r.out, 0), mac1 = mac(r.out, 1);
        assertFrames(List.of(forwarded(a, L3fwd.DST_MAC_BASE | 1, mac1, false), forwarded(c, L3fwd.DST_MAC_BASE | 1, mac1, false),
                forwarded(e, L3fwd.DST_MAC_BASE | 1, mac1, true)), readPcap(dir.resolve("out1.pcap")), "port 1");
        assertFrames(List.of(forwarded(b, L3fwd.DST_MAC_BASE, mac0, false), forwarded(d, L3fwd.DST_MAC_BASE, mac0, true)),
                readPcap(dir.resolve("out0.pcap")), "port 0");
        assertTrue(r.out.contains(", 1 longer than --max-pkt-len\n"), r.out);
    }

    @Test
    void exactMatchRoutesByFiveTuple(@TempDir Path dir) throws Exception {
        // DPDK's default rules: 198.18.i.1 -> 198.18.i.0, UDP i -> 9, to port i
        byte[] rule1 = ipv4(ip(198, 18, 1, 1), ip(198, 18, 1, 0), 1, 9, 64);
        byte[] rule0 = ipv4(ip(198, 18, 0, 1), ip(198, 18, 0, 0), 0, 9, 64);
        byte[] otherPort = ipv4(ip(198, 18, 1, 1), ip(198, 18, 1, 0), 1, 10, 64); // miss: back out of port 0
        byte[] ttl1 = ipv4(ip(198, 18, 1, 1), ip(198, 18, 1, 0), 1, 9, 1);
        writePcap(dir.resolve("in0.pcap"), List.of(rule1, otherPort, ttl1, arp(), rule0));
        writePcap(dir.resolve("in1.pcap"), List.of(rule0));
        Result r = run(pcapArgs(dir, "-E"));
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("EM: 2 IPv4 rules, 2 IPv6 rules\n"), r.out);
        long mac0 = mac(r.out, 0), mac1 = mac(r.out, 1);
        assertFrames(List.of(forwarded(rule1, L3fwd.DST_MAC_BASE | 1, mac1, false)), readPcap(dir.resolve("out1.pcap")), "port 1");
        assertFrames(List.of(forwarded(otherPort, L3fwd.DST_MAC_BASE, mac0, false), forwarded(rule0, L3fwd.DST_MAC_BASE, mac0, false),
                forwarded(rule0, L3fwd.DST_MAC_BASE, mac0, false)), readPcap(dir.resolve("out0.pcap")), "port 0");

        // the same from a rule file, IPv6 too
        Files.writeString(dir.resolve("em4.cfg"), "#dst src dport sport proto port\nR198.18.1.0 198.18.1.1 10 1 0x11 1\n");
        Files.writeString(dir.resolve("em6.cfg"), "R2001:200:0:1::5 2001:200:0:1::1 9 1000 17 1\n");
        byte[] v6 = ipv6(V6_NET | 1, 5, 1000, 9, 64);
        writePcap(dir.resolve("in0.pcap"), List.of(otherPort, v6, rule1));
        writePcap(dir.resolve("in1.pcap"), List.of());
        Result f = run(pcapArgs(dir, "--lookup=em", "--rule_ipv4=" + dir.resolve("em4.cfg"), "--rule_ipv6=" + dir.resolve("em6.cfg"),
                "--ipv6"));
        assertEquals(0, f.rc, f.err + f.out);
        long fmac1 = mac(f.out, 1); // a new net_pcap port: its MAC's last byte counts the ports made
        assertFrames(List.of(forwarded(otherPort, L3fwd.DST_MAC_BASE | 1, fmac1, false), forwarded(v6, L3fwd.DST_MAC_BASE | 1, fmac1, true)),
                readPcap(dir.resolve("out1.pcap")), "port 1 (files)");
    }

    @Test
    void twoLcoresEachWithItsQueues(@TempDir Path dir) {
        List<byte[]> a = new ArrayList<>(), b = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            a.add(ipv4(ip(10, 0, 0, i), ip(198, 18, 1, i), 1000 + i, 9, 64));
            b.add(ipv4(ip(10, 0, 1, i), ip(198, 18, 1, i), 2000 + i, 9, 64));
        }
        writePcap(dir.resolve("a.pcap"), a);
        writePcap(dir.resolve("b.pcap"), b);
        writePcap(dir.resolve("e.pcap"), List.of());
        Result r = run("-l", "0-1", "--no-huge",
                "--vdev", "net_pcap0,rx_pcap=" + dir.resolve("a.pcap") + ",rx_pcap=" + dir.resolve("b.pcap")
                        + ",tx_pcap=" + dir.resolve("o0a.pcap") + ",tx_pcap=" + dir.resolve("o0b.pcap"),
                "--vdev", "net_pcap1,rx_pcap=" + dir.resolve("e.pcap") + ",tx_pcap=" + dir.resolve("o1a.pcap")
                        + ",tx_pcap=" + dir.resolve("o1b.pcap"),
                "--", "-p", "0x3", "--config", "(0,0,0), (0,1,1),(1,0,1)", "-T", "0.2", "--run-seconds=0.8");
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("Lcore 0: RX port 0 queue 0, TX queue 0 on every port\n"
                + "Lcore 1: RX port 0 queue 1, TX queue 1 on every port\nLcore 1: RX port 1 queue 0, TX queue 1 on every port\n"), r.out);
        long mac1 = mac(r.out, 1);
        // lcore 0 polls port 0 queue 0 and sends on tx queue 0 of port 1; lcore 1 likewise with queue 1
        assertFrames(a.stream().map(f -> forwarded(f, L3fwd.DST_MAC_BASE | 1, mac1, false)).toList(), readPcap(dir.resolve("o1a.pcap")), "lcore 0");
        assertFrames(b.stream().map(f -> forwarded(f, L3fwd.DST_MAC_BASE | 1, mac1, false)).toList(), readPcap(dir.resolve("o1b.pcap")), "lcore 1");
        assertEquals(400, field(r.out, "Aggregate statistics", "Total packets sent:"));
        assertTrue(r.out.split("Port statistics =====", -1).length - 1 >= 3, r.out);
    }

    @Test
    void nullPortsTwoLcoresDropZeroFramesAsNotIp() {
        Result r = run("-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1",
                "--", "-p", "0x3", "-T", "0", "--run-seconds=0.5");
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("Lcore 0: RX port 0 queue 0, TX queue 0 on every port\nLcore 1: RX port 1 queue 0, TX queue 1 on every port\n"), r.out);
        long rx = field(r.out, "Aggregate statistics", "Total packets received:");
        assertTrue(rx > 0, r.out);
        assertEquals(rx, field(r.out, "Aggregate statistics", "Total packets dropped:"));
        assertTrue(r.out.contains("L3FWD: dropped on receive: " + rx + " not IP,"), r.out);
    }

    @Test
    void badOptionsAreOneLineAndExitOne() {
        String[][] cases = {
                {"-p 0x0", "l3fwd: -p 0x0: invalid portmask; allowed a non-zero hexadecimal mask of ports 0..31, e.g. 0x3"},
                {"-p", "l3fwd: -p: needs a value"},
                {"", "l3fwd: all available ports are disabled; give -p PORTMASK, e.g. -p 0x3"},
                {"-p 0x4", "l3fwd: -p 0x4: port 2 does not exist; ports are 0,1"},
                {"-p 0x3 -E -L", "l3fwd: -L: only one lookup mode is allowed at a time"},
                {"-p 0x3 --lookup=fib", "l3fwd: --lookup=fib: unknown lookup method; allowed em, lpm"},
                {"-p 0x3 --config=(0,0)", "l3fwd: --config=(0,0): want (port,queue,lcore)"},
                {"-p 0x3 --config=(0,0,0)x", "l3fwd: --config=(0,0,0)x: expected ',' between tuples at 'x'"},
                {"-p 0x3 --config=(0,0,0),(0,0,1)", "l3fwd: --config=(0,0,0),(0,0,1): (0,0,1): port 0 queue 0 given twice"},
                {"-p 0x3 --config=(0,0,7)", "l3fwd: --config (0,0,7): lcore 7 is not enabled in the EAL's lcores (-l); they are 0,1"},
                {"-p 0x1 --config=(1,0,0)", "l3fwd: --config (1,0,0): port 1 is not enabled in the port mask"},
                {"-p 0x1 --config=(0,1,0)", "l3fwd: --config: queue ids of port 0 must be in sequence from 0; queue 0 is missing"},
                {"-p 0x3 --eth-dest=0,zz", "l3fwd: --eth-dest=0,zz: 'zz' is not a MAC address"},
                {"-p 0x3 --eth-dest=40,02:00:00:00:00:01", "l3fwd: --eth-dest=40,02:00:00:00:00:01: want <port>,<MAC>"},
                {"-p 0x3 --max-pkt-len=10", "l3fwd: --max-pkt-len=10: invalid packet length; allowed 64..9600"},
                {"-p 0x3 -b 0", "l3fwd: -b 0: invalid burst size; allowed 1..256"},
                {"-p 0x3 --parse-ptype=1", "l3fwd: --parse-ptype takes no value, found '1'"},
                {"-p 0x3 --rule_ipv4=/nonexistent/r.cfg", "l3fwd: /nonexistent/r.cfg: cannot read: no such file"},
                {"-p 0x3 --bogus", "l3fwd: unknown option --bogus; see --help"},
                {"-p 0x3 --run-seconds=0", "l3fwd: --run-seconds=0: allowed a number of seconds > 0"},
        };
        for (String[] c : cases) {
            List<String> args = new ArrayList<>(List.of("-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1", "--"));
            if (!c[0].isEmpty()) args.addAll(Arrays.asList(c[0].split(" ")));
            Result r = run(args.toArray(new String[0]));
            assertEquals(1, r.rc, c[0] + ": " + r.out + r.err);
            String[] lines = r.err.split("\n");
            assertEquals(1, lines.length, c[0] + ": one line expected:\n" + r.err);
            assertTrue(lines[0].startsWith(c[1]), c[0] + ": got " + lines[0]);
        }
        Result eal = run("-l", "0-x", "--", "-p", "0x3");
        assertEquals(1, eal.rc);
        assertTrue(eal.err.startsWith("EAL: error: ") && eal.err.split("\n").length == 1, eal.err);
        Result help = run("--", "--help");
        assertEquals(0, help.rc);
        assertTrue(help.out.startsWith("usage: jpdk l3fwd"), help.out);
    }

    @Test
    void routeFileErrorsNameFileLineAndProblem(@TempDir Path dir) throws Exception {
        String[][] cases = { // mode, file content, expected message after "FILE:"
                {"-L", "R10.0.0.0/8 1\nX10.0.0.0/8 1\n", "2: a rule line must start with 'R', found 'X'"},
                {"-L", "# c\n\nR10.0.0.0/33 1\n", "3: depth '33': want 1..32"},
                {"-L", "R10.0.0/8 1\n", "1: IPv4 address '10.0.0': want four dotted numbers 0..255"},
                {"-L", "R10.0.0.0 1\n", "1: '10.0.0.0': want <address>/<depth>"},
                {"-L", "R10.0.0.0/8 256\n", "1: port '256': want 0..255"},
                {"-L", "R10.0.0.0/8\n", "1: want 'R<address>/<depth> <port>', found 1 fields"},
                {"-L", "# only comments\n", " no rules (lines starting with 'R')"},
                {"-E", "R1.1.1.1 2.2.2.2 9 1 17\n", "1: want 'R<dst> <src> <dst port> <src port> <proto> <port>', found 5 fields"},
                {"-E", "R1.1.1.1 2.2.2.2 70000 1 17 0\n", "1: destination port '70000': want 0..65535"},
                {"-E", "R1.1.1.1 2.2.2.2 9 1 0x100 0\n", "1: protocol '0x100': want 0..255"},
        };
        Path f = dir.resolve("r.cfg");
        for (String[] c : cases) {
            Files.writeString(f, c[1]);
            Result r = run("-l", "0", "--no-huge", "--vdev", "net_null0", "--", "-p", "0x1", c[0], "--rule_ipv4=" + f);
            assertEquals(1, r.rc, c[1] + r.out + r.err);
            assertEquals("l3fwd: " + f + ":" + c[2] + "\n", r.err, c[1]);
        }
        Files.writeString(f, "R2001:db8::1::2/64 0\n");
        Result r = run("-l", "0", "--no-huge", "--vdev", "net_null0", "--", "-p", "0x1", "--rule_ipv6=" + f);
        assertEquals("l3fwd: " + f + ":1: IPv6 address '2001:db8::1::2': not an address like 2001:db8::1\n", r.err);
    }

    @Test
    void ipv6AddressParsing() {
        assertArrayEquals(new long[]{0x2001_0db8_0000_0000L, 1}, Routes.parseIpv6("2001:db8::1"));
        assertArrayEquals(new long[]{0, 0}, Routes.parseIpv6("::"));
        assertArrayEquals(new long[]{0, 0x0000_ffff_c612_0001L}, Routes.parseIpv6("::ffff:198.18.0.1"));
        assertArrayEquals(new long[]{0x0001_0002_0003_0004L, 0x0005_0006_0007_0008L}, Routes.parseIpv6("1:2:3:4:5:6:7:8"));
        assertEquals(null, Routes.parseIpv6("1:2:3:4:5:6:7"));
        assertEquals(null, Routes.parseIpv6("1:2:3:4:5:6:7:8:9"));
        assertEquals(null, Routes.parseIpv6("12345::"));
        assertEquals(null, Routes.parseIpv6("g::"));
    }

    @Test
    void forwardingPassAllocatesNothing(@TempDir Path dir) {
        List<byte[]> mix = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            mix.add(ipv4(ip(198, 18, 1, 1), ip(198, 18, i % 2, 0), i % 2, 9, 64));
            mix.add(ipv6(V6_NET | (i % 2), 5, 1000, 9, 64));
            if (i % 5 == 0) mix.add(arp());
            if (i % 7 == 0) mix.add(ipv4(1, ip(10, 0, 0, i), 1, 2, 1));
        }
        writePcap(dir.resolve("mix.pcap"), mix);
        String vdev = "rx_pcap=" + dir.resolve("mix.pcap") + ",infinite_rx=1";
        try (Eal ignored = Eal.init("-l", "0", "--no-huge", "--vdev", "net_pcap0," + vdev, "--vdev", "net_pcap1," + vdev);
             Arena arena = Arena.ofShared()) {
            Mempool<Mbuf> pool = Mbuf.createPool("l3fwd_alloc_test", 4095, 64, Mbuf.DEFAULT_BUF_SIZE, 0);
            Lpm lpm = Lpm.create("l3fwd_alloc", 0, 64, 16);
            Lpm6 lpm6 = Lpm6.create("l3fwd_alloc", 0, 64, 64);
            Hash em4 = Hash.create("l3fwd_alloc4", 64, FlowKey.IPV4_LEN), em6 = Hash.create("l3fwd_alloc6", 64, FlowKey.IPV6_LEN);
            try {
                EthDev[] tx = new EthDev[EthDev.MAX_PORTS];
                long[] dstMac = new long[EthDev.MAX_PORTS];
                for (EthDev p : EthDev.all()) {
                    p.configure(1, 1, PortConf.defaults());
                    p.rxQueueSetup(0, 512, pool);
                    p.txQueueSetup(0, 512);
                    p.start();
                    tx[p.id()] = p;
                    dstMac[p.id()] = L3fwd.DST_MAC_BASE | p.id();
                }
                lpm.add(ip(198, 18, 0, 0), 24, 0);
                lpm.add(ip(198, 18, 1, 0), 24, 1);
                lpm.add(ip(198, 18, 1, 128), 25, 1); // a tbl8 group: the extended path
                lpm6.add(V6_NET | 1, 0, 64, 1);
                MemorySegment key = arena.allocate(FlowKey.IPV4_LEN);
                FlowKey.ipv4(key, 0, ip(198, 18, 1, 1), ip(198, 18, 1, 0), 1, 9, 17);
                em4.add(key, 0, 1);
                for (L3fwdLcore.Tables t : List.of(new L3fwdLcore.Tables(lpm, lpm6, null, null), new L3fwdLcore.Tables(null, null, em4, em6))) {
                    L3fwdLcore lc = new L3fwdLcore(0, EthDev.all(), List.of(0, 0), 0, tx, dstMac, t, 32, 1518, arena);
                    long[] now = {0};
                    AllocationMeter.assertNoAllocation("passes, " + (t.exactMatch() ? "EM" : "LPM"), 30_000, 10_000, () -> lc.poll(now[0] += 60_000));
                    lc.drain();
                    long rx = lc.rxCounter(0, L3fwdLcore.RX) + lc.rxCounter(1, L3fwdLcore.RX);
                    long sent = lc.tx[0].sent() + lc.tx[1].sent();
                    long dropped = lc.tx[0].dropped() + lc.tx[1].dropped();
                    for (int s = 0; s < 2; s++) for (int c = 1; c < L3fwdLcore.RX_COUNTERS; c++) dropped += lc.rxCounter(s, c);
                    assertTrue(rx > 0 && sent > 0 && lc.rxCounter(0, L3fwdLcore.NOT_IP) > 0 && lc.rxCounter(0, L3fwdLcore.TTL) > 0);
                    assertEquals(rx, sent + dropped);
                }
            } finally {
                EthDev.closeAll();
                lpm.close();
                lpm6.close();
                em4.close();
                em6.close();
                pool.close();
            }
        }
    }

    @Test
    void sigtermStopsCleanlyWithTheSummary(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("l3fwd.out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "org.jpdk.app.Launcher", "l3fwd", "-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1",
                "--", "-p", "0x3", "-T", "0").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && !Files.readString(log).contains("L3FWD:  -- lcoreid=1 portid=1")) Thread.sleep(20);
            Thread.sleep(200);
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "l3fwd did not stop after SIGTERM:\n" + Files.readString(log));
        } finally {
            p.destroyForcibly();
        }
        String s = Files.readString(log);
        assertEquals(143, p.exitValue(), s);
        assertTrue(s.contains("Signal received, preparing to exit..."), s);
        assertTrue(s.contains("Closing port 1... Done\nBye...\n"), s);
        assertFalse(s.contains("Exception"), s);
        assertTrue(field(s, "Aggregate statistics", "Total packets received:") > 0, s);
    }
}
