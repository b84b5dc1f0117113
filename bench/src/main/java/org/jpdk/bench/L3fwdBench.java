package org.jpdk.bench;

import org.jpdk.bench.lpm.PerfRoutes;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./jpdk bench l3fwd}: our l3fwd routing IPv4/UDP packets between two ports, 1 and 2
 * lcores, LPM mode over a DPDK-shaped table of about 1.08 million routes ({@link PerfRoutes}, the
 * table of DPDK's lpm_perf_autotest, fixed seed) and uniformly random destinations (about 12.5%
 * miss and go back out of their rx port), and EM mode over 65,536 5-tuple rules with traffic that
 * hits them. The ports are net_pcap with {@code infinite_rx=1}: each replays a file of 8,192
 * frames forever, copying each into a fresh mbuf (net_null's frames are zeros, which l3fwd drops as
 * not IP), and what l3fwd sends is counted and freed (tx_drop). The figure is the median over the
 * steady seconds of the forwarded packets per second, divided by the lcores.
 *
 * <p>Peer: Debian's dpdk package ships no l3fwd binary, so the nearest DPDK figure from the same
 * run is dpdk-testpmd's macswap (swap MACs, no lookup, no TTL) with one forwarding lcore, over
 * net_null (as {@code ./jpdk bench fwd}) and over net_pcap replaying the same LPM traffic file; our
 * testpmd's macswap over the same pcap ports is printed too. They are different workloads: ratios
 * against them bound the cost of routing, they do not compare two l3fwds.
 */
public final class L3fwdBench {
    static final int SECONDS = 9;
    static final int WARMUP_PERIODS = 2;
    static final int FRAMES = 8192;
    static final int EM_FLOWS = 65536;
    private static final Pattern SENT = Pattern.compile("Total packets sent:\\s+(\\d+)");

    private L3fwdBench() {
    }

