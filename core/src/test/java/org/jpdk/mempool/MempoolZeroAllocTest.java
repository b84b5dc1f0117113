package org.jpdk.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.jpdk.testing.AllocationMeter;
import org.jpdk.eal.Memzone;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** After warm-up, get and put (single and bulk, with and without a cache) allocate nothing. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MempoolZeroAllocTest {
    private static final int WARMUP = 50_000, ITERATIONS = 20_000;

    static Mempool<MemorySegment> pool(String name, int cache) {
        return Mempool.create(name, 1024, 64, cache, 0, Memzone.SOCKET_ID_ANY, MemorySegment.class, (p, i, s, iova) -> s);
    }

    static void assertZero(String what, Mempool<MemorySegment> mp) {
        MemorySegment[] burst = new MemorySegment[32];
        AllocationMeter.assertNoAllocation(what + ": get+put", WARMUP, ITERATIONS, () -> mp.put(mp.get()));
        AllocationMeter.assertNoAllocation(what + ": getBulk+putBulk 32", WARMUP, ITERATIONS, () -> {
            if (!mp.getBulk(burst, 0, 32)) throw new AssertionError("pool ran dry");
            mp.putBulk(burst, 0, 32);
        });
        MemorySegment[] held = new MemorySegment[384];
        // Three gets of 128 then three puts: with a cache of 256 every round refills and flushes.
        AllocationMeter.assertNoAllocation(what + ": refill and flush paths", WARMUP / 10, ITERATIONS / 10, () -> {
            for (int k = 0; k < 384; k += 128) {
                if (!mp.getBulk(held, k, 128)) throw new AssertionError("pool ran dry");
            }
            for (int k = 0; k < 384; k += 128) mp.putBulk(held, k, 128);
        });
    }

    @Test
    void cachedOnAnLcore() {
        Mempool<MemorySegment> mp = pool("za-cached", 256);
        Lcores.on(20, () -> assertZero("lcore, cache 256", mp));
        assertEquals(1024, mp.availCount());
        assertTrue(mp.defaultCache(20).getSuccessObjs() > ITERATIONS, "the lcore's cache was used");
    }

    @Test
    void ringOnlyOffLcoreAndWithoutCache() {
        assertZero("non-lcore thread", pool("za-ring", 256));
        Mempool<MemorySegment> nocache = pool("za-nocache", 0);
        Lcores.on(21, () -> assertZero("lcore, cache 0", nocache));
    }

    @Test
    void explicitCacheFromAPlainThread() {
        Mempool<MemorySegment> mp = pool("za-explicit", 128);
        MempoolCache cache = mp.defaultCache(22);
        MemorySegment[] burst = new MemorySegment[32];
        AllocationMeter.assertNoAllocation("genericGet/genericPut with an explicit cache", WARMUP, ITERATIONS, () -> {
            if (!mp.genericGet(burst, 0, 32, cache)) throw new AssertionError("pool ran dry");
            mp.genericPut(burst, 0, 32, cache);
        });
    }
}
