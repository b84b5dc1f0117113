package org.jpdk.eal;

import org.jpdk.sys.Libc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Needs CPUs 0 and 1, which this machine (and any CI box) has. */
@Timeout(20)
class EalLcoreTest {
    private Eal eal;

    @AfterEach
    void cleanup() {
        if (eal != null) eal.cleanup();
    }

    @Test
    void lcoreIdOnMainWorkersAndOtherThreads() throws Exception {
        eal = Eal.init("-l", "0-1", "--main-lcore", "1");
        assertEquals(1, Lcore.id());
        assertEquals(1, eal.mainLcore());
        assertArrayEquals(new int[]{0}, eal.workerLcores());
        eal.remoteLaunch(id -> Lcore.id() * 10 + id, 0);
        assertEquals(0, eal.waitLcore(0));
        AtomicInteger other = new AtomicInteger(7);
        Thread t = new Thread(() -> other.set(Lcore.id()));
        t.start();
        t.join();
        assertEquals(Lcore.ID_ANY, other.get());
        eal.cleanup();
        eal = null;
        assertEquals(Lcore.ID_ANY, Lcore.id());
    }

    @Test
    void lcoreThreadWithoutEalKeepsItsId() throws Exception {
        AtomicInteger seen = new AtomicInteger();
        LcoreThread t = new LcoreThread(42, "bare", () -> seen.set(Lcore.id()));
        t.start();
        t.join();
        assertEquals(42, seen.get());
    }

    @Test
    void launchWaitReturnsResultAndStateMovesThroughFinished() throws Exception {
        eal = Eal.init("-l", "0-1");
        assertEquals(2, eal.lcoreCount());
        assertEquals(LcoreState.WAIT, eal.lcoreState(1));
        CountDownLatch release = new CountDownLatch(1);
        eal.remoteLaunch(id -> {
            release.await();
            return 40 + id;
        }, 1);
        assertEquals(LcoreState.RUNNING, eal.lcoreState(1));
        IllegalStateException busy = assertThrows(IllegalStateException.class, () -> eal.remoteLaunch(id -> 0, 1));
        assertEquals("lcore 1 is busy (RUNNING); waitLcore(1) before launching again", busy.getMessage());
        release.countDown();
        while (eal.lcoreState(1) != LcoreState.FINISHED) Thread.onSpinWait();
        assertEquals(41, eal.waitLcore(1));
        assertEquals(LcoreState.WAIT, eal.lcoreState(1));
        assertEquals(0, eal.waitLcore(1), "nothing launched: 0, as DPDK");
    }

    @Test
    void launchOnMainOrNonLcoreIsRefused() {
        eal = Eal.init("-l", "0-1");
        assertEquals("lcore 0 is the main lcore, not a worker",
                assertThrows(IllegalArgumentException.class, () -> eal.remoteLaunch(id -> 0, 0)).getMessage());
        assertEquals("lcore 5 is not a worker lcore; workers: 1",
                assertThrows(IllegalArgumentException.class, () -> eal.remoteLaunch(id -> 0, 5)).getMessage());
    }

    @Test
    void exceptionsComeBackWrappedWithTheLcoreId() {
        eal = Eal.init("-l", "0-1");
        eal.remoteLaunch(id -> {
            throw new IllegalStateException("boom");
        }, 1);
        LcoreException e = assertThrows(LcoreException.class, () -> eal.waitLcore(1));
        assertEquals(1, e.lcoreId());
        assertEquals("lcore 1: launched function threw java.lang.IllegalStateException: boom", e.getMessage());
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertEquals(LcoreState.WAIT, eal.lcoreState(1));
    }

    @Test
    void mpLaunchRunsEverywhereAndOptionallyOnMain() {
        eal = Eal.init("-l", "0-1");
        ConcurrentLinkedQueue<Integer> ran = new ConcurrentLinkedQueue<>();
        eal.mpRemoteLaunch(id -> {
            ran.add(Lcore.id());
            return 0;
        }, CallMain.CALL_MAIN);
        eal.mpWaitLcore();
        assertEquals(List.of(0, 1), ran.stream().sorted().toList());
        ran.clear();
        eal.mpRemoteLaunch(id -> {
            ran.add(id);
            return 0;
        }, CallMain.SKIP_MAIN);
        eal.waitAll();
        assertEquals(List.of(1), List.copyOf(ran));
    }