    /** The {@code ./jpdk bench l3fwd} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "l3fwd";
        }

        @Override
        public String summary() {
            return "l3fwd LPM and EM on pcap replay ports, 1 and 2 lcores, beside dpdk-testpmd macswap";
        }

        @Override
        public void main(String[] args) throws Exception {
            L3fwdBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("jpdk-l3fwd-bench");
        try {
            Path lpmRoutes = dir.resolve("lpm_v4.cfg"), lpmTraffic = dir.resolve("lpm.pcap");
            Path emRules = dir.resolve("em_v4.cfg"), emTraffic = dir.resolve("em.pcap");
            int routes = writeLpm(lpmRoutes, lpmTraffic, 42);
            writeEm(emRules, emTraffic, 43);
            System.out.println("# LPM: " + routes + " routes, " + FRAMES + " frames to random destinations; EM: " + EM_FLOWS
                    + " rules, " + FRAMES + " frames hitting them; net_pcap infinite_rx ports, " + SECONDS + " s per run");
            List<String[]> ratios = new ArrayList<>();
            double[] lpm = new double[2], em = new double[2];
            for (int lcores = 1; lcores <= 2; lcores++) {
                lpm[lcores - 1] = runL3fwd("-L", lpmRoutes, lpmTraffic, dir, lcores);
                Bench.line("l3fwd_lpm_mpps_per_lcore" + (lcores == 1 ? "" : "_2lcores"), lpm[lcores - 1], "Mpps");
                em[lcores - 1] = runL3fwd("-E", emRules, emTraffic, dir, lcores);
                Bench.line("l3fwd_em_mpps_per_lcore" + (lcores == 1 ? "" : "_2lcores"), em[lcores - 1], "Mpps");
            }
            double oursMacswap = FwdBench.mpps(runTestpmdOurs(lpmTraffic), "macswap");
            Bench.line("testpmd_macswap_pcap_replay_mpps", oursMacswap, "Mpps");
            Path dpdk = Bench.findProgram("dpdk-testpmd");
            double dpdkNull = Double.NaN, dpdkPcap = Double.NaN;
            if (dpdk == null) {
                System.out.println("# dpdk-testpmd not found (apt-get install dpdk): DPDK's figures are missing");
            } else {
                dpdkNull = FwdBench.mpps(FwdBench.runDpdk(dpdk, "macswap", true), "macswap");
                dpdkPcap = FwdBench.mpps(runTestpmdDpdk(dpdk, lpmTraffic), "macswap");
            }
            System.out.println("# peer (a different workload: no lookup, no TTL, no checksum): dpdk-testpmd macswap, 1 forwarding lcore");
            Bench.line("dpdk_testpmd_macswap_null_mpps", dpdkNull, "Mpps");
            Bench.line("dpdk_testpmd_macswap_pcap_replay_mpps", dpdkPcap, "Mpps");
            ratios.add(new String[]{"l3fwd_lpm_vs_dpdk_testpmd_macswap_null", Double.toString(lpm[0]), Double.toString(dpdkNull)});
            ratios.add(new String[]{"l3fwd_lpm_vs_dpdk_testpmd_macswap_pcap_replay", Double.toString(lpm[0]), Double.toString(dpdkPcap)});
            ratios.add(new String[]{"l3fwd_lpm_vs_testpmd_macswap_pcap_replay", Double.toString(lpm[0]), Double.toString(oursMacswap)});
            ratios.add(new String[]{"l3fwd_em_vs_lpm", Double.toString(em[0]), Double.toString(lpm[0])});
            for (String[] r : ratios) Bench.ratio(r[0], Double.parseDouble(r[1]), Double.parseDouble(r[2]));
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Our l3fwd on {@code lcores} lcores; the median steady rate per lcore in Mpps, NaN if it failed. */
    static double runL3fwd(String mode, Path rules, Path traffic, Path dir, int lcores) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        String jar = Path.of(L3fwdBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        // two copies of the file per port: two rx queues, hence two tx (drop) queues, one per lcore
        Path copy = dir.resolve("copy-" + traffic.getFileName());
        if (!Files.exists(copy)) Files.copy(traffic, copy);
        String rx = "rx_pcap=" + traffic + (lcores == 2 ? ",rx_pcap=" + copy : "") + ",infinite_rx=1";
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-XX:+UseParallelGC",
                "-cp", jar, "org.jpdk.app.Launcher", "l3fwd", "-l", lcores == 1 ? "0" : "0-1",
                "--vdev", "net_pcap0," + rx, "--vdev", "net_pcap1," + rx,
                "--", "-p", "0x3", mode, "--rule_ipv4=" + rules, "--config", lcores == 1 ? "(0,0,0),(1,0,0)" : "(0,0,0),(1,0,1)",
                "-T", "1", "--run-seconds=" + SECONDS));
        String out = Bench.runPeer(cmd, null, SECONDS + 120);
        double total = steadyMpps(out);
        if (Double.isNaN(total)) {
            System.out.println("# l3fwd " + mode + " on " + lcores + " lcore(s) gave no figure; its output ends with:");
            if (out != null) {
                String[] l = out.split("\n");
                for (int i = Math.max(0, l.length - 8); i < l.length; i++) System.out.println("#   " + l[i]);
            }
        }
        return total / lcores;
    }

    /** The median over steady one-second periods of the growth of "Total packets sent", in Mpps. */
    static double steadyMpps(String out) {
        if (out == null) return Double.NaN;
        Matcher m = SENT.matcher(out);
        List<Long> v = new ArrayList<>();
        while (m.find()) v.add(Long.parseLong(m.group(1)));
        if (!v.isEmpty()) v.removeLast(); // the final statistics, not a period boundary
        List<Double> periods = new ArrayList<>();
        for (int k = WARMUP_PERIODS; k < v.size(); k++) periods.add((v.get(k) - v.get(k - 1)) / 1e6);
        if (periods.isEmpty()) return Double.NaN;
        periods.sort(null);
        return periods.get(periods.size() / 2);
    }

    private static String runTestpmdOurs(Path traffic) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        String jar = Path.of(L3fwdBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseParallelGC",
                "-cp", jar, "org.jpdk.app.Launcher", "testpmd", "-l", "0-1",
                "--vdev", "net_pcap0,rx_pcap=" + traffic + ",infinite_rx=1", "--vdev", "net_pcap1,rx_pcap=" + traffic + ",infinite_rx=1",
                "--", "--forward-mode=macswap", "--stats-period=1", "--run-seconds=" + SECONDS));
        return Bench.runPeer(cmd, null, SECONDS + 60);
    }

    private static String runTestpmdDpdk(Path dpdk, Path traffic) {
        String prefix = "jpdkl3fwd";
        List<String> cmd = new ArrayList<>(List.of("timeout", "-s", "INT", Integer.toString(SECONDS + 1), dpdk.toString(),
                "-l", "0-1", "--in-memory", "--no-pci", "--file-prefix", prefix,
                "--vdev", "net_pcap0,rx_pcap=" + traffic + ",infinite_rx=1", "--vdev", "net_pcap1,rx_pcap=" + traffic + ",infinite_rx=1",
                "--", "--forward-mode=macswap", "--stats-period=1"));
        String out = Bench.runPeer(cmd, null, SECONDS + 60);
        Bench.removeDpdkRuntimeDir(prefix);
        return out;
    }

    /** The DPDK-shaped route table (next hop 0 or 1 at random) and frames to uniformly random destinations. */
    static int writeLpm(Path rules, Path traffic, long seed) throws IOException {
        PerfRoutes r = PerfRoutes.generate(seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        try (BufferedWriter w = Files.newBufferedWriter(rules)) {
            w.write("# DPDK lpm_perf_autotest-shaped table, seed " + seed + "\n");
            for (int i = 0; i < r.size(); i++) {
                int ip = r.ips[i];
                w.write("R" + (ip >>> 24) + "." + (ip >>> 16 & 0xff) + "." + (ip >>> 8 & 0xff) + "." + (ip & 0xff) + "/" + r.depths[i]
                        + " " + rnd.nextInt(2) + "\n");
            }
        }
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < FRAMES; i++) frames.add(udp(0xC6120001, rnd.nextInt(), 1024 + (i & 1023), 9));
        writePcap(traffic, frames);
        return r.size();
    }

    /** EM_FLOWS random 5-tuples (UDP, next hop 0 or 1) and frames that hit them. */
    static void writeEm(Path rules, Path traffic, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[][] flows = new int[EM_FLOWS][];
        try (BufferedWriter w = Files.newBufferedWriter(rules)) {
            w.write("# dst src dst-port src-port proto port, seed " + seed + "\n");
            for (int i = 0; i < EM_FLOWS; i++) {
                int src = rnd.nextInt(), dst = rnd.nextInt(), sport = rnd.nextInt(65536), dport = rnd.nextInt(65536);
                flows[i] = new int[]{src, dst, sport, dport};
                w.write("R" + dotted(dst) + " " + dotted(src) + " " + dport + " " + sport + " 17 " + rnd.nextInt(2) + "\n");
            }
        }
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < FRAMES; i++) {
            int[] f = flows[rnd.nextInt(EM_FLOWS)];
            frames.add(udp(f[0], f[1], f[2], f[3]));
        }
        writePcap(traffic, frames);
    }

    private static String dotted(int ip) {
        return (ip >>> 24) + "." + (ip >>> 16 & 0xff) + "." + (ip >>> 8 & 0xff) + "." + (ip & 0xff);
    }

    /** A 64-byte Ethernet/IPv4/UDP frame (60 bytes without the CRC) with a right header checksum, TTL 64. */
    static byte[] udp(int src, int dst, int sport, int dport) {
        ByteBuffer b = ByteBuffer.allocate(60);
        b.putLong(0x0200_0000_0001_0200L).putInt(0x0000_0002).putShort((short) 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 46).putShort((short) 0).putShort((short) 0);
        b.put((byte) 64).put((byte) 17).putShort((short) 0).putInt(src).putInt(dst);
        b.putShort((short) sport).putShort((short) dport).putShort((short) 26).putShort((short) 0);
        byte[] f = b.array();
        int sum = 0;
        for (int i = 14; i < 34; i += 2) sum += (f[i] & 0xff) << 8 | (f[i + 1] & 0xff);
        while (sum >>> 16 != 0) sum = (sum & 0xffff) + (sum >>> 16);
        int ck = ~sum & 0xffff;
        f[24] = (byte) (ck >>> 8);
        f[25] = (byte) ck;
        return f;
    }

    /** A classic microsecond pcap (little-endian, link type Ethernet). */
    static void writePcap(Path file, List<byte[]> frames) throws IOException {
        try (OutputStream o = Files.newOutputStream(file)) {
            ByteBuffer h = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(65535).putInt(1);
            o.write(h.array());
            int t = 0;
            for (byte[] f : frames) {
                ByteBuffer r = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                r.putInt(1_700_000_000).putInt(t++).putInt(f.length).putInt(f.length);
                o.write(r.array());
                o.write(f);
            }
        }
    }
}
