package org.jpdk.bench.mempool;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.jpdk.eal.Memzone;
import org.jpdk.mempool.Mempool;
import org.jpdk.mempool.MempoolCache;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * mempool_perf_autotest's cores=1 n_keep=32 cases in JMH: get then put back 32 objects (per
 * object: one get plus one put), through lcore 0's cache taken explicitly (a JMH thread is not an
 * lcore) and through the ring alone; and single get+put. Pool geometry as DPDK's test: cache 512.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MempoolPerf {
    static final int BULK = 32;

    Mempool<MemorySegment> pool;
    MempoolCache cache;
    final MemorySegment[] burst = new MemorySegment[BULK];

    @Setup
    public void setup() {
        pool = Mempool.create("bench-mp-" + System.nanoTime(), 8191, 2048, Mempool.CACHE_MAX_SIZE, 0, Memzone.SOCKET_ID_ANY,
                MemorySegment.class, (p, i, seg, iova) -> seg);
        cache = pool.defaultCache(0);
    }

    @TearDown
    public void tearDown() {
        pool.cacheFlush(cache);
        pool.close();
    }

    @Benchmark
    @OperationsPerInvocation(BULK)
    public void bulk32Cached() {
        pool.genericGet(burst, 0, BULK, cache);
        pool.genericPut(burst, 0, BULK, cache);
    }

    @Benchmark
    @OperationsPerInvocation(BULK)
    public void bulk32Ring() {
        pool.genericGet(burst, 0, BULK, null);
        pool.genericPut(burst, 0, BULK, null);
    }

    @Benchmark
    public void singleCached() {
        pool.genericGet(burst, 0, 1, cache);
        pool.genericPut(burst, 0, 1, cache);
    }

    @Benchmark
    public MemorySegment singleRing() {
        MemorySegment s = pool.get();
        pool.put(s);
        return s;
    }
}
