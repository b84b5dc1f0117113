package org.jpdk.eal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(20)
class ServiceCoresTest {
    private Eal eal;

    @AfterEach
    void cleanup() {
        if (eal != null) eal.cleanup();
    }

    /**
     * Waits until {@code counter} stays unchanged for 50 ms (a stopped lcore may be in the middle
     * of a call, and on a loaded machine descheduled there for a while); returns its value.
     */
    private static long awaitQuiet(AtomicLong counter) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        long last = counter.get();
        while (System.nanoTime() < deadline) {
            Thread.sleep(50);
            long now = counter.get();
            if (now == last) return now;
            last = now;
        }
        throw new AssertionError("counter still moving 10 s after stop: " + last);
    }

    private static void awaitAtLeast(AtomicLong counter, long n) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (counter.get() < n) {
            if (System.nanoTime() > deadline) throw new AssertionError("counter stuck at " + counter.get());
            Thread.onSpinWait();
        }
    }

    @Test
    void serviceRunsOnlyWhenRegisteredMappedRunstateOnAndLcoreStarted() throws Exception {
        eal = Eal.init("-l", "0-1", "-S", "1");
        ServiceCores sc = eal.services();
        assertEquals(List.of(1), sc.lcoreList());
        AtomicLong calls = new AtomicLong();
        AtomicInteger lcoreSeen = new AtomicInteger(-2);
        int id = sc.register("counter", () -> {
            lcoreSeen.set(Lcore.id());
            calls.incrementAndGet();
            return 1;
        });
        assertEquals(id, sc.find("counter"));
        assertFalse(sc.runstate(id));
        sc.mapLcore(id, 1, true);
        sc.lcoreStart(1);
        Thread.sleep(20);
        assertEquals(0, calls.get(), "runstate off: not called");
        sc.runstateSet(id, true);
        awaitAtLeast(calls, 100);
        assertEquals(1, lcoreSeen.get());
        sc.lcoreStop(1);
        long stopped = awaitQuiet(calls);
        Thread.sleep(20);
        assertEquals(stopped, calls.get(), "stopped lcore calls nothing");
        assertEquals(stopped, sc.calls(id));
        assertTrue(sc.nanos(id) > 0);
        assertTrue(sc.loops(1) >= stopped);
        sc.mapLcore(id, 1, false);
        assertFalse(sc.isMapped(id, 1));
        sc.lcoreStart(1);
        Thread.sleep(20);
        assertEquals(stopped, calls.get(), "unmapped: not called");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        sc.dump(new PrintStream(buf, true));
        assertTrue(buf.toString().contains("0 counter: runstate on, mt_safe false, calls " + stopped), buf.toString());
        assertTrue(buf.toString().contains("lcore 1: running"), buf.toString());
    }

    @Test
    void nonMtSafeServiceNeverRunsOnTwoLcoresAtOnce() {
        // Two service lcores on a two-CPU machine: lcores 1 and 2 share CPUs 0-1 via --lcores.
        eal = Eal.init("--lcores", "0,(1-2)@(0,1)", "-S", "1-2");
        ServiceCores sc = eal.services();
        assertEquals(List.of(1, 2), sc.lcoreList());
        AtomicInteger inside = new AtomicInteger();
        AtomicLong calls = new AtomicLong(), overlaps = new AtomicLong();
        int id = sc.register("serial", () -> {
            if (inside.incrementAndGet() > 1) overlaps.incrementAndGet();
            calls.incrementAndGet();
            Thread.onSpinWait();
            inside.decrementAndGet();
            return 1;
        });
        sc.runstateSet(id, true);
        for (int l : sc.lcoreList()) {
            sc.mapLcore(id, l, true);
            sc.lcoreStart(l);
        }
        awaitAtLeast(calls, 2000);
        assertEquals(0, overlaps.get());
    }

    @Test
    void runtimeLcoreAddRefusesLcoresInUse() {
        eal = Eal.init("-l", "0");
        ServiceCores sc = eal.services();
        assertEquals("lcore 0 is already in use",
                assertThrows(IllegalArgumentException.class, () -> sc.lcoreAdd(0)).getMessage());
        sc.lcoreAdd(1);
        assertEquals(List.of(1), sc.lcoreList());
        assertEquals("lcore 0 is not a service lcore; service lcores: 1",
                assertThrows(IllegalArgumentException.class, () -> sc.lcoreStart(0)).getMessage());
        assertEquals("service 9 is not registered",
                assertThrows(IllegalArgumentException.class, () -> sc.runstateSet(9, true)).getMessage());
    }

    @Test
    void mtSafeServiceRunsOnSeveralLcoresAndAThrowingServiceIsStopped() {
        eal = Eal.init("-l", "0", "-S", "1");
        ServiceCores sc = eal.services();
        AtomicLong calls = new AtomicLong();
        int ok = sc.register("parallel", () -> (int) (calls.incrementAndGet() & 1), true);
        int bad = sc.register("bad", () -> {
            throw new IllegalStateException("broken");
        });
        sc.runstateSet(ok, true);
        sc.runstateSet(bad, true);
        sc.mapLcore(ok, 1, true);
        sc.mapLcore(bad, 1, true);
        sc.lcoreStart(1);
        awaitAtLeast(calls, 100);
        assertFalse(sc.runstate(bad), "a service that throws is switched off");
        assertTrue(sc.runstate(ok));
    }
}
