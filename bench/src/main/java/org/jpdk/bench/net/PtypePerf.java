package org.jpdk.bench.net;

import java.util.concurrent.TimeUnit;
import org.jpdk.net.PacketType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;

/** PacketType.parse of a plain UDP/IPv4 frame and of a VXLAN frame carrying TCP/IPv4 (checked once in NetPackets' setup). */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PtypePerf {
    @Benchmark
    public int udp4(NetPackets p) {
        return PacketType.parse(p.udp64);
    }

    @Benchmark
    public int vxlan(NetPackets p) {
        return PacketType.parse(p.vxlan);
    }
}
