package org.jpdk.hash;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.*;

/** The cuckoo hash against java.util.HashMap, DPDK's hash values, full-table and bulk behaviour, allocation. */
class HashTest {
    private static int tables;

    static String name() {
        return "hash_test_" + tables++;
    }

    /** Key number {@code id} of {@code len} bytes at {@code off}: distinct ids give distinct keys. */
    static void key(MemorySegment seg, long off, long id, int len) {
        SplittableRandom r = new SplittableRandom(id * 0x9E3779B97F4A7C15L);
        for (int i = 0; i < len; i++) seg.set(ValueLayout.JAVA_BYTE, off + i, (byte) r.nextInt());
        int n = Math.min(len, 8);
        for (int i = 0; i < n; i++) seg.set(ValueLayout.JAVA_BYTE, off + i, (byte) (id >>> (8 * i)));
    }

    @Test
    void hashFunctionsGiveDpdksValues() {
        // From rte_hash_crc / rte_jhash (DPDK 22.11 headers) over bytes k[i] = i*7+1: len, crc(seed 0),
        // crc(seed 0x12345678), jhash(seed 0), jhash(seed 0x12345678).
        long[][] ref = {
                {1, 0xf26b8303L, 0x0938bb97L, 0x04ec883bL, 0x40158784L},
                {4, 0x3492be07L, 0xcee6e833L, 0x46f8eec9L, 0xf7e6ac94L},
                {7, 0xb36c405dL, 0xa34bc786L, 0x098fbe6fL, 0xacd73b78L},
                {12, 0x5fd665d1L, 0xe5821f9cL, 0x38919c27L, 0xe8f4c145L},
                {13, 0x45337a02L, 0xbbda7f17L, 0xe1f0cbaeL, 0xa2fbe119L},
                {16, 0xc6c39e95L, 0x4b545ff8L, 0xedfec516L, 0xc75586b5L},
                {37, 0x465ab1bbL, 0x097d0b6bL, 0x119d4e58L, 0x14af5695L},
                {40, 0x9c1ef568L, 0x55558e2eL, 0x706c33ccL, 0x9d695edaL},
                {64, 0xa9a259e1L, 0x3e839e3eL, 0x88ea27e0L, 0xf325cd04L}};
        MemorySegment k = Arena.ofAuto().allocate(64 + 3);
        for (int i = 0; i < 64; i++) k.set(ValueLayout.JAVA_BYTE, 3 + i, (byte) (i * 7 + 1));
        for (long[] r : ref) {
            int len = (int) r[0];
            assertEquals((int) r[1], HashFunction.CRC32C.hash(k, 3, len, 0), "crc len " + len);
            assertEquals((int) r[2], HashFunction.CRC32C.hash(k, 3, len, 0x12345678), "crc seeded len " + len);
            assertEquals((int) r[3], HashFunction.JHASH.hash(k, 3, len, 0), "jhash len " + len);
            assertEquals((int) r[4], HashFunction.JHASH.hash(k, 3, len, 0x12345678), "jhash seeded len " + len);
        }
    }

    @Test
    void signatureMatchFindsExactlyTheEqualLanes() {
        Random r = new Random(1);
        for (int t = 0; t < 10_000; t++) {
            int sig = r.nextInt(4) == 0 ? 0 : r.nextInt(1 << 16);
            long word = 0;
            int expect = 0;
            for (int lane = 0; lane < 4; lane++) {
                int v = r.nextBoolean() ? sig : r.nextInt(1 << 16);
                if (v == sig) expect |= 1 << lane;
                word |= (long) v << (16 * lane);
            }
            assertEquals(expect, Hash.sigMatch(word, sig * 0x0001_0001_0001_0001L));
        }
    }

