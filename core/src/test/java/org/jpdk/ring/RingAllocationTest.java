package org.jpdk.ring;

import java.util.concurrent.TimeUnit;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fast paths allocate nothing once warm: measured with the thread's allocation counter, each
 * measurement proving it could fail (AllocationMeter.assertNoAllocation). What an empty body
 * measures is the meter's own business: AllocationMeterTest.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RingAllocationTest {
    private static final int ROUNDS = 20_000;

    /** Fails if {@code work} (itself a loop of many operations) allocates once warm: see AllocationMeter. */
    static void assertNoAllocation(String what, Runnable work) {
        AllocationMeter.assertNoAllocation(what, 20, 10, work);
    }

    @Test
    void everyModeMovesObjectsWithoutAllocating() {
        int[] flagSets = {0, Ring.F_SP_ENQ | Ring.F_SC_DEQ, Ring.F_MP_HTS_ENQ | Ring.F_MC_HTS_DEQ, Ring.F_MP_RTS_ENQ | Ring.F_MC_RTS_DEQ};
        for (int flags : flagSets) {
            try (Ring<Object> r = Ring.create("alloc", 64, flags)) {
                Object[] burst = new Object[32];
                for (int i = 0; i < burst.length; i++) burst[i] = new Object();
                Object one = burst[0];
                assertNoAllocation(ROUNDS + " rounds of ring operations, flags 0x" + Integer.toHexString(flags), () -> {
                    for (int i = 0; i < ROUNDS; i++) {
                        r.enqueue(one);
                        r.dequeue();
                        r.enqueueBulk(burst, 0, 32);
                        r.dequeueBulk(burst, 0, 32);
                        r.enqueueBurst(burst, 0, 20);
                        r.dequeueBurst(burst, 0, 32);
                        r.spEnqueueBulk(burst, 0, 8);
                        r.mcDequeueBurst(burst, 0, 8);
                    }
                });
            }
        }
    }
}