    @Test
    void affinityIsAppliedInsideTheLcoreThread() {
        eal = Eal.init("--lcores", "0@1,1@0");
        AtomicReference<BitSet> seen = new AtomicReference<>();
        eal.remoteLaunch(id -> {
            seen.set(Libc.schedGetaffinity(0));
            return 0;
        }, 1);
        eal.waitLcore(1);
        assertEquals(BitSet.valueOf(new long[]{0b01}), seen.get());
        assertEquals(BitSet.valueOf(new long[]{0b10}), Libc.schedGetaffinity(0), "main lcore 0 runs on CPU 1");
        assertEquals(0, eal.cpuOf(1));
        assertEquals(0, eal.socketId(1));
        eal.cleanup();
        eal = null;
        assertTrue(Libc.schedGetaffinity(0).cardinality() >= 2, "main thread affinity restored at cleanup");
    }

    @Test
    void unavailableCpuIsRefusedNamingTheAvailableOnes() {
        BitSet allowed = Libc.schedGetaffinity(0);
        int missing = allowed.nextClearBit(0);
        EalArgumentException e = assertThrows(EalArgumentException.class,
                () -> Eal.init("--lcores", "0,1@" + missing));
        assertEquals("lcore 1: CPU " + missing + " is not available to this process; available CPUs: "
                + EalArgs.join(allowed.stream().boxed().toList()), e.getMessage());
        eal = Eal.init("-l", "0"); // nothing leaked: init works right after
    }

    @Test
    void doubleInitIsRefusedAndReinitAfterCleanupWorks() {
        eal = Eal.init("-l", "0-1");
        assertEquals("EAL already initialized; call cleanup() first",
                assertThrows(IllegalStateException.class, () -> Eal.init("-l", "0")).getMessage());
        assertEquals(eal, Eal.current());
        eal.cleanup();
        eal.cleanup(); // idempotent
        assertThrows(IllegalStateException.class, Eal::current);
        eal = Eal.init("-l", "0-1");
        eal.remoteLaunch(id -> 5, 1);
        assertEquals(5, eal.waitLcore(1));
    }

    @Test
    void cleanupStopsLoopsJoinsThreadsAndRunsHooksInReverse() {
        eal = Eal.init("-l", "0-1", "-S", "1");
        eal.cleanup();
        eal = Eal.init("-l", "0-1");
        List<String> order = new java.util.ArrayList<>();
        eal.onCleanup(() -> order.add("memory"));
        eal.onCleanup(() -> order.add("ethdev"));
        Eal e = eal;
        eal.remoteLaunch(id -> {
            while (!e.stopRequested()) Thread.onSpinWait();
            return 1;
        }, 1);
        eal.close();
        eal = null;
        assertEquals(List.of("ethdev", "memory"), order);
        assertTrue(e.stopRequested());
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t instanceof LcoreThread && t.isAlive()),
                "no lcore thread left running");
    }

    @Test
    void stuckLcoreIsReportedByIdInsteadOfHanging() throws Exception {
        eal = Eal.init("-l", "0-1");
        CountDownLatch release = new CountDownLatch(1);
        eal.remoteLaunch(id -> {
            release.await();
            return 0;
        }, 1);
        Eal e = eal;
        eal = null;
        IllegalStateException stuck = assertThrows(IllegalStateException.class, () -> e.cleanup(100));
        assertEquals("EAL cleanup: lcore 1 did not stop within 100 ms; its function does not return "
                + "(does it poll stopRequested()?)", stuck.getMessage());
        release.countDown();
        assertTrue(release.await(1, TimeUnit.SECONDS));
        eal = Eal.init("-l", "0"); // released all the same
    }

    @Test
    void appArgsAndConfigAreExposed() {
        eal = Eal.init("-l", "0", "--vdev", "net_null0", "--", "-p", "1");
        assertEquals(List.of("-p", "1"), eal.appArgs());
        assertEquals(5, eal.argsParsed());
        assertEquals(List.of("net_null0"), eal.config().vdevs());
        assertEquals(1, eal.lcoreCount());
        assertArrayEquals(new int[0], eal.workerLcores());
    }
}
