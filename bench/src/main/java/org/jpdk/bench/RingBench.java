package org.jpdk.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
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
 * {@code dpdk-test}; prints every figure in ns per object and the ratios ours/peer.
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
            return "Ring beside JCTools and Agrona (JMH) and dpdk-test ring_perf_autotest";
        }

        @Override
        public void main(String[] args) throws Exception {
            RingBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, Double> r = Bench.results();
        runJmh(args, r);
        runDpdk(r);
        for (Map.Entry<String, Double> e : r.entrySet()) Bench.line(e.getKey(), e.getValue(), "ns/op");
        for (String mode : List.of("spsc", "mpmc")) {
            String jc = "jctools_" + mode, ag = mode.equals("spsc") ? "agrona_o2o" : "agrona_m2o";
            for (String size : List.of("single", "bulk8", "bulk32")) {
                String base = "ring_" + mode + "_" + size + "_";
                for (String peer : List.of(jc, ag, "dpdk")) ratio(r, base, peer);
                for (String peer : List.of(jc, ag)) ratio(r, "ring2t_" + mode + "_" + size + "_", peer);
            }
        }
    }

    private static void ratio(Map<String, Double> r, String base, String peer) {
        if (r.containsKey(base + "jpdk") || r.containsKey(base + peer)) {
            Bench.ratio(base + "jpdk_vs_" + peer, r.getOrDefault(base + "jpdk", Double.NaN), r.getOrDefault(base + peer, Double.NaN));
        }
    }

    private static void runJmh(String[] args, Map<String, Double> r) throws Exception {
        CommandLineOptions cmd = new CommandLineOptions(args);
        ChainedOptionsBuilder b = new OptionsBuilder().parent(cmd).jvmArgsAppend(JVM_ARGS);
        if (cmd.getIncludes().isEmpty()) b.include("org\\.jpdk\\.bench\\.ring\\..*");
        if (!cmd.getForkCount().hasValue()) b.forks(1);
        if (!cmd.getWarmupIterations().hasValue()) b.warmupIterations(2);
        if (!cmd.getWarmupTime().hasValue()) b.warmupTime(TimeValue.milliseconds(500));
        if (!cmd.getMeasurementIterations().hasValue()) b.measurementIterations(3);
        if (!cmd.getMeasurementTime().hasValue()) b.measurementTime(TimeValue.milliseconds(700));
        if (!cmd.verbosity().hasValue()) b.verbosity(VerboseMode.SILENT);
        System.out.println("# JMH: jpdk Ring, JCTools, Agrona; one thread and producer/consumer pairs (about 3 minutes; -v NORMAL to watch)");
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
