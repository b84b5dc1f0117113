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

/** net_af_xdp on a veth pair between two namespaces: both directions, contents, counts, queues, drops. */
class AfXdpDriverTest extends AfXdpTestBase {
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

    @Test
    void twoQueuesEachCarryTheirOwnFrames() {
        vethWithQueues(2);
        EthDev a = ready(nsA, "net_af_xdp0,iface=va,queue_count=2");
        EthDev b = ready(nsB, "net_af_xdp1,iface=vb,queue_count=2,shared_umem=1");
        assertEquals(2, b.nbRxQueues());
        Mbuf[] burst = new Mbuf[32];
        int rounds = 20;
        for (int r = 0; r < rounds; r++) {
            for (int q = 0; q < 2; q++) {
                for (int i = 0; i < 32; i++) burst[i] = frame(q << 16 | r * 32 + i, 64 + q);
                sendAll(a, q, burst, 32);
            }
            for (int q = 0; q < 2; q++) {
                List<Mbuf> got = receive(b, q, 32, 2000);
                try {
                    assertEquals(32, got.size(), "round " + r + ", queue " + q);
                    for (int i = 0; i < 32; i++) {
                        assertArrayEquals(expected(q << 16 | r * 32 + i, 64 + q), bytes(got.get(i)),
                                "a frame sent on va queue " + q + " arrives on vb queue " + q);
                    }
                } finally {
                    freeAll(got);
                }
            }
        }
        EthStats s = b.stats();
        assertEquals(rounds * 32, s.qIpackets[0]);
        assertEquals(rounds * 32, s.qIpackets[1]);
        assertEquals(rounds * 32, a.stats().qOpackets[1]);
        assertEquals("copy, native XDP", ((AfXdpDriver.Device) b.ops()).xdpMode(1));
    }

    @Test
    void aQueueThatDoesNotExistIsRefused() {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev b = createIn(nsB, "net_af_xdp1,iface=vb,start_queue=1");
        b.configure(1, 1, PortConf.defaults());
        var e = assertThrows(org.jpdk.ethdev.EthDevException.class, () -> b.rxQueueSetup(0, 512, pool));
        assertEquals("port " + b.id() + " (net_af_xdp1): rx queue 0: bind(AF_XDP, iface=vb, queue 1): EINVAL: iface=vb has no queue 1"
                + " (ethtool -l vb; a veth gets more with numrxqueues N numtxqueues N)", e.getMessage());
        assertEquals(pool.size(), pool.availCount(), "nothing lent");
    }

