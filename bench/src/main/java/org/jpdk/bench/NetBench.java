package org.jpdk.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./jpdk bench net}: the org.jpdk.bench.net JMH benchmarks (Toeplitz bit-serial against
 * table, checksums, packet type parsing), then DPDK's {@code cksum_perf_autotest} in the same
 * run for rte_raw_cksum over 20 and 1500 bytes. DPDK reports TSC cycles per block; they become
 * ns with the clock rate in /proc/cpuinfo (the TSC runs at the nominal rate on current x86).
 * MacSwapPerf splits the cost of testpmd's macswap (see docs/benchmarks.md). DPDK has no software Toeplitz or ptype benchmark that runs here (thash_perf_autotest needs
 * GFNI), so those figures stand beside our own reference (bit-serial) only.
 */
public final class NetBench {
    private NetBench() {
    }

    /** The {@code ./jpdk bench net} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "net";
        }

        @Override
        public String summary() {
            return "Toeplitz, checksums, packet types (JMH) beside dpdk-test cksum_perf_autotest";
        }

        @Override
        public void main(String[] args) throws Exception {
            NetBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, Double> dpdk = runDpdk();
        String[] jmh = Arrays.copyOf(args, args.length + 1);
        jmh[args.length] = "org\\.jpdk\\.bench\\.net\\..*";
        Map<String, Double> ours = MempoolBench.runJmh(jmh);

        side("toeplitz_ipv4_4tuple", "table", ours.get("ToeplitzPerf.ipv4Table"), "bitserial", ours.get("ToeplitzPerf.ipv4BitSerial"));
        side("toeplitz_ipv6_4tuple", "table", ours.get("ToeplitzPerf.ipv6Table"), "bitserial", ours.get("ToeplitzPerf.ipv6BitSerial"));
        side("cksum_raw20", "jpdk", ours.get("ChecksumPerf.raw20"), "dpdk", dpdk.get("20"));
        side("cksum_raw1500", "jpdk", ours.get("ChecksumPerf.raw1500"), "dpdk", dpdk.get("1500"));
        Bench.line("cksum_ipv4_header_jpdk", ours.getOrDefault("ChecksumPerf.ipv4Header", Double.NaN), "ns/op");
        Bench.line("cksum_udp4_frame1500_jpdk", ours.getOrDefault("ChecksumPerf.udp4Frame1500", Double.NaN), "ns/op");
        Bench.line("ptype_udp4_jpdk", ours.getOrDefault("PtypePerf.udp4", Double.NaN), "ns/op");
        Bench.line("ptype_vxlan_tcp4_jpdk", ours.getOrDefault("PtypePerf.vxlan", Double.NaN), "ns/op");
        // The MAC swap's own cost per packet, over a burst's rx/tx bookkeeping (MacSwapPerf). DPDK
        // has no such microbenchmark; its figure is what macswap adds to io per packet in
        // dpdk-testpmd over net_null, one forwarding lcore, hugepages (as ./jpdk bench fwd).
        double burst = ours.getOrDefault("MacSwapPerf.burstOnly", Double.NaN);
        if (ours.containsKey("MacSwapPerf.swapMacs")) {
            Path testpmd = Bench.findProgram("dpdk-testpmd");
            double dpdkSwap = Double.NaN;
            if (testpmd != null) {
                double io = FwdBench.mpps(FwdBench.runDpdk(testpmd, "io", true), "io");
                double mac = FwdBench.mpps(FwdBench.runDpdk(testpmd, "macswap", true), "macswap");
                dpdkSwap = 1e3 / mac - 1e3 / io;
            }
            side("macswap_swap_ns_per_pkt", "jpdk", ours.get("MacSwapPerf.swapMacs") - burst, "dpdk", dpdkSwap);
        }
        side("macswap_swap_segment_scope", "arena", ours.getOrDefault("MacSwapPerf.swapSegment", Double.NaN) - burst,
                "global", ours.getOrDefault("MacSwapPerf.swapGlobal", Double.NaN) - burst);
    }

    /** Prints {@code <name>_<a>} and {@code <name>_<b>} in ns/op and the ratio a/b; a missing figure (null) prints as NaN. */
    private static void side(String name, String a, Double va, String b, Double vb) {
        double x = va == null ? Double.NaN : va, y = vb == null ? Double.NaN : vb;
        Bench.line(name + "_" + a, x, "ns/op");
        Bench.line(name + "_" + b, y, "ns/op");
        Bench.ratio(name + "_" + a + "_vs_" + b, x, y);
    }

    /** DPDK's aligned rte_raw_cksum figures, ns per block keyed by block size; empty if it could not run. */
    static Map<String, Double> runDpdk() throws IOException {
        Map<String, Double> out = Bench.results();
        Path test = Bench.findProgram("dpdk-test");
        double mhz = cpuMhz();
        if (test == null || Double.isNaN(mhz)) {
            System.out.println("# " + (test == null ? "dpdk-test not found (Debian package dpdk)" : "no clock rate in /proc/cpuinfo")
                    + "; no DPDK figures");
            return out;
        }
        String prefix = "jpdknet" + ProcessHandle.current().pid();
        List<String> cmd = new ArrayList<>(List.of(test.toString(), "--no-huge", "-m", "256", "-l", "0", "--file-prefix", prefix,
                "--no-pci", "--log-level", "lib.eal:warning"));
        System.out.println("# running DPDK cksum_perf_autotest ...");
        String output = Bench.runPeer(cmd, "cksum_perf_autotest\n", 120);
        Bench.removeDpdkRuntimeDir(prefix);
        if (output == null) return out;
        Matcher m = Pattern.compile("Aligned\\s+(\\d+)\\s+([\\d.]+)\\s+[\\d.]+").matcher(output);
        while (m.find()) out.put(m.group(1), Double.parseDouble(m.group(2)) * 1000 / mhz);
        if (out.isEmpty()) System.out.println("# no figures from DPDK; its output ended with: " + output.substring(Math.max(0, output.length() - 400)));
        return out;
    }

    private static double cpuMhz() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("cpu MHz")) return Double.parseDouble(l.substring(l.indexOf(':') + 1).trim());
            }
        } catch (IOException | NumberFormatException e) {
            // no figure: the caller says so
        }
        return Double.NaN;
    }
}
