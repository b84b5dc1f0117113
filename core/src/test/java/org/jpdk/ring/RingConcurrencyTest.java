package org.jpdk.ring;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Several producers and consumers per sync mode: nothing lost, duplicated or reordered per producer. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RingConcurrencyTest {
    private static final int PER_PRODUCER = 1_000_000;

    private static void hammer(String name, int count, int flags, int start, int sync, int producers, int consumers) {
        try (Ring<Long> r = Ring.create(name, count, flags, start)) {
            RingHammer.run(RingHammer.of(r, sync), producers, consumers, PER_PRODUCER);
            org.junit.jupiter.api.Assertions.assertTrue(r.isEmpty(), "ring empty at the end");
        }
    }

    @Test
    void mpmc3x3() {
        hammer("hammer_mpmc", 1024, 0, 0, 0, 3, 3);
    }

    @Test
    void mpmcPerCallCallsAcrossTheIndexWrap() {
        hammer("hammer_mpmc_wrap", 256, 0, -1_000_000, 1, 3, 3);
    }

    @Test
    void spsc() {
        hammer("hammer_spsc", 512, Ring.F_SP_ENQ | Ring.F_SC_DEQ, -77, 0, 1, 1);
    }

    @Test
    void spscPerCallOnAnMpmcRing() {
        hammer("hammer_spsc_calls", 512, 0, 0, 2, 1, 1);
    }

    @Test
    void oneProducerAlternatingSpAndMpCallsAcrossTheWrap() {
        // The SP path trusts a cached consumer tail; MP calls in between must keep it valid.
        try (Ring<Long> r = Ring.create("hammer_sp_mp", 64, 0, -100_000)) {
            RingHammer.Port mp = RingHammer.of(r, 1), sp = RingHammer.of(r, 2);
            RingHammer.Port mixed = new RingHammer.Port() {
                private int calls; // only the one producer thread touches it

                @Override
                public int put(long[] vals, int n, int mode) {
                    return (calls++ & 1) == 0 ? sp.put(vals, n, mode) : mp.put(vals, n, mode);
                }

                @Override
                public int take(long[] vals, int n, int mode) {
                    return mp.take(vals, n, mode);
                }
            };
            RingHammer.run(mixed, 1, 2, PER_PRODUCER);
        }
    }

    @Test
    void mpsc() {
        hammer("hammer_mpsc", 256, Ring.F_SC_DEQ, 0, 0, 3, 1);
    }

    @Test
    void spmc() {
        hammer("hammer_spmc", 256, Ring.F_SP_ENQ, 0, 0, 1, 3);
    }

    @Test
    void hts3x3() {
        hammer("hammer_hts", 1024, Ring.F_MP_HTS_ENQ | Ring.F_MC_HTS_DEQ, -5000, 0, 3, 3);
    }

    @Test
    void rts3x3() {
        hammer("hammer_rts", 1024, Ring.F_MP_RTS_ENQ | Ring.F_MC_RTS_DEQ, -5000, 1, 3, 3);
    }

    @Test
    void rtsProducersHtsConsumersExactSize() {
        hammer("hammer_rts_hts", 1000, Ring.F_MP_RTS_ENQ | Ring.F_MC_HTS_DEQ | Ring.F_EXACT_SZ, 0, 0, 3, 2);
    }

    private static void hammerLong(int count, int flags, int start, int sync, int producers, int consumers) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            java.lang.foreign.MemorySegment seg = arena.allocate(LongRing.bytesFor(count, flags), 128);
            LongRing created = LongRing.create(seg, count, flags, start);
            LongRing r = LongRing.attach(seg); // the threads use a second handle, as another process would
            RingHammer.run(RingHammer.of(r, sync), producers, consumers, PER_PRODUCER);
            org.junit.jupiter.api.Assertions.assertTrue(created.isEmpty(), "ring empty at the end");
        }
    }

    @Test
    void longRingMpmc3x3AcrossTheIndexWrap() {
        hammerLong(1024, 0, -3_000_000, 0, 3, 3);
    }

    @Test
    void longRingSpsc() {
        hammerLong(256, Ring.F_SP_ENQ | Ring.F_SC_DEQ, 0, 0, 1, 1);
    }

    @Test
    void longRingMpscPerCallExactSize() {
        hammerLong(1000, Ring.F_EXACT_SZ, 0, 1, 3, 1);
    }
}
