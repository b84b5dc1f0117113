package org.jpdk.drivers.net.vhost;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.virtio.VirtioFeatures;
import org.jpdk.virtio.VirtioNetHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.jpdk.virtio.VirtioFeatures.bit;
import static org.junit.jupiter.api.Assertions.*;

/**
 * net_vhost against a front end of the tests' own ({@link TestFrontEnd}): frames both ways with
 * their bytes checked, split and packed rings, mergeable rx buffers on and off, chains longer than
 * an mbuf, the link following the front end, the front end leaving and a new one coming, devargs.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostDriverTest {
    static final long ALL = bit(VirtioFeatures.F_VERSION_1) | bit(VirtioFeatures.NET_F_MRG_RXBUF) | bit(VirtioFeatures.F_INDIRECT_DESC)
            | bit(VirtioFeatures.F_EVENT_IDX) | bit(VirtioFeatures.F_PROTOCOL_FEATURES);

    @TempDir
    Path dir;
    private Eal eal;
    private Mempool<Mbuf> pool;
    EthDev port;

    void init(String devargs) {
        eal = Eal.init("-l", "0-1", "--no-huge", "-m", "256", "--vdev", "net_vhost0,iface=" + dir.resolve("vh.sock") + devargs);
        pool = Mbuf.createPool("vhost_test", 4095, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        port = EthDev.get(0);
        port.configure(1, 1, PortConf.defaults());
        port.rxQueueSetup(0, 0, pool);
        port.txQueueSetup(0, 0);
        port.start();
    }

    @AfterEach
    void cleanup() {
        if (eal == null) return;
        try {
            EthDev.closeAll();
            assertEquals(pool.size(), pool.availCount(), "every mbuf is back after close");
            pool.close();
        } finally {
            eal.cleanup();
        }
    }

    TestFrontEnd frontEnd(boolean packed) {
        return new TestFrontEnd(dir.resolve("vh.sock"), 256, packed);
    }

    static byte[] frame(int len, int seed) {
        byte[] f = new byte[len];
        for (int i = 0; i < len; i++) f[i] = (byte) (seed * 31 + i * 7);
        f[12] = 0x08;
        f[13] = 0x00;
        return f;
    }

    /** Receives on the port until {@code want} frames came (or 5 s passed). */
    List<byte[]> receive(int want) {
        List<byte[]> got = new ArrayList<>();
        Mbuf[] burst = new Mbuf[32];
        long end = System.nanoTime() + 5_000_000_000L;
        while (got.size() < want && System.nanoTime() < end) {
            int n = port.rxBurst(0, burst, 32);
            for (int i = 0; i < n; i++) {
                Mbuf m = burst[i];
                byte[] b = new byte[m.pktLen()];
                int at = 0;
                for (Mbuf s = m; s != null; s = s.next()) {
                    byte[] part = s.data().toArray(ValueLayout.JAVA_BYTE);
                    System.arraycopy(part, 0, b, at, part.length);
                    at += part.length;
                }
                got.add(b);
                m.free();
            }
            if (n == 0) Thread.onSpinWait();
        }
        return got;
    }

    Mbuf mbuf(byte[] f) {
        Mbuf m = Mbuf.alloc(pool);
        int first = Math.min(f.length, m.tailroom());
        m.append(first).copyFrom(java.lang.foreign.MemorySegment.ofArray(f).asSlice(0, first));
        Mbuf last = m;
        for (int at = first; at < f.length; ) {
            Mbuf s = Mbuf.alloc(pool);
            s.setData(0, 0);
            int k = Math.min(f.length - at, s.tailroom());
            s.append(k).copyFrom(java.lang.foreign.MemorySegment.ofArray(f).asSlice(at, k));
            assertTrue(m.chain(s));
            at += k;
            last = s;
        }
        assertNotNull(last);
        return m;
    }

    void roundTrip(boolean packed, long features, int... lens) {
        try (TestFrontEnd fe = frontEnd(packed).handshake(features)) {
            assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up(), "link up once the first queue pair runs");
            // front end -> port
            for (int i = 0; i < lens.length; i++) assertTrue(fe.transmit(frame(lens[i], i)));
            List<byte[]> got = receive(lens.length);
            assertEquals(lens.length, got.size());
            for (int i = 0; i < lens.length; i++) assertArrayEquals(frame(lens[i], i), got.get(i), "frame " + i + " of " + lens[i] + " bytes");
            assertEquals(lens.length, fe.txCompleted(), "every transmitted chain came back used");
            // port -> front end
            boolean mrg = VirtioFeatures.has(fe.features, VirtioFeatures.NET_F_MRG_RXBUF);
            fe.postRx(64, mrg ? 1024 : TestFrontEnd.BUF);
            Mbuf[] out = new Mbuf[lens.length];
            for (int i = 0; i < lens.length; i++) out[i] = mbuf(frame(lens[i], 100 + i));
            assertEquals(lens.length, port.txBurst(0, out, lens.length));
            List<byte[]> back = fe.received();
            assertEquals(lens.length, back.size());
            for (int i = 0; i < lens.length; i++) assertArrayEquals(frame(lens[i], 100 + i), back.get(i), "frame " + i + " to the front end");
            assertEquals(lens.length, port.stats().ipackets);
            assertEquals(lens.length, port.stats().opackets);
        }
    }

    @Test
    void splitRingsBothWaysMergeable() {
        init("");
        roundTrip(false, ALL, 60, 64, 1500, 1800, 2000);
    }

    @Test
    void splitRingsWithoutMergeableOrVersion1() {
        init("");
        roundTrip(false, bit(VirtioFeatures.F_PROTOCOL_FEATURES), 64, 1000, 2000);
    }

    @Test
    void packedRingsBothWays() {
        init("");
        roundTrip(true, ALL, 64, 1500, 2000);
    }

    /**
     * Split bursts longer than one walk-then-copy chunk ({@code VringView.CHUNK}, 64), frames
     * spanning several mergeable buffers, and a transmit burst that finds room for only part of
     * it: what fits goes in order, the rest stays with the caller and goes once buffers come.
     */
    @Test
    void splitBurstsLongerThanAChunkAndTooLittleRoomForAll() {
        init("");
        try (TestFrontEnd fe = frontEnd(false).handshake(ALL)) {
            assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
            int n = 100;
            for (int i = 0; i < n; i++) assertTrue(fe.transmit(frame(60 + 13 * i, i)));
            List<byte[]> got = new ArrayList<>();
            Mbuf[] burst = new Mbuf[128];
            long end = System.nanoTime() + 5_000_000_000L;
            while (got.size() < n && System.nanoTime() < end) {
                int k = port.rxBurst(0, burst, burst.length);
                for (int i = 0; i < k; i++) {
                    got.add(burst[i].data().toArray(ValueLayout.JAVA_BYTE));
                    burst[i].free();
                }
            }
            assertEquals(n, got.size());
            for (int i = 0; i < n; i++) assertArrayEquals(frame(60 + 13 * i, i), got.get(i), "frame " + i);
            assertEquals(n, fe.txCompleted());

            // 200 receive buffers of 256 bytes; frame i needs ceil((hdr + len) / 256) of them
            int bufs = 200, buf = 256, h = fe.hdrSize();
            fe.postRx(bufs, buf);
            Mbuf[] out = new Mbuf[n];
            int fit = 0, need = 0;
            for (int i = 0; i < n; i++) {
                out[i] = mbuf(frame(64 + 10 * i, 100 + i));
                need += (h + 64 + 10 * i + buf - 1) / buf;
                if (need <= bufs) fit = i + 1;
            }
            assertTrue(fit > 64 && fit < n, "the test needs a first part longer than a chunk: " + fit);
            assertEquals(fit, port.txBurst(0, out, n), "the frames that fit, in order");
            List<byte[]> back = fe.received();
            assertEquals(fit, back.size());
            for (int i = 0; i < fit; i++) assertArrayEquals(frame(64 + 10 * i, 100 + i), back.get(i), "frame " + i + " to the front end");
            fe.postRx(250, buf);
            assertEquals(n - fit, port.txBurst(0, out, fit, n - fit), "the rest, once buffers came");
            back = fe.received();
            assertEquals(n - fit, back.size());
            for (int i = fit; i < n; i++) assertArrayEquals(frame(64 + 10 * i, 100 + i), back.get(i - fit), "frame " + i + " to the front end");
            assertEquals(n, port.stats().opackets);
            assertEquals(0, port.stats().oerrors);
        }
    }

    /** Without mergeable buffers a frame longer than the next buffer is dropped and counted; that buffer serves the next frame. */
    @Test
    void withoutMergeableBuffersAFrameThatCannotFitIsDroppedAndItsBufferServesTheNext() {
        init("");
        try (TestFrontEnd fe = frontEnd(false).handshake(bit(VirtioFeatures.F_PROTOCOL_FEATURES))) {
            assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
            fe.postRx(3, 512);
            int[] lens = {64, 1000, 70, 80};
            Mbuf[] out = new Mbuf[lens.length];
            for (int i = 0; i < lens.length; i++) out[i] = mbuf(frame(lens[i], i));
            assertEquals(lens.length, port.txBurst(0, out, lens.length), "the dropped frame is taken (and freed) too");
            List<byte[]> back = fe.received();
            assertEquals(3, back.size());
            assertArrayEquals(frame(64, 0), back.get(0));
            assertArrayEquals(frame(70, 2), back.get(1));
            assertArrayEquals(frame(80, 3), back.get(2));
            assertEquals(3, port.stats().opackets);
            assertEquals(1, port.stats().oerrors);
        }
    }

    /** A frame's virtio-net header becomes its offload flags, on both ring layouts; a plain header leaves none. */
    @Test
    void theHeadersChecksumRequestBecomesOffloadFlags() {
        init("");
        for (boolean packed : new boolean[] {false, true}) {
            try (TestFrontEnd fe = frontEnd(packed).handshake(ALL)) {
                assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
                assertTrue(fe.transmit(frame(64, 1), VirtioNetHeader.F_NEEDS_CSUM, 34, VirtioNetHeader.UDP_CSUM_OFFSET));
                assertTrue(fe.transmit(frame(64, 2), VirtioNetHeader.F_DATA_VALID, 0, 0));
                assertTrue(fe.transmit(frame(64, 3)));
                Mbuf[] got = new Mbuf[3];
                int n = 0;
                long until = System.nanoTime() + 5_000_000_000L;
                while (n < 3 && System.nanoTime() < until) n += port.rxBurst(0, got, n, 3 - n);
                assertEquals(3, n, packed ? "packed" : "split");
                try {
                    assertEquals(Mbuf.F_TX_UDP_CKSUM | Mbuf.F_TX_IPV4, got[0].olFlags, "NEEDS_CSUM for UDP at 34");
                    assertEquals(14, got[0].l2Len);
                    assertEquals(20, got[0].l3Len);
                    assertEquals(Mbuf.F_RX_L4_CKSUM_GOOD, got[1].olFlags, "DATA_VALID");
                    assertEquals(0, got[2].olFlags, "plain header");
                    for (int i = 0; i < 3; i++) assertArrayEquals(frame(64, i + 1), got[i].data().toArray(ValueLayout.JAVA_BYTE));
                } finally {
                    Mbuf.freeBulk(got, 0, 3);
                }
            }
            long end = System.nanoTime() + 5_000_000_000L;
            while (port.link().up() && System.nanoTime() < end) TestFrontEnd.sleep(10);
            assertFalse(port.link().up(), "link down when the front end left");
        }
    }

    @Test
    void framesLongerThanAnMbufAreChainedOrDroppedWithLinearBuffer() {
        init("");
        try (TestFrontEnd fe = frontEnd(false).handshake(ALL)) {
            assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
            // two descriptors per frame: header + 1000 bytes, then the rest
            byte[] f = frame(1990, 7);
            int h = fe.hdrSize();
            long b = fe.txBuf(0);
            org.jpdk.virtio.VirtioNetHeader.writePlain(fe.mem, b, h);
            java.lang.foreign.MemorySegment.copy(f, 0, fe.mem, ValueLayout.JAVA_BYTE, b + h, f.length);
            fe.tx.desc(0, TestFrontEnd.gpa(b), h + 1000, org.jpdk.virtio.SplitRing.DESC_F_NEXT, 1);
            fe.tx.desc(1, TestFrontEnd.gpa(b + h + 1000), f.length - 1000, 0, 0);
            fe.tx.availRing(0, 0);
            fe.tx.availIdx(1);
            fe.txNext = 1;
            List<byte[]> got = receive(1);
            assertEquals(1, got.size());
            assertArrayEquals(f, got.get(0));
        }
    }

    /** Makes a 3000-byte frame available on vring 1 over two tx buffers (header and 2000 bytes, then the rest). */
    private static byte[] transmitLong(TestFrontEnd fe) {
        byte[] f = frame(3000, 5);
        int h = fe.hdrSize();
        long b0 = fe.txBuf(0), b1 = fe.txBuf(1);
        org.jpdk.virtio.VirtioNetHeader.writePlain(fe.mem, b0, h);
        java.lang.foreign.MemorySegment.copy(f, 0, fe.mem, ValueLayout.JAVA_BYTE, b0 + h, 2000);
        java.lang.foreign.MemorySegment.copy(f, 2000, fe.mem, ValueLayout.JAVA_BYTE, b1, 1000);
        fe.tx.desc(0, TestFrontEnd.gpa(b0), h + 2000, org.jpdk.virtio.SplitRing.DESC_F_NEXT, 1);
        fe.tx.desc(1, TestFrontEnd.gpa(b1), 1000, 0, 0);
        fe.tx.availRing(0, 0);
        fe.tx.availIdx(1);
        fe.txNext = 1;
        return f;
    }

    @Test
    void linearBufferDropsWhatExtBufferCarriesWhole() {
        init(",linear-buffer=1");
        try (TestFrontEnd fe = frontEnd(false).handshake(ALL)) {
            assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
            transmitLong(fe);
            long end = System.nanoTime() + 5_000_000_000L;
            Mbuf[] burst = new Mbuf[8];
            while (port.stats().ierrors == 0 && System.nanoTime() < end) assertEquals(0, port.rxBurst(0, burst, 8));
            assertEquals(1, port.stats().ierrors, "a frame longer than one mbuf is dropped with linear-buffer=1");
            assertEquals(1, fe.txCompleted(), "and its chain returned");
        }
    }

    @Test
    void extBufferCarriesALongFrameInOneSegment() {
        init(",linear-buffer=1,ext-buffer=1");
        try (TestFrontEnd fe = frontEnd(false).handshake(ALL)) {
            assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
            byte[] f = transmitLong(fe);
            Mbuf[] burst = new Mbuf[8];
            long end = System.nanoTime() + 5_000_000_000L;
            int n = 0;
            while (n == 0 && System.nanoTime() < end) n = port.rxBurst(0, burst, 8);
            assertEquals(1, n);
            assertEquals(1, burst[0].nbSegs(), "one segment: an external buffer");
            assertTrue(burst[0].hasExtbuf());
            assertArrayEquals(f, burst[0].data().toArray(ValueLayout.JAVA_BYTE));
            burst[0].free();
        }
    }

    @Test
    void sendRarpDeliversOneAnnouncement() {
        init("");
        try (TestFrontEnd fe = frontEnd(false).handshake(ALL)) {
            assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
            fe.request(org.jpdk.virtio.VhostUserMessage.SEND_RARP);
            fe.msg.u64(0L);
            byte[] mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
            java.lang.foreign.MemorySegment.copy(mac, 0, fe.msg.payload(), ValueLayout.JAVA_BYTE, 0, 6);
            fe.ack();
            List<byte[]> got = receive(1);
            assertEquals(1, got.size());
            byte[] f = got.get(0);
            assertEquals(60, f.length);
            assertArrayEquals(mac, java.util.Arrays.copyOfRange(f, 6, 12), "from the migrated guest's address");
            assertEquals((byte) 0x80, f[12]);
            assertEquals((byte) 0x35, f[13]);
            assertEquals(0, receive(1).size(), "one frame only");
        }
    }

    @Test
    void linkFollowsTheFrontEndWhichMayLeaveAndComeBack() {
        init("");
        for (int round = 0; round < 3; round++) {
            try (TestFrontEnd fe = frontEnd(round == 1).handshake(ALL)) {
                assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up(), "round " + round);
                assertTrue(fe.transmit(frame(100, round)));
                assertArrayEquals(frame(100, round), receive(1).get(0));
            }
            long end = System.nanoTime() + 5_000_000_000L;
            while (port.link().up() && System.nanoTime() < end) TestFrontEnd.sleep(10);
            assertFalse(port.link().up(), "link down when the front end left");
        }
        assertEquals(3, port.xstat("vhost_connects"));
        assertEquals(3, port.xstat("vhost_disconnects"));
        assertEquals(0, port.xstat("vhost_protocol_errors"));
    }

    @Test
    void getVringBaseStopsTheRingAndReportsWhereItWas() {
        init("");
        try (TestFrontEnd fe = frontEnd(false).handshake(ALL)) {
            assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
            for (int i = 0; i < 5; i++) assertTrue(fe.transmit(frame(80, i)));
            assertEquals(5, receive(5).size());
            fe.request(org.jpdk.virtio.VhostUserMessage.GET_VRING_BASE);
            fe.msg.state(1, 0);
            fe.send();
            assertEquals(5, fe.reply().u32(org.jpdk.virtio.VhostUserMessage.STATE_NUM), "the next avail index of vring 1");
            long end = System.nanoTime() + 5_000_000_000L;
            while (port.link().up() && System.nanoTime() < end) TestFrontEnd.sleep(10);
            assertFalse(port.link().up(), "a stopped vring of the first pair takes the link down");
            assertTrue(fe.transmit(frame(80, 9)));
            assertEquals(0, receive(1).size(), "a stopped ring is not polled");
            // a new kick restarts it, from the base it reported
            fe.request(org.jpdk.virtio.VhostUserMessage.SET_VRING_KICK);
            fe.msg.u64(1L).addFd(fe.kick[1].fd());
            fe.send();
            assertArrayEquals(frame(80, 9), receive(1).get(0));
        }
    }

    @Test
    void clientModeConnectsToAListeningFrontEnd() throws Exception {
        Path sock = dir.resolve("fe.sock");
        try (org.jpdk.sys.UnixSocket listener = org.jpdk.sys.UnixSocket.listen(sock.toString(), false, 1, org.jpdk.sys.Libc.SOCK_STREAM)) {
            eal = Eal.init("-l", "0-1", "--no-huge", "-m", "256", "--vdev", "net_vhost0,iface=" + sock + ",client=1");
            pool = Mbuf.createPool("vhost_test", 4095, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
            port = EthDev.get(0);
            port.configure(1, 1, PortConf.defaults());
            port.rxQueueSetup(0, 0, pool);
            port.txQueueSetup(0, 0);
            port.start();
            org.jpdk.sys.UnixSocket s = null;
            for (int i = 0; i < 300 && s == null; i++) {
                s = listener.accept();
                if (s == null) Thread.sleep(10);
            }
            assertNotNull(s, "the back end connected");
            var ch = new org.jpdk.virtio.VhostUserChannel(s, 2000);
            var m = new org.jpdk.virtio.VhostUserMessage(java.lang.foreign.Arena.ofAuto());
            ch.send(m.set(org.jpdk.virtio.VhostUserMessage.GET_QUEUE_NUM, org.jpdk.virtio.VhostUserMessage.VERSION));
            for (int i = 0; i < 100 && !ch.receive(m); i++) ch.await(50);
            assertEquals(1, m.u64());
            ch.close();
        }
    }

    @Test
    void devargsAreCheckedAsDpdks() {
        Path sock = dir.resolve("x.sock");
        String base = "net_vhost0,iface=" + sock;
        for (String bad : List.of("net_vhost0", base + ",queues=0", base + ",client=2", base + ",iommu-support=1",
                base + ",postcopy-support=1", base + ",bogus=1", "net_vhost0,iface=/nonexistent-dir/x.sock")) {
            EalArgumentException e = assertThrows(EalArgumentException.class,
                    () -> Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", bad), bad);
            assertFalse(e.getMessage().isBlank());
            if (bad.contains("iommu")) assertTrue(e.getMessage().contains("IOTLB"), e.getMessage());
        }
    }
}
