package org.jpdk.hash;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Lock-free readers against one writer: readers look up a fixed set of keys that are always
 * present (singly and in bulk) while the writer keeps the table near full, deleting and adding
 * other keys (forcing cuckoo displacements and, with ext buckets, chain links and unlinks) and
 * rewriting the present keys' values. A reader must never miss a present key, and every value it
 * reads must belong to the key it asked for. Each run lasts about a second, with a hard deadline.
 */
class HashConcurrencyTest {
    private static final int ENTRIES = 64, PRESENT = 16, CHURN = 200, READERS = 2, TARGET = 60;
    private static final long RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(1200);

    /** A value for key id: the id in the low 32 bits, a generation above, so a reader can check whose it is. */
    private static long value(long id, long gen) {
        return gen << 32 | id;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, Hash.F_EXT_TABLE})
    void readersNeverMissPresentKeysWhileTheWriterDisplacesThem(int flags) throws Exception {
        try (Hash h = Hash.create("hash_conc_" + flags, ENTRIES, 16, HashFunction.CRC32C, 0, flags)) {
            MemorySegment keys = Arena.ofAuto().allocate((PRESENT + CHURN) * 16L);
            for (long id = 0; id < PRESENT + CHURN; id++) HashTest.key(keys, id * 16, id, 16);
            for (long id = 0; id < PRESENT; id++) assertTrue(h.add(keys, id * 16, value(id, 0)) >= 0);
            AtomicReference<String> failure = new AtomicReference<>();
            AtomicLong lookups = new AtomicLong();
            long deadline = System.nanoTime() + RUN_NANOS;
            Thread[] readers = new Thread[READERS];
            for (int r = 0; r < READERS; r++) {
                int seed = r;
                readers[r] = Thread.ofPlatform().name("hash-reader-" + r).start(() -> read(h, keys, seed, deadline, failure, lookups));
            }
            long[] writes = new long[2];
            Thread writer = Thread.ofPlatform().name("hash-writer").start(() -> write(h, keys, deadline, failure, writes));
            for (Thread t : readers) t.join(TimeUnit.NANOSECONDS.toMillis(RUN_NANOS) + 20_000);
            writer.join(20_000);
            for (Thread t : readers) assertFalse(t.isAlive(), "reader stuck past the deadline");
            assertFalse(writer.isAlive(), "writer stuck past the deadline");
            assertNull(failure.get());
            assertTrue(lookups.get() > 1_000, "readers ran: " + lookups.get());
            assertTrue(writes[0] > 1_000, "writer ran: " + writes[0] + " adds");
            assertTrue(h.changeCount() > 100, "cuckoo displacements happened under the readers: " + h.changeCount());
        }
    }

    private static void read(Hash h, MemorySegment keys, int seed, long deadline, AtomicReference<String> failure, AtomicLong lookups) {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemorySegment burst = Arena.ofAuto().allocate(64 * 16);
        long[] data = new long[64];
        int[] pos = new int[64];
        long n = 0;
        try {
            while (System.nanoTime() < deadline && failure.get() == null) {
                for (int i = 0; i < 200; i++, n++) {
                    long id = rnd.nextInt(PRESENT);
                    if (h.lookupData(keys, id * 16, data, 0) < 0) fail(failure, "present key " + id + " missed");
                    else if ((int) data[0] != id) fail(failure, "key " + id + " returned value of key " + (int) data[0]);
                    long other = PRESENT + rnd.nextInt(CHURN);                 // churning key: a miss or its own value
                    data[0] = -1;
                    if (h.lookupData(keys, other * 16, data, 0) >= 0 && (int) data[0] != other) {
                        fail(failure, "churn key " + other + " returned value of key " + (int) data[0]);
                    }
                }
                int b = 1 + rnd.nextInt(64);
                long[] ids = new long[b];
                for (int i = 0; i < b; i++) MemorySegment.copy(keys, (ids[i] = rnd.nextInt(PRESENT)) * 16, burst, i * 16L, 16);
                long mask = h.lookupBulkData(burst, 0, 16, b, data);
                if (mask != (b == 64 ? -1L : (1L << b) - 1)) fail(failure, "bulk of " + b + " missed present keys: mask " + Long.toHexString(mask));
                for (int i = 0; i < b; i++) if ((int) data[i] != ids[i]) fail(failure, "bulk key " + ids[i] + " returned value of " + (int) data[i]);
                if (Long.bitCount(h.lookupBulk(burst, 0, 16, b, pos)) != b) fail(failure, "bulk positions missed present keys");
                n += 2L * b;
            }
        } catch (Throwable t) {
            fail(failure, "reader threw " + t);
        }
        lookups.addAndGet(n);
    }

    /** Keeps the table at TARGET keys (over 90% full): adds then need cuckoo displacements, often of present keys. */
    private static void write(Hash h, MemorySegment keys, long deadline, AtomicReference<String> failure, long[] writes) {
        SplittableRandom rnd = new SplittableRandom(99);
        boolean[] in = new boolean[CHURN];
        long gen = 1;
        try {
            while (System.nanoTime() < deadline && failure.get() == null) {
                for (int i = 0; i < 100; i++) {
                    int c = rnd.nextInt(CHURN);
                    long id = PRESENT + c;
                    if (in[c]) {
                        if (h.delete(keys, id * 16) < 0) fail(failure, "delete of churn key " + id + " found nothing");
                        in[c] = false;
                    } else if (h.count() < TARGET && h.add(keys, id * 16, value(id, gen)) >= 0) {
                        in[c] = true;
                        writes[0]++;
                    }
                }
                long id = rnd.nextInt(PRESENT);                                   // rewrite a present key's value in place
                if (h.add(keys, id * 16, value(id, ++gen)) < 0) fail(failure, "update of present key " + id + " failed");
                writes[1]++;
            }
        } catch (Throwable t) {
            fail(failure, "writer threw " + t);
        }
    }

    private static void fail(AtomicReference<String> failure, String what) {
        failure.compareAndSet(null, what);
    }
}
