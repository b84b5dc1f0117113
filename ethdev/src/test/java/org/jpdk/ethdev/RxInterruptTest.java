package org.jpdk.ethdev;

import org.jpdk.drivers.net.ring.RingDriver;
import org.jpdk.eal.Eal;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.ring.Ring;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Rx interrupt mode: the EthDev calls and their checks, the wait set, the interrupt idle strategy
 * on net_null and net_ring (wake-up on the first packet, no lost wake-up, idle CPU of a sleeping
 * lcore, no allocation after warm-up).
 */
@Timeout(60)
class RxInterruptTest {
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
    private Eal eal;
    private Mempool<Mbuf> pool;

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0-1", "--no-huge", "-m", "64", "--vdev", "net_null0", "--vdev", "net_null1,no-rx=1",
                "--vdev", "net_ring0", "--vdev", "net_fdtest0");
        pool = Mbuf.createPool("intr_test", 4095, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
    }

    @AfterEach
    void cleanup() {
        try {
            EthDev.closeAll();
            if (pool != null) pool.close();
        } finally {
            eal.cleanup();
        }
    }

    private EthDev ready(int id) {
        EthDev p = EthDev.get(id);
        p.configure(1, 1, PortConf.defaults());
        p.rxQueueSetup(0, 512, pool);
        p.txQueueSetup(0, 512);
        p.start();
        return p;
    }

    @Test
    void callsAreCheckedLikeTheOthers() {
        EthDev p = EthDev.get(0);
        assertEquals("port 0 (net_null0): rx intr enable on rx queue 0 while the port is unconfigured; start it first",
                assertThrows(EthDevException.class, () -> p.rxIntrEnable(0)).getMessage());
        assertEquals("port 0 (net_null0): rx intr fd on rx queue 0 before configure",
                assertThrows(EthDevException.class, () -> p.rxIntrFd(0)).getMessage());
        p.configure(2, 1, PortConf.defaults());
        assertEquals("port 0 (net_null0): rx intr fd: rx queue 1 is not set up",
                assertThrows(EthDevException.class, () -> p.rxIntrFd(1)).getMessage());
        assertEquals("port 0 (net_null0): rx intr fd: rx queue 2 out of range; configured 2",
                assertThrows(EthDevException.class, () -> p.rxIntrFd(2)).getMessage());
        assertEquals("port 0 (net_null0): rx intr fd: rx queue -1 out of range; configured 2",
                assertThrows(EthDevException.class, () -> p.rxIntrFd(-1)).getMessage());
        p.rxQueueSetup(0, 512, pool);
        p.rxQueueSetup(1, 512, pool);
        p.txQueueSetup(0, 512);
        int fd = p.rxIntrFd(0);
        assertTrue(fd >= 0);
        assertEquals(fd, p.rxIntrFd(0), "the eventfd is made once");
        assertEquals("port 0 (net_null0): rx intr disable on rx queue 0 while the port is configured; start it first",
                assertThrows(EthDevException.class, () -> p.rxIntrDisable(0)).getMessage());
        p.start();
        assertEquals("port 0 (net_null0): rx intr enable: rx queue 2 out of range; configured 2",
                assertThrows(EthDevException.class, () -> p.rxIntrEnable(2)).getMessage());
        p.rxIntrEnable(1);
        p.rxIntrDisable(1);
        p.close();
        assertEquals("port 0 (net_null0): rx intr fd: the port is closed",
                assertThrows(EthDevException.class, () -> p.rxIntrFd(0)).getMessage());
        assertEquals("wait set capacity=0: allowed 1..1024",
                assertThrows(IllegalArgumentException.class, () -> new RxWaitSet(0)).getMessage());
        assertEquals("idlePolls=0: allowed >= 1", assertThrows(IllegalArgumentException.class,
                () -> new RxInterruptIdleStrategy(List.of(new RxInterruptIdleStrategy.Queue(p, 0)), 0, 1)).getMessage());
    }

    @Test
    void waitSetReportsReadyQueuesAndSleepsOnQuietOnes() {
        EthDev full = ready(0), quiet = ready(1);
        try (RxWaitSet set = new RxWaitSet(4)) {
            set.add(full, 0);
            set.add(quiet, 0);
            assertEquals(2, set.size());
            assertEquals("port 0 (net_null0): rx queue 0 is already in this wait set; remove it first",
                    assertThrows(EthDevException.class, () -> set.add(full, 0)).getMessage());
            try (RxWaitSet other = new RxWaitSet(1)) {
                assertEquals("port 1 (net_null1): rx queue 0 is already in another wait set; remove it first",
                        assertThrows(EthDevException.class, () -> other.add(quiet, 0)).getMessage());
            }
            // nothing enabled: net_null always has packets, but nobody armed its interrupt
            assertEquals(0, set.await(0));
            full.rxIntrEnable(0);
            quiet.rxIntrEnable(0);
            long t0 = System.nanoTime();
            assertEquals(1, set.await(5_000), "net_null fires as soon as it is enabled");
            assertTrue(System.nanoTime() - t0 < 2_000_000_000L);
            assertEquals(0, set.readyPort(0));
            assertEquals(0, set.readyQueue(0));
            full.rxIntrDisable(0);
            quiet.rxIntrDisable(0);
            assertEquals(0, set.await(0), "the eventfd was read back to zero");
            quiet.rxIntrEnable(0);
            t0 = System.nanoTime();
            assertEquals(0, set.await(50), "a no-rx queue never fires: the wait times out");
            assertTrue(System.nanoTime() - t0 >= 40_000_000L, "slept until the timeout");
            quiet.rxIntrDisable(0);
            // wakeup() from another thread ends a long wait
            Thread waker = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                set.wakeup();
            });
            t0 = System.nanoTime();
            assertEquals(0, set.await(10_000));
            assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "wakeup() ended the wait");
            assertDoesNotThrow(() -> waker.join(2_000));
            assertTrue(set.remove(quiet, 0));
            assertFalse(set.remove(quiet, 0));
            assertEquals(1, set.size());
            // releasing a queue (reconfigure) takes it out of its set
            full.stop();
            full.configure(1, 1, PortConf.defaults());
            assertEquals(0, set.size());
        }
    }

    @Test
    void waitSetRefusesMoreThanItsCapacity() {
        EthDev a = ready(0), b = ready(1);
        try (RxWaitSet set = new RxWaitSet(1)) {
            set.add(a, 0);
            assertEquals("port 1 (net_null1): rx queue 0: the wait set is full (1 queues)",
                    assertThrows(EthDevException.class, () -> set.add(b, 0)).getMessage());
        }
        try (RxWaitSet set = new RxWaitSet(1)) {
            set.add(b, 0); // the closed set let go of its queue
        }
    }

    /** An lcore that receives from (port, 0) with an idle strategy until stopped, counting packets. */
    private static final class RxLcore {
        final EthDev port;
        final org.jpdk.eal.IdleStrategy idle;
        final AtomicLong received = new AtomicLong();
        volatile long lastRxNanos;
        volatile boolean stop;
        volatile long cpuNanos, wallNanos;

        RxLcore(EthDev port, org.jpdk.eal.IdleStrategy idle) {
            this.port = port;
            this.idle = idle;
        }

        int run() {
            Mbuf[] pkts = new Mbuf[32];
            long cpu0 = MX.getCurrentThreadCpuTime(), t0 = System.nanoTime();
            while (!stop) {
                int n = port.rxBurst(0, pkts, 32);
                if (n > 0) {
                    lastRxNanos = System.nanoTime();
                    Mbuf.freeBulk(pkts, 0, n);
                    received.addAndGet(n);
                }
                idle.idle(n);
            }
            cpuNanos = MX.getCurrentThreadCpuTime() - cpu0;
            wallNanos = System.nanoTime() - t0;
            return 0;
        }

        void stopAndWait(Eal eal) {
            stop = true;
            if (idle instanceof RxInterruptIdleStrategy r) r.wakeup();
            eal.waitLcore(1);
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier cond, long timeoutNanos, String what) {
        long deadline = System.nanoTime() + timeoutNanos;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) fail(what);
            Thread.onSpinWait();
        }
    }

    private Mbuf packet() {
        Mbuf m = Mbuf.alloc(pool);
        assertNotNull(m);
        m.appendOffset(64);
        return m;
    }

    @Test
    void sleepingLcoreWakesOnTheFirstPacketFromThePeerPort() {
        EthDev ring = ready(2); // net_ring0: its tx comes back on its rx
        RxInterruptIdleStrategy idle = new RxInterruptIdleStrategy(List.of(new RxInterruptIdleStrategy.Queue(ring, 0)), 10, 10_000);
        RxLcore lc = new RxLcore(ring, idle);
        eal.remoteLaunch(l -> lc.run(), 1);
        try {
            awaitTrue(() -> idle.sleeps() >= 1, 2_000_000_000L, "the lcore never went to sleep");
            sleep(100); // well inside its 10 s wait now
            Mbuf[] one = {packet()};
            long t0 = System.nanoTime();
            assertEquals(1, ring.txBurst(0, one, 1));
            awaitTrue(() -> lc.received.get() == 1, 2_000_000_000L, "the sleeping lcore did not receive the packet within 2 s");
            long latency = lc.lastRxNanos - t0;
            System.out.printf(Locale.ROOT, "rx interrupt wake-up latency (net_ring, sleeping lcore): %.1f us%n", latency / 1e3);
            assertEquals(1, idle.rxWakeups(), "woken by the queue, not by the 10 s timeout");
        } finally {
            lc.stopAndWait(eal);
            idle.close();
        }
    }

    @Test
    void noLostWakeUpWhenPacketsArriveAsTheLcoreGoesToSleep() {
        EthDev ring = ready(2);
        // sleep after every empty poll, with a timeout far beyond the deadline: a lost wake-up fails the test
        RxInterruptIdleStrategy idle = new RxInterruptIdleStrategy(List.of(new RxInterruptIdleStrategy.Queue(ring, 0)), 1, 30_000);
        RxLcore lc = new RxLcore(ring, idle);
        eal.remoteLaunch(l -> lc.run(), 1);
        Ring<Mbuf> r = Ring.lookup("ETH_RXTX0_net_ring0");
        try {
            int rounds = 3_000;
            long deadline = System.nanoTime() + 20_000_000_000L;
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            Mbuf[] one = new Mbuf[1];
            for (int i = 1; i <= rounds; i++) {
                one[0] = packet();
                // alternate the two producers: the port's tx queue and an app enqueuing through the doorbell
                int sent = (i & 1) == 0 ? ring.txBurst(0, one, 1) : RingDriver.doorbell(r).enqueueBurst(one, 0, 1);
                assertEquals(1, sent);
                final int want = i;
                while (lc.received.get() < want) {
                    if (System.nanoTime() - deadline > 0) fail("lost wake-up: round " + want + " of " + rounds + " not received; sleeps=" + idle.sleeps());
                    Thread.onSpinWait();
                }
                long spin = rnd.nextInt(30_000); // land the next packet anywhere in the poll, arm, look, sleep sequence
                for (long t = System.nanoTime(); System.nanoTime() - t < spin; ) Thread.onSpinWait();
            }
            System.out.printf("no lost wake-up: %d packets, %d sleeps, %d woken by the queue%n", rounds, idle.sleeps(), idle.rxWakeups());
            assertTrue(idle.rxWakeups() > 0, "some packets arrived while the lcore slept");
        } finally {
            lc.stopAndWait(eal);
            idle.close();
        }
    }

    @Test
    void idleLcoreInInterruptModeUsesUnderFivePercentOfACore() {
        EthDev ring = ready(2);
        RxInterruptIdleStrategy idle = new RxInterruptIdleStrategy(List.of(new RxInterruptIdleStrategy.Queue(ring, 0)));
        // A first short run links the epoll/eventfd downcalls (FFM builds their stubs on the calling
        // thread, tens of ms of CPU once per JVM) and compiles the loop; then the measured run.
        RxLcore warm = new RxLcore(ring, idle);
        eal.remoteLaunch(l -> warm.run(), 1);
        sleep(500);
        warm.stopAndWait(eal);
        RxLcore lc = new RxLcore(ring, idle);
        eal.remoteLaunch(l -> lc.run(), 1);
        sleep(3_000);
        lc.stopAndWait(eal);
        idle.close();
        double pct = 100.0 * lc.cpuNanos / lc.wallNanos;
        System.out.printf(Locale.ROOT, "idle lcore, rx-idle=interrupt: thread CPU %.2f%% of a core (%.1f ms CPU in %.2f s, %d sleeps)%n",
                pct, lc.cpuNanos / 1e6, lc.wallNanos / 1e9, idle.sleeps());

        RxLcore busy = new RxLcore(ring, new org.jpdk.eal.BusySpinIdleStrategy());
        eal.remoteLaunch(l -> busy.run(), 1);
        sleep(500);
        busy.stopAndWait(eal);
        double busyPct = 100.0 * busy.cpuNanos / busy.wallNanos;
        System.out.printf(Locale.ROOT, "idle lcore, rx-idle=busy (for comparison): thread CPU %.1f%% of a core (%.1f ms CPU in %.2f s)%n",
                busyPct, busy.cpuNanos / 1e6, busy.wallNanos / 1e9);
        assertTrue(pct < 5, "an idle lcore in interrupt mode used " + pct + "% of a core");
    }

    @Test
    void idleLoopAndWaitAllocateNothing() {
        EthDev ring = ready(2);
        Mbuf[] pkts = new Mbuf[32];
        try (RxInterruptIdleStrategy idle = new RxInterruptIdleStrategy(List.of(new RxInterruptIdleStrategy.Queue(ring, 0)), 1, 1)) {
            AllocationMeter.assertNoAllocation("idle loop in interrupt mode", 300, 100, () -> {
                int n = ring.rxBurst(0, pkts, 32); // nothing comes: every call sleeps 1 ms on the wait set
                idle.idle(n);
            });
            assertTrue(idle.sleeps() >= 400);
        }
        EthDev full = ready(0);
        try (RxWaitSet set = new RxWaitSet(1)) {
            set.add(full, 0);
            AllocationMeter.assertNoAllocation("enable, await, disable", 5_000, 5_000, () -> {
                full.rxIntrEnable(0);  // net_null: fires at once (eventfd write)
                int n = set.await(1_000); // epoll_wait, eventfd read
                full.rxIntrDisable(0);
                if (n != 1 || set.readyPort(0) != 0) throw new AssertionError("not ready: " + n);
            });
        }
    }

    @Test
    void queueWithItsOwnFdIsReArmedOneShotAndWakesTheLcore() {
        EthDev p = ready(3); // net_fdtest: the queue's own (level-triggered) fd, as a socket or tap
        assertEquals(FdTestDriver.wire.fd(), p.rxIntrFd(0), "the driver's fd, no eventfd of ethdev's");
        RxInterruptIdleStrategy idle = new RxInterruptIdleStrategy(List.of(new RxInterruptIdleStrategy.Queue(p, 0)), 1, 30_000);
        RxLcore lc = new RxLcore(p, idle);
        eal.remoteLaunch(l -> lc.run(), 1);
        try {
            long deadline = System.nanoTime() + 10_000_000_000L;
            for (int i = 1; i <= 500; i++) {
                FdTestDriver.pending.incrementAndGet();
                FdTestDriver.wire.signal();
                final int want = i;
                while (lc.received.get() < want) {
                    if (System.nanoTime() - deadline > 0) fail("lost wake-up on an fd queue at packet " + want + "; sleeps=" + idle.sleeps());
                    Thread.onSpinWait();
                }
                long spin = ThreadLocalRandom.current().nextInt(20_000);
                for (long t = System.nanoTime(); System.nanoTime() - t < spin; ) Thread.onSpinWait();
            }
            assertTrue(idle.rxWakeups() > 0);
        } finally {
            lc.stopAndWait(eal);
            idle.close();
        }
        // the re-arm (epoll_ctl) on enable allocates nothing either
        try (RxWaitSet set = new RxWaitSet(1)) {
            set.add(p, 0);
            AllocationMeter.assertNoAllocation("enable (re-arm), await, disable on an fd queue", 5_000, 5_000, () -> {
                p.rxIntrEnable(0);
                if (set.await(0) != 0) throw new AssertionError("no packet is waiting");
                p.rxIntrDisable(0);
            });
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }
}
