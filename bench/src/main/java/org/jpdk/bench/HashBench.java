package org.jpdk.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
 * {@code ./jpdk bench hash [JMH args]}: our cuckoo hash (org.jpdk.bench.hash, JMH) beside DPDK's
 * {@code hash_perf_autotest} from {@code dpdk-test}, in the configuration both run: 16-byte keys,
 * 2^19 entries filled to 75%, jhash (the test's hash), lookups of present keys in random order,
 * single and in bursts of 16, adds into an empty table and deletes of all those keys. DPDK prints cycles per key; the TSC
 * frequency from its EAL debug log turns them into ns. Only the first part of DPDK's test is
 * needed (no locks, keys in primary or secondary bucket, without data, hash computed in the call),
 * so it is stopped as soon as that table is printed (the whole test takes minutes more).
 */
public final class HashBench {
    private static final String FILE_PREFIX = "jpdkhash";
    private static final List<String> EAL_ARGS = List.of("--no-huge", "-m", "2048", "-l", "0", "--file-prefix", FILE_PREFIX,
            "--no-pci", "--log-level", "lib.eal:debug");
    private static final String SECTION = "ELEMENTS IN PRIMARY OR SECONDARY LOCATION", STOP = "With locks in the code";

    private HashBench() {
    }

    /** The {@code ./jpdk bench hash} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "hash";
        }

        @Override
        public String summary() {
            return "cuckoo hash add/lookup/delete (JMH) beside dpdk-test hash_perf_autotest";
        }

        @Override
        public void main(String[] args) throws Exception {
            HashBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, Double> dpdk = runDpdk();
        Map<String, Double> ours = runJmh(args);
        String d = "entries=524288 hash=JHASH ";
        double add = ours.getOrDefault(d + "addAll", Double.NaN);
        double lookup = ours.getOrDefault(d + "lookupHit", Double.NaN);
        double bulk16 = ours.getOrDefault(d + "lookupBulk16Hit", Double.NaN);
        double delete = ours.getOrDefault(d + "deleteAll", Double.NaN);
        Bench.line("hash_add_16B_jpdk", add, "ns/key");
        Bench.line("hash_add_16B_dpdk", dpdk.getOrDefault("Add", Double.NaN), "ns/key");
        Bench.line("hash_lookup_16B_jpdk", lookup, "ns/key");
        Bench.line("hash_lookup_16B_dpdk", dpdk.getOrDefault("Lookup", Double.NaN), "ns/key");
        Bench.line("hash_lookup_bulk16_16B_jpdk", bulk16, "ns/key");
        Bench.line("hash_lookup_bulk16_16B_dpdk", dpdk.getOrDefault("Lookup_bulk", Double.NaN), "ns/key");
        Bench.line("hash_delete_16B_jpdk", delete, "ns/key");
        Bench.line("hash_delete_16B_dpdk", dpdk.getOrDefault("Delete", Double.NaN), "ns/key");
        // Ours only: our default hash (CRC32C), misses, bursts of 64, a 1M-entry table, the hash functions.
        for (Map.Entry<String, Double> e : ours.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("entries=")) {
                String[] p = k.split(" ");
                String name = "hash_" + p[2] + "_" + p[1].substring(5).toLowerCase() + "_" + p[0].substring(8) + "_jpdk";
                Bench.line(name, e.getValue(), "ns/key");
            } else {
                Bench.line("hashfunc_" + k.replace(' ', '_').replace("keyLen=", "") + "_jpdk", e.getValue(), "ns/op");
            }
        }
        Bench.ratio("hash_add_16B_jpdk_vs_dpdk", add, dpdk.getOrDefault("Add", Double.NaN));
        Bench.ratio("hash_lookup_16B_jpdk_vs_dpdk", lookup, dpdk.getOrDefault("Lookup", Double.NaN));
        Bench.ratio("hash_lookup_bulk16_16B_jpdk_vs_dpdk", bulk16, dpdk.getOrDefault("Lookup_bulk", Double.NaN));
        Bench.ratio("hash_delete_16B_jpdk_vs_dpdk", delete, dpdk.getOrDefault("Delete", Double.NaN));
    }

    /** Scores keyed "entries=E hash=H method" (HashPerf) or "keyLen=K method" (HashFunctionPerf). */
    static Map<String, Double> runJmh(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        ChainedOptionsBuilder b = new OptionsBuilder().parent(cli)
                .jvmArgsAppend("--enable-native-access=ALL-UNNAMED", "-Xmx2g");
        if (cli.getIncludes().isEmpty()) b.include("org\\.jpdk\\.bench\\.hash\\..*");
        if (!cli.getForkCount().hasValue()) b.forks(1);
        if (!cli.getWarmupIterations().hasValue()) b.warmupIterations(2);
        if (!cli.getWarmupTime().hasValue()) b.warmupTime(TimeValue.seconds(1));
        if (!cli.getMeasurementIterations().hasValue()) b.measurementIterations(3);
        if (!cli.getMeasurementTime().hasValue()) b.measurementTime(TimeValue.seconds(1));
        if (!cli.getTimeUnit().hasValue()) b.timeUnit(TimeUnit.NANOSECONDS);
        if (!cli.verbosity().hasValue()) b.verbosity(VerboseMode.SILENT);
        System.out.println("# JMH: jpdk Hash (2 table sizes x 2 hash functions) and the hash functions (about 4 minutes; -v NORMAL to watch)");
        Collection<RunResult> results = new Runner(b.build()).run();
        Map<String, Double> out = Bench.results();
        for (RunResult r : results) {
            var p = r.getParams();
            String method = p.getBenchmark().substring(p.getBenchmark().lastIndexOf('.') + 1);
            String key = p.getBenchmark().contains("HashFunctionPerf")
                    ? "keyLen=" + p.getParam("keyLen") + " " + method
                    : "entries=" + p.getParam("entries") + " hash=" + p.getParam("hash") + " " + method;
            out.put(key, r.getPrimaryResult().getScore());
        }
        return out;
    }

    /** DPDK's key-size-16 row (Add, Lookup, Lookup_bulk, Delete) in ns per key; empty if it could not run. */
    static Map<String, Double> runDpdk() {
        Map<String, Double> out = Bench.results();
        Path test = Bench.findProgram("dpdk-test");
        if (test == null) {
            System.out.println("# dpdk-test not found (Debian package dpdk); no DPDK figures in this run");
            return out;
        }
        List<String> cmd = new ArrayList<>(List.of(test.toString()));
        cmd.addAll(EAL_ARGS);
        System.out.println("# running DPDK hash_perf_autotest until its first table (about 1-2 minutes on a quiet machine) ...");
        String text = runUntil(cmd, "hash_perf_autotest\n", STOP, 900);
        Bench.removeDpdkRuntimeDir(FILE_PREFIX);
        if (text == null) return out;
        Matcher hz = Pattern.compile("TSC frequency is ~(\\d+) KHz").matcher(text);
        int at = text.indexOf(SECTION);
        if (!hz.find() || at < 0) {
            System.out.println("# no TSC frequency or no '" + SECTION + "' table from dpdk-test; its output ended with:\n# "
                    + text.substring(Math.max(0, text.length() - 600)).replace("\n", "\n# "));
            return out;
        }
        double ghz = Long.parseLong(hz.group(1)) / 1e6;
        // The first table after the section title: "Operations without data", "Without pre-computed hash values".
        Matcher row = Pattern.compile("(?m)^16\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)").matcher(text);
        if (!row.find(at)) return out;
        String[] ops = {"Add", "Lookup", "Lookup_bulk", "Delete"};
        for (int i = 0; i < 4; i++) out.put(ops[i], Double.parseDouble(row.group(i + 1)) / ghz);
        System.out.printf("# dpdk-test hash_perf_autotest: TSC %.3f GHz; key size 16, cycles %s/%s/%s/%s (add/lookup/bulk/delete)%n",
                ghz, row.group(1), row.group(2), row.group(3), row.group(4));
        return out;
    }

    /** Runs cmd, feeding stdin, and returns its output up to the first line containing {@code stop} (then kills it). */
    private static String runUntil(List<String> cmd, String stdin, String stop, long seconds) {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
        } catch (IOException e) {
            System.out.println("# peer " + cmd.get(0) + " could not run: " + e.getMessage());
            return null;
        }
        StringBuilder text = new StringBuilder();
        boolean[] done = new boolean[1];
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (text) {
                        text.append(line).append('\n');
                    }
                    if (line.contains(stop)) {
                        synchronized (text) {
                            done[0] = true;
                        }
                        break;
                    }
                }
            } catch (IOException e) {
                // the process was killed; what we have is the answer
            }
        });
        try {
            reader.join(TimeUnit.SECONDS.toMillis(seconds));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (text) {
            if (!done[0]) System.out.println("# peer " + cmd.get(0) + " did not reach '" + stop + "' in " + seconds + " s; killed");
            return text.toString();
        }
    }
}
