package org.jpdk.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jpdk.bench.lpm.PerfRoutes;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * {@code ./jpdk bench lpm [--rounds N] [JMH args]}: jpdk's IPv4 LPM lookups (JMH,
 * {@code bench.lpm.LpmPerf}: a ~1.08 million route table shaped as DPDK's, random addresses;
 * single, bulk of 32, x4) and the tbl24 memory comparison ({@code Tbl24MemoryPerf}), alternating
 * over N rounds (default 3) with DPDK's rte_lpm holding the same routes ({@link #LPM_PERF}, built
 * here against libdpdk); prints the medians in ns per lookup and the ratios ours/DPDK. Without a C
 * compiler or dpdk-dev it falls back to one run of {@code dpdk-test}'s {@code lpm_perf_autotest}.
 */
public final class LpmBench {
    private static final String[] JVM_ARGS = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"};
    private static final String FILE_PREFIX = "jpdk-lpm-" + ProcessHandle.current().pid();
    private static final List<String> EAL_ARGS = List.of("--no-huge", "-m", "2048", "-l", "0-1", "--file-prefix", FILE_PREFIX,
            "--no-pci", "--log-level", "lib.eal:debug");
    /** Our JMH method, DPDK's output label, the BENCH name stem. */
    private static final String[][] KINDS = {
            {"single", "Average LPM Lookup", "lpm_lookup"},
            {"bulk32", "BULK LPM Lookup", "lpm_lookup_bulk"},
            {"x4", "LPM LookupX4", "lpm_lookupx4"}};

    private LpmBench() {
    }

    /** The {@code ./jpdk bench lpm} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "lpm";
        }

        @Override
        public String summary() {
            return "LPM lookups over 1.08 M routes (JMH) beside rte_lpm on the same routes, interleaved rounds ([--rounds N])";
        }

        @Override
        public void main(String[] args) throws Exception {
            LpmBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        List<String> jmhArgs = new ArrayList<>();
        int rounds = Bench.rounds("lpm", args, jmhArgs);
        Map<String, Double> r = Bench.results();
        Path dir = Files.createTempDirectory("jpdk-lpmbench");
        try (DpdkPeer peer = startPeer(dir)) {
            if (peer == null) {
                // No C peer: dpdk-test's own autotest, once, minutes away from our figures.
                runJmh(jmhArgs.toArray(new String[0]), r, false);
                runDpdk(r);
                printRatios(r, "nohuge");
                return;
            }
            // Ours and DPDK's alternate: DRAM latency on a shared host moves by 2x over minutes, and
            // a lookup into a 64 MiB table is mostly a DRAM access. Round 1 runs everything of ours
            // (the tbl24 comparison too), later rounds the lookups on the peer's kind of pages.
            Map<String, List<Double>> samples = new LinkedHashMap<>();
            for (int round = 1; round <= rounds; round++) {
                Map<String, Double> ours = Bench.results();
                List<String> a = new ArrayList<>(jmhArgs);
                if (round > 1) a.addAll(List.of("LpmPerf", "-p", "pages=" + peer.pages));
                runJmh(a.toArray(new String[0]), ours, round > 1);
                double[] dpdk = peer.round(300);
                if (dpdk != null) for (int k = 0; k < KINDS.length; k++) ours.put("dpdk_" + KINDS[k][2] + "_ns", dpdk[k]);
                StringBuilder line = new StringBuilder("# round " + round + ", ns per lookup:");
                for (Map.Entry<String, Double> e : ours.entrySet()) {
                    if (round == 1) r.put(e.getKey(), e.getValue());
                    if (e.getKey().startsWith("tbl24")) continue;
                    samples.computeIfAbsent(e.getKey(), x -> new ArrayList<>()).add(e.getValue());
                    line.append(String.format(" %s %.3f", e.getKey().replace("_ns", ""), e.getValue()));
                }
                System.out.println(line);
            }
            for (Map.Entry<String, List<Double>> e : samples.entrySet()) r.put(e.getKey(), AfPacketBench.median(e.getValue()));
            printRatios(r, peer.pages);
        } finally {
            Bench.deleteDir(dir);
        }
    }

    /** Every figure, then ours against DPDK's on the same kind of pages as DPDK ran on. */
    private static void printRatios(Map<String, Double> r, String dpdkPages) {
        for (Map.Entry<String, Double> e : r.entrySet()) Bench.line(e.getKey(), e.getValue(), "ns");
        System.out.println("# DPDK ran on " + (dpdkPages.equals("huge") ? "hugepages" : "4 KiB pages (--no-huge)")
                + ": the ratios take our figure on the same kind of pages");
        String suffix = dpdkPages.equals("huge") ? "" : "_nohuge";
        for (String[] k : KINDS) {
            Bench.ratio(k[2] + suffix + "_vs_dpdk", r.getOrDefault(k[2] + suffix + "_ns", Double.NaN),
                    r.getOrDefault("dpdk_" + k[2] + "_ns", Double.NaN));
        }
        if (r.containsKey("tbl24_read_heap_ns")) {
            Bench.ratio("tbl24_read_heap_vs_hugepage", r.get("tbl24_read_heap_ns"), r.getOrDefault("tbl24_read_hugepage_ns", Double.NaN));
        }
    }

