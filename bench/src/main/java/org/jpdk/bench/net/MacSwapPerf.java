package org.jpdk.bench.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.mempool.MempoolCache;
import org.jpdk.net.Ether;
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
 * testpmd's macswap per packet without the ports: a burst of 32 taken from lcore 0's cache, given
 * 64 bytes each, swapped, and freed, as net_null rx, the engine and net_null tx do.
 * {@code burstOnly} leaves the swap out, so each other figure minus it is what the swap costs:
 * <ul>
 * <li>{@code swapMacs}: {@link Ether#swapMacs}, the product's path (one check against the data
 *     length, then four accesses straight on the buffer segment);</li>
 * <li>{@code swapSegment}: the four accesses on the buffer segment without the data-length check
 *     (the segment's bounds and liveness checks only);</li>
 * <li>{@code swapSlice}: through one {@code m.data(0, 12)} slice: quick where escape analysis
 *     removes the slice, an allocation per packet where it does not (so not the product's path);</li>
 * <li>{@code swapGlobal}: the same on a segment of the global scope over the same bytes, made per
 *     packet (escape analysis removes it). A diagnosis, not a path to ship: such a segment outlives
 *     the memory it shows. Its difference to {@code swapSegment} is what the liveness check of the
 *     pool's shared arena costs, four times per packet.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MacSwapPerf {
    private static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    Mempool<Mbuf> pool;
    MempoolCache cache;
    final Mbuf[] burst = new Mbuf[32];

    @Setup
    public void setup() {
        pool = Mbuf.createPool("bench-swap-" + (System.nanoTime() % 1_000_000_000L), 8191, 256, 0, Mbuf.DEFAULT_BUF_SIZE,
                Memzone.SOCKET_ID_ANY);
        cache = pool.defaultCache(0);
    }

    @TearDown
    public void tearDown() {
        pool.cacheFlush(cache);
        pool.close();
    }

    private Mbuf[] rx() {
        Mbuf.allocBulk(pool, burst, 0, 32, cache);
        for (int i = 0; i < 32; i++) burst[i].appendOffset(64);
        return burst;
    }

    @Benchmark
    @OperationsPerInvocation(32)
    public void burstOnly() {
        Mbuf.freeBulk(rx(), 0, 32, cache);
    }

    @Benchmark
    @OperationsPerInvocation(32)
    public void swapMacs() {
        Mbuf[] b = rx();
        for (int i = 0; i < 32; i++) {
            Mbuf m = b[i];
            if (m.dataLen() >= 2 * Ether.ADDR_LEN) Ether.swapMacs(m);
        }
        Mbuf.freeBulk(b, 0, 32, cache);
    }

    @Benchmark
    @OperationsPerInvocation(32)
    public void swapSegment() {
        Mbuf[] b = rx();
        for (int i = 0; i < 32; i++) {
            Mbuf m = b[i];
            if (m.dataLen() >= 2 * Ether.ADDR_LEN) swap(m.buffer(), m.dataOff());
        }
        Mbuf.freeBulk(b, 0, 32, cache);
    }

    @Benchmark
    @OperationsPerInvocation(32)
    public void swapGlobal() {
        Mbuf[] b = rx();
        for (int i = 0; i < 32; i++) {
            Mbuf m = b[i];
            if (m.dataLen() >= 2 * Ether.ADDR_LEN) {
                MemorySegment buf = m.buffer();
                swap(MemorySegment.ofAddress(buf.address()).reinterpret(buf.byteSize()), m.dataOff());
            }
        }
        Mbuf.freeBulk(b, 0, 32, cache);
    }

    @Benchmark
    @OperationsPerInvocation(32)
    public void swapSlice() {
        Mbuf[] b = rx();
        for (int i = 0; i < 32; i++) {
            Mbuf m = b[i];
            if (m.dataLen() >= 2 * Ether.ADDR_LEN) swap(m.data(0, 12), 0);
        }
        Mbuf.freeBulk(b, 0, 32, cache);
    }

    private static void swap(MemorySegment s, long o) {
        long a = s.get(BE_LONG, o);
        long c = s.get(BE_INT, o + 8) & 0xffff_ffffL;
        long dst = a >>> 16, src = (a & 0xffff) << 32 | c;
        s.set(BE_LONG, o, src << 16 | dst >>> 32);
        s.set(BE_INT, o + 8, (int) dst);
    }
}
