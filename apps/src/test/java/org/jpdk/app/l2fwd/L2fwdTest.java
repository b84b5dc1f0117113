package org.jpdk.app.l2fwd;

import org.jpdk.drivers.net.pcap.PcapReader;
import org.jpdk.drivers.net.pcap.PcapWriter;
import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
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
class L2fwdTest {
    record Result(int rc, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = L2fwd.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The number after {@code label} in the block that starts with {@code header}. */
    static long field(String out, String header, String label) {
        int at = out.lastIndexOf(header);
        assertTrue(at >= 0, "no '" + header + "' in:\n" + out);
        Matcher m = Pattern.compile(Pattern.quote(label) + "\\s+(\\d+)").matcher(out);
        assertTrue(m.find(at), "no '" + label + "' after '" + header + "'");
        return Long.parseLong(m.group(1));
    }

    static long mac(String out, int port) {
        Matcher m = Pattern.compile("Port " + port + ", MAC address: (\\S+)").matcher(out);
        assertTrue(m.find(), out);
        return MacAddr.parse(m.group(1)).value();
    }

    /** {@code n} frames of 60..(60+n) bytes whose every byte depends on the frame and position. */
    static List<byte[]> frames(int n, int seed) {
        List<byte[]> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] f = new byte[60 + (i * 7) % 200];
            for (int j = 0; j < f.length; j++) f[j] = (byte) (seed * 31 + i * 13 + j);
            l.add(f);
        }
        return l;
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

    static byte[] withMacs(byte[] f, long dst, long src) {
        byte[] g = f.clone();
        for (int k = 0; k < 6; k++) {
            g[k] = (byte) (dst >>> (40 - 8 * k));
            g[6 + k] = (byte) (src >>> (40 - 8 * k));
        }
        return g;
    }

    private static void checkForwarded(List<byte[]> in, List<byte[]> out, boolean rewrite, long dst, long src) {
        assertEquals(in.size(), out.size(), "packets in = packets out");
        for (int i = 0; i < in.size(); i++) {
            assertArrayEquals(rewrite ? withMacs(in.get(i), dst, src) : in.get(i), out.get(i), "packet " + i);
        }
    }

