package org.jpdk.bench.net;

import java.util.concurrent.TimeUnit;
import org.jpdk.net.Checksum;
import org.jpdk.net.Ipv4;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;

/**
 * Checksums: the IPv4 header checksum, UDP over IPv4 on a 1500-byte frame, and the raw sum of
 * 20 and 1500 bytes (what DPDK's cksum_perf_autotest times for rte_raw_cksum).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ChecksumPerf {
    @Benchmark
    public int ipv4Header(NetPackets p) {
        return Ipv4.cksum(p.udp64, 14);
    }

    @Benchmark
    public int udp4Frame1500(NetPackets p) {
        return Ipv4.udptcpCksum(p.udp1500, 14);
    }

    @Benchmark
    public int raw20(NetPackets p) {
        return Checksum.raw(p.udp1500.buffer(), p.udp1500.dataOff() + 14, 20);
    }

    @Benchmark
    public int raw1500(NetPackets p) {
        return Checksum.raw(p.udp1500.buffer(), p.udp1500.dataOff(), 1500);
    }
}
