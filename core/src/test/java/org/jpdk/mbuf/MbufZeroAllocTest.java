package org.jpdk.mbuf;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.TimeUnit;
import org.jpdk.eal.Memzone;
import org.jpdk.testing.AllocationMeter;
import org.jpdk.mempool.Lcores;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** After warm-up, the mbuf hot path (alloc, free, bulk, append/prepend/adj/trim, accessors) allocates nothing. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MbufZeroAllocTest {
    private static final int WARMUP = 50_000, ITERATIONS = 20_000;

    static void hotPathAllocatesNothing(Mempool<Mbuf> mp, String where) {
        Mbuf[] burst = new Mbuf[32];
        AllocationMeter.assertNoAllocation(where + ": alloc/append/prepend/adj/trim/read/write/free", WARMUP, ITERATIONS, () -> {
            Mbuf m = Mbuf.alloc(mp);
            int off = m.appendOffset(64);
            m.writeInt(off, 0x45000040);
            if (m.prependOffset(14) != 0 || !m.adj(14) || !m.trim(4) || m.readInt(0) != 0x45000040) throw new AssertionError();
            m.free();
        });
        AllocationMeter.assertNoAllocation(where + ": allocBulk/freeBulk 32", WARMUP, ITERATIONS, () -> {
            if (!Mbuf.allocBulk(mp, burst, 0, 32)) throw new AssertionError("pool ran dry");
            for (int i = 0; i < 32; i++) burst[i].appendOffset(60);
            Mbuf.freeBulk(burst, 0, 32);
        });
        AllocationMeter.assertNoAllocation(where + ": chain and free of a chain", WARMUP / 10, ITERATIONS / 10, () -> {
            Mbuf a = Mbuf.alloc(mp), b = Mbuf.alloc(mp);
            a.appendOffset(10);
            b.appendOffset(10);
            a.chain(b);
            a.appendOffset(5);
            a.trim(3);
            a.free();
        });
        // The segment-returning conveniences create a slice unless escape analysis removes it:
        // measured, not asserted.
        double slices = AllocationMeter.bytesPerCall(WARMUP, ITERATIONS, () -> {
            Mbuf m = Mbuf.alloc(mp);
            m.append(64).set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1);
            m.free();
        });
        System.out.printf("# %s: append() returning a segment: %.1f bytes per call after warm-up%n", where, slices);
        assertEquals(mp.size(), mp.availCount());
    }

    @Test
    void onAnLcoreWithCache() {
        Mempool<Mbuf> mp = Mbuf.createPool("za-mbuf-cached", 512, 64, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
        Lcores.on(30, () -> hotPathAllocatesNothing(mp, "lcore with cache"));
    }

    @Test
    void offLcoreThroughTheRing() {
        Mempool<Mbuf> mp = Mbuf.createPool("za-mbuf-ring", 512, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
        hotPathAllocatesNothing(mp, "plain thread, ring only");
    }

    @Test
    void explicitCacheFromAPlainThread() {
        Mempool<Mbuf> mp = Mbuf.createPool("za-mbuf-explicit", 512, 64, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
        var cache = mp.defaultCache(31);
        Mbuf[] burst = new Mbuf[32];
        AllocationMeter.assertNoAllocation("allocBulk/freeBulk with an explicit cache", WARMUP, ITERATIONS, () -> {
            if (!Mbuf.allocBulk(mp, burst, 0, 32, cache)) throw new AssertionError("pool ran dry");
            Mbuf.freeBulk(burst, 0, 32, cache);
        });
        assertEquals(512, mp.availCount());
    }
}
