package org.jpdk.bench.lpm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jpdk.eal.Memzone;
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
 * Why Lpm's tables are off-heap: random reads of a 64 MiB tbl24 (one int per /24, 4096 random
 * addresses per invocation) from an {@code int[]} on the Java heap, from a memzone on 2 MiB
 * hugepages, and from 4 KiB-page native memory. The difference is TLB misses.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class Tbl24MemoryPerf {
    private static final VarHandle INT = ValueLayout.JAVA_INT.arrayElementVarHandle();
    static final int N = 1 << 24, BATCH = 4096, POOL = 1 << 20;

    @Param({"heap", "hugepage", "4k"})
    public String mem;

    int[] heap;
    MemorySegment seg;
    Memzone zone;
    Arena arena;
    final int[] pool = new int[POOL];
    int next;

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom rnd = new SplittableRandom(3);
        switch (mem) {
            case "heap" -> {
                heap = new int[N];
                for (int i = 0; i < N; i++) heap[i] = rnd.nextInt();
            }
            case "hugepage" -> {
                zone = Memzone.reserve("bench_tbl24_" + ProcessHandle.current().pid() % 100000, 4L * N, Memzone.SOCKET_ID_ANY,
                        Memzone.MEMZONE_2MB, 64);
                seg = zone.segment();
            }
            default -> {
                arena = Arena.ofShared();
                seg = arena.allocate(4L * N, 4096);
            }
        }
        if (seg != null) for (long i = 0; i < N; i++) INT.set(seg, 0L, i, rnd.nextInt());
        for (int i = 0; i < POOL; i++) pool[i] = rnd.nextInt();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (zone != null) zone.free();
        if (arena != null) arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int read() {
        int b = next, sum = 0;
        next = (b + BATCH) & (POOL - 1);
        if (heap != null) {
            int[] t = heap;
            for (int i = b; i < b + BATCH; i++) sum += t[pool[i] >>> 8];
        } else {
            MemorySegment s = seg;
            for (int i = b; i < b + BATCH; i++) sum += (int) INT.get(s, 0L, (long) (pool[i] >>> 8));
        }
        return sum;
    }
}
