package org.jpdk.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.TimeUnit;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fast paths allocate nothing once warm: measured with the thread's allocation counter. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RingAllocationTest {
    private static final int ROUNDS = 200_000;

    /** Bytes {@code work} (itself a loop of many operations) allocates once warm: see AllocationMeter. */
    static long allocatedBy(Runnable work) {
        return AllocationMeter.bytesAllocated(2, 1, work);
    }

    @Test
    void counterReadsAreFree() {
        assertEquals(0, allocatedBy(() -> { }));
    }

    @Test
    void everyModeMovesObjectsWithoutAllocating() {
        int[] flagSets = {0, Ring.F_SP_ENQ | Ring.F_SC_DEQ, Ring.F_MP_HTS_ENQ | Ring.F_MC_HTS_DEQ, Ring.F_MP_RTS_ENQ | Ring.F_MC_RTS_DEQ};
        for (int flags : flagSets) {
            try (Ring<Object> r = Ring.create("alloc", 64, flags)) {
                Object[] burst = new Object[32];
                for (int i = 0; i < burst.length; i++) burst[i] = new Object();
                Object one = burst[0];
                long bytes = allocatedBy(() -> {
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
                assertEquals(0, bytes, "bytes allocated by " + ROUNDS + " rounds, flags 0x" + Integer.toHexString(flags));
            }
        }
    }
}
