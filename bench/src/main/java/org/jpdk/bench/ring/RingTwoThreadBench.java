package org.jpdk.bench.ring;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Control;

/**
 * One producer thread and one consumer thread: each call moves a whole batch of n, retrying
 * while the ring is full (empty). The score is ns per batch per thread; RingBench divides by n.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RingTwoThreadBench extends PipeBench {
    /** Per-thread output array, so the consumer never shares a written line with the producer. */
    @State(Scope.Thread)
    public static class Out {
        Object[] a = new Object[32];
    }

    @Benchmark
    @Group("pc")
    @GroupThreads(1)
    public int put(Control ctl) {
        int done = 0;
        while (done < n) {
            int k = pipe.put(in, n - done);
            if (k == 0) {
                if (ctl.stopMeasurement) break;
                Thread.onSpinWait();
            }
            done += k;
        }
        return done;
    }

    @Benchmark
    @Group("pc")
    @GroupThreads(1)
    public int take(Control ctl, Out out) {
        int done = 0;
        while (done < n) {
            int k = pipe.take(out.a, n - done);
            if (k == 0) {
                if (ctl.stopMeasurement) break;
                Thread.onSpinWait();
            }
            done += k;
        }
        return done;
    }
}
