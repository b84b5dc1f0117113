package org.jpdk.eal;

import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LcoreUsageTest {
    /** A usage not registered under an lcore (an id outside 0..MAX-1): each test gets its own. */
    private static LcoreUsage fresh(long now) {
        return LcoreUsage.start(-1, now);
    }

    @Test
    void recordChargesEachIntervalToTotalAndBusyPassesToBusy() {
        LcoreUsage u = fresh(1_000);
        u.record(1_100, true);
        u.record(1_400, false);
        u.record(1_450, true);
        assertEquals(450, u.totalNanos());
        assertEquals(150, u.busyNanos());
    }

    @Test
    void passReadsTheClockOncePerWindowAndChargesBusyInProportion() throws Exception {
        long t0 = System.nanoTime();
        LcoreUsage u = fresh(t0);
        for (int i = 0; i < LcoreUsage.SAMPLE - 1; i++) u.pass(true);
        assertEquals(0, u.totalNanos(), "nothing is charged before a window is full");
        Thread.sleep(2);
        u.pass(true);
        long t1 = System.nanoTime();
        long total = u.totalNanos();
        assertTrue(total >= 2_000_000 && total <= t1 - t0, "the window's time: " + total);
        assertEquals(total, u.busyNanos(), "an all-busy window is all busy");

        for (int i = 0; i < LcoreUsage.SAMPLE; i++) u.pass(false);
        long total2 = u.totalNanos();
        assertTrue(total2 >= total, "total grows");
        assertEquals(total, u.busyNanos(), "an idle window adds nothing to busy");

        Thread.sleep(4);
        for (int i = 0; i < LcoreUsage.SAMPLE; i++) u.pass(i % 4 == 0); // a quarter of the passes moved packets
        long d = u.totalNanos() - total2, b = u.busyNanos() - total;
        assertTrue(d >= 4_000_000, "window time " + d);
        assertEquals(d / 4, b, 1, "a mixed window is charged busy in proportion: " + b + " of " + d);
    }

    @Test
    void flushChargesAPartialWindowAndStartResetsIt() {
        LcoreUsage u = fresh(0);
        for (int i = 0; i < 10; i++) u.pass(i < 5);
        u.flush(1_000);
        assertEquals(1_000, u.totalNanos());
        assertEquals(500, u.busyNanos());
        u.flush(2_000);
        assertEquals(1_000, u.totalNanos(), "flush with no pass counted charges nothing");
        // a registered lcore: a later run restarts the clock and the window, the counts go on
        int lcore = Lcore.MAX - 1;
        LcoreUsage a = LcoreUsage.start(lcore, 0);
        a.pass(true);
        LcoreUsage b = LcoreUsage.start(lcore, 5_000);
        assertSame(a, b);
        assertSame(b, LcoreUsage.of(lcore));
        b.flush(6_000);
        assertEquals(0, b.totalNanos(), "the pass before the restart is not charged to the new run");
        b.pass(false);
        b.flush(7_000);
        assertEquals(2_000, b.totalNanos());
        assertEquals(0, b.busyNanos());
    }

    @Test
    void passAllocatesNothing() {
        LcoreUsage u = fresh(System.nanoTime());
        boolean[] flip = {false};
        AllocationMeter.assertNoAllocation("pass", 100_000, 100_000, () -> u.pass(flip[0] = !flip[0]));
    }
}
