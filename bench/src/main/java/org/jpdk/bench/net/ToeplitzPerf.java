package org.jpdk.bench.net;

import java.util.concurrent.TimeUnit;
import org.jpdk.net.Toeplitz;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/** Toeplitz hash of an IPv4 and an IPv6 4-tuple: the bit-serial definition against the byte table. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ToeplitzPerf {
    final Toeplitz t = Toeplitz.DEFAULT_KEY;
    // Microsoft's first verification tuples; the benchmark varies the source port so nothing folds
    final int[] v4 = {0x420995bb, 0xa18e6450, 2794 << 16 | 1766};
    final int[] v6 = {0x3ffe2501, 0x02001fff, 0, 7, 0x3ffe2501, 0x02000003, 0, 1, 2794 << 16 | 1766};
    int port;

    @Benchmark
    public int ipv4BitSerial() {
        v4[2] = ++port << 16 | 1766;
        return t.hashBitwise(v4, 3);
    }

    @Benchmark
    public int ipv4Table() {
        v4[2] = ++port << 16 | 1766;
        return t.hash(v4, 3);
    }

    @Benchmark
    public int ipv6BitSerial() {
        v6[8] = ++port << 16 | 1766;
        return t.hashBitwise(v6, 9);
    }

    @Benchmark
    public int ipv6Table() {
        v6[8] = ++port << 16 | 1766;
        return t.hash(v6, 9);
    }
}
