package org.jpdk.bench.ring;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * DPDK ring_perf_autotest's single-lcore case: put n objects then take them back on the same
 * thread. The score is ns per put+take call pair; RingBench divides by n for ns per object.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RingOneThreadBench extends PipeBench {
    private Object[] out;

    @Setup(Level.Trial)
    public void setupOut() {
        out = new Object[n];
    }

    @Benchmark
    public int putTake() {
        return pipe.put(in, n) + pipe.take(out, n);
    }
}
