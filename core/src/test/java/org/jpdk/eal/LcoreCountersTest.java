package org.jpdk.eal;

import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LcoreCountersTest {
    @Test
    void oneWriterCountsAndAnotherThreadSeesEveryIncrement() throws Exception {
        LcoreCounters c = new LcoreCounters(3);
        Thread writer = new Thread(() -> {
            for (int i = 0; i < 1_000_000; i++) {
                c.add(0, 1);
                c.add(2, 2);
            }
        });
        writer.start();
        long last = 0;
        while (writer.isAlive()) {
            long v = c.get(0);
            assertTrue(v >= last, "a counter never goes backwards");
            last = v;
        }
        writer.join();
        assertEquals(1_000_000, c.get(0));
        assertEquals(0, c.get(1));
        assertEquals(2_000_000, c.get(2));
        c.set(1, 7);
        assertEquals(7, c.get(1));
    }

    @Test
    void boundsAndAllocation() {
        LcoreCounters c = new LcoreCounters(2);
        assertThrows(IndexOutOfBoundsException.class, () -> c.get(2));
        assertThrows(IndexOutOfBoundsException.class, () -> c.get(-1));
        assertThrows(IllegalArgumentException.class, () -> new LcoreCounters(0));
        AllocationMeter.assertNoAllocation("add", 10_000, 10_000, () -> c.add(1, 3));
    }
}
