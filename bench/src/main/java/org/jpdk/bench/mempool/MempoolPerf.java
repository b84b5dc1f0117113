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
 * lcore) and through the ring alone; and 32 single gets then 32 single puts, as DPDK's loop. Pool geometry as DPDK's test: cache 512.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MempoolPerf {
    static final int BULK = 32;

    /** The usual pooled handle: a final class, so a store into an array of it checks one class pointer. */
    public static final class Obj {
        final MemorySegment seg;

        Obj(MemorySegment seg) {
            this.seg = seg;
        }
    }

    Mempool<MemorySegment> pool;
    MempoolCache cache;
    final MemorySegment[] burst = new MemorySegment[BULK];
    Mempool<Obj> objPool;
    MempoolCache objCache;
    final Obj[] objBurst = new Obj[BULK];

    @Setup
    public void setup() {
        pool = Mempool.create("bench-mp-" + System.nanoTime(), 8191, 2048, Mempool.CACHE_MAX_SIZE, 0, Memzone.SOCKET_ID_ANY,
                MemorySegment.class, (p, i, seg, iova) -> seg);
        cache = pool.defaultCache(0);
        objPool = Mempool.create("bench-mpo-" + System.nanoTime(), 8191, 2048, Mempool.CACHE_MAX_SIZE, 0, Memzone.SOCKET_ID_ANY,
                Obj.class, (p, i, seg, iova) -> new Obj(seg));
        objCache = objPool.defaultCache(0);
    }

    @TearDown
    public void tearDown() {
        pool.cacheFlush(cache);
        pool.close();
        objPool.cacheFlush(objCache);
        objPool.close();
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

    /**
     * DPDK's n_get_bulk=1 n_put_bulk=1 n_keep=32 case, shaped as its loop is: 32 single gets into
     * consecutive slots, then 32 single puts (per object: one get call plus one put call).
     */
    @Benchmark
    @OperationsPerInvocation(BULK)
    public void singleCached() {
        for (int i = 0; i < BULK; i++) pool.genericGet(burst, i, 1, cache);
        for (int i = 0; i < BULK; i++) pool.genericPut(burst, i, 1, cache);
    }

    /**
     * The same for a pool of a final class: MemorySegment is an interface, and every single store
     * of one into a MemorySegment[] (the cache's stack, the caller's array) is a subtype check
     * against an interface, some 3.5 ns per get+put pair; a bulk copy checks once per call.
     */
    @Benchmark
    @OperationsPerInvocation(BULK)
    public void singleCachedFinal() {
        for (int i = 0; i < BULK; i++) objPool.genericGet(objBurst, i, 1, objCache);
        for (int i = 0; i < BULK; i++) objPool.genericPut(objBurst, i, 1, objCache);
    }

    @Benchmark
    public MemorySegment singleRing() {
        MemorySegment s = pool.get();
        pool.put(s);
        return s;
    }
}
