package org.jpdk.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jpdk.eal.Hugepages;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code ./jpdk bench mempool}: our mempool and mbuf JMH benchmarks (org.jpdk.bench.mempool),
 * then DPDK's {@code mempool_perf_autotest} in the same run, as ns per object (one get plus one
 * put). DPDK's test runs every configuration for 5 s (hundreds of them, well over an hour), so it
 * runs with a small LD_PRELOAD shim, compiled here with the system C compiler, that divides
 * {@code rte_get_tsc_hz()} by {@link #HZ_DIV}: each configuration then lasts 5/HZ_DIV s and its
 * printed rate (objects counted over the window, divided by the nominal 5 s) is HZ_DIV times too
 * small, which the conversion undoes. Without a C compiler DPDK's figures are reported missing.
 */
public final class MempoolBench {
    static final int HZ_DIV = 100;
    static final String SHIM = """
            #define _GNU_SOURCE
            #include <dlfcn.h>
            #include <stdint.h>
            #include <stdlib.h>
            /* Shortens DPDK test windows: every caller sees a TSC HZ_DIV times slower. */
            uint64_t rte_get_tsc_hz(void) {
                static uint64_t (*next)(void);
                if (!next) next = (uint64_t (*)(void)) dlsym(RTLD_NEXT, "rte_get_tsc_hz");
                const char *d = getenv("JPDK_HZ_DIV");
                uint64_t div = d ? strtoull(d, 0, 10) : 1;
                return next() / (div ? div : 1);
            }
            """;

    /**
     * The peer of {@code MbufPerf} (dpdk-test has no mbuf benchmark): rte_pktmbuf_alloc_bulk then
     * rte_pktmbuf_free_bulk of 32 through the main lcore's default cache, the same pool geometry,
     * timed in rounds of a million bursts; compiled here against Debian's libdpdk.
     */
    static final String MBUF_PERF = """
            #include <stdio.h>
            #include <time.h>
            #include <rte_eal.h>
            #include <rte_errno.h>
            #include <rte_lcore.h>
            #include <rte_mbuf.h>
            static double now_ns(void) {
                struct timespec t;
                clock_gettime(CLOCK_MONOTONIC, &t);
                return t.tv_sec * 1e9 + t.tv_nsec;
            }
            int main(int argc, char **argv) {
                if (rte_eal_init(argc, argv) < 0) { fprintf(stderr, "mbuf_perf: EAL init failed\\n"); return 1; }
                struct rte_mempool *mp = rte_pktmbuf_pool_create("mbuf_perf", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                        rte_socket_id());
                if (mp == NULL) { fprintf(stderr, "mbuf_perf: no pool: %s\\n", rte_strerror(rte_errno)); return 1; }
                struct rte_mbuf *burst[32];
                const long iters = 1000000;
                for (int round = 0; round < ROUNDS; round++) {
                    double t0 = now_ns();
                    for (long i = 0; i < iters; i++) {
                        if (rte_pktmbuf_alloc_bulk(mp, burst, 32) != 0) { fprintf(stderr, "mbuf_perf: alloc failed\\n"); return 1; }
                        rte_pktmbuf_free_bulk(burst, 32);
                    }
                    printf("mbuf_perf round %d: %.3f ns per mbuf\\n", round, (now_ns() - t0) / iters / 32);
                }
                rte_mempool_free(mp);
                rte_eal_cleanup();
                return 0;
            }
            """;
    /** Rounds the C peer runs; the first {@link #MBUF_WARMUP} are warm-up, the figure is the median of the rest. */
    static final int MBUF_ROUNDS = 8, MBUF_WARMUP = 3;

    private MempoolBench() {
    }

    /** The {@code ./jpdk bench mempool} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "mempool";
        }

        @Override
        public String summary() {
            return "mempool and mbuf get/put (JMH) beside dpdk-test mempool_perf_autotest";
        }

        @Override
        public void main(String[] args) throws Exception {
            MempoolBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, Double> dpdk = runDpdk();
        double dMbuf = runDpdkMbuf();
        Map<String, Double> ours = runJmh(args);

        double cached = ours.getOrDefault("MempoolPerf.bulk32Cached", Double.NaN);
        double ring = ours.getOrDefault("MempoolPerf.bulk32Ring", Double.NaN);
        double single = ours.getOrDefault("MempoolPerf.singleCached", Double.NaN);
        double dCached = dpdk.getOrDefault("cache=512 bulk=32", Double.NaN);
        double dRing = dpdk.getOrDefault("cache=0 bulk=32", Double.NaN);
        double dSingle = dpdk.getOrDefault("cache=512 bulk=1", Double.NaN);
        Bench.line("mempool_bulk32_cached_jpdk", cached, "ns/op");
        Bench.line("mempool_bulk32_cached_dpdk", dCached, "ns/op");
        Bench.line("mempool_bulk32_nocache_jpdk", ring, "ns/op");
        Bench.line("mempool_bulk32_nocache_dpdk", dRing, "ns/op");
        Bench.line("mempool_single_cached_jpdk", single, "ns/op");
        Bench.line("mempool_single_cached_dpdk", dSingle, "ns/op");
        double singleFinal = ours.getOrDefault("MempoolPerf.singleCachedFinal", Double.NaN);
        Bench.line("mempool_single_cached_final_class_jpdk", singleFinal, "ns/op");
        Bench.line("mempool_single_ring_jpdk", ours.getOrDefault("MempoolPerf.singleRing", Double.NaN), "ns/op");
        double mbuf = ours.getOrDefault("MbufPerf.allocFreeBulk32Cached", Double.NaN);
        Bench.line("mbuf_alloc_free_bulk32_cached_jpdk", mbuf, "ns/op");
        Bench.line("mbuf_alloc_free_bulk32_cached_dpdk", dMbuf, "ns/op");
        Bench.ratio("mempool_bulk32_cached_jpdk_vs_dpdk", cached, dCached);
        Bench.ratio("mempool_bulk32_nocache_jpdk_vs_dpdk", ring, dRing);
        Bench.ratio("mempool_single_cached_jpdk_vs_dpdk", single, dSingle);
        Bench.ratio("mempool_single_cached_final_class_jpdk_vs_dpdk", singleFinal, dSingle);
        Bench.ratio("mbuf_alloc_free_bulk32_cached_jpdk_vs_dpdk", mbuf, dMbuf);
    }

    /**
     * DPDK's figure for MbufPerf from {@link #MBUF_PERF}: ns per mbuf, median of the measured
     * rounds; NaN (with a line saying why) without a C compiler, pkg-config or libdpdk's headers.
     * On hugepages when some are free, as our pool is then; {@code --no-huge} otherwise (this
     * matters here: the 32 mbuf headers sit on 32 pages, and DPDK's figure doubles on 4 KiB pages).
     */
    static double runDpdkMbuf() throws IOException {
        Path dir = Files.createTempDirectory("jpdk-mbufbench");
        try {
            Path exe = Bench.buildDpdkPeer("mbuf_perf", MBUF_PERF.replace("ROUNDS", Integer.toString(MBUF_ROUNDS)), dir);
            if (exe == null) return Double.NaN;
            boolean huge = Hugepages.sizes().stream().anyMatch(z -> z.free() * z.pageSize() >= (256L << 20));
            List<String> cmd = new ArrayList<>(List.of(exe.toString(), "-l", "0", "--no-pci", "--log-level", "lib.eal:warning", "-m", "256"));
            // --in-memory: hugepages through memfd, no hugetlbfs mount needed (it refuses --no-huge).
            cmd.addAll(huge ? List.of("--in-memory") : List.of("--no-huge", "--file-prefix", "jpdkmbuf"));
            System.out.println("# running DPDK's mbuf alloc/free bulk 32 peer (" + (huge ? "hugepages" : "--no-huge: no free hugepages") + ") ...");
            String out = Bench.runPeer(cmd, null, 120);
            Bench.removeDpdkRuntimeDir("jpdkmbuf");
            if (out == null) return Double.NaN;
            Matcher m = Pattern.compile("mbuf_perf round (\\d+): ([0-9.]+) ns per mbuf").matcher(out);
            List<Double> rounds = new ArrayList<>();
            while (m.find()) {
                if (Integer.parseInt(m.group(1)) >= MBUF_WARMUP) rounds.add(Double.parseDouble(m.group(2)));
            }
            if (rounds.isEmpty()) {
                System.out.println("# the DPDK mbuf peer printed no rounds:\n# " + out.strip().replace("\n", "\n# "));
                return Double.NaN;
            }
            rounds.sort(null);
            System.out.println("# DPDK mbuf peer rounds after warm-up (ns per mbuf): " + rounds);
            return rounds.get(rounds.size() / 2);
        } finally {
            Bench.deleteDir(dir);
        }
    }

    /** JMH over org.jpdk.bench.mempool; short by default, any JMH option given on the command line wins. */
    static Map<String, Double> runJmh(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        ChainedOptionsBuilder b = new OptionsBuilder().parent(cli);
        if (cli.getIncludes().isEmpty()) b.include("org\\.jpdk\\.bench\\.mempool\\..*");
        if (!cli.getForkCount().hasValue()) b.forks(1);
        if (!cli.getWarmupIterations().hasValue()) b.warmupIterations(3);
        if (!cli.getWarmupTime().hasValue()) b.warmupTime(TimeValue.seconds(1));
        if (!cli.getMeasurementIterations().hasValue()) b.measurementIterations(4);
        if (!cli.getMeasurementTime().hasValue()) b.measurementTime(TimeValue.seconds(1));
        if (!cli.getTimeUnit().hasValue()) b.timeUnit(TimeUnit.NANOSECONDS);
        Collection<RunResult> results = new Runner(b.build()).run();
        Map<String, Double> out = Bench.results();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            out.put(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1), r.getPrimaryResult().getScore());
        }
        return out;
    }

    /** DPDK's best cores=1 n_keep=32 figures, ns per object, keyed "cache=C bulk=B"; empty if it could not run. */
    static Map<String, Double> runDpdk() throws IOException {
        Map<String, Double> out = Bench.results();
        Path test = Bench.findProgram("dpdk-test");
        if (test == null) {
            System.out.println("# dpdk-test not found (Debian package dpdk); no DPDK figures");
            return out;
        }
        Path dir = Files.createTempDirectory("jpdk-mpbench");
        List<String> cmd = new ArrayList<>();
        int div = 1;
        Path cc = Bench.findProgram("cc");
        if (cc != null) {
            Path src = dir.resolve("hz.c"), so = dir.resolve("hz.so");
            Files.writeString(src, SHIM);
            String built = Bench.runPeer(List.of(cc.toString(), "-shared", "-fPIC", "-O2", "-o", so.toString(), src.toString(), "-ldl"), null, 60);
            if (built != null && Files.exists(so)) {
                cmd.addAll(List.of("env", "LD_PRELOAD=" + so, "JPDK_HZ_DIV=" + HZ_DIV));
                div = HZ_DIV;
            } else {
                System.out.println("# could not build the timing shim: " + built);
            }
        } else {
            System.out.println("# no C compiler: DPDK's test runs 5 s per configuration and will be cut off");
        }
        cmd.addAll(List.of(test.toString(), "--no-huge", "-m", "512", "-l", "0-1", "--file-prefix", "jpdkmp", "--no-pci",
                "--log-level", "lib.eal:warning"));
        System.out.println("# running DPDK mempool_perf_autotest (windows of " + (5000 / div) + " ms) ...");
        String output = Bench.runPeer(cmd, "mempool_perf_autotest\n", 150);
        Bench.removeDpdkRuntimeDir("jpdkmp");
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) Files.deleteIfExists(p);
        }
        Files.deleteIfExists(dir);
        if (output == null) return out;
        Pattern line = Pattern.compile("cache=(\\d+) cores=1 n_get_bulk=(\\d+) n_put_bulk=(\\d+) n_keep=32 constant_n=\\d+ rate_persec=(\\d+)");
        Matcher m = line.matcher(output);
        while (m.find()) {
            if (!m.group(2).equals(m.group(3))) continue;
            double ns = 1e9 / (Double.parseDouble(m.group(4)) * div);
            String key = "cache=" + m.group(1) + " bulk=" + m.group(2);
            // Best of the lines for that case (constant_n 0/1, default and user-owned cache): the fairest figure for DPDK.
            out.merge(key, ns, Math::min);
        }
        if (out.isEmpty()) System.out.println("# no rate lines from DPDK; its output ended with: "
                + output.substring(Math.max(0, output.length() - 400)));
        return out;
    }
}
