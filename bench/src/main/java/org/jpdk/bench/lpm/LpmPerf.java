package org.jpdk.bench.lpm;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jpdk.eal.EalMemory;
import org.jpdk.eal.MemoryOptions;
import org.jpdk.eal.Memzone;
import org.jpdk.lpm.Lpm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * lpm_perf_autotest's lookups in JMH: the same ~1.08 million route table ({@link PerfRoutes}, all
 * routes to next hop 0xAA, max 2,000,000 rules and 2048 tbl8 groups as DPDK's test configures),
 * random lookup addresses, batches of 4096 per invocation looked up singly, in bursts of 32
 * ({@code lookupBulk}) and four at a time ({@code lookupX4}). The addresses come from a 4 MiB
 * pool of random ones, a fresh batch per invocation, so (as with DPDK's fresh rte_rand() batch)
 * the tbl24 lines a batch needs are not left in cache by the previous one. {@code pages=huge} is
 * how jpdk runs (EAL memory on 2 MiB hugepages, as DPDK by default); {@code pages=nohuge} puts the
 * tables on 4 KiB pages, as {@code dpdk-test --no-huge} does, for a like-for-like comparison.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class LpmPerf {
    static final int BATCH = 4096, BULK = 32, POOL = 1 << 20;

    @Param({"huge", "nohuge"})
    public String pages;

    Lpm lpm;
    final int[] pool = new int[POOL];
    final int[] hops = new int[BULK];
    int next;

    @Setup(Level.Trial)
    public void setup() {
        PerfRoutes routes = PerfRoutes.generate(1);
        if (pages.equals("nohuge")) EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
        lpm = Lpm.create("bench_lpm_" + ProcessHandle.current().pid() % 100000, Memzone.SOCKET_ID_ANY, 2_000_000, 2048);
        int added = 0;
        for (int i = 0; i < routes.size(); i++) {
            if (lpm.add(routes.ips[i], routes.depths[i], 0xAA) == 0) added++;
        }
        SplittableRandom rnd = new SplittableRandom(2);
        int misses = 0;
        for (int i = 0; i < POOL; i++) {
            pool[i] = rnd.nextInt();
            if (lpm.lookup(pool[i]) == Lpm.MISS) misses++;
        }
        System.out.printf("%n# jpdk lpm: %d routes, %d added (%d rules), %d of %d tbl8 groups, page size %d KiB, misses %.1f%%%n",
                routes.size(), added, lpm.ruleCount(), lpm.tbl8GroupsInUse(), lpm.numberTbl8s(), lpm.pageSize() >> 10,
                100.0 * misses / POOL);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lpm.close();
    }

    private int batch() {
        int b = next;
        next = (b + BATCH) & (POOL - 1);
        return b;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int single() {
        int b = batch(), sum = 0;
        Lpm l = lpm;
        int[] ips = pool;
        for (int i = b; i < b + BATCH; i++) sum += l.lookup(ips[i]);
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int bulk32() {
        int b = batch(), sum = 0;
        Lpm l = lpm;
        int[] ips = pool, h = hops;
        for (int i = b; i < b + BATCH; i += BULK) {
            l.lookupBulk(ips, i, h, BULK);
            sum += h[0];
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int x4() {
        int b = batch(), sum = 0;
        Lpm l = lpm;
        int[] ips = pool, h = hops;
        for (int i = b; i < b + BATCH; i += 4) {
            l.lookupX4(ips, i, h, 0, -1);
            sum += h[0];
        }
        return sum;
    }
}
