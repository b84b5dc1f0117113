package org.jpdk.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * {@code ./jpdk bench lpm [JMH args]}: jpdk's IPv4 LPM lookups (JMH, {@code bench.lpm.LpmPerf}: a
 * ~1.08 million route table shaped as DPDK's, random addresses; single, bulk of 32, x4) and the
 * tbl24 memory comparison ({@code Tbl24MemoryPerf}), then DPDK's own {@code lpm_perf_autotest}
 * from {@code dpdk-test} on the same kind of table; prints ns per lookup and the ratios ours/DPDK.
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
            return "LPM lookups over 1.08 M routes (JMH) beside dpdk-test lpm_perf_autotest";
        }

        @Override
        public void main(String[] args) throws Exception {
            LpmBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, Double> r = Bench.results();
        runJmh(args, r);
        runDpdk(r);
        for (Map.Entry<String, Double> e : r.entrySet()) Bench.line(e.getKey(), e.getValue(), "ns");
        // dpdk-test runs with --no-huge: *_nohuge_vs_dpdk is like for like, *_vs_dpdk is jpdk as it runs by default.
        for (String[] k : KINDS) {
            double dpdk = r.getOrDefault("dpdk_" + k[2] + "_ns", Double.NaN);
            Bench.ratio(k[2] + "_vs_dpdk", r.getOrDefault(k[2] + "_ns", Double.NaN), dpdk);
            Bench.ratio(k[2] + "_nohuge_vs_dpdk", r.getOrDefault(k[2] + "_nohuge_ns", Double.NaN), dpdk);
        }
        if (r.containsKey("tbl24_read_heap_ns")) {
            Bench.ratio("tbl24_read_heap_vs_hugepage", r.get("tbl24_read_heap_ns"), r.getOrDefault("tbl24_read_hugepage_ns", Double.NaN));
        }
    }

    private static void runJmh(String[] args, Map<String, Double> r) throws Exception {
        CommandLineOptions cmd = new CommandLineOptions(args);
        ChainedOptionsBuilder b = new OptionsBuilder().parent(cmd).jvmArgsAppend(JVM_ARGS);
        if (cmd.getIncludes().isEmpty()) b.include("org\\.jpdk\\.bench\\.lpm\\..*");
        if (!cmd.getForkCount().hasValue()) b.forks(1);
        if (!cmd.getWarmupIterations().hasValue()) b.warmupIterations(3);
        if (!cmd.getWarmupTime().hasValue()) b.warmupTime(TimeValue.seconds(1));
        if (!cmd.getMeasurementIterations().hasValue()) b.measurementIterations(5);
        if (!cmd.getMeasurementTime().hasValue()) b.measurementTime(TimeValue.seconds(1));
        if (!cmd.verbosity().hasValue()) b.verbosity(VerboseMode.SILENT);
        System.out.println("# JMH: jpdk Lpm lookups on a DPDK-shaped 1.08 M route table, and tbl24 reads by memory kind "
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