    private static void runJmh(String[] args, Map<String, Double> r, boolean again) throws Exception {
        CommandLineOptions cmd = new CommandLineOptions(args);
        ChainedOptionsBuilder b = new OptionsBuilder().parent(cmd).jvmArgsAppend(JVM_ARGS);
        if (cmd.getIncludes().isEmpty()) b.include("org\\.jpdk\\.bench\\.lpm\\..*");
        if (!cmd.getForkCount().hasValue()) b.forks(1);
        if (!cmd.getWarmupIterations().hasValue()) b.warmupIterations(3);
        if (!cmd.getWarmupTime().hasValue()) b.warmupTime(TimeValue.seconds(1));
        if (!cmd.getMeasurementIterations().hasValue()) b.measurementIterations(5);
        if (!cmd.getMeasurementTime().hasValue()) b.measurementTime(TimeValue.seconds(1));
        if (!cmd.verbosity().hasValue()) b.verbosity(VerboseMode.SILENT);
        System.out.println(again ? "# JMH: jpdk Lpm lookups again"
                : "# JMH: jpdk Lpm lookups on a DPDK-shaped 1.08 M route table, and tbl24 reads by memory kind "
                + "(about 3 minutes; -v NORMAL to watch)");
        Collection<RunResult> results = new Runner(b.build()).run();
        for (RunResult rr : results) {
            String bench = rr.getParams().getBenchmark();
            String method = bench.substring(bench.lastIndexOf('.') + 1);
            double ns = rr.getPrimaryResult().getScore();
            if (bench.contains("Tbl24MemoryPerf")) {
                r.put("tbl24_read_" + rr.getParams().getParam("mem").replace("4k", "4kpage") + "_ns", ns);
                continue;
            }
            String pages = rr.getParams().getParam("pages");
            for (String[] k : KINDS) if (k[0].equals(method)) r.put(k[2] + ("nohuge".equals(pages) ? "_nohuge" : "") + "_ns", ns);
        }
    }

    /**
     * DPDK's side, kept running between rounds: the same routes (written by {@link PerfRoutes}, as
     * our table has them) added once to an rte_lpm with our table's geometry, then on each "run"
     * line a round of lookups of random addresses in batches of 4096, timed as lpm_perf_autotest
     * times them: single (rte_lpm_lookup), bulk of 32 (rte_lpm_lookup_bulk) and x4
     * (rte_lpm_lookupx4); one line back with ns per lookup for each.
     */
    static final String LPM_PERF = """
            #include <stdio.h>
            #include <stdint.h>
            #include <string.h>
            #include <rte_eal.h>
            #include <rte_errno.h>
            #include <rte_cycles.h>
            #include <rte_lpm.h>
            #include <rte_vect.h>
            #define BATCH 4096
            #define ITERS 256
            static uint64_t seed = 88172645463325252ULL;
            static inline uint32_t next_ip(void) {
                seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
                return (uint32_t) (seed >> 32);
            }
            static uint32_t ips[BATCH], hops[BATCH];
            int main(int argc, char **argv) {
                int n = rte_eal_init(argc, argv);
                if (n < 0) { printf("lpm_perf: EAL init failed: %s\\n", rte_strerror(rte_errno)); return 1; }
                argc -= n; argv += n;
                if (argc < 2) { printf("lpm_perf: no routes file\\n"); return 1; }
                FILE *f = fopen(argv[1], "rb");
                uint32_t count;
                if (!f || fread(&count, 4, 1, f) != 1) { printf("lpm_perf: cannot read %s\\n", argv[1]); return 1; }
                struct rte_lpm_config cfg = { .max_rules = 2000000, .number_tbl8s = 2048, .flags = 0 };
                struct rte_lpm *lpm = rte_lpm_create("jpdk_perf", SOCKET_ID_ANY, &cfg);
                if (!lpm) { printf("lpm_perf: rte_lpm_create: %s\\n", rte_strerror(rte_errno)); return 1; }
                uint32_t added = 0;
                for (uint32_t i = 0; i < count; i++) {
                    uint32_t r[2];
                    if (fread(r, 4, 2, f) != 2) { printf("lpm_perf: %s: truncated at route %u\\n", argv[1], i); return 1; }
                    if (rte_lpm_add(lpm, r[0], (uint8_t) r[1], 0xAA) == 0) added++;
                }
                fclose(f);
                printf("READY %u %u\\n", count, added);
                fflush(stdout);
                double ghz = rte_get_tsc_hz() / 1e9;
                char line[64];
                uint64_t sink = 0;
                while (fgets(line, sizeof line, stdin) && strncmp(line, "run", 3) == 0) {
                    uint64_t single = 0, bulk = 0, x4 = 0, t;
                    for (int it = 0; it < ITERS; it++) {
                        for (int j = 0; j < BATCH; j++) ips[j] = next_ip();
                        t = rte_rdtsc();
                        for (int j = 0; j < BATCH; j++) if (rte_lpm_lookup(lpm, ips[j], &hops[j]) == 0) sink += hops[j];
                        single += rte_rdtsc() - t;
                        for (int j = 0; j < BATCH; j++) ips[j] = next_ip();
                        t = rte_rdtsc();
                        for (int j = 0; j < BATCH; j += 32) rte_lpm_lookup_bulk(lpm, &ips[j], &hops[j], 32);
                        bulk += rte_rdtsc() - t;
                        sink += hops[0];
                        for (int j = 0; j < BATCH; j++) ips[j] = next_ip();
                        t = rte_rdtsc();
                        for (int j = 0; j < BATCH; j += 4)
                            rte_lpm_lookupx4(lpm, _mm_loadu_si128((const __m128i *) &ips[j]), &hops[j], UINT32_MAX);
                        x4 += rte_rdtsc() - t;
                        sink += hops[0];
                    }
                    double per = (double) ITERS * BATCH * ghz;
                    printf("RESULT %.3f %.3f %.3f %d\\n", single / per, bulk / per, x4 / per, (int) (sink & 1));
                    fflush(stdout);
                }
                rte_lpm_free(lpm);
                rte_eal_cleanup();
                return 0;
            }
            """;

