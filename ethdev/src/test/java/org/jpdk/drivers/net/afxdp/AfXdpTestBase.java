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

/** The fixture of the net_af_xdp tests: two namespaces, an EAL, a pool of 8191 mbufs, and test frames. */
abstract class AfXdpTestBase {
    /** IEEE 802 local experimental EtherType: test frames are told from any other traffic by it. */
    static final int ETHERTYPE = 0x88b5;

    NetnsFixture nf;
    String nsA, nsB;
    Eal eal;
    Mempool<Mbuf> pool;

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

    /** A veth pair with {@code queues} rx and tx queues on each end. */
    void vethWithQueues(int queues) {
        String q = Integer.toString(queues);
        nf.ip(nsA, "link", "add", "va", "numrxqueues", q, "numtxqueues", q, "type", "veth", "peer", "name", "vb",
                "numrxqueues", q, "numtxqueues", q, "netns", nsB);
        nf.ip(nsA, "link", "set", "va", "up");
        nf.ip(nsB, "link", "set", "vb", "up");
    }

}
