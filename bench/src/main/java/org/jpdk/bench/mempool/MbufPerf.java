package org.jpdk.bench.mempool;

import java.util.concurrent.TimeUnit;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
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

/** Mbuf.allocBulk + Mbuf.freeBulk of 32 (per mbuf) through lcore 0's cache, as a driver's rx refill and tx completion. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MbufPerf {
    Mempool<Mbuf> pool;
    MempoolCache cache;
    final Mbuf[] burst = new Mbuf[32];

    @Setup
    public void setup() {
        pool = Mbuf.createPool("bench-mbuf-" + System.nanoTime(), 8191, 256, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
        cache = pool.defaultCache(0);
    }

    @TearDown
    public void tearDown() {
        pool.cacheFlush(cache);
        pool.close();
    }

    @Benchmark
    @OperationsPerInvocation(32)
    public void allocFreeBulk32Cached() {
        Mbuf.allocBulk(pool, burst, 0, 32, cache);
        Mbuf.freeBulk(burst, 0, 32, cache);
    }
}