    private void pcapPair(Path dir, boolean macUpdating, String... eal) {
        List<byte[]> in0 = frames(300, 1), in1 = frames(70, 2);
        writePcap(dir.resolve("in0.pcap"), in0);
        writePcap(dir.resolve("in1.pcap"), in1);
        List<String> args = new ArrayList<>(Arrays.asList(eal));
        args.addAll(List.of("--no-huge",
                "--vdev", "net_pcap0,rx_pcap=" + dir.resolve("in0.pcap") + ",tx_pcap=" + dir.resolve("out0.pcap"),
                "--vdev", "net_pcap1,rx_pcap=" + dir.resolve("in1.pcap") + ",tx_pcap=" + dir.resolve("out1.pcap"),
                "--", "-p", "0x3", "-T", "0.2", "--run-seconds=0.8"));
        if (!macUpdating) args.add("--no-mac-updating");
        Result r = run(args.toArray(new String[0]));
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("MAC updating " + (macUpdating ? "enabled" : "disabled")), r.out);
        assertTrue(r.out.contains("Lcore 0: RX port 0 TX port 1\n"), r.out);
        assertTrue(r.out.endsWith("Closing port 0... Done\nClosing port 1... Done\nBye...\n"), r.out);
        // the final statistics: what came in on one port of the pair went out of the other
        assertEquals(300, field(r.out, "Statistics for port 0 ---", "Packets received:"));
        assertEquals(300, field(r.out, "Statistics for port 1 ---", "Packets sent:"));
        assertEquals(70, field(r.out, "Statistics for port 1 ---", "Packets received:"));
        assertEquals(70, field(r.out, "Statistics for port 0 ---", "Packets sent:"));
        assertEquals(0, field(r.out, "Aggregate statistics", "Total packets dropped:"));
        assertEquals(370, field(r.out, "Aggregate statistics", "Total packets sent:"));
        checkForwarded(in0, readPcap(dir.resolve("out1.pcap")), macUpdating, L2fwdLcore.DST_MAC_BASE | 1, mac(r.out, 1));
        checkForwarded(in1, readPcap(dir.resolve("out0.pcap")), macUpdating, L2fwdLcore.DST_MAC_BASE, mac(r.out, 0));
    }

    @Test
    void pcapPairOnTwoLcoresRewritesMacs(@TempDir Path dir) {
        pcapPair(dir, true, "-l", "0-1");
    }

    @Test
    void pcapPairOnOneLcoreWithoutMacUpdating(@TempDir Path dir) {
        Result q = run("-l", "0", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1", "--", "-p", "0x3");
        assertEquals(1, q.rc, q.out);
        assertEquals("l2fwd: not enough cores: 2 ports at -q 1 need 2 lcores and the EAL has 1 (-l)\n", q.err);
        pcapPairOneLcore(dir);
    }

    private void pcapPairOneLcore(Path dir) {
        List<byte[]> in0 = frames(300, 1), in1 = frames(70, 2);
        writePcap(dir.resolve("a.pcap"), in0);
        writePcap(dir.resolve("b.pcap"), in1);
        Result r = run("-l", "0", "--no-huge",
                "--vdev", "net_pcap0,rx_pcap=" + dir.resolve("a.pcap") + ",tx_pcap=" + dir.resolve("c.pcap"),
                "--vdev", "net_pcap1,rx_pcap=" + dir.resolve("b.pcap") + ",tx_pcap=" + dir.resolve("d.pcap"),
                "--", "-p0x3", "-q", "2", "--no-mac-updating", "-T", "0", "--run-seconds=0.5");
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("Lcore 0: RX port 0 TX port 1\nLcore 0: RX port 1 TX port 0\n"), r.out);
        checkForwarded(in0, readPcap(dir.resolve("d.pcap")), false, 0, 0);
        checkForwarded(in1, readPcap(dir.resolve("c.pcap")), false, 0, 0);
    }

    @Test
    void nullPortsForwardAndPrintPeriodicStats() {
        Result r = run("-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1", "--vdev", "net_null2",
                "--", "-p", "0x7", "-q", "2", "-T", "0.2", "--run-seconds=0.7");
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("Notice: odd number of ports in portmask.\n"), r.out);
        assertTrue(r.out.contains("Lcore 0: RX port 0 TX port 1\nLcore 0: RX port 1 TX port 0\nLcore 1: RX port 2 TX port 2\n"), r.out);
        int periodic = r.out.split("Port statistics =====", -1).length - 1;
        assertTrue(periodic >= 3, periodic + " statistics blocks:\n" + r.out);
        assertTrue(r.out.contains("\nStatistics for port 2 ------------------------------\nPackets sent: "), r.out);
        long sent = field(r.out, "Aggregate statistics", "Total packets sent:");
        long received = field(r.out, "Aggregate statistics", "Total packets received:");
        long dropped = field(r.out, "Aggregate statistics", "Total packets dropped:");
        assertTrue(sent > 0, r.out);
        assertEquals(received, sent + dropped, "every received packet was sent or dropped (buffers drained at the end)");
        Matcher m = Pattern.compile("L2FWD: (\\d+) packets forwarded in (\\d+\\.\\d\\d) s: (\\d+\\.\\d\\d) Mpps\n").matcher(r.out);
        assertTrue(m.find(), r.out);
        assertEquals(sent, Long.parseLong(m.group(1)));
    }

    @Test
    void badOptionsAreOneLineAndExitOne() {
        String[][] cases = {
                {"-p 0x0", "l2fwd: -p 0x0: invalid portmask; allowed a non-zero hexadecimal mask of ports 0..31, e.g. 0x3"},
                {"-p zz", "l2fwd: -p zz: invalid portmask"},
                {"-p", "l2fwd: -p: needs a value"},
                {"-q 0", "l2fwd: -q 0: invalid queue number; allowed 1..16"},
                {"-q x", "l2fwd: -q x: invalid queue number; allowed 1..16"},
                {"-T -1", "l2fwd: -T -1: invalid timer period; allowed 0..86400 seconds (0: off)"},
                {"--run-seconds=0", "l2fwd: --run-seconds=0: allowed a number of seconds > 0"},
                {"--bogus", "l2fwd: unknown option --bogus; see --help"},
                {"", "l2fwd: all available ports are disabled; give -p PORTMASK, e.g. -p 0x3"},
                {"-p 0x4", "l2fwd: -p 0x4: port 2 does not exist; ports are 0,1"},
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
        assertTrue(help.out.startsWith("usage: jpdk l2fwd"), help.out);
    }

    @Test
    void forwardingPassAllocatesNothing() {
        try (Eal eal = Eal.init("-l", "0", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1")) {
            Mempool<Mbuf> pool = Mbuf.createPool("l2fwd_alloc_test", 4095, 64, Mbuf.DEFAULT_BUF_SIZE, 0);
            try {
                for (EthDev p : EthDev.all()) {
                    p.configure(1, 1, PortConf.defaults());
                    p.rxQueueSetup(0, 512, pool);
                    p.txQueueSetup(0, 512);
                    p.start();
                }
                int[] dst = new int[EthDev.MAX_PORTS];
                dst[0] = 1;
                L2fwdLcore lc = new L2fwdLcore(0, EthDev.all(), dst, true);
                long[] now = {0};
                // every other pass crosses the drain timeout, so both the full-buffer and the drain paths run
                AllocationMeter.assertNoAllocation("passes", 50_000, 20_000, () -> lc.poll(now[0] += 60_000));
                lc.drain();
                assertTrue(lc.received.get(0) > 0);
                assertEquals(lc.received.get(0), lc.tx[0].sent() + lc.tx[0].dropped());
            } finally {
                EthDev.closeAll();
                pool.close();
            }
        }
    }

    @Test
    void sigtermStopsCleanlyWithTheSummary(@TempDir Path dir) throws Exception {
        // the output goes to a file: a pipe's reader can lose the last bytes when the process exits
        Path log = dir.resolve("l2fwd.out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "org.jpdk.app.Launcher", "l2fwd", "-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1",
                "--", "-p", "0x3", "-T", "0").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && !Files.readString(log).contains("L2FWD:  -- lcoreid=1 portid=1")) Thread.sleep(20);
            Thread.sleep(200);
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "l2fwd did not stop after SIGTERM:\n" + Files.readString(log));
        } finally {
            p.destroyForcibly();
        }
        String s = Files.readString(log);
        assertEquals(143, p.exitValue(), s);
        assertTrue(s.contains("Signal received, preparing to exit..."), s);
        assertTrue(s.contains("Closing port 1... Done\nBye...\n"), s);
        assertFalse(s.contains("Exception"), s);
        assertTrue(field(s, "Aggregate statistics", "Total packets sent:") > 0, s);
    }
}
