package org.jpdk.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * {@code ./jpdk bench ring [JMH args]}: jpdk's Ring beside JCTools and Agrona queues (JMH, one
 * thread and producer/consumer pairs), then DPDK's own {@code ring_perf_autotest} from
 * {@code dpdk-test}; prints every figure in ns per object and the ratios ours/peer. The
 * two-lcore figures (ours and DPDK's, bimodal on a shared machine) are repeated over
 * {@code --rounds N} alternating rounds (default 3) and reported as medians.
 */
public final class RingBench {
    private static final String[] JVM_ARGS = {"--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow", "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx512m"};
    private static final String FILE_PREFIX = "jpdkbench";
    // --no-huge: the machine may have no hugepages reserved (and --in-memory refuses --no-huge).
    private static final List<String> EAL_ARGS = List.of("--no-huge", "-m", "512", "-l", "0-1", "--file-prefix", FILE_PREFIX,
            "--no-pci", "--log-level", "lib.eal:debug");

    private RingBench() {
    }

    /** The {@code ./jpdk bench ring} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "ring";
        }

        @Override
        public String summary() {
            return "Ring beside JCTools and Agrona (JMH) and dpdk-test ring_perf_autotest, two-lcore figures over rounds ([--rounds N])";
        }

        @Override
        public void main(String[] args) throws Exception {
            RingBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        List<String> jmhArgs = new ArrayList<>();
        int rounds = Bench.rounds("ring", args, jmhArgs);
        // Round 1 is everything; rounds 2..N repeat only what crosses lcores (ours and DPDK's
        // two-lcore figures, alternating), since those are bimodal on a shared 2-core machine;
        // each such figure is the median of its rounds.
        Map<String, Double> r = Bench.results();
        Map<String, List<Double>> samples = new TreeMap<>();
        runJmh(jmhArgs.toArray(new String[0]), r, false);
        runDpdk(r);
        collect(r, samples, 1);
        for (int round = 2; round <= rounds; round++) {
            Map<String, Double> more = Bench.results();
            List<String> two = new ArrayList<>(jmhArgs);
            two.addAll(List.of("RingTwoThread", "-p", "lib=jpdk", "-p", "n=8,32"));
            runJmh(two.toArray(new String[0]), more, true);
            runDpdk(more);
            more.keySet().removeIf(k -> !k.startsWith("ring2t_"));
            collect(more, samples, round);
        }
        for (Map.Entry<String, List<Double>> e : samples.entrySet()) r.put(e.getKey(), AfPacketBench.median(e.getValue()));
        for (Map.Entry<String, Double> e : r.entrySet()) Bench.line(e.getKey(), e.getValue(), "ns/op");
        for (String mode : List.of("spsc", "mpmc")) {
            String jc = "jctools_" + mode, ag = mode.equals("spsc") ? "agrona_o2o" : "agrona_m2o";
            for (String size : List.of("single", "bulk8", "bulk32")) {
                String base = "ring_" + mode + "_" + size + "_";
                for (String peer : List.of(jc, ag, "dpdk")) ratio(r, base, peer);
                for (String peer : List.of(jc, ag, "dpdk")) ratio(r, "ring2t_" + mode + "_" + size + "_", peer);
            }
        }
    }

    /** Adds the round's two-lcore figures of jpdk and DPDK to their samples and prints them. */
    private static void collect(Map<String, Double> round, Map<String, List<Double>> samples, int n) {
        StringBuilder line = new StringBuilder("# round " + n + ", ns per object handed over:");
        for (Map.Entry<String, Double> e : round.entrySet()) {
            String k = e.getKey();
            if (!k.startsWith("ring2t_") || !(k.endsWith("_jpdk") || k.endsWith("_dpdk")) || k.contains("single")) continue;
            samples.computeIfAbsent(k, x -> new ArrayList<>()).add(e.getValue());
            line.append(String.format(" %s %.3f", k.substring("ring2t_".length()), e.getValue()));
        }
        System.out.println(line);
    }

    private static void ratio(Map<String, Double> r, String base, String peer) {
        if (r.containsKey(base + "jpdk") || r.containsKey(base + peer)) {
            Bench.ratio(base + "jpdk_vs_" + peer, r.getOrDefault(base + "jpdk", Double.NaN), r.getOrDefault(base + peer, Double.NaN));
        }
    }

    private static void runJmh(String[] args, Map<String, Double> r, boolean again) throws Exception {
        CommandLineOptions cmd = new CommandLineOptions(args);
        ChainedOptionsBuilder b = new OptionsBuilder().parent(cmd).jvmArgsAppend(JVM_ARGS);
        if (cmd.getIncludes().isEmpty()) b.include("org\\.jpdk\\.bench\\.ring\\..*");
        if (!cmd.getForkCount().hasValue()) b.forks(1);
        if (!cmd.getWarmupIterations().hasValue()) b.warmupIterations(2);
        if (!cmd.getWarmupTime().hasValue()) b.warmupTime(TimeValue.milliseconds(500));
        if (!cmd.getMeasurementIterations().hasValue()) b.measurementIterations(3);
        if (!cmd.getMeasurementTime().hasValue()) b.measurementTime(TimeValue.milliseconds(700));
        if (!cmd.verbosity().hasValue()) b.verbosity(VerboseMode.SILENT);
        System.out.println(again ? "# JMH: jpdk Ring, producer/consumer pairs, again"
                : "# JMH: jpdk Ring, JCTools, Agrona; one thread and producer/consumer pairs (about 3 minutes; -v NORMAL to watch)");
        Collection<RunResult> results = new Runner(b.build()).run();
        for (RunResult rr : results) {
            var p = rr.getParams();
            String lib = p.getParam("lib"), mode = p.getParam("mode");
            int n = Integer.parseInt(p.getParam("n"));
            String peer = switch (lib) {
                case "jctools" -> "jctools_" + mode;
                case "agrona" -> mode.equals("spsc") ? "agrona_o2o" : "agrona_m2o";
                default -> lib;
            };
            String prefix = p.getBenchmark().contains("TwoThread") ? "ring2t_" : "ring_";
            r.put(prefix + mode + "_" + size(n) + "_" + peer, rr.getPrimaryResult().getScore() / n);
        }
    }

    private static String size(int n) {
        return n == 1 ? "single" : "bulk" + n;
    }

    /** DPDK's own figures, single lcore: cycles per enqueue+dequeue call pair, converted to ns per object. */
    private static void runDpdk(Map<String, Double> r) {
        Path test = Bench.findProgram("dpdk-test");
        if (test == null) {
            System.out.println("# dpdk-test not found (Debian package dpdk-test); no DPDK figures in this run");
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(test.toString()));
        cmd.addAll(EAL_ARGS);
        String out = Bench.runPeer(cmd, "ring_perf_autotest\n", 120);
        removeRuntimeDir();
        if (out == null) return;
        Matcher hz = Pattern.compile("TSC frequency is ~(\\d+) KHz").matcher(out);
        if (!hz.find()) {
            System.out.println("# dpdk-test printed no TSC frequency; no DPDK figures:\n# " + out.replace("\n", "\n# "));
            return;
        }
        double ghz = Long.parseLong(hz.group(1)) / 1e6;
        System.out.printf("# dpdk-test ring_perf_autotest: TSC %.3f GHz (EAL debug log); its one-lcore figures are cycles per "
                + "enqueue+dequeue call pair, so ns per object = cycles / size / GHz%n", ghz);
        // The legacy (pointer-element) API comes first; "single" from its single-element section, bulk from "Testing bulk".
        parseDpdk(section(out, "### Testing single element enq/deq ###"), "single", 1, ghz, r);
        parseDpdk(section(out, "### Testing bulk enq/deq ###"), "bulk", 0, ghz, r);
        // Two lcores (one enqueues, the other dequeues): DPDK prints the enqueuer's cycles per object
        // plus the dequeuer's, each over the same wall time, so half the sum is the wall time per
        // object handed over: the unit of our ring2t figures (JMH's group time over both threads' ops).
        System.out.println("# its two-lcore figures (\"two physical cores\") are the enqueuer's cycles per object plus the "
                + "dequeuer's over the same span, so ns per object handed over = cycles / 2 / GHz, as ring2t_*");
        Matcher two = Pattern.compile("legacy APIs: (SP/SC|MP/MC): bulk \\(size: (\\d+)\\): ([0-9.]+)")
                .matcher(section(out, "### Testing using two physical cores ###"));
        while (two.find()) {
            String mode = two.group(1).equals("SP/SC") ? "spsc" : "mpmc";
            r.put("ring2t_" + mode + "_bulk" + two.group(2) + "_dpdk", Double.parseDouble(two.group(3)) / 2 / ghz);
        }
    }

    /** dpdk-test leaves its runtime directory (config, mp socket) behind; ours is ours alone. */
    private static void removeRuntimeDir() {
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        for (Path dir : List.of(Path.of("/var/run/dpdk", FILE_PREFIX), Path.of(xdg == null ? "/tmp" : xdg, "dpdk", FILE_PREFIX))) {
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
            } catch (IOException e) {
                System.out.println("# could not remove dpdk-test's runtime directory " + dir + ": " + e.getMessage());
            }
        }
    }

    private static String section(String out, String header) {
        int i = out.indexOf(header);
        if (i < 0) return "";
        int j = out.indexOf("###", i + header.length());
        return out.substring(i, j < 0 ? out.length() : j);
    }

    private static void parseDpdk(String text, String kind, int fixedSize, double ghz, Map<String, Double> r) {
        Matcher m = Pattern.compile("legacy APIs: (SP/SC|MP/MC): (?:single|bulk \\(size: (\\d+)\\)): ([0-9.]+)").matcher(text);
        while (m.find()) {
            String mode = m.group(1).equals("SP/SC") ? "spsc" : "mpmc";
            int size = fixedSize != 0 ? fixedSize : Integer.parseInt(m.group(2));
            r.put("ring_" + mode + "_" + size(size) + "_dpdk", Double.parseDouble(m.group(3)) / size / ghz);
        }
        if (r.keySet().stream().noneMatch(k -> k.endsWith("_dpdk") && k.contains(kind))) {
            System.out.println("# dpdk-test output had no " + kind + " figures");
        }
    }
}
