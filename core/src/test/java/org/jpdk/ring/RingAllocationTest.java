package org.jpdk.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fast paths allocate nothing once warm: measured with the thread's allocation counter. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RingAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final int ROUNDS = 200_000;

    static long allocatedBy(Runnable work) {
        long tid = Thread.currentThread().threadId();
        work.run(); // warm-up: JIT compiles the loop, one-time class init allocates here
        work.run();
        long before = THREADS.getThreadAllocatedBytes(tid);
        work.run();
        long after = THREADS.getThreadAllocatedBytes(tid);
        // The counter reads themselves allocate nothing; the baseline below proves it.
        return after - before;
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