    @Test
    void aQueueAnotherSocketHoldsIsRefused() {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev b = createIn(nsB, "net_af_xdp1,iface=vb");
        b.configure(1, 1, PortConf.defaults());
        Mempool<Mbuf> other = Mbuf.createPool("afx_other", 1023, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        XskSocket theirs;
        try (Netns n = Netns.enter(nsB)) {
            theirs = XskSocket.open("vb", ((AfXdpDriver.Device) b.ops()).ifindex(), 0, Umem.of(other), 64, false, null, 0);
        }
        try {
            var e = assertThrows(org.jpdk.ethdev.EthDevException.class, () -> b.rxQueueSetup(0, 512, pool));
            assertEquals("port " + b.id() + " (net_af_xdp1): rx queue 0: bind(AF_XDP, iface=vb, queue 0): EBUSY: another socket holds this queue",
                    e.getMessage());
        } finally {
            theirs.close();
            other.close();
        }
        b.rxQueueSetup(0, 512, pool);                      // free again: it binds
        b.txQueueSetup(0, 512);
        b.start();
    }

    @Test
    void aMissingInterfaceIsRefusedWithEnodev() {
        nf.veth(nsA, "va", nsB, "vb");
        var e = assertThrows(org.jpdk.ethdev.EthDevException.class, () -> createIn(nsA, "net_af_xdp0,iface=vb"));
        assertEquals("--vdev net_af_xdp0: iface=vb: no such interface in this network namespace (ENODEV)", e.getMessage());
    }

    @Test
    void theProgramIsAttachedFromProbeToCloseAndTheInterfaceIsLeftAsFound() {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev b = ready(nsB, "net_af_xdp1,iface=vb");
        int id = ((AfXdpDriver.Device) b.ops()).xdpProgramId();
        String shown = nf.ip(nsB, "link", "show", "vb");
        assertTrue(shown.contains("prog/xdp id " + id + " name jpdk_xsk"), shown);
        b.setPromiscuous(true);
        assertTrue(nf.ip(nsB, "link", "show", "vb").contains("PROMISC"));
        b.close();
        XdpProgramTest.awaitNoXdp(nf, nsB, "vb");
        assertFalse(nf.ip(nsB, "link", "show", "vb").contains("PROMISC"), "promiscuous put back as it was");
        assertEquals(pool.size(), pool.availCount(), "the fill ring's mbufs are back");
    }

    @Test
    void withoutBuffersTheKernelDropsAndSaysSo() {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = ready(nsA, "net_af_xdp0,iface=va");
        EthDev b = createIn(nsB, "net_af_xdp1,iface=vb,busy_budget=0");
        Mempool<Mbuf> tiny = Mbuf.createPool("afx_tiny", 96, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        List<Mbuf> held = new ArrayList<>();
        try {
            b.configure(1, 1, PortConf.defaults());
            b.rxQueueSetup(0, 64, tiny);
            b.txQueueSetup(0, 64);
            b.start();
            assertEquals(32, tiny.availCount(), "64 lent to the fill ring");
            Mbuf[] burst = new Mbuf[32];
            for (int r = 0; r < 5; r++) {                                    // 160 frames: 64 + 32 fit, 64 do not
                for (int i = 0; i < 32; i++) burst[i] = frame(r * 32 + i, 60);
                sendAll(a, 0, burst, 32);
                held.addAll(receive(b, 0, 32, 300));                         // held: the refill takes the pool's last 32
            }
            held.addAll(receive(b, 0, 160, 300));
            EthStats s = b.stats();
            assertEquals(96, held.size(), "as many as the pool has");
            assertEquals(96, s.ipackets);
            assertEquals(64, s.imissed, "the kernel dropped what found the fill ring empty");
            assertEquals(64, b.xstat("rx_q0_xdp_rx_dropped"));
            assertEquals(64, b.xstat("rx_q0_xdp_fill_ring_empty"));
            assertEquals(0, b.xstat("rx_q0_xdp_rx_ring_full"));
            assertTrue(s.rxNombuf > 0, "refills failed: " + s.rxNombuf);
            freeAll(held);
            held.clear();
            assertEquals(0, receive(b, 0, 1, 50).size(), "a poll refills the fill ring from the freed mbufs");
            for (int i = 0; i < 32; i++) burst[i] = frame(1000 + i, 60);
            sendAll(a, 0, burst, 32);
            held.addAll(receive(b, 0, 32, 2000));
            assertEquals(32, held.size(), "freed mbufs refill the ring and frames flow again");
            b.statsReset();
            assertEquals(0, b.stats().imissed);
            assertEquals(0, b.xstat("rx_q0_xdp_rx_dropped"));
        } finally {
            freeAll(held);
            b.close();
            tiny.close();
        }
    }

    /** An IPv4/UDP frame to port {@code dport}, {@code seq} in the payload. */
    Mbuf udp(int dport, int seq) {
        Mbuf m = Mbuf.alloc(pool);
        m.appendOffset(64);
        m.writeInt(0, 0x0200_0000);
        m.writeShort(4, 0x0099);
        m.writeInt(6, 0x0200_0000);
        m.writeShort(10, 0x0001);
        m.writeShort(12, 0x0800);
        m.writeInt(14, 0x4500_0032);                         // v4, ihl 5, total 50
        m.writeInt(18, 0);
        m.writeInt(22, 0x4011_0000);                         // ttl 64, UDP
        m.writeInt(26, 0x0a00_0001);
        m.writeInt(30, 0x0a00_0002);
        m.writeShort(34, 1024);
        m.writeShort(36, dport);
        m.writeInt(38, 0x001e_0000);
        m.writeInt(42, seq);
        return m;
    }

    @Test
    void aUsersProgramDropsUdpToOnePortAndTheRestArrives(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path prog = BpfObjectTest.dropUdp(dir);
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = ready(nsA, "net_af_xdp0,iface=va");
        EthDev b = ready(nsB, "net_af_xdp1,iface=vb,xdp_prog=" + prog);
        String shown = nf.ip(nsB, "link", "show", "vb");
        assertTrue(shown.contains("name drop_udp_7777"), "the user's program is the one attached: " + shown);
        Mbuf[] burst = new Mbuf[32];
        List<Mbuf> got = new ArrayList<>();
        for (int r = 0; r < 10; r++) {
            for (int i = 0; i < 32; i++) burst[i] = udp(i % 2 == 0 ? 7777 : 8888, r * 32 + i);
            sendAll(a, 0, burst, 32);
            got.addAll(receive(b, 0, 16, 2000));
        }
        got.addAll(receive(b, 0, 1, 200));                  // nothing more comes
        try {
            assertEquals(160, got.size(), "only the frames to 8888");
            for (Mbuf m : got) assertEquals(8888, m.readShort(36), "no frame to 7777 reaches the port");
            assertEquals(0, b.stats().imissed, "dropped by the program, not for want of buffers");
        } finally {
            freeAll(got);
        }
        b.close();
        XdpProgramTest.awaitNoXdp(nf, nsB, "vb");
    }

    @Test
    void aMissingOrForeignXdpProgIsAClearError(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        nf.veth(nsA, "va", nsB, "vb");
        var e = assertThrows(org.jpdk.eal.EalArgumentException.class, () -> createIn(nsB, "net_af_xdp1,iface=vb,xdp_prog=/nonexistent/x.o"));
        assertEquals("--vdev net_af_xdp1: xdp_prog=/nonexistent/x.o: no such file, or not readable", e.getMessage());
        java.nio.file.Path text = dir.resolve("x.o");
        java.nio.file.Files.writeString(text, "not an object");
        var e2 = assertThrows(org.jpdk.ethdev.EthDevException.class, () -> createIn(nsB, "net_af_xdp1,iface=vb,xdp_prog=" + text));
        assertEquals("--vdev net_af_xdp1: xdp_prog=" + text + ": not an ELF file (no \\x7fELF magic)", e2.getMessage());
        assertFalse(nf.ip(nsB, "link", "show", "vb").contains("xdp"));
    }
}
