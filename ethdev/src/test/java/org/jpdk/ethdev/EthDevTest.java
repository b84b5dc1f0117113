package org.jpdk.ethdev;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/** The port state machine, argument checks, statistics and callbacks, over net_null. */
class EthDevTest {
    private Eal eal;
    private Mempool<Mbuf> pool;

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0", "--vdev", "net_null1,size=128");
        pool = Mbuf.createPool("ethdev_test", 4095, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
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
    void vdevsBecomePortsInOrder() {
        assertEquals(2, EthDev.count());
        assertEquals("net_null0", EthDev.get(0).name());
        assertEquals("net_null1", EthDev.get(1).name());
        assertEquals("net_null", EthDev.get(1).driverName());
        assertSame(EthDev.get(1), EthDev.byName("net_null1"));
        assertNull(EthDev.byName("net_null7"));
        EthDevException e = assertThrows(EthDevException.class, () -> EthDev.get(2));
        assertEquals("port 2: no such port; ports are 0..1", e.getMessage());
    }

    @Test
    void badDevargsAreOneLineErrors() {
        pool.close();
        pool = null;
        eal.cleanup();
        EalArgumentException e = assertThrows(EalArgumentException.class,
                () -> Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_nul0"));
        assertTrue(e.getMessage().startsWith("--vdev net_nul0: no driver for this name; drivers: "), e.getMessage());
        e = assertThrows(EalArgumentException.class, () -> Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0,sz=3"));
        assertEquals("--vdev net_null0: sz=3: unknown argument; valid: copy, no-rx, size", e.getMessage());
        e = assertThrows(EalArgumentException.class, () -> Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0,size=-1"));
        assertEquals("--vdev net_null0: size=-1: out of range; allowed 0..65535", e.getMessage());
        e = assertThrows(EalArgumentException.class, () -> Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0,copy=maybe"));
        assertEquals("--vdev net_null0: copy=maybe: not a flag; allowed 0 or 1", e.getMessage());
        e = assertThrows(EalArgumentException.class,
                () -> Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0", "--vdev", "net_null0"));
        assertTrue(e.getMessage().contains("exists already"), e.getMessage());
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64"); // a failed init left nothing behind
        assertEquals(0, EthDev.count());
    }

    @Test
    void wrongStateIsRefused() {
        EthDev p = EthDev.get(0);
        Mbuf[] pkts = new Mbuf[32];
        assertEquals("port 0 (net_null0): rx queue setup before configure",
                assertThrows(EthDevException.class, () -> p.rxQueueSetup(0, 512, pool)).getMessage());
        assertEquals("port 0 (net_null0): start before configure", assertThrows(EthDevException.class, p::start).getMessage());
        assertEquals("port 0 (net_null0): rx burst on queue 0 while the port is unconfigured; start it first",
                assertThrows(EthDevException.class, () -> p.rxBurst(0, pkts, 32)).getMessage());
        p.configure(2, 1, PortConf.defaults());
        assertEquals("port 0 (net_null0): rx queue 2 out of range; configured 2",
                assertThrows(EthDevException.class, () -> p.rxQueueSetup(2, 512, pool)).getMessage());
        assertEquals("port 0 (net_null0): rx queue 0: nb_desc=70000: allowed 1..65535",
                assertThrows(EthDevException.class, () -> p.rxQueueSetup(0, 70000, pool)).getMessage());
        p.rxQueueSetup(0, 512, pool);
        p.txQueueSetup(0, 512);
        assertEquals("port 0 (net_null0): start: rx queue 1 is not set up", assertThrows(EthDevException.class, p::start).getMessage());
        p.rxQueueSetup(1, 0, pool);
        p.start();
        assertEquals("port 0 (net_null0): rx queue 2 out of range; configured 2",
                assertThrows(EthDevException.class, () -> p.rxBurst(2, pkts, 32)).getMessage());
        assertEquals("port 0 (net_null0): tx queue -1 out of range; configured 1",
                assertThrows(EthDevException.class, () -> p.txBurst(-1, pkts, 0)).getMessage());
        assertEquals("port 0 (net_null0): tx queue setup while started; stop the port first",
                assertThrows(EthDevException.class, () -> p.txQueueSetup(0, 512)).getMessage());
        assertEquals("port 0 (net_null0): configure while started; stop the port first",
                assertThrows(EthDevException.class, () -> p.configure(1, 1, PortConf.defaults())).getMessage());
        p.stop();
        assertThrows(EthDevException.class, () -> p.rxBurst(0, pkts, 32));
        p.start(); // queues survive stop
        assertEquals(32, p.rxBurst(1, pkts, 32));
        Mbuf.freeBulk(pkts, 0, 32);
        p.reset();
        assertEquals(EthDev.State.UNCONFIGURED, p.state());
        p.close();
        assertEquals("port 0 (net_null0): configure: the port is closed",
                assertThrows(EthDevException.class, () -> p.configure(1, 1, PortConf.defaults())).getMessage());
        p.close(); // idempotent
        assertEquals(1, EthDev.all().size());
    }

    @Test
    void configurationIsCheckedAgainstTheDriver() {
        EthDev p = EthDev.get(0);
        DevInfo info = p.info();
        assertEquals("net_null", info.driverName());
        assertEquals("port 0 (net_null0): nb_rx_queues=65: allowed 0..64",
                assertThrows(EthDevException.class, () -> p.configure(65, 1, PortConf.defaults())).getMessage());
        assertEquals("port 0 (net_null0): rx offloads VLAN_STRIP requested; driver net_null offers none",
                assertThrows(EthDevException.class, () -> p.configure(1, 1, PortConf.defaults().withRxOffloads(Offloads.RX_VLAN_STRIP))).getMessage());
        assertEquals("port 0 (net_null0): mtu 40: allowed 68..65517",
                assertThrows(EthDevException.class, () -> p.configure(1, 1, PortConf.defaults().withMtu(40))).getMessage());
        assertThrows(EthDevException.class, () -> p.configure(1, 1, PortConf.defaults().withRss(Offloads.RSS_L2_PAYLOAD, null)));
        assertEquals(EthDev.State.UNCONFIGURED, p.state()); // refused calls change nothing
        p.configure(4, 1, PortConf.defaults().withRss(Offloads.RSS_IP, null).withMtu(9000));
        assertEquals(9000, p.mtu());
        assertEquals(Offloads.RSS_IP, p.rssHashFunctions());
        int[] reta = p.reta();
        assertEquals(128, reta.length);
        assertEquals(3, reta[7]);
        reta[0] = 9;
        assertThrows(EthDevException.class, () -> p.retaUpdate(reta));
        reta[0] = 2;
        p.retaUpdate(reta);
        assertEquals(2, p.reta()[0]);
        p.rssHashUpdate(Offloads.RSS_TCP, new byte[40]);
        assertArrayEquals(new byte[40], p.rssKey());
        p.setMtu(1500);
        assertEquals(1500, p.mtu());
        MacAddr mac = MacAddr.parse("02:00:00:00:00:07");
        p.setMacAddr(mac);
        assertEquals("02:00:00:00:00:07", p.macAddr().toString());
        assertThrows(EthDevException.class, () -> p.setMacAddr(MacAddr.BROADCAST));
        p.setPromiscuous(false);
        assertFalse(p.promiscuous());
        p.setAllMulticast(true);
        assertTrue(p.allMulticast());
    }

    @Test
    void nullPortReceivesSizedPacketsAndCountsThem() {
        EthDev p0 = ready(0), p1 = ready(1);
        assertTrue(p1.waitLinkUp(Duration.ofSeconds(1)).up());
        Mbuf[] pkts = new Mbuf[32];
        for (int round = 0; round < 10; round++) {
            int n = p1.rxBurst(0, pkts, 32);
            assertEquals(32, n);
            assertEquals(128, pkts[0].pktLen());
            assertEquals(1, pkts[31].port);
            assertEquals(32, p0.txBurst(0, pkts, n));
        }
        EthStats s1 = p1.stats(), s0 = p0.stats();
        assertEquals(320, s1.ipackets);
        assertEquals(320 * 128, s1.ibytes);
        assertEquals(320, s1.qIpackets[0]);
        assertEquals(320, s0.opackets);
        assertEquals(320 * 128, s0.obytes);
        assertEquals(320, p0.xstat("tx_q0_packets"));
        p0.statsReset();
        assertEquals(0, p0.stats().opackets);
        assertEquals(0, p0.xstat("tx_good_packets"));
        assertEquals(pool.size(), pool.availCount(), "no mbuf leaked");
    }

    @Test
    void poolTooSmallForThePacketIsRefused() {
        try (Mempool<Mbuf> small = Mbuf.createPool("ethdev_small", 63, 0, Mbuf.DEFAULT_HEADROOM + 100, -1)) {
            EthDev p = EthDev.get(1);
            p.configure(1, 1, PortConf.defaults());
            assertEquals("port 1 (net_null1): rx queue 0: size=128 does not fit in the 100 bytes of data room of mempool ethdev_small",
                    assertThrows(EthDevException.class, () -> p.rxQueueSetup(0, 64, small)).getMessage());
        }
    }

    @Test
    void emptyPoolCountsRxNombuf() {
        try (Mempool<Mbuf> tiny = Mbuf.createPool("ethdev_tiny", 16, 0, Mbuf.DEFAULT_BUF_SIZE, -1)) {
            EthDev p = EthDev.get(0);
            p.configure(1, 1, PortConf.defaults());
            p.rxQueueSetup(0, 64, tiny);
            p.txQueueSetup(0, 64);
            p.start();
            Mbuf[] pkts = new Mbuf[32];
            assertEquals(0, p.rxBurst(0, pkts, 32));
            assertEquals(32, p.stats().rxNombuf);
            assertEquals(16, p.rxBurst(0, pkts, 16));
            Mbuf.freeBulk(pkts, 0, 16);
        }
    }

    @Test
    void callbacksSeeAndFilterBursts() {
        EthDev p = ready(0);
        long[] seen = new long[2];
        var rxh = p.addRxCallback(0, (port, q, pkts, off, n, max) -> {
            seen[0] += n;
            // keep the first half, free the rest
            int keep = n / 2;
            Mbuf.freeBulk(pkts, off + keep, n - keep);
            return keep;
        });
        var txh = p.addTxCallback(0, (port, q, pkts, off, n) -> {
            seen[1] += n;
            return n;
        });
        Mbuf[] pkts = new Mbuf[32];
        int n = p.rxBurst(0, pkts, 32);
        assertEquals(16, n);
        assertEquals(32, seen[0]);
        assertEquals(16, p.txBurst(0, pkts, n));
        assertEquals(16, seen[1]);
        assertTrue(p.removeCallback(rxh));
        assertTrue(p.removeCallback(txh));
        assertFalse(p.removeCallback(rxh));
        n = p.rxBurst(0, pkts, 32);
        assertEquals(32, n);
        p.txBurst(0, pkts, n);
        assertEquals(32, seen[0]);
    }

    @Test
    void forwardingAllocatesNothing() {
        EthDev p0 = ready(0), p1 = ready(1);
        Mbuf[] pkts = new Mbuf[32];
        AllocationMeter.assertNoAllocation("rx and tx bursts", 20_000, 100_000, () -> {
            int n = p0.rxBurst(0, pkts, 32);
            int sent = p1.txBurst(0, pkts, n);
            if (sent < n) Mbuf.freeBulk(pkts, sent, n - sent);
        });
    }
}
