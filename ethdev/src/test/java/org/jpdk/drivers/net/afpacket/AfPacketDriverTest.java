package org.jpdk.drivers.net.afpacket;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthStats;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Netns;
import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** net_af_packet on a veth pair between two namespaces: traffic both ways, queues, VLAN, drops, interface control, errors. */
class AfPacketDriverTest {
    /** IEEE 802 local experimental EtherType: test frames are told from any other traffic by it. */
    static final int ETHERTYPE = 0x88b5;

    private NetnsFixture nf;
    private String nsA, nsB;
    private Eal eal;
    private Mempool<Mbuf> pool;

    @BeforeEach
    void init() {
        nf = NetnsFixture.create();
        nsA = nf.namespace();
        nsB = nf.namespace();
        for (String ns : List.of(nsA, nsB)) {
            // no IPv6 autoconfiguration chatter on the veths: the tests count every frame
            nf.exec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        }
        nf.veth(nsA, "va", nsB, "vb");
        eal = Eal.init("-l", "0", "--no-huge", "-m", "128");
        pool = Mbuf.createPool("afp_test", 8191, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
    }

    @AfterEach
    void cleanup() {
        try {
            if (eal != null) {
                EthDev.closeAll();
                pool.close();
                eal.cleanup();
            }
        } finally {
            if (nf != null) nf.close();
        }
    }

    static EthDev createIn(String ns, String devargs) {
        try (Netns n = Netns.enter(ns)) {
            return EthDev.create(devargs);
        }
    }

    private EthDev ready(String ns, String devargs, PortConf conf) {
        EthDev p = createIn(ns, devargs);
        int q = p.info().maxRxQueues();
        p.configure(q, q, conf);
        for (int i = 0; i < q; i++) {
            p.rxQueueSetup(i, 0, pool);
            p.txQueueSetup(i, 0);
        }
        p.start();
        return p;
    }

    /** A test frame: broadcast destination, source 02:..:seq, EtherType 0x88b5, seq at 14, then a byte pattern. */
    Mbuf frame(int seq, int len) {
        Mbuf m = Mbuf.alloc(pool);
        assertNotNull(m, "pool has mbufs");
        assertTrue(m.appendOffset(len) >= 0, "frame of " + len + " fits one mbuf");
        fill(m, seq, len);
        return m;
    }

    static void fill(Mbuf m, int seq, int len) {
        for (int i = 0; i < 6; i++) m.writeByte(i, 0xff);
        m.writeShort(6, 0x0200);
        m.writeInt(8, seq);
        m.writeShort(12, ETHERTYPE);
        m.writeInt(14, seq);
        for (int i = 18; i < len; i++) m.writeByte(i, (seq + i) & 0xff);
    }

    /** The bytes of a whole (possibly chained) packet. */
    static byte[] bytes(Mbuf m) {
        byte[] out = new byte[m.pktLen()];
        int at = 0;
        for (Mbuf s = m; s != null; s = s.next()) {
            MemorySegment.copy(s.buffer(), ValueLayout.JAVA_BYTE, s.dataOff(), out, at, s.dataLen());
            at += s.dataLen();
        }
        return out;
    }

    static byte[] expected(int seq, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < 6; i++) b[i] = (byte) 0xff;
        b[6] = 2;
        b[8] = (byte) (seq >>> 24);
        b[9] = (byte) (seq >>> 16);
        b[10] = (byte) (seq >>> 8);
        b[11] = (byte) seq;
        b[12] = (byte) (ETHERTYPE >>> 8);
        b[13] = (byte) ETHERTYPE;
        System.arraycopy(b, 8, b, 14, 4);
        for (int i = 18; i < len; i++) b[i] = (byte) (seq + i);
        return b;
    }

    /** Sends every packet in {@code pkts} on tx queue 0 of {@code p}, retrying while the ring is full; fails after 5 s. */
    static void sendAll(EthDev p, int queue, Mbuf[] pkts, int n) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        int done = 0;
        while (done < n) {
            done += p.txBurst(queue, pkts, done, n - done);
            if (done < n) {
                assertTrue(System.nanoTime() < deadline, "tx ring stayed full; sent " + done + " of " + n);
                Thread.onSpinWait();
            }
        }
    }

    /** Polls rx queue {@code queue} until {@code want} packets arrived or {@code millis} passed; returns them. */
    static List<Mbuf> receive(EthDev p, int queue, int want, long millis) {
        List<Mbuf> got = new ArrayList<>();
        Mbuf[] burst = new Mbuf[32];
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (got.size() < want && System.nanoTime() < deadline) {
            int n = p.rxBurst(queue, burst, 32);
            for (int i = 0; i < n; i++) got.add(burst[i]);
            if (n == 0) Thread.onSpinWait();
        }
        return got;
    }

    static void freeAll(List<Mbuf> l) {
        for (Mbuf m : l) m.free();
    }

    @Test
    void framesCrossTheVethWithCountsBytesAndContents() {
        EthDev a = ready(nsA, "net_af_packet0,iface=va", PortConf.defaults());
        EthDev b = ready(nsB, "net_af_packet1,iface=vb", PortConf.defaults());
        assertEquals("net_af_packet", a.driverName());
        int total = 2000;
        long sentBytes = 0;
        List<Mbuf> got = new ArrayList<>();
        Mbuf[] burst = new Mbuf[32];
        for (int seq = 0; seq < total; seq += 32) {
            int n = Math.min(32, total - seq);
            for (int i = 0; i < n; i++) {
                int len = 60 + ((seq + i) * 37) % 1455;             // 60..1514
                burst[i] = frame(seq + i, len);
                sentBytes += len;
            }
            sendAll(a, 0, burst, n);
            got.addAll(receive(b, 0, n, 2000));
        }
        try {
            assertEquals(total, got.size(), "every frame arrives");
            long rxBytes = 0;
            for (int i = 0; i < total; i++) {
                Mbuf m = got.get(i);
                int len = 60 + (i * 37) % 1455;
                assertArrayEquals(expected(i, len), bytes(m), "frame " + i + " arrives intact and in order");
                assertEquals(b.id(), m.port);
                rxBytes += m.pktLen();
            }
            EthStats sa = a.stats(), sb = b.stats();
            assertEquals(total, sa.opackets);
            assertEquals(sentBytes, sa.obytes);
            assertEquals(0, sa.oerrors);
            assertEquals(total, sb.ipackets);
            assertEquals(sentBytes, sb.ibytes);
            assertEquals(sentBytes, rxBytes);
            assertEquals(0, sb.imissed);
            assertEquals(0, sb.ierrors);
        } finally {
            freeAll(got);
        }
    }
}
