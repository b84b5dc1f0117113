package org.jpdk.eal;

import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Busy-spin and back-off idle strategies: stages, reset, argument checks, no allocation. */
@org.junit.jupiter.api.Timeout(20)
class IdleStrategyTest {
    @Test
    void busySpinNeverBlocks() {
        IdleStrategy s = new BusySpinIdleStrategy();
        long t0 = System.nanoTime();
        for (int i = 0; i < 100_000; i++) s.idle(0);
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "100k spins took more than 2 s");
        assertEquals("busy", s.alias());
    }

    @Test
    void backoffSpinsThenYieldsThenParksLongerUpToTheLimit() {
        BackoffIdleStrategy s = new BackoffIdleStrategy(3, 2, 1_000, 8_000);
        for (int i = 0; i < 1 + 3 + 2; i++) { // first step, spins, yields: no parking yet
            s.idle(0);
            assertEquals(0, s.currentParkNanos(), "step " + i);
        }
        s.idle(0); // first park
        assertEquals(1_000, s.currentParkNanos());
        s.idle(0);
        assertEquals(2_000, s.currentParkNanos());
        s.idle(0);
        s.idle(0);
        assertEquals(8_000, s.currentParkNanos());
        s.idle(0);
        assertEquals(8_000, s.currentParkNanos(), "the period stops growing at maxParkNanos");
        s.idle(5); // work: back to spinning
        assertEquals(0, s.currentParkNanos());
        for (int i = 0; i < 6; i++) s.idle();
        s.idle();
        assertEquals(1_000, s.currentParkNanos(), "parking starts again at minParkNanos");
        s.reset();
        assertEquals(0, s.currentParkNanos());
        assertEquals("backoff", s.alias());
    }

    @Test
    void backoffParksAndUsesLittleCpu() {
        BackoffIdleStrategy s = new BackoffIdleStrategy(10, 5, 1_000, 1_000_000);
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long warm = System.nanoTime(); // reach the longest park (and get the loop compiled) first
        while (System.nanoTime() - warm < 100_000_000L) s.idle(0);
        long cpu0 = mx.getCurrentThreadCpuTime(), t0 = System.nanoTime();
        while (System.nanoTime() - t0 < 500_000_000L) s.idle(0);
        long cpu = mx.getCurrentThreadCpuTime() - cpu0, wall = System.nanoTime() - t0;
        double pct = 100.0 * cpu / wall;
        System.out.printf("backoff idle: thread CPU %.2f%% of a core over %.0f ms%n", pct, wall / 1e6);
        assertTrue(pct < 20, "a backed-off idle thread used " + pct + "% of a core");
    }

    @Test
    void badBackoffArgumentsAreOneLineErrors() {
        assertEquals("maxSpins=-1: allowed >= 0",
                assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(-1, 0, 1, 1)).getMessage());
        assertEquals("maxYields=-2: allowed >= 0",
                assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(0, -2, 1, 1)).getMessage());
        assertEquals("minParkNanos=0: allowed >= 1",
                assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(0, 0, 0, 1)).getMessage());
        assertEquals("maxParkNanos=5: allowed >= minParkNanos (10)",
                assertThrows(IllegalArgumentException.class, () -> new BackoffIdleStrategy(0, 0, 10, 5)).getMessage());
    }

    @Test
    void idleStepsAllocateNothing() {
        BusySpinIdleStrategy busy = new BusySpinIdleStrategy();
        BackoffIdleStrategy backoff = new BackoffIdleStrategy(2, 2, 1, 1_000);
        int[] i = {0};
        AllocationMeter.assertNoAllocation("busy and back-off idle", 2_000, 2_000, () -> {
            busy.idle(i[0] & 1);
            backoff.idle((i[0]++ % 50) == 0 ? 1 : 0);
        });
    }
}
