package org.jpdk.drivers.net.nullpmd;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Toeplitz;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * net_null's RSS: the flows it receives are spread over the rx queues by the Toeplitz hash of the
 * port's key and its redirection table, as a NIC would spread them. Before, net_null advertised
 * RSS, kept the settings, and every queue received the same hash-less packets.
 */
class NullDriverTest {
    private static final int QUEUES = 4, ETH = 14;
    private Eal eal;
    private Mempool<Mbuf> pool;

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0", "--vdev", "net_null1,size=20");
        pool = Mbuf.createPool("null_test", 4095, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
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

    private EthDev ready(PortConf conf) {
        EthDev p = EthDev.get(0);
        p.configure(QUEUES, 1, conf);
        for (int q = 0; q < QUEUES; q++) p.rxQueueSetup(q, 0, pool);
        p.txQueueSetup(0, 0);
        p.start();
        return p;
    }

    /** Receives 2048 packets (two rounds of the flows) from queue q: each a valid IPv4/UDP packet; returns their source addresses. */
    private Set<Integer> receive(EthDev p, int q, HashCheck check) {
        Set<Integer> flows = new HashSet<>();
        Mbuf[] burst = new Mbuf[32];
        for (int b = 0; b < 64; b++) {
            int n = p.rxBurst(q, burst, 32);
            for (int i = 0; i < n; i++) {
                Mbuf m = burst[i];
                assertEquals(64, m.pktLen());
                assertEquals(0x0800, m.readShort(12), "IPv4");
                assertTrue(Ipv4.cksumVerify(m, ETH), "header checksum");
                assertEquals(Ipv4.PROTO_UDP, m.readByte(ETH + Ipv4.PROTO_OFF));
                assertEquals(p.macAddr().toString(), org.jpdk.ethdev.MacAddr.read(m.buffer(), m.dataOff()).toString(), "to the port's address");
                int src = m.readInt(ETH + Ipv4.SRC_OFF), dst = m.readInt(ETH + Ipv4.DST_OFF);
                int sport = m.readShort(ETH + 20), dport = m.readShort(ETH + 22);
                check.check(m, src, dst, sport, dport);
                flows.add(src);
            }
            Mbuf.freeBulk(burst, 0, n);
        }
        return flows;
    }

    interface HashCheck {
        void check(Mbuf m, int src, int dst, int sport, int dport);
    }

    @Test
    void flowsAreSpreadByTheToeplitzHashAndTheRedirectionTable() {
        EthDev p = ready(PortConf.defaults().withRss(Offloads.RSS_IP, null));
        Set<Integer> seen = new HashSet<>();
        for (int q = 0; q < QUEUES; q++) {
            int queue = q;
            Set<Integer> flows = receive(p, q, (m, src, dst, sport, dport) -> {
                assertNotEquals(0, m.olFlags & Mbuf.F_RX_RSS_HASH, "the hash comes with the packet");
                assertEquals(Toeplitz.DEFAULT_KEY.hashIpv4(src, dst), m.rssHash, "IPV4: the addresses, default key");
                assertEquals(queue, p.reta()[m.rssHash & 127], "the queue the table names for the hash");
            });
            assertTrue(flows.size() > 100, "queue " + q + " gets its share of the 1024 flows: " + flows.size());
            for (int f : flows) assertTrue(seen.add(f), "a flow lands on one queue only");
        }
        assertEquals(RssFlows.FLOWS, seen.size(), "every flow lands somewhere");

        int[] toZero = new int[128];
        p.retaUpdate(toZero);
        assertEquals(RssFlows.FLOWS, receive(p, 0, (m, s, d, sp, dp) -> { }).size(), "the table sends every flow to queue 0");
        for (int q = 1; q < QUEUES; q++) assertEquals(0, p.rxBurst(q, new Mbuf[32], 32), "queue " + q + " is named nowhere");

        byte[] key = new byte[40];
        for (int i = 0; i < key.length; i++) key[i] = (byte) (i * 37 + 1);
        int[] spread = new int[128];
        for (int i = 0; i < spread.length; i++) spread[i] = i % QUEUES;
        p.retaUpdate(spread);
        p.rssHashUpdate(Offloads.RSS_UDP, key);
        Toeplitz t = new Toeplitz(key);
        for (int q = 0; q < QUEUES; q++) {
            int queue = q;
            receive(p, q, (m, src, dst, sport, dport) -> {
                assertEquals(t.hashIpv4(src, dst, sport, dport), m.rssHash, "NONFRAG_IPV4_UDP: the 4-tuple, the new key");
                assertEquals(queue, m.rssHash & 3);
            });
        }

        p.rssHashUpdate(Offloads.RSS_TCP, null);                   // no function for UDP packets: all to queue 0, unhashed
        assertEquals(RssFlows.FLOWS, receive(p, 0, (m, s, d, sp, dp) -> assertEquals(0, m.olFlags & Mbuf.F_RX_RSS_HASH)).size());
        assertEquals(0, p.rxBurst(2, new Mbuf[32], 32));
    }

    @Test
    void withoutRssEveryQueueGeneratesAsBefore() {
        EthDev p = ready(PortConf.defaults());
        Mbuf[] burst = new Mbuf[32];
        for (int q = 0; q < QUEUES; q++) {
            assertEquals(32, p.rxBurst(q, burst, 32));
            for (Mbuf m : burst) assertEquals(0, m.olFlags & Mbuf.F_RX_RSS_HASH);
            Mbuf.freeBulk(burst, 0, 32);
        }
    }

    @Test
    void rssNeedsRoomForTheHeaders() {
        EthDev small = EthDev.get(1);
        EthDevException e = assertThrows(EthDevException.class, () -> small.configure(2, 1, PortConf.defaults().withRss(Offloads.RSS_IP, null)));
        assertEquals("port 1 (net_null1): RSS on net_null makes IPv4/UDP packets of at least 42 bytes; size=20", e.getMessage());
        small.configure(2, 1, PortConf.defaults());
        assertThrows(EthDevException.class, () -> small.rssHashUpdate(Offloads.RSS_IP, null));
        assertEquals(0, small.rssHashFunctions(), "refused: nothing changed");
    }

    @Test
    void rssBurstsAllocateNothing() {
        EthDev p = ready(PortConf.defaults().withRss(Offloads.RSS_UDP, null));
        Mbuf[] burst = new Mbuf[32];
        int[] q = {0};
        AllocationMeter.assertNoAllocation("RSS rx bursts", 20_000, 10_000, () -> {
            int n = p.rxBurst(q[0]++ & 3, burst, 32);
            Mbuf.freeBulk(burst, 0, n);
        });
    }
}
