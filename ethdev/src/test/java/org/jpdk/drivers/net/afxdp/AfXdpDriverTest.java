package org.jpdk.drivers.net.afxdp;

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

/** net_af_xdp on a veth pair between two namespaces: both directions, contents, counts, queues. */
class AfXdpDriverTest {
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
            nf.exec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        }
        eal = Eal.init("-l", "0", "--no-huge", "-m", "128");
        pool = Mbuf.createPool("afx_test", 8191, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
    }

    @AfterEach
    void cleanup() {
        try {
            if (eal != null) {
                EthDev.closeAll();
                pool.close();                                // fails if a test leaked mbufs
            }
        } finally {
            try {
                if (eal != null) eal.cleanup();
            } finally {
                if (nf != null) nf.close();
            }
        }
    }

    static EthDev createIn(String ns, String devargs) {
        try (Netns n = Netns.enter(ns)) {
            return EthDev.create(devargs);
        }
    }

    EthDev ready(String ns, String devargs) {
        EthDev p = createIn(ns, devargs);
        int q = p.info().maxRxQueues();
        p.configure(q, q, PortConf.defaults());
        for (int i = 0; i < q; i++) {
            p.rxQueueSetup(i, 512, pool);
            p.txQueueSetup(i, 512);
        }
        p.start();
        return p;
    }

    /** A test frame: broadcast destination, source 02:..:seq, EtherType 0x88b5, seq at 14, then a byte pattern. */
    Mbuf frame(int seq, int len) {
        Mbuf m = Mbuf.alloc(pool);
        assertNotNull(m, "pool has mbufs");
        assertTrue(m.appendOffset(len) >= 0, "frame of " + len + " fits one mbuf");
        for (int i = 0; i < 6; i++) m.writeByte(i, 0xff);
        m.writeShort(6, 0x0200);
        m.writeInt(8, seq);
        m.writeShort(12, ETHERTYPE);
        m.writeInt(14, seq);
        for (int i = 18; i < len; i++) m.writeByte(i, (seq + i) & 0xff);
        return m;
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

    static byte[] bytes(Mbuf m) {
        byte[] out = new byte[m.pktLen()];
        int at = 0;
        for (Mbuf s = m; s != null; s = s.next()) {
            MemorySegment.copy(s.buffer(), ValueLayout.JAVA_BYTE, s.dataOff(), out, at, s.dataLen());
            at += s.dataLen();
        }
        return out;
    }

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

    static List<Mbuf> receive(EthDev p, int queue, int want, long millis) {
        List<Mbuf> got = new ArrayList<>();
        Mbuf[] burst = new Mbuf[32];
        long deadline = System.nanoTime() + millis * 1_000_000L;
        do {
            int n = p.rxBurst(queue, burst, Math.min(32, want - got.size()));
            for (int i = 0; i < n; i++) got.add(burst[i]);
            if (n == 0) Thread.onSpinWait();
        } while (got.size() < want && System.nanoTime() < deadline);
        return got;
    }

    static void freeAll(List<Mbuf> l) {
        for (Mbuf m : l) m.free();
    }

    /** Sends {@code total} frames of varied lengths from {@code from} to {@code to} and checks every byte and counter. */
    void crossOneWay(EthDev from, EthDev to, int total) {
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
            sendAll(from, 0, burst, n);
            got.addAll(receive(to, 0, n, 2000));
        }
        try {
            assertEquals(total, got.size(), "every frame arrives");
            for (int i = 0; i < total; i++) {
                Mbuf m = got.get(i);
                assertArrayEquals(expected(i, 60 + (i * 37) % 1455), bytes(m), "frame " + i + " arrives intact and in order");
                assertEquals(to.id(), m.port);
                assertSame(pool, m.pool(), "received into the rx pool's own mbufs");
                assertEquals(Umem.XDP_HEADROOM, m.dataOff(), "the kernel writes after its 256-byte headroom");
            }
            EthStats sa = from.stats(), sb = to.stats();
            assertEquals(total, sa.opackets);
            assertEquals(sentBytes, sa.obytes);
            assertEquals(0, sa.oerrors);
            assertEquals(total, sb.ipackets);
            assertEquals(sentBytes, sb.ibytes);
            assertEquals(0, sb.imissed);
            assertEquals(0, sb.ierrors);
        } finally {
            freeAll(got);
        }
    }

    @Test
    void framesCrossTheVethBothWaysWithCountsAndContents() {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = ready(nsA, "net_af_xdp0,iface=va");
        EthDev b = ready(nsB, "net_af_xdp1,iface=vb");
        assertEquals("net_af_xdp", a.driverName());
        assertEquals("copy, native XDP", ((AfXdpDriver.Device) b.ops()).xdpMode(0), "veth: native XDP, no zero-copy");
        crossOneWay(a, b, 2000);
        a.statsReset();
        b.statsReset();
        crossOneWay(b, a, 2000);
        int out = pool.size() - pool.availCount();
        assertTrue(out >= 2 * 512 && out <= 2 * 512 + 64, "out of the pool: the two fill rings' 512 each, and the last bursts "
                + "until their completions are reclaimed: " + out);
    }
}
