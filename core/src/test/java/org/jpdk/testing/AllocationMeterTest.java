package org.jpdk.testing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.opentest4j.AssertionFailedError;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link AllocationMeter} sees what it must: nothing in an empty body (its counter reads are
 * free), one object per 10,000 calls, one object every few rounds (which the minimum over rounds,
 * the meter before, called clean); and lets a path allocate while it is cold, and once more later
 * (as the JIT does when it first asks C2 for a method of a class).
 */
@Timeout(60)
class AllocationMeterTest {
    private static final int ITERATIONS = 1000;
    private static volatile Object keep;
    private long work;

    /** Something to do per call that allocates nothing. */
    private void work() {
        work = work * 31 + 7;
    }

    @Test
    void anEmptyBodyAllocatesNothingAndTheMeterCanFailIt() {
        AllocationMeter.assertNoAllocation("empty body", 1000, ITERATIONS, () -> { });
        AllocationMeter.assertNoAllocation("arithmetic", 1000, ITERATIONS, this::work);
    }

    @Test
    void oneObjectPer10000CallsFails() {
        AllocationMeter.Window w = AllocationMeter.measure(10_000, ITERATIONS, AllocationMeter.allocatingEvery(10_000, this::work));
        assertTrue(w.warm(), w.toString());
        assertTrue(w.calls() >= 10_000, w.toString());
        assertTrue(w.bytes() > 0, w.toString());
    }

    @Test
    void oneObjectEveryFewRoundsFailsWhereTheMinimumOverRoundsPassedIt() {
        Runnable body = AllocationMeter.allocatingEvery(3L * ITERATIONS, this::work);
        assertEquals(0, minimumOverFiveRounds(10_000, ITERATIONS, body), "the rule before: some round is always clean");
        AllocationMeter.Window w = AllocationMeter.measure(10_000, ITERATIONS, body);
        assertTrue(w.bytes() > 0, w.toString());
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> AllocationMeter.assertNoAllocation("every third round", 0, ITERATIONS, body));
        assertTrue(e.getMessage().startsWith("every third round: every one of 3 windows allocated; the last: "), e.getMessage());
    }

    @Test
    void aPathThatAllocatesOnlyWhileColdPasses() {
        long[] calls = {0};
        AllocationMeter.assertNoAllocation("cold only", 0, ITERATIONS, () -> {
            if (++calls[0] <= 20_000) keep = new Object();   // as a downcall capturing errno before C2
            work();
        });
    }

    @Test
    void aOneOffAllocationAfterWarmUpPasses() {
        long[] calls = {0};
        AllocationMeter.assertNoAllocation("one-off", 0, ITERATIONS, () -> {
            if (++calls[0] == 3_500) keep = new Object[8];   // in the first window, never again
            work();
        });
    }

    @Test
    void aPathThatAlwaysAllocatesNeverWarmsUp() {
        AllocationMeter.Window w = AllocationMeter.measure(0, ITERATIONS, () -> keep = new Object(), 200_000_000L, AllocationMeter.WINDOWS);
        assertFalse(w.warm());
        assertTrue(w.bytes() >= 16L * ITERATIONS, w.toString());
        assertTrue(w.toString().startsWith("no clean round in "), w.toString());
    }

    /** The meter's rule before this change: the fewest bytes of five rounds. */
    private static long minimumOverFiveRounds(int warmup, int iterations, Runnable body) {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int i = 0; i < warmup; i++) body.run();
        long least = Long.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long before = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < iterations; i++) body.run();
            least = Math.min(least, mx.getCurrentThreadAllocatedBytes() - before);
        }
        return least;
    }
}
