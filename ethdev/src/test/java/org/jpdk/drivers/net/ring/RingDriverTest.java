package org.jpdk.drivers.net.ring;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.ethdev.RxWaitSet;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.ring.Ring;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** net_ring: loopback, two ports wired back to back, attach, rte_eth_from_rings, two lcores. */
class RingDriverTest {
    private Eal eal;
    private Mempool<Mbuf> pool;

    private void init(String... vdevs) {
        List<String> a = new java.util.ArrayList<>(List.of("-l", "0-1", "--no-huge", "-m", "64"));
        for (String v : vdevs) {
            a.add("--vdev");
            a.add(v);
        }
        eal = Eal.init(a.toArray(String[]::new));
        pool = Mbuf.createPool("ring_test", 2047, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
    }

    @AfterEach
    void cleanup() {
        if (eal == null) return;
        try {
            EthDev.closeAll();
            if (pool != null) {
                assertEquals(pool.size(), pool.availCount(), "mbufs left in rings are freed at close");
                pool.close();
            }
        } finally {
            eal.cleanup();
        }
    }

    private static void start(EthDev p, Mempool<Mbuf> pool) {
        p.configure(1, 1, PortConf.defaults());
        p.rxQueueSetup(0, 0, pool);
        p.txQueueSetup(0, 0);
        p.start();
    }

    private Mbuf packet(int tag) {
        Mbuf m = Mbuf.alloc(pool);
        m.appendOffset(60);
        m.writeInt(0, tag);
        return m;
    }

    @Test
    void aLoneRingPortLoopsBack() {
        init("net_ring0");
        EthDev p = EthDev.get(0);
        start(p, pool);
        Mbuf[] pkts = {packet(1), packet(2), packet(3)};
        assertEquals(3, p.txBurst(0, pkts, 3));
        Mbuf[] got = new Mbuf[8];
        assertEquals(3, p.rxBurst(0, got, 8));
        assertEquals(1, got[0].readInt(0));
        assertEquals(3, got[2].readInt(0));
        assertEquals(0, got[1].port);
        Mbuf.freeBulk(got, 0, 3);
        assertEquals(3, p.stats().ipackets);
        assertEquals(180, p.stats().obytes);
        assertNotNull(Ring.lookup("ETH_RXTX0_net_ring0"));
    }

    @Test
    void twoPortsWiredBackToBackAcrossLcores() throws Exception {
        init("net_ring0,rx_ring=ba,tx_ring=ab", "net_ring1,rx_ring=ab,tx_ring=ba");
        EthDev a = EthDev.get(0), b = EthDev.get(1);
        start(a, pool);
        start(b, pool);
        final int total = 100_000;
        long[] received = new long[1];
        // port 1 echoes on the worker lcore what it receives
        eal.remoteLaunch(l -> {
            Mbuf[] burst = new Mbuf[32];
            long got = 0;
            while (got < total && !eal.stopRequested()) {
                int n = b.rxBurst(0, burst, 32);
                for (int i = 0; i < n; i++) {
                    if (burst[i].readInt(0) != (int) (got + i)) throw new AssertionError("out of order at " + (got + i));
                }
                got += n;
                int s = b.txBurst(0, burst, n);
                if (s < n) Mbuf.freeBulk(burst, s, n - s);
            }
            received[0] = got;
            return 0;
        }, eal.workerLcores()[0]);
        Mbuf[] burst = new Mbuf[32];
        int sent = 0;
        long back = 0;
        int worker = eal.workerLcores()[0];
        long deadline = System.nanoTime() + 30_000_000_000L;
        // until the echo side has seen everything and its ring to us is drained
        while (eal.lcoreState(worker) == org.jpdk.eal.LcoreState.RUNNING || back < b.stats().opackets) {
            assertTrue(System.nanoTime() < deadline, "no progress: sent " + sent + ", back " + back);
            if (sent < total && Mbuf.allocBulk(pool, burst, 0, 1)) {
                burst[0].appendOffset(64);
                burst[0].writeInt(0, sent);
                if (a.txBurst(0, burst, 1) == 1) sent++;
                else burst[0].free();
            }
            int n = a.rxBurst(0, burst, 32);
            back += n;
            Mbuf.freeBulk(burst, 0, n);
        }
        assertEquals(0, eal.waitLcore(worker));
        assertEquals(total, received[0]);
        assertEquals(back, a.stats().ipackets);
        assertEquals(total, b.stats().opackets + b.stats().oerrors);
        assertEquals(b.stats().opackets, back, "everything port 1 sent came back");
    }

    @Test
    void thePeerPortsTxWakesTheRxQueueSleepingOnItsInterrupt() {
        init("net_ring0,rx_ring=ba,tx_ring=ab", "net_ring1,rx_ring=ab,tx_ring=ba");
        EthDev a = EthDev.get(0), b = EthDev.get(1);
        start(a, pool);
        start(b, pool);
        try (RxWaitSet set = new RxWaitSet(1)) {
            set.add(a, 0);
            a.rxIntrEnable(0);
            assertEquals(0, set.await(0), "nothing in ring ba yet");
            Thread sender = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                Mbuf[] one = {packet(7)};
                if (b.txBurst(0, one, 1) != 1) one[0].free();
            });
            assertEquals(1, set.await(5_000), "port 1's tx into ring ba woke port 0's rx queue");
            assertEquals(0, set.readyPort(0));
            a.rxIntrDisable(0);
            Mbuf[] got = new Mbuf[4];
            assertEquals(1, a.rxBurst(0, got, 4));
            assertEquals(7, got[0].readInt(0));
            got[0].free();
            assertDoesNotThrow(() -> sender.join(2_000));
            // not armed: a tx does not signal, and the next wait sleeps
            Mbuf[] one = {packet(8)};
            assertEquals(1, b.txBurst(0, one, 1));
            assertEquals(0, set.await(0));
            // enabling with a packet already waiting fires at once (arm, then look)
            a.rxIntrEnable(0);
            assertEquals(1, set.await(0));
            a.rxIntrDisable(0);
        }
    }

    @Test
    void anAppProducerWakesTheConsumerThroughTheDoorbell() {
        Ring<Mbuf> r = null;
        init();
        r = Ring.create("app_ring", 64, Ring.F_SP_ENQ | Ring.F_SC_DEQ);
        try {
            EthDev p = RingDriver.fromRings("app", List.of(r), List.of());
            p.configure(1, 0, PortConf.defaults());
            p.rxQueueSetup(0, 0, pool);
            p.start();
            try (RxWaitSet set = new RxWaitSet(1)) {
                set.add(p, 0);
                p.rxIntrEnable(0);
                Mbuf[] one = {packet(9)};
                assertEquals(1, RingDriver.doorbell(r).enqueueBurst(one, 0, 1));
                assertEquals(1, set.await(2_000));
                p.rxIntrDisable(0);
                Mbuf[] got = new Mbuf[2];
                assertEquals(1, p.rxBurst(0, got, 2));
                got[0].free();
            }
            p.close();
            Ring<Mbuf> closed = r;
            assertEquals("ring app_ring: no net_ring port uses it",
                    assertThrows(IllegalArgumentException.class, () -> RingDriver.doorbell(closed)).getMessage());
        } finally {
            r.close();
        }
    }

    @Test
    void aFullRingCountsOerrorsAndLeavesPacketsToTheCaller() {
        init("net_ring0,size=4");
        EthDev p = EthDev.get(0);
        start(p, pool);
        Mbuf[] pkts = new Mbuf[6];
        for (int i = 0; i < 6; i++) pkts[i] = packet(i);
        assertEquals(3, p.txBurst(0, pkts, 6)); // a ring of 4 slots holds 3
        assertEquals(3, p.stats().oerrors);
        Mbuf.freeBulk(pkts, 3, 3);
        // the 3 in the ring are freed when the port closes (checked in cleanup)
    }

    @Test
    void nodeactionAttachesToAnotherPortsRings() {
        init("net_ring0,nodeaction=shared:0:CREATE", "net_ring1,nodeaction=shared:0:ATTACH");
        EthDev a = EthDev.get(0), b = EthDev.get(1);
        start(a, pool);
        start(b, pool);
        Mbuf[] pkts = {packet(7)};
        assertEquals(1, a.txBurst(0, pkts, 1));
        Mbuf[] got = new Mbuf[4];
        assertEquals(1, b.rxBurst(0, got, 4));
        assertEquals(7, got[0].readInt(0));
        got[0].free();
    }

    @Test
    void badDevargs() {
        init();
        assertEquals("--vdev net_ring0: nodeaction=x:0:ATTACH: no ring of that name to attach to",
                assertThrows(EalArgumentException.class, () -> EthDev.create("net_ring0,nodeaction=x:0:ATTACH")).getMessage()
                        .replace("ETH_RXTX0_x", "x:0:ATTACH"));
        assertThrows(EalArgumentException.class, () -> EthDev.create("net_ring0,nodeaction=x:0:JOIN"));
        assertThrows(EalArgumentException.class, () -> EthDev.create("net_ring0,size=100"));
        assertThrows(EalArgumentException.class, () -> EthDev.create("net_ring0,rx_ring=a,nodeaction=x:0:CREATE"));
        try (Ring<String> strings = Ring.create("strings", 64, 0, String.class)) {
            assertEquals("--vdev net_ring0: rx_ring=strings: that ring holds String, not mbufs",
                    assertThrows(EalArgumentException.class, () -> EthDev.create("net_ring0,rx_ring=strings")).getMessage());
        }
    }

    @Test
    void fromRingsUsesTheCallersRingsAndLeavesThemOpen() {
        init();
        Ring<Mbuf> r = Ring.create("app_ring", 64, Ring.F_SP_ENQ | Ring.F_SC_DEQ);
        try {
            EthDev p = RingDriver.fromRings("net_ring_app", List.of(r), List.of(r));
            start(p, pool);
            Mbuf[] pkts = {packet(5)};
            assertEquals(1, p.txBurst(0, pkts, 1));
            assertEquals(1, r.count());
            p.close();
            assertSame(r, Ring.lookup("app_ring"));
            Mbuf m = r.dequeue();
            assertEquals(5, m.readInt(0));
            m.free();
        } finally {
            r.close();
        }
    }
}