    /** 100k random adds, lookups and deletes against HashMap, checking positions, values, count and iteration. */
    @ParameterizedTest
    @ValueSource(ints = {0, Hash.F_EXT_TABLE})
    void randomOperationsMatchHashMap(int flags) {
        randomOps(16, 4096, 6000, 100_000, flags, HashFunction.CRC32C, 42);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 5, 13, 37, 40, 64})
    void otherKeySizesAndJhash(int keyLen) {
        int keySpace = keyLen == 1 ? 256 : 800;                      // ids are injective in the first bytes
        randomOps(keyLen, 512, keySpace, 20_000, Hash.F_EXT_TABLE, HashFunction.JHASH, keyLen);
        randomOps(keyLen, 512, keySpace, 10_000, 0, HashFunction.CRC32C, keyLen + 1);
    }

    private void randomOps(int keyLen, int entries, int keySpace, int ops, int flags, HashFunction f, long seed) {
        Random rnd = new Random(seed);
        MemorySegment k = Arena.ofAuto().allocate(keyLen + 5);
        long[] out = new long[1];
        Map<Long, long[]> ref = new HashMap<>();                     // id -> {position, value}
        int enospc = 0;
        try (Hash h = Hash.create(name(), entries, keyLen, f, 7, flags)) {
            for (int op = 0; op < ops; op++) {
                long id = rnd.nextInt(keySpace);
                key(k, 5, id, keyLen);
                long[] want = ref.get(id);
                int what = rnd.nextInt(10);
                if (what < 4) {
                    long value = rnd.nextLong();
                    int pos = h.add(k, 5, value);
                    if (pos == Hash.ENOSPC) {
                        assertNull(want, "ENOSPC for a key already present");
                        if ((flags & Hash.F_EXT_TABLE) != 0) assertEquals(entries, ref.size(), "ENOSPC with an ext table before full");
                        enospc++;
                    } else {
                        assertTrue(pos >= 0 && pos < entries, "position " + pos);
                        if (want != null) assertEquals(want[0], pos, "an update keeps the position");
                        ref.put(id, new long[] {pos, value});
                    }
                } else if (what < 7) {
                    int pos = h.lookupData(k, 5, out, 0);
                    if (want == null) {
                        assertEquals(Hash.ENOENT, pos);
                    } else {
                        assertEquals(want[0], pos);
                        assertEquals(want[1], out[0]);
                    }
                } else {
                    int pos = h.delete(k, 5);
                    assertEquals(want == null ? Hash.ENOENT : (int) want[0], pos);
                    ref.remove(id);
                }
                if (op % 1000 == 0) assertEquals(ref.size(), h.count());
            }
            assertEquals(ref.size(), h.count());
            // Every key present is found; positions are distinct; iteration visits exactly them.
            Set<Integer> positions = new HashSet<>();
            for (var e : ref.entrySet()) {
                key(k, 5, e.getKey(), keyLen);
                assertEquals((int) e.getValue()[0], h.lookup(k, 5));
                assertTrue(positions.add((int) e.getValue()[0]));
            }
            MemorySegment got = Arena.ofAuto().allocate(keyLen);
            int seen = 0;
            for (int pos = h.iterate(0); pos >= 0; pos = h.iterate(pos + 1)) {
                assertTrue(positions.contains(pos), "iterate gave position " + pos);
                assertEquals(0, h.keyAt(pos, got, 0));
                assertEquals(pos, h.lookup(got, 0));
                seen++;
            }
            assertEquals(ref.size(), seen);
            if ((flags & Hash.F_EXT_TABLE) == 0 && keyLen == 16) assertTrue(enospc >= 0);
        }
    }

    @Test
    void fullTableWithoutExtBucketsReturnsEnospcAndStaysIntact() {
        int entries = 1024;
        MemorySegment k = Arena.ofAuto().allocate(16);
        try (Hash h = Hash.create(name(), entries, 16)) {
            long id = 0;
            int pos;
            List<Integer> added = new ArrayList<>();
            key(k, 0, id, 16);
            while ((pos = h.add(k, 0, id)) != Hash.ENOSPC) {
                assertTrue(pos >= 0);
                added.add(pos);
                key(k, 0, ++id, 16);
            }
            int n = h.count();
            assertEquals(added.size(), n);
            assertTrue(n > entries * 0.9 && n <= entries, "cuckoo displacement should fill over 90%, filled " + n);
            assertTrue(h.changeCount() > 0, "displacements happened");
            assertEquals(Hash.ENOENT, h.lookup(k, 0), "the refused key is not in the table");
            for (long i = 0; i < id; i++) {
                key(k, 0, i, 16);
                long[] v = new long[1];
                assertEquals((int) added.get((int) i), h.lookupData(k, 0, v, 0));
                assertEquals(i, v[0]);
            }
            h.reset();
            assertEquals(0, h.count());
            assertEquals(Hash.ENOENT, h.lookup(k, 0));
            assertEquals(Hash.ENOENT, h.iterate(0));
            assertTrue(h.add(k, 0, 1) >= 0);
        }
    }

    @Test
    void extTableHoldsExactlyEntriesKeys() {
        int entries = 1024;
        MemorySegment k = Arena.ofAuto().allocate(16);
        try (Hash h = Hash.create(name(), entries, 16, HashFunction.CRC32C, 0, Hash.F_EXT_TABLE)) {
            for (long i = 0; i < entries; i++) {
                key(k, 0, i, 16);
                assertTrue(h.add(k, 0, i) >= 0, "key " + i);
            }
            key(k, 0, entries, 16);
            assertEquals(Hash.ENOSPC, h.add(k, 0, 0));
            assertEquals(entries, h.count());
            key(k, 0, 3, 16);
            int pos = h.delete(k, 0);
            key(k, 0, entries, 16);
            assertEquals(pos, h.add(k, 0, 9), "the freed position is the only one left");
            for (long i = 0; i < entries; i++) {
                key(k, 0, i == 3 ? entries : i, 16);
                assertTrue(h.lookup(k, 0) >= 0, "key " + i);
            }
            // Empty it again: every ext bucket goes back, so the table fills again.
            for (long i = 0; i <= entries; i++) {
                key(k, 0, i, 16);
                h.delete(k, 0);
            }
            assertEquals(0, h.count());
            for (long i = 0; i < entries; i++) {
                key(k, 0, i + 5000, 16);
                assertTrue(h.add(k, 0, i) >= 0, "refill key " + i);
            }
        }
    }

    @Test
    void bulkLookupEqualsSingleLookups() {
        int keys = 20_000;
        MemorySegment k = Arena.ofAuto().allocate(16);
        MemorySegment burst = Arena.ofAuto().allocate(64 * 24);
        Random rnd = new Random(3);
        try (Hash h = Hash.create(name(), 32768, 16, HashFunction.CRC32C, 0, Hash.F_EXT_TABLE)) {
            for (long i = 0; i < keys; i++) {
                key(k, 0, i, 16);
                assertTrue(h.add(k, 0, i * 3) >= 0);
            }
            int[] pos = new int[64];
            long[] data = new long[64], one = new long[1];
            for (int round = 0; round < 200; round++) {
                int n = round < 4 ? new int[] {0, 1, 63, 64}[round] : 1 + rnd.nextInt(64);
                int stride = 16 + (round % 3) * 4;
                for (int i = 0; i < n; i++) key(burst, (long) i * stride, rnd.nextInt(2 * keys), 16);
                java.util.Arrays.fill(data, -1);
                long mask = h.lookupBulk(burst, 0, stride, n, pos);
                long mask2 = h.lookupBulkData(burst, 0, stride, n, data);
                assertEquals(mask, mask2);
                for (int i = 0; i < n; i++) {
                    int single = h.lookupData(burst, (long) i * stride, one, 0);
                    assertEquals(single, pos[i], "key " + i + " of " + n);
                    assertEquals(single >= 0, (mask >>> i & 1) != 0);
                    if (single >= 0) assertEquals(one[0], data[i]);
                    else assertEquals(-1, data[i], "a miss leaves data untouched");
                }
                if (n < 64) assertEquals(0, mask >>> n);
            }
        }
    }

    @Test
    void lookupsAddsAndDeletesAllocateNothing() {
        MemorySegment k = Arena.ofAuto().allocate(16);
        MemorySegment burst = Arena.ofAuto().allocate(64 * 16);
        try (Hash h = Hash.create(name(), 8192, 16)) {
            for (long i = 0; i < 4000; i++) {
                key(k, 0, i, 16);
                h.add(k, 0, i);
            }
            for (int i = 0; i < 64; i++) key(burst, i * 16L, i * 97L, 16);
            int[] pos = new int[64];
            long[] data = new long[64];
            key(k, 0, 17, 16);
            AllocationMeter.assertNoAllocation("lookup", 20_000, 50_000, () -> h.lookup(k, 0));
            AllocationMeter.assertNoAllocation("lookupData", 20_000, 50_000, () -> h.lookupData(k, 0, data, 3));
            AllocationMeter.assertNoAllocation("lookupBulk", 2_000, 5_000, () -> h.lookupBulk(burst, 0, 16, 64, pos));
            AllocationMeter.assertNoAllocation("lookupBulkData", 2_000, 5_000, () -> h.lookupBulkData(burst, 0, 16, 64, data));
            byte[] arr = k.toArray(ValueLayout.JAVA_BYTE);
            AllocationMeter.assertNoAllocation("byte[] lookupData", 20_000, 50_000, () -> h.lookupData(arr, data, 0));
            key(k, 0, 100_000, 16);
            AllocationMeter.assertNoAllocation("add + delete", 20_000, 50_000, () -> {
                h.add(k, 0, 1);
                h.delete(k, 0);
            });
        }
    }

    @Test
    void noFreeOnDeleteKeepsPositionsUntilFreed() {
        MemorySegment k = Arena.ofAuto().allocate(16);
        try (Hash h = Hash.create(name(), 8, 16, HashFunction.CRC32C, 0, Hash.F_RW_CONCURRENCY_LF | Hash.F_EXT_TABLE)) {
            assertTrue((h.flags() & Hash.F_NO_FREE_ON_DEL) != 0, "LF implies no-free-on-delete, as in DPDK");
            int[] pos = new int[8];
            for (int i = 0; i < 8; i++) {
                key(k, 0, i, 16);
                pos[i] = h.add(k, 0, i);
            }
            key(k, 0, 2, 16);
            assertEquals(pos[2], h.delete(k, 0));
            assertEquals(7, h.count());
            key(k, 0, 99, 16);
            assertEquals(Hash.ENOSPC, h.add(k, 0, 0), "the deleted position is not reusable yet");
            assertEquals(Hash.EINVAL, h.freeKeyWithPosition(pos[3]), "position of a live key");
            assertEquals(0, h.freeKeyWithPosition(pos[2]));
            assertEquals(Hash.EINVAL, h.freeKeyWithPosition(pos[2]), "freed twice");
            assertEquals(pos[2], h.add(k, 0, 0));
        }
    }

    @Test
    void byteArrayKeysAndPositions() {
        try (Hash h = Hash.create(name(), 64, 4)) {
            byte[] a = {1, 2, 3, 4}, b = {4, 3, 2, 1};
            int pa = h.add(a, 10);
            assertTrue(pa >= 0);
            assertEquals(Hash.ENOENT, h.lookup(b));
            long[] v = new long[2];
            assertEquals(pa, h.lookupData(a, v, 1));
            assertEquals(10, v[1]);
            assertEquals(pa, h.add(a, 11));
            assertEquals(11, h.dataAt(pa));
            MemorySegment got = Arena.ofAuto().allocate(4);
            assertEquals(0, h.keyAt(pa, got, 0));
            assertArrayEquals(a, got.toArray(ValueLayout.JAVA_BYTE));
            assertEquals(pa, h.delete(a));
            assertEquals(Hash.ENOENT, h.keyAt(pa, got, 0));
            assertEquals(Hash.ENOENT, h.delete(a));
            assertEquals(h.hash(MemorySegment.ofArray(b), 0), HashFunction.CRC32C.hash(MemorySegment.ofArray(b), 0, 4, 0));
        }
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        assertMessage(() -> Hash.create("", 64, 16), "name: '' must be 1 to 31 characters");
        assertMessage(() -> Hash.create("x", 7, 16), "entries: 7 must be 8 to 1073741824");
        assertMessage(() -> Hash.create("x", 64, 65), "keyLen: 65 must be 1 to 64");
        assertMessage(() -> Hash.create("x", 64, 0), "keyLen: 0 must be 1 to 64");
        assertMessage(() -> Hash.create("x", 64, 16, null, 0, 0), "hashFunc: null; use HashFunction.CRC32C or HashFunction.JHASH");
        assertMessage(() -> Hash.create("x", 64, 16, HashFunction.CRC32C, 0, 0x41),
                "flags: 0x41 has unknown bits 0x41; allowed are F_EXT_TABLE, F_NO_FREE_ON_DEL, F_RW_CONCURRENCY_LF");
        try (Hash h = Hash.create("hash_test_dup", 64, 16)) {
            assertSame(h, Hash.findExisting("hash_test_dup"));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Hash.create("hash_test_dup", 64, 16));
            assertEquals("hash name 'hash_test_dup' is already in use; close that table or pick another name", e.getMessage());
            MemorySegment k = Arena.ofAuto().allocate(20);
            assertMessage(() -> h.lookup(k, 8), "key: 16 bytes at offset 8 do not fit in a segment of 20 bytes (hash 'hash_test_dup')");
            assertMessage(() -> h.add(k, -1, 0), "key: 16 bytes at offset -1 do not fit in a segment of 20 bytes (hash 'hash_test_dup')");
            assertMessage(() -> h.lookupBulk(k, 0, 16, 65, new int[65]), "n: 65 must be 0 to 64");
            assertMessage(() -> h.lookupBulk(k, 0, 16, 4, new int[3]), "output array: length 3 is shorter than n 4");
            assertMessage(() -> h.lookupBulk(k, 0, 16, 2, new int[2]),
                    "key: 16 bytes at offset 16 do not fit in a segment of 20 bytes (hash 'hash_test_dup')");
            assertMessage(() -> h.freeKeyWithPosition(64), "position: 64 must be 0 to 63 (hash 'hash_test_dup')");
            assertMessage(() -> h.iterate(-1), "next: -1 must be 0 or a position + 1");
            assertMessage(() -> h.add(new byte[3], 0), "key: byte[3] must have keyLen 16 bytes (hash 'hash_test_dup')");
        }
        assertNull(Hash.findExisting("hash_test_dup"));
        Hash closed = Hash.create("hash_test_closed", 64, 16);
        closed.close();
        closed.close();
        MemorySegment k = Arena.ofAuto().allocate(16);
        assertThrows(IllegalStateException.class, () -> closed.add(k, 0, 0));
        assertThrows(IllegalStateException.class, () -> closed.lookup(k, 0));
    }

    private static void assertMessage(Runnable r, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertEquals(message, e.getMessage());
    }
}
