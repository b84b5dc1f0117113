package org.jpdk.bench.hash;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jpdk.hash.Hash;
import org.jpdk.hash.HashFunction;
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
 * hash_perf_autotest's setting in JMH: 16-byte keys (a little-endian counter, as DPDK's test
 * makes them), a table of {@code entries} filled to 75%, lookups walking the shuffled key array
 * so every lookup goes to a random bucket; misses use keys never added. Per key: lookup, bulk
 * lookup of 16 (DPDK's BURST_SIZE) and 64, add (a reset table filled with {@value #ADD_N} keys
 * per invocation, as DPDK's timed_adds) and delete (all of them again).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HashPerf {
    static final int KEY_LEN = 16, ADD_N = 393216;

    @Param({"524288", "1048576"})
    int entries;

    @Param({"JHASH", "CRC32C"})
    String hash;

    Hash table;
    MemorySegment hits, misses;
    int keys;
    long cursor, missCursor;
    final int[] positions = new int[64];
    final long[] data = new long[64];

    @Setup(Level.Trial)
    public void setup() {
        keys = entries / 4 * 3;
        HashFunction f = switch (hash) {
            case "JHASH" -> HashFunction.JHASH;
            case "CRC32C" -> HashFunction.CRC32C;
            case "MIX" -> HashPerf::mix;
            default -> throw new IllegalArgumentException("hash: " + hash + " must be JHASH, CRC32C or MIX");
        };
        table = Hash.create("bench-hash-" + System.nanoTime() % 1_000_000_000, entries, KEY_LEN, f, 0, 0);
        Arena arena = Arena.ofAuto();
        hits = arena.allocate((long) keys * KEY_LEN, 64);
        misses = arena.allocate((long) keys * KEY_LEN, 64);
        long next = 0;
        for (int i = 0; i < keys; ) if (put(hits, i, next++)) i++;           // skip keys that do not fit, as DPDK's test
        for (int i = 0; i < keys; i++) {
            misses.set(ValueLayout.JAVA_LONG, (long) i * KEY_LEN, i);
            misses.set(ValueLayout.JAVA_LONG, (long) i * KEY_LEN + 8, 1L << 40);
        }
        shuffle(hits, keys);
        table.reset();
        fill(keys);
    }

    /** A custom hash for 16-byte keys (two multiply-xorshift rounds): what hashing costs against the table walk. */
    static int mix(MemorySegment key, long off, int len, int seed) {
        long a = key.get(ValueLayout.JAVA_LONG_UNALIGNED, off) * 0x9E3779B97F4A7C15L;
        long b = (key.get(ValueLayout.JAVA_LONG_UNALIGNED, off + 8) ^ seed) * 0xC2B2AE3D27D4EB4FL;
        long x = a ^ Long.rotateLeft(b, 31);
        x ^= x >>> 29;
        x *= 0x94D049BB133111EBL;
        return (int) (x ^ x >>> 32);
    }

    /** Writes counter value v as key i and adds it; false if the table refused it. */
    private boolean put(MemorySegment seg, int i, long v) {
        seg.set(ValueLayout.JAVA_LONG, (long) i * KEY_LEN, v);
        seg.set(ValueLayout.JAVA_LONG, (long) i * KEY_LEN + 8, 0L);
        return table.add(seg, (long) i * KEY_LEN, v) >= 0;
    }

    private static void shuffle(MemorySegment seg, int n) {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            long a0 = seg.get(ValueLayout.JAVA_LONG, (long) i * KEY_LEN), a1 = seg.get(ValueLayout.JAVA_LONG, (long) i * KEY_LEN + 8);
            seg.set(ValueLayout.JAVA_LONG, (long) i * KEY_LEN, seg.get(ValueLayout.JAVA_LONG, (long) j * KEY_LEN));
            seg.set(ValueLayout.JAVA_LONG, (long) i * KEY_LEN + 8, seg.get(ValueLayout.JAVA_LONG, (long) j * KEY_LEN + 8));
            seg.set(ValueLayout.JAVA_LONG, (long) j * KEY_LEN, a0);
            seg.set(ValueLayout.JAVA_LONG, (long) j * KEY_LEN + 8, a1);
        }
    }

    private void fill(int n) {
        for (int i = 0; i < n; i++) {
            if (table.add(hits, (long) i * KEY_LEN, i) < 0) throw new IllegalStateException("key " + i + " did not fit again");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        table.close();
    }

    private long nextHit(int n) {
        long c = cursor;
        cursor = c + n >= keys - 64 ? 0 : c + n;
        return c * KEY_LEN;
    }

    private long nextMiss(int n) {
        long c = missCursor;
        missCursor = c + n >= keys - 64 ? 0 : c + n;
        return c * KEY_LEN;
    }

    // Single lookups, 16 to an invocation: a loop of lookups, as DPDK's test and our peer time them
    // (one JMH call per key puts the harness's own work between the misses).

    @Benchmark
    @OperationsPerInvocation(16)
    public int lookupHit() {
        long o = nextHit(16);
        int sum = 0;
        for (int i = 0; i < 16; i++) sum += table.lookup(hits, o + (long) i * KEY_LEN);
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(16)
    public int lookupMiss() {
        long o = nextMiss(16);
        int sum = 0;
        for (int i = 0; i < 16; i++) sum += table.lookup(misses, o + (long) i * KEY_LEN);
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(16)
    public int lookupDataHit() {
        long o = nextHit(16);
        int sum = 0;
        for (int i = 0; i < 16; i++) sum += table.lookupData(hits, o + (long) i * KEY_LEN, data, i);
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(16)
    public long lookupBulk16Hit() {
        return table.lookupBulk(hits, nextHit(16), KEY_LEN, 16, positions);
    }

    @Benchmark
    @OperationsPerInvocation(64)
    public long lookupBulk64Hit() {
        return table.lookupBulk(hits, nextHit(64), KEY_LEN, 64, positions);
    }

    @Benchmark
    @OperationsPerInvocation(64)
    public long lookupBulk64Miss() {
        return table.lookupBulk(misses, nextMiss(64), KEY_LEN, 64, positions);
    }

    /** Add: every invocation empties the table (not timed), then adds {@value #ADD_N} keys: 75% of 524288 entries, as DPDK's test. */
    @State(Scope.Thread)
    public static class Empty {
        @Setup(Level.Invocation)
        public void empty(HashPerf p) {
            p.table.reset();
        }
    }

    @Benchmark
    @OperationsPerInvocation(ADD_N)
    public void addAll(Empty e) {
        fill(ADD_N);
    }

    /** Delete: every invocation refills the table with {@value #ADD_N} keys (not timed), then deletes them all. */
    @State(Scope.Thread)
    public static class Full {
        @Setup(Level.Invocation)
        public void refill(HashPerf p) {
            p.table.reset();
            p.fill(ADD_N);
        }
    }

    @Benchmark
    @OperationsPerInvocation(ADD_N)
    public int deleteAll(Full f) {
        int sum = 0;
        for (int i = 0; i < ADD_N; i++) sum += table.delete(hits, (long) i * KEY_LEN);
        return sum;
    }
}