    /** Builds and starts the DPDK side with our routes; null (after a line saying why) if it cannot. */
    private static DpdkPeer startPeer(Path dir) throws IOException {
        PerfRoutes routes = PerfRoutes.generate(1);
        Path file = dir.resolve("routes.bin");
        ByteBuffer b = ByteBuffer.allocate(4 + 8 * routes.size()).order(ByteOrder.nativeOrder());
        b.putInt(routes.size());
        for (int i = 0; i < routes.size(); i++) b.putInt(routes.ips[i]).putInt(routes.depths[i]);
        Files.write(file, b.array());
        DpdkPeer p = DpdkPeer.start("lpm_perf", LPM_PERF, dir, FILE_PREFIX, true, List.of(file.toString()),
                "rte_lpm with the same " + routes.size() + " routes", 600);
        if (p != null) System.out.println("# DPDK peer: " + p.ready[1] + " of " + p.ready[0] + " routes added");
        return p;
    }

    /** DPDK's figures: cycles per lookup from lpm_perf_autotest, converted with the TSC rate its EAL logs. */
    private static void runDpdk(Map<String, Double> r) {
        Path test = Bench.findProgram("dpdk-test");
        if (test == null) {
            System.out.println("# dpdk-test not found (Debian package dpdk-test); no DPDK figures in this run");
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(test.toString()));
        cmd.addAll(EAL_ARGS);
        System.out.println("# dpdk-test lpm_perf_autotest (about 5 minutes: its rule table searches linearly on add and delete)");
        String out;
        try {
            out = Bench.runPeer(cmd, "lpm_perf_autotest\n", 1200);
        } finally {
            Bench.removeDpdkRuntimeDir(FILE_PREFIX);
        }
        if (out == null) return;
        Matcher hz = Pattern.compile("TSC frequency is ~(\\d+) KHz").matcher(out);
        if (!hz.find()) {
            System.out.println("# dpdk-test printed no TSC frequency; no DPDK figures:\n# " + out.replace("\n", "\n# "));
            return;
        }
        double ghz = Long.parseLong(hz.group(1)) / 1e6;
        Matcher routes = Pattern.compile("No\\. routes = (\\d+)[\\s\\S]*?Unique added entries = (\\d+)").matcher(out);
        System.out.printf("# dpdk-test: TSC %.3f GHz; %s; figures are cycles per lookup / GHz%n", ghz,
                routes.find() ? routes.group(1) + " routes, " + routes.group(2) + " added" : "route count not printed");
        for (String[] k : KINDS) {
            Matcher m = Pattern.compile(Pattern.quote(k[1]) + ": ([0-9.]+) cycles \\(fails = ([0-9.]+)%\\)").matcher(out);
            if (m.find()) {
                r.put("dpdk_" + k[2] + "_ns", Double.parseDouble(m.group(1)) / ghz);
                System.out.println("# dpdk " + k[1] + ": " + m.group(1) + " cycles, fails " + m.group(2) + "%");
            } else {
                System.out.println("# dpdk-test output had no '" + k[1] + "' line");
            }
        }
    }
}
