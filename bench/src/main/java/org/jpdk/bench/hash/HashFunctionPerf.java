package org.jpdk.bench.hash;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.jpdk.hash.HashFunction;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The hash of one key held off-heap: our CRC32C (rte_hash_crc's values, slicing-by-8) and jhash
 * on the MemorySegment, against java.util.zip.CRC32C (intrinsic) reached the two ways an off-heap
 * key allows: a copy into a byte[] and a ByteBuffer view of the segment; both allocate per call
 * unless escape analysis removes it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HashFunctionPerf {
    @Param({"16", "40"})
    int keyLen;

    MemorySegment key;
    byte[] copy;

    @Setup
    public void setup() {
        key = Arena.ofAuto().allocate(64, 16);
        for (int i = 0; i < 64; i++) key.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
        copy = new byte[keyLen];
    }

    @Benchmark
    public int crc32c() {
        return HashFunction.CRC32C.hash(key, 0, keyLen, 0);
    }

    @Benchmark
    public int jhash() {
        return HashFunction.JHASH.hash(key, 0, keyLen, 0);
    }

    @Benchmark
    public long javaCrc32cCopy() {
        MemorySegment.copy(key, ValueLayout.JAVA_BYTE, 0, copy, 0, keyLen);
        CRC32C c = new CRC32C();
        c.update(copy, 0, keyLen);
        return c.getValue();
    }

    @Benchmark
    public long javaCrc32cByteBuffer() {
        CRC32C c = new CRC32C();
        c.update(key.asSlice(0, keyLen).asByteBuffer());
        return c.getValue();
    }
}
