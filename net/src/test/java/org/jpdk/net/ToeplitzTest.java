package org.jpdk.net;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Toeplitz against Microsoft's published verification values, table against bit-serial, packets, RETA. */
class ToeplitzTest {
    private Mempool<Mbuf> pool;

    @BeforeEach
    void pool() {
        pool = Mbuf.createPool("rss_test", 63, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
    }

    @AfterEach
    void close() {
        pool.close();
    }

    // "Verifying the RSS Hash Calculation" (Windows driver docs): destination, source, IPv4 only, IPv4 with TCP
    private static final Object[][] V4 = {
            {"161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178},
            {"65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea},
            {"12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a},
            {"209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f},
            {"202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2},
    };
    private static final Object[][] V6 = {
            {"3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d},
            {"ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf},
            {"fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x4b61e985, 0x02d1feef},
    };

    @Test
    void microsoftIpv4Vectors() {
        Toeplitz t = Toeplitz.DEFAULT_KEY;
        for (Object[] v : V4) {
            int dst = Pkts.v4((String) v[0]), src = Pkts.v4((String) v[2]);
            int dport = (int) v[1], sport = (int) v[3];
            assertEquals((int) v[4], t.hashIpv4(src, dst), "2-tuple " + v[0]);
            assertEquals((int) v[5], t.hashIpv4(src, dst, sport, dport), "4-tuple " + v[0]);
            int[] words = {src, dst, sport << 16 | dport};
            assertEquals((int) v[4], t.hashBitwise(words, 2));
            assertEquals((int) v[5], t.hashBitwise(words, 3));
            assertEquals((int) v[5], t.hash(words, 3));
        }
    }

    @Test
    void microsoftIpv6Vectors() {
        Toeplitz t = new Toeplitz(Toeplitz.defaultKey());
        for (Object[] v : V6) {
            long[] dst = Pkts.v6((String) v[0]), src = Pkts.v6((String) v[2]);
            int dport = (int) v[1], sport = (int) v[3];
            assertEquals((int) v[4], t.hashIpv6(src[0], src[1], dst[0], dst[1]), "2-tuple " + v[0]);
            assertEquals((int) v[5], t.hashIpv6(src[0], src[1], dst[0], dst[1], sport, dport), "4-tuple " + v[0]);
            int[] words = new int[9];
            for (int i = 0; i < 2; i++) {
                words[2 * i] = (int) (src[i] >>> 32);
                words[2 * i + 1] = (int) src[i];
                words[4 + 2 * i] = (int) (dst[i] >>> 32);
                words[4 + 2 * i + 1] = (int) dst[i];
            }
            words[8] = sport << 16 | dport;
            assertEquals((int) v[4], t.hashBitwise(words, 8));
            assertEquals((int) v[5], t.hashBitwise(words, 9));
        }
    }

    @Test
    void tableEqualsBitSerialForRandomKeysAndInputs() {
        Random rnd = new Random(42);
        for (int k = 0; k < 20; k++) {
            byte[] key = new byte[k % 2 == 0 ? 40 : 52];
            rnd.nextBytes(key);
            Toeplitz t = new Toeplitz(key);
            int[] w = new int[9];
            for (int i = 0; i < 500; i++) {
                for (int j = 0; j < w.length; j++) w[j] = rnd.nextInt();
                int n = rnd.nextInt(10);
                assertEquals(t.hashBitwise(w, n), t.hash(w, n), "key " + k + " n " + n);
            }
        }
        // a key of all ones: each set input bit adds 0xffffffff
        byte[] ones = new byte[40];
        java.util.Arrays.fill(ones, (byte) 0xff);
        assertEquals(0xffffffff, new Toeplitz(ones).hashIpv4(1, 0));
        assertEquals(0, new Toeplitz(ones).hashIpv4(3, 0));
    }

    @Test
    void badArgumentsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Toeplitz(new byte[39]));
        assertEquals("Toeplitz key: 39 bytes, must be at least 40 bytes", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Toeplitz.DEFAULT_KEY.hash(new int[10], 10));
        assertEquals("Toeplitz input: 10 words, must be 0 to 9", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Reta(100, 4));
        assertEquals("RETA size: 100, must be a power of two from 1 to 65536", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Reta(128, 0));
        assertEquals("RETA queues: 0, must be 1 to 65536", e.getMessage());
        Reta r = new Reta(64, 2);
        e = assertThrows(IllegalArgumentException.class, () -> r.set(64, 1));
        assertEquals("RETA index: 64, must be 0 to 63", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> r.set(0, 70000));
        assertEquals("RETA queue: 70000, must be 0 to 65535", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> r.load(new int[63]));
        assertEquals("RETA entries: 63, must be 64", e.getMessage());
        int[] bad = new int[64];
        bad[5] = -1;
        e = assertThrows(IllegalArgumentException.class, () -> r.load(bad));
        assertEquals("RETA entry 5: queue -1, must be 0 to 65535", e.getMessage());
        assertEquals(1, r.get(5), "a refused load changes nothing");
    }

    @Test
    void packetsHashTheirTuplesAndRetaSpreadsThem() {
        Toeplitz t = Toeplitz.DEFAULT_KEY;
        Object[] v = V4[0];
        int dst = Pkts.v4((String) v[0]), src = Pkts.v4((String) v[2]);
        byte[] tcp = Pkts.ether(Ether.TYPE_IPV4, Pkts.ipv4(src, dst, 6, 0, new byte[0], Pkts.tcp((int) v[3], (int) v[1], new byte[0], new byte[5])));
        Mbuf m = Pkts.mbuf(pool, tcp);
        PacketType.parse(m);
        assertTrue(t.setRssHash(m));
        assertEquals(0x51ccc178, m.rssHash);
        assertTrue((m.olFlags & Mbuf.F_RX_RSS_HASH) != 0);
        m.free();

        // a fragment hashes the 2-tuple
        byte[] frag = Pkts.ether(Ether.TYPE_IPV4, Pkts.ipv4(src, dst, 17, 0x2000, new byte[0], Pkts.udp(1, 2, new byte[8])));
        m = Pkts.mbuf(pool, frag);
        PacketType.parse(m);
        assertEquals(0x323e8fc2, t.hash(m));
        m.free();

        Object[] w = V6[1];
        long[] d6 = Pkts.v6((String) w[0]), s6 = Pkts.v6((String) w[2]);
        byte[] exts = Pkts.ext8(17, 8);
        byte[] udp6 = Pkts.ether(Ether.TYPE_IPV6, Pkts.ipv6(s6, d6, 0, exts, 17, Pkts.udp((int) w[3], (int) w[1], new byte[3]), true),
                Ether.TYPE_VLAN, 5);
        m = Pkts.mbuf(pool, udp6);
        PacketType.parse(m);
        assertEquals(0xdde51bbf, t.hash(m), "4-tuple after a VLAN tag and a hop-by-hop header");
        m.free();

        m = Pkts.mbuf(pool, Pkts.arpRequest());
        PacketType.parse(m);
        assertFalse(t.setRssHash(m));
        assertEquals(0, m.olFlags & Mbuf.F_RX_RSS_HASH);
        m.free();

        // VXLAN hashes the outer headers, ports included
        m = Pkts.mbuf(pool, Pkts.vxlanTcp4());
        PacketType.parse(m);
        assertEquals(t.hashIpv4(Pkts.A, Pkts.Z, 49152, Vxlan.PORT), t.hash(m));
        m.free();

        Reta reta = new Reta(128, 3);
        assertEquals(128, reta.size());
        assertEquals((0x51ccc178 & 127) % 3, reta.queue(0x51ccc178));
        for (int i = 0; i < 128; i++) assertEquals(i % 3, reta.get(i));
        reta.set(0x78, 9);
        assertEquals(9, reta.queue(0x51ccc178), "the low 7 bits of the hash (0x78) pick the entry");
        int[] entries = new int[128];
        java.util.Arrays.fill(entries, 65535);
        reta.load(entries);
        assertEquals(65535, reta.queue(-1));
    }

    @Test
    void hashingAllocatesNothing() {
        Mbuf m = Pkts.mbuf(pool, Pkts.qinqIpv6ExtUdp());
        PacketType.parse(m);
        Toeplitz t = Toeplitz.DEFAULT_KEY;
        Reta reta = new Reta(512, 4);
        int[] words = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        AllocationMeter.assertNoAllocation("hash, setRssHash, reta", 20_000, 10_000, () -> {
            int h = t.hash(m) ^ t.hash(words, 9) ^ t.hashBitwise(words, 3) ^ t.hashIpv4(1, 2, 3, 4);
            if (!t.setRssHash(m) || reta.queue(h) > 3) throw new AssertionError();
        });
        m.free();
    }
}
