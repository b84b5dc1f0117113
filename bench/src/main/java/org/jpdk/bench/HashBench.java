package org.jpdk.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
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
 * {@code ./jpdk bench hash [--rounds N] [JMH args]}: our cuckoo hash (org.jpdk.bench.hash, JMH)
 * beside DPDK's rte_hash in the configuration of DPDK's {@code hash_perf_autotest}: 16-byte keys,
 * 2^19 entries filled to 75%, jhash (the test's hash), lookups of present keys in random order,
 * single and in bursts of 16, adds into an empty table and deletes of all those keys. DPDK's side
 * is {@link #HASH_PERF}, built here against libdpdk and kept running, so that its rounds alternate
 * with ours (default 3; medians). Without a C compiler or dpdk-dev, {@code dpdk-test}'s
 * {@code hash_perf_autotest} runs once instead, stopped after its first table (no locks, keys in
 * primary or secondary bucket, without data, hash computed in the call); its cycles per key become
 * ns with the TSC frequency from its EAL debug log.
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
            return "cuckoo hash add/lookup/delete (JMH) beside rte_hash with the same keys, interleaved rounds ([--rounds N])";
        }

        @Override
        public void main(String[] args) throws Exception {
            HashBench.main(args);
        }
    }

    /**
     * DPDK's side, kept running between rounds ({@link DpdkPeer}): an rte_hash of DPDK's test
     * configuration (2^19 entries, 16-byte keys, jhash, no flags) and 393216 counter keys as ours,
     * shuffled; each round empties the table and times adding every key, looking each up, looking
     * them up in bursts of 16, and deleting them all: ns per key for each.
     */
    static final String HASH_PERF = """
            #include <stdio.h>
            #include <stdint.h>
            #include <string.h>
            #include <rte_eal.h>
            #include <rte_errno.h>
            #include <rte_cycles.h>
            #include <rte_hash.h>
            #include <rte_jhash.h>
            #include <rte_malloc.h>
            #define ENTRIES 524288
            #define KEYS 393216
            #define KEY_LEN 16
            #define BURST 16
            static uint8_t (*keys)[KEY_LEN];
            static uint64_t seed = 88172645463325252ULL;
            static inline uint64_t rnd(void) { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed; }
            static int add_all(struct rte_hash *h) {
                for (int i = 0; i < KEYS; i++) if (rte_hash_add_key(h, keys[i]) < 0) return i;
                return KEYS;
            }
            int main(int argc, char **argv) {
                int n = rte_eal_init(argc, argv);
                if (n < 0) { printf("hash_perf: EAL init failed: %s\\n", rte_strerror(rte_errno)); return 1; }
                struct rte_hash_parameters p = { .name = "jpdk_perf", .entries = ENTRIES, .key_len = KEY_LEN,
                    .hash_func = rte_jhash, .hash_func_init_val = 0, .socket_id = SOCKET_ID_ANY, .extra_flag = 0 };
                struct rte_hash *h = rte_hash_create(&p);
                if (!h) { printf("hash_perf: rte_hash_create: %s\\n", rte_strerror(rte_errno)); return 1; }
                keys = rte_zmalloc("keys", (size_t) KEYS * KEY_LEN, 64);
                if (!keys) { printf("hash_perf: no memory for the keys\\n"); return 1; }
                /* Counter keys (little-endian in the first 8 bytes), skipping those the table refuses, as
                   DPDK's test and ours do; then a shuffle, so every operation goes to a random bucket. */
                uint64_t next = 0;
                for (int i = 0; i < KEYS; ) {
                    memset(keys[i], 0, KEY_LEN);
                    memcpy(keys[i], &next, 8);
                    next++;
                    if (rte_hash_add_key(h, keys[i]) >= 0) i++;
                }
                for (int i = KEYS - 1; i > 0; i--) {
                    int j = (int) (rnd() % (uint64_t) (i + 1));
                    uint8_t t[KEY_LEN];
                    memcpy(t, keys[i], KEY_LEN); memcpy(keys[i], keys[j], KEY_LEN); memcpy(keys[j], t, KEY_LEN);
                }
                printf("READY %d\\n", KEYS);
                fflush(stdout);
                double ghz = rte_get_tsc_hz() / 1e9;
                char line[64];
                int64_t sink = 0;
                const void *burst[BURST];
                int32_t pos[BURST];
                while (fgets(line, sizeof line, stdin) && strncmp(line, "run", 3) == 0) {
                    rte_hash_reset(h);
                    uint64_t t = rte_rdtsc();
                    int added = add_all(h);
                    uint64_t add = rte_rdtsc() - t;
                    if (added != KEYS) { printf("hash_perf: key %d did not fit again\\n", added); return 1; }
                    t = rte_rdtsc();
                    for (int i = 0; i < KEYS; i++) sink += rte_hash_lookup(h, keys[i]);
                    uint64_t lookup = rte_rdtsc() - t;
                    t = rte_rdtsc();
                    for (int i = 0; i + BURST <= KEYS; i += BURST) {
                        for (int k = 0; k < BURST; k++) burst[k] = keys[i + k];
                        rte_hash_lookup_bulk(h, burst, BURST, pos);
                        sink += pos[0];
                    }
                    uint64_t bulk = rte_rdtsc() - t;
                    t = rte_rdtsc();
                    for (int i = 0; i < KEYS; i++) sink += rte_hash_del_key(h, keys[i]);
                    uint64_t del = rte_rdtsc() - t;
                    double per = KEYS * ghz;
                    printf("RESULT %.3f %.3f %.3f %.3f %d\\n", add / per, lookup / per, bulk / per, del / per, (int) (sink & 1));
                    fflush(stdout);
                }
                rte_hash_free(h);
                rte_eal_cleanup();
                return 0;
            }
            """;

    /** The four operations both sides time, in the peer's RESULT order, and our JMH method for each. */
    private static final String[][] OPS = {{"Add", "addAll"}, {"Lookup", "lookupHit"}, {"Lookup_bulk", "lookupBulk16Hit"},
            {"Delete", "deleteAll"}};

    public static void main(String[] args) throws Exception {
        List<String> jmhArgs = new ArrayList<>();
        int rounds = Bench.rounds("hash", args, jmhArgs);
        String d = "entries=524288 hash=JHASH ";
        Map<String, Double> dpdk, ours;
        Path dir = Files.createTempDirectory("jpdk-hashbench");
        try (DpdkPeer peer = DpdkPeer.start("hash_perf", HASH_PERF, dir, FILE_PREFIX, false, List.of(),
                "rte_hash with DPDK's test configuration and the same keys", 600)) {
            if (peer == null) {
                // No C peer: dpdk-test's own autotest, once, minutes away from our figures.
                dpdk = runDpdk();
                ours = runJmh(jmhArgs.toArray(new String[0]), false);
            } else {
                // Ours and DPDK's alternate; round 1 runs all of ours, later rounds the four compared.
                Map<String, List<Double>> samples = new LinkedHashMap<>();
                ours = null;
                for (int round = 1; round <= rounds; round++) {
                    List<String> a = new ArrayList<>(jmhArgs);
                    if (round > 1) a.addAll(List.of("HashPerf\\.(addAll|lookupHit|lookupBulk16Hit|deleteAll)$", "-p", "entries=524288", "-p", "hash=JHASH"));
                    Map<String, Double> o = runJmh(a.toArray(new String[0]), round > 1);
                    if (ours == null) ours = o;
                    double[] p = peer.round(600);
                    StringBuilder line = new StringBuilder("# round " + round + ", ns per key, jpdk / DPDK:");
                    for (int k = 0; k < OPS.length; k++) {
                        double j = o.getOrDefault(d + OPS[k][1], Double.NaN), c = p == null ? Double.NaN : p[k];
                        samples.computeIfAbsent("jpdk " + OPS[k][0], x -> new ArrayList<>()).add(j);
                        samples.computeIfAbsent(OPS[k][0], x -> new ArrayList<>()).add(c);
                        line.append(String.format(" %s %.1f / %.1f", OPS[k][0].toLowerCase(), j, c));
                    }
                    System.out.println(line);
                }
                dpdk = Bench.results();
                for (String[] op : OPS) {
                    dpdk.put(op[0], AfPacketBench.median(samples.get(op[0])));
                    ours.put(d + op[1], AfPacketBench.median(samples.get("jpdk " + op[0])));
                }
                System.out.println("# the four compared: medians of " + rounds + " rounds; both tables on 4 KiB pages "
                        + "(ours in an Arena, DPDK's with --no-huge)");
            }
        } finally {
            Bench.deleteDir(dir);
        }
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
    static Map<String, Double> runJmh(String[] args, boolean again) throws Exception {
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
        System.out.println(again ? "# JMH: jpdk Hash, the four compared, again"
                : "# JMH: jpdk Hash (2 table sizes x 2 hash functions) and the hash functions (about 4 minutes; -v NORMAL to watch)");
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
