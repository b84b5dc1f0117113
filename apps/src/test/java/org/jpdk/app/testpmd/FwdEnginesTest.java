package org.jpdk.app.testpmd;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.ring.Ring;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each engine on a stream from port 0 to port 1, both net_ring ports over named rings: the test
 * puts crafted packets on port 0's receive ring ("in"), runs {@code forward} on its own thread
 * and reads what port 1 transmitted from its transmit ring ("out"), byte by byte.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FwdEnginesTest {
    static final long PEER1 = 0x0200_0000_0001L; // FwdConfig's default peer of port 1
    static final long A = 0x0a0b_0c0d_0e0fL, B = 0x1112_1314_1516L;

    static final AtomicInteger SEQ = new AtomicInteger(); // a failed test may leave its pool behind

    Eal eal;
    Mempool<Mbuf> pool;
    EthDev p0, p1;
    Ring<Mbuf> in, out;
    FwdConfig cfg;
    FwdStream fs;

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "128",
                "--vdev", "net_ring0,rx_ring=fwd_in,tx_ring=fwd_back",
                "--vdev", "net_ring1,rx_ring=fwd_back,tx_ring=fwd_out");
        pool = Mbuf.createPool("fwd_test" + SEQ.incrementAndGet(), 2047, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        p0 = ready(0);
        p1 = ready(1);
        in = Ring.lookup("fwd_in");
        out = Ring.lookup("fwd_out");
        cfg = new FwdConfig();
        cfg.txPool = pool;
        fs = new FwdStream(p0, 0, p1, 0, cfg);
    }

    @AfterEach
    void cleanup() {
        try {
            drain(out);
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

    private static void drain(Ring<Mbuf> r) {
        if (r == null) return;
        Mbuf[] a = new Mbuf[64];
        int k;
        while ((k = r.dequeueBurst(a, 0, a.length)) > 0) Mbuf.freeBulk(a, 0, k);
    }

    // ---------------------------------------------------------------- packets

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    Mbuf packet(byte[] bytes) {
        Mbuf m = Mbuf.alloc(pool);
        int off = m.appendOffset(bytes.length);
        MemorySegment.copy(bytes, 0, m.buffer(), ValueLayout.JAVA_BYTE, m.dataOff() + off, bytes.length);
        return m;
    }

    static byte[] bytes(Mbuf m) {
        byte[] b = new byte[m.pktLen()];
        int at = 0;
        for (Mbuf s = m; s != null; s = s.next()) {
            MemorySegment.copy(s.buffer(), ValueLayout.JAVA_BYTE, s.dataOff(), b, at, s.dataLen());
            at += s.dataLen();
        }
        return b;
    }

    static String mac(long v) {
        return String.format("%012x", v);
    }

    static int u16(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | b[off + 1] & 0xff;
    }

    static int u32(byte[] b, int off) {
        return u16(b, off) << 16 | u16(b, off + 2);
    }

    static long mac(byte[] b, int off) {
        return (long) u16(b, off) << 32 | u32(b, off + 2) & 0xffff_ffffL;
    }

    /** The Internet checksum the obvious way: complemented 16-bit big-endian word sum. */
    static int inetCksum(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i < len; i += 2) sum += (b[off + i] & 0xff) << 8 | (i + 1 < len ? b[off + i + 1] & 0xff : 0);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
        return ~(int) sum & 0xffff;
    }

    /** UDP or TCP checksum over IPv4, computed independently; 0 when the packet's field is right. */
    static int l4CksumCheck4(byte[] b, int l3) {
        int hl = (b[l3] & 0x0f) * 4, total = u16(b, l3 + 2), l4len = total - hl;
        byte[] ph = new byte[12 + l4len];
        System.arraycopy(b, l3 + 12, ph, 0, 8);
        ph[9] = b[l3 + 9];
        ph[10] = (byte) (l4len >> 8);
        ph[11] = (byte) l4len;
        System.arraycopy(b, l3 + hl, ph, 12, l4len);
        return inetCksum(ph, 0, ph.length);
    }

    static String ether(long dst, long src, int type) {
        return mac(dst) + mac(src) + String.format("%04x", type);
    }

    /** IPv4 (checksum field as given) + UDP from 10.0.0.1:1234 to 10.0.0.2:53 with a 6-byte payload. */
    static String ipv4Udp(int ipCksum, int udpCksum) {
        return "4500 0022 0001 0000 4011" + String.format("%04x", ipCksum) + "0a00 0001 0a00 0002"
                + "04d2 0035 000e" + String.format("%04x", udpCksum) + "6869 2074 6865";
    }

    /** Runs the engine until it has nothing left to receive. */
    void run(FwdEngine e) {
        for (int i = 0; i < 4; i++) e.forward(fs);
    }

    void inject(Mbuf... ms) {
        assertEquals(ms.length, in.enqueueBurst(ms, 0, ms.length));
    }

    List<Mbuf> collect() {
        Mbuf[] a = new Mbuf[512];
        int k = out.dequeueBurst(a, 0, a.length);
        List<Mbuf> l = new ArrayList<>();
        for (int i = 0; i < k; i++) l.add(a[i]);
        return l;
    }

    static void free(List<Mbuf> l) {
        for (Mbuf m : l) m.free();
    }

    FwdEngine engine(String name) {
        FwdEngine e = FwdEngines.byName(name);
        assertNotNull(e, name);
        e.portBegin(p1, cfg);
        e.streamBegin(fs);
        return e;
    }

    /** Zero bytes allocated per forward() of a full burst after warm-up; {@code refill} puts the burst back on "in". */
    void assertNoAllocation(FwdEngine e, Runnable refill) {
        AllocationMeter.assertNoAllocation(e.name(), 3_000, 2_000, () -> {
            refill.run();
            e.forward(fs);
            drainQuiet();
        });
    }

    private final Mbuf[] sink = new Mbuf[FwdConfig.MAX_PKT_BURST];

    void drainQuiet() {
        int k;
        while ((k = out.dequeueBurst(sink, 0, sink.length)) > 0) Mbuf.freeBulk(sink, 0, k);
    }

    /** A refill that puts {@code n} copies of {@code bytes} on "in" without allocating (the burst array is reused). */
    Runnable refillWith(byte[] bytes, int n) {
        Mbuf[] burst = new Mbuf[n];
        MemorySegment src = MemorySegment.ofArray(bytes.clone());
        return () -> {
            if (!Mbuf.allocBulk(pool, burst, 0, n)) throw new AssertionError("pool empty");
            for (Mbuf m : burst) {
                int off = m.appendOffset(bytes.length);
                MemorySegment.copy(src, 0, m.buffer(), m.dataOff() + off, bytes.length);
            }
            if (in.enqueueBurst(burst, 0, n) != n) throw new AssertionError("ring full");
        };
    }

    // ---------------------------------------------------------------- registry

    @Test
    void enginesAreRegisteredInTestpmdOrder() {
        assertEquals(List.of("io", "mac", "macswap", "rxonly", "txonly", "flowgen", "csum", "5tswap", "icmpecho"), FwdEngines.names());
        for (String n : FwdEngines.names()) assertEquals(n, FwdEngines.byName(n).name());
        assertNull(FwdEngines.byName("nope"));
    }

    // ---------------------------------------------------------------- mac, macswap, rxonly

    @Test
    void macSetsOwnAndPeerAddress() {
        FwdEngine e = engine("mac");
        inject(packet(hex(ether(A, B, 0x0800) + ipv4Udp(0, 0))), packet(hex("0102 0304 05")));
        run(e);
        List<Mbuf> got = collect();
        assertEquals(2, got.size());
        byte[] b = bytes(got.get(0));
        assertEquals(mac(PEER1), mac(mac(b, 0)));
        assertEquals(mac(p1.macAddr().value()), mac(mac(b, 6)));
        assertEquals(0x0800, u16(b, 12));
        assertArrayEquals(hex("0102 0304 05"), bytes(got.get(1)), "too short to address: untouched");
        assertEquals(2, fs.rxPackets());
        assertEquals(2, fs.txPackets());
        free(got);

        cfg.peerAddrs[1] = MacAddr.parse("aa:bb:cc:dd:ee:ff");
        e.streamBegin(fs);
        inject(packet(hex(ether(A, B, 0x0800) + ipv4Udp(0, 0))));
        run(e);
        got = collect();
        assertEquals(0xaabbccddeeffL, mac(bytes(got.get(0)), 0));
        free(got);
        assertNoAllocation(e, refillWith(hex(ether(A, B, 0x0800) + ipv4Udp(0, 0)), 32));
    }

    @Test
    void macswapSwaps() {
        FwdEngine e = engine("macswap");
        inject(packet(hex(ether(A, B, 0x86dd) + "6000")), packet(hex("0102 0304 05")));
        run(e);
        List<Mbuf> got = collect();
        assertArrayEquals(hex(ether(B, A, 0x86dd) + "6000"), bytes(got.get(0)));
        assertArrayEquals(hex("0102 0304 05"), bytes(got.get(1)));
        free(got);
        assertNoAllocation(e, refillWith(hex(ether(A, B, 0x0800) + ipv4Udp(0, 0)), 32));
    }

    @Test
    void rxonlyReceivesAndFrees() {
        FwdEngine e = engine("rxonly");
        int before = pool.availCount();
        inject(packet(hex(ether(A, B, 0x0800))), packet(hex("01")));
        run(e);
        assertEquals(0, collect().size());
        assertEquals(2, fs.rxPackets());
        assertEquals(0, fs.txPackets());
        assertEquals(before, pool.availCount(), "freed");
        assertNoAllocation(e, refillWith(hex(ether(A, B, 0x0800) + ipv4Udp(0, 0)), 32));
    }

    // ---------------------------------------------------------------- 5tswap

    @Test
    void fiveTupleSwapIpv4UdpWithVlanKeepsChecksums() {
        FwdEngine e = engine("5tswap");
        byte[] pkt = hex(ether(A, B, 0x8100) + "0064 0800" + ipv4Udp(0, 0));
        fixIpv4(pkt, 18);
        inject(packet(pkt));
        run(e);
        List<Mbuf> got = collect();
        Mbuf m = got.get(0);
        byte[] b = bytes(m);
        assertEquals(B, mac(b, 0));
        assertEquals(A, mac(b, 6));
        assertEquals(0x0a00_0002, u32(b, 18 + 12));
        assertEquals(0x0a00_0001, u32(b, 18 + 16));
        assertEquals(53, u16(b, 38));
        assertEquals(1234, u16(b, 40));
        assertEquals(0, inetCksum(b, 18, 20), "IPv4 checksum still valid");
        assertEquals(0, l4CksumCheck4(b, 18), "UDP checksum still valid");
        assertEquals(18, m.l2Len);
        assertEquals(20, m.l3Len);
        assertEquals(8, m.l4Len);
        free(got);
        assertNoAllocation(e, refillWith(pkt, 32));
    }

    /** Sets the IPv4 header checksum and the UDP/TCP checksum of a test packet, independently of the code under test. */
    static void fixIpv4(byte[] b, int l3) {
        b[l3 + 10] = b[l3 + 11] = 0;
        int c = inetCksum(b, l3, (b[l3] & 0x0f) * 4);
        b[l3 + 10] = (byte) (c >> 8);
        b[l3 + 11] = (byte) c;
        int hl = (b[l3] & 0x0f) * 4, proto = b[l3 + 9];
        int field = l3 + hl + (proto == 17 ? 6 : proto == 6 ? 16 : -1000);
        if (field < 0) return;
        b[field] = b[field + 1] = 0;
        c = l4CksumCheck4(b, l3);
        if (c == 0 && proto == 17) c = 0xffff;
        b[field] = (byte) (c >> 8);
        b[field + 1] = (byte) c;
    }

    @Test
    void fiveTupleSwapIpv6Tcp() {
        FwdEngine e = engine("5tswap");
        String src = "2001 0db8 0000 0000 0000 0000 0000 0001", dst = "2001 0db8 0000 0000 0000 0000 0000 0002";
        String tcp = "c000 0050 0000 0001 0000 0000 6018 ffff 0000 0000 0204 05b4";
        inject(packet(hex(ether(A, B, 0x86dd) + "6000 0000 0018 0640" + src + dst + tcp)));
        run(e);
        List<Mbuf> got = collect();
        assertArrayEquals(hex(ether(B, A, 0x86dd) + "6000 0000 0018 0640" + dst + src
                + "0050 c000 0000 0001 0000 0000 6018 ffff 0000 0000 0204 05b4"), bytes(got.get(0)));
        assertEquals(24, got.get(0).l4Len);
        free(got);
    }

    @Test
    void fiveTupleSwapShortAndOtherPacketsNeverThrow() {
        FwdEngine e = engine("5tswap");
        byte[] arp = hex(ether(A, B, 0x0806) + "0001 0800 0604 0001");
        byte[] ten = hex("0102 0304 0506 0708 090a");
        byte[] cutIp = hex(ether(A, B, 0x0800) + "4500 0022 0001");
        byte[] badIhl = hex(ether(A, B, 0x0800) + "4100 0022 0001 0000 4011 0000 0a00 0001 0a00 0002 04d2 0035");
        byte[] cutUdp = hex(ether(A, B, 0x0800) + "4500 0022 0001 0000 4011 0000 0a00 0001 0a00 0002 04d2");
        byte[] cutVlan = hex(ether(A, B, 0x8100) + "00");
        inject(packet(arp), packet(ten), packet(cutIp), packet(badIhl), packet(cutUdp), packet(cutVlan), packet(hex("01")));
        run(e);
        List<Mbuf> got = collect();
        assertEquals(7, got.size());
        assertArrayEquals(hex(ether(B, A, 0x0806) + "0001 0800 0604 0001"), bytes(got.get(0)), "L2 only: MACs swapped");
        assertArrayEquals(ten, bytes(got.get(1)), "shorter than two addresses: untouched");
        assertArrayEquals(hex(ether(B, A, 0x0800) + "4500 0022 0001"), bytes(got.get(2)));
        assertArrayEquals(hex(ether(B, A, 0x0800) + "4100 0022 0001 0000 4011 0000 0a00 0001 0a00 0002 04d2 0035"), bytes(got.get(3)));
        assertArrayEquals(hex(ether(B, A, 0x0800) + "4500 0022 0001 0000 4011 0000 0a00 0002 0a00 0001 04d2"), bytes(got.get(4)),
                "addresses swapped, ports cut off");
        assertArrayEquals(hex(ether(B, A, 0x8100) + "00"), bytes(got.get(5)));
        assertArrayEquals(hex("01"), bytes(got.get(6)));
        free(got);
    }

    // ---------------------------------------------------------------- txonly, flowgen

    /** Checks the Ether/IPv4/UDP headers of a generated packet of {@code len} bytes to {@code ipDst}. */
    void assertGenerated(byte[] b, int len, int ipDst) {
        assertEquals(len, b.length);
        assertEquals(mac(PEER1), mac(mac(b, 0)));
        assertEquals(mac(p1.macAddr().value()), mac(mac(b, 6)));
        assertEquals(0x0800, u16(b, 12));
        assertEquals(0x45, b[14]);
        assertEquals(len - 14, u16(b, 16), "IP total length");
        assertEquals(64, b[14 + 8], "TTL");
        assertEquals(17, b[14 + 9]);
        assertEquals(0xC612_0001, u32(b, 26));
        assertEquals(ipDst, u32(b, 30));
        assertEquals(0, inetCksum(b, 14, 20), "IPv4 header checksum valid");
        assertEquals(9, u16(b, 34));
        assertEquals(9, u16(b, 36));
        assertEquals(len - 34, u16(b, 38), "UDP length");
        assertEquals(0, u16(b, 40), "no UDP checksum");
    }

    @Test
    void txonlySendsValidUdpPackets() {
        FwdEngine e = engine("txonly");
        inject(packet(hex(ether(A, B, 0x0800))));
        e.forward(fs);
        assertEquals(0, fs.rxPackets(), "txonly receives nothing");
        drain(in);
        List<Mbuf> got = collect();
        assertEquals(32, got.size());
        assertEquals(32, fs.txPackets());
        for (Mbuf m : got) {
            assertEquals(1, m.nbSegs());
            assertGenerated(bytes(m), 64, 0xC612_0002);
        }
        free(got);
        assertNoAllocation(e, () -> { });
    }

    @Test
    void txonlyBuildsSegmentChainsEvenWhenTheHeadersSpanThem() {
        for (int[] segs : new int[][] {{60, 40}, {20, 5, 75}}) {
            cfg.txPktSegLengths = segs;
            cfg.burst = 4;
            FwdEngine e = engine("txonly");
            e.forward(fs);
            List<Mbuf> got = collect();
            assertEquals(4, got.size());
            for (Mbuf m : got) {
                assertEquals(segs.length, m.nbSegs());
                assertEquals(100, m.pktLen());
                int i = 0;
                for (Mbuf s = m; s != null; s = s.next()) assertEquals(segs[i++], s.dataLen());
                assertGenerated(bytes(m), 100, 0xC612_0002);
            }
            free(got);
        }
        assertNoAllocation(FwdEngines.byName("txonly"), () -> { });
    }

    @Test
    void txonlyRewritesWhateverARecycledBufferChanged() {
        // a pool of one burst, so the second burst reuses exactly the buffers of the first
        Mempool<Mbuf> one = Mbuf.createPool("fwd_one" + SEQ.incrementAndGet(), 32, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        List<Mbuf> got = List.of();
        try {
            cfg.txPool = one;
            FwdEngine e = engine("txonly");
            e.forward(fs);
            got = collect();
            assertEquals(32, got.size());
            // one byte changed in each word the template stores, in every other packet; the rest untouched
            int[] at = {0, 7, 8, 15, 16, 23, 24, 31, 32, 39, 40, 41};
            for (int i = 0; i < at.length; i++) {
                Mbuf m = got.get(2 * i);
                m.writeByte(at[i], (byte) (m.readByte(at[i]) ^ 0x5a));
                m.l2Len = m.l3Len = 0;
            }
            free(got);
            e.forward(fs);
            got = collect();
            assertEquals(32, got.size());
            for (Mbuf m : got) {
                assertGenerated(bytes(m), 64, 0xC612_0002);
                assertEquals(14, m.l2Len);
                assertEquals(20, m.l3Len);
            }
        } finally {
            free(got);
            drainQuiet();
            assertEquals(0, one.inUseCount());
            one.close();
        }
    }

    @Test
    void txonlyStopsQuietlyWhenThePoolIsEmpty() {
        Mempool<Mbuf> tiny = Mbuf.createPool("fwd_tiny" + SEQ.incrementAndGet(), 10, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        List<Mbuf> got = List.of();
        try {
            cfg.txPool = tiny;
            FwdEngine e = engine("txonly");
            e.forward(fs);
            assertEquals(10, fs.txPackets(), "what the pool had");
            e.forward(fs);
            assertEquals(10, fs.txPackets(), "nothing made, nothing counted");
            assertEquals(0, fs.fwdDropped());
            got = collect();
            assertEquals(10, got.size());
            free(got.subList(0, 5));
            got = got.subList(5, 10);
            // 5 free mbufs: two packets of two segments, then a head that finds no tail and goes back
            cfg.txPktSegLengths = new int[] {50, 50};
            e.streamBegin(fs);
            e.forward(fs);
            assertEquals(12, fs.txPackets());
            assertEquals(1, tiny.availCount());
        } finally {
            free(got);
            drainQuiet();
            assertEquals(0, tiny.inUseCount());
            tiny.close();
        }
    }

    @Test
    void flowgenStepsTheDestinationThroughTheFlows() {
        cfg.flowgenFlows = 5;
        cfg.burst = 8;
        FwdEngine e = engine("flowgen");
        inject(packet(hex(ether(A, B, 0x0800))), packet(hex("01")), packet(hex("02")));
        int before = pool.inUseCount();
        e.forward(fs);
        e.forward(fs);
        assertEquals(3, fs.rxPackets());
        assertEquals(16, fs.txPackets());
        List<Mbuf> got = collect();
        assertEquals(16, got.size());
        assertEquals(before - 3 + 16, pool.inUseCount(), "received packets freed");
        for (int i = 0; i < 16; i++) assertGenerated(bytes(got.get(i)), 60, 0xC612_0002 + i % 5);
        free(got);
        assertNoAllocation(e, () -> { });
    }

    // ---------------------------------------------------------------- csum

    @Test
    void csumCountsAndFixesBadChecksums() {
        FwdEngine e = engine("csum");
        byte[] good = hex(ether(A, B, 0x0800) + ipv4Udp(0, 0));
        fixIpv4(good, 14);
        byte[] badBoth = good.clone();
        badBoth[14 + 10] ^= 0x11; // IPv4 header checksum
        badBoth[34 + 6] ^= 0x22;  // UDP checksum
        byte[] noUdpCksum = hex(ether(A, B, 0x0800) + ipv4Udp(0x1234, 0)); // bad IP checksum, UDP "none"
        byte[] tcpVlan = hex(ether(A, B, 0x8100) + "0007 0800" + "4500 002c 0002 0000 4006 0000 0a00 0001 0a00 0002"
                + "c000 0050 0000 0001 0000 0000 5018 ffff beef 0000 6869 2074");
        byte[] ten = hex("0102 0304 0506 0708 090a");
        byte[] lying = hex(ether(A, B, 0x0800) + "4500 0400 0001 0000 4011 0000 0a00 0001 0a00 0002 04d2 0035 000e 1111");
        inject(packet(good), packet(badBoth), packet(noUdpCksum), packet(tcpVlan), packet(ten), packet(lying));
        run(e);
        List<Mbuf> got = collect();
        assertEquals(6, got.size());
        assertEquals(4, fs.rxBadIpCsum(), "badBoth, noUdpCksum, tcpVlan and lying (checksum 0)");
        assertEquals(2, fs.rxBadL4Csum(), "badBoth, tcpVlan");
        for (int i : new int[] {0, 1, 2}) {
            byte[] b = bytes(got.get(i));
            assertEquals(PEER1, mac(b, 0));
            assertEquals(p1.macAddr().value(), mac(b, 6));
            assertEquals(0, inetCksum(b, 14, 20), "IPv4 checksum fixed, packet " + i);
        }
        assertEquals(0, l4CksumCheck4(bytes(got.get(0)), 14));
        assertEquals(0, l4CksumCheck4(bytes(got.get(1)), 14), "UDP checksum fixed");
        byte[] expectGood = good.clone();
        System.arraycopy(bytes(got.get(0)), 0, expectGood, 0, 12);
        assertArrayEquals(expectGood, bytes(got.get(0)), "a good packet keeps its checksums");
        assertArrayEquals(bytes(got.get(0)), bytes(got.get(1)));
        assertEquals(0, u16(bytes(got.get(2)), 34 + 6), "UDP checksum 0 stays 0");
        byte[] t = bytes(got.get(3));
        assertEquals(0, inetCksum(t, 18, 20));
        assertEquals(0, l4CksumCheck4(t, 18), "TCP checksum fixed behind a VLAN tag");
        assertEquals(18, got.get(3).l2Len);
        assertEquals(20, got.get(3).l4Len);
        assertArrayEquals(ten, bytes(got.get(4)), "too short to address: untouched");
        byte[] l = bytes(got.get(5));
        assertEquals(0, inetCksum(l, 14, 20), "header fixed even when the total length lies");
        assertEquals(0x1111, u16(l, 40), "L4 left alone: its length is beyond the packet");
        free(got);
        assertNoAllocation(e, refillWith(badBoth, 32));
    }

    @Test
    void csumIpv6Udp() {
        FwdEngine e = engine("csum");
        String src = "2001 0db8 0000 0000 0000 0000 0000 0001", dst = "2001 0db8 0000 0000 0000 0000 0000 0002";
        byte[] p = hex(ether(A, B, 0x86dd) + "6000 0000 000b 1140" + src + dst + "04d2 0035 000b 4321 6869 21");
        inject(packet(p));
        run(e);
        List<Mbuf> got = collect();
        byte[] b = bytes(got.get(0));
        byte[] ph = new byte[40 + 11];
        System.arraycopy(b, 22, ph, 0, 32);
        ph[35] = 11;
        ph[39] = 17;
        System.arraycopy(b, 54, ph, 40, 11);
        assertEquals(0, inetCksum(ph, 0, ph.length));
        assertEquals(1, fs.rxBadL4Csum());
        assertEquals(0, fs.rxBadIpCsum());
        free(got);
    }

    // ---------------------------------------------------------------- icmpecho

    static final String ECHO_REQ_IP = "4500 0024 1234 0000 4001 0000 0a00 0001 0a00 0002";
    static final String ECHO_REQ_ICMP = "0800 0000 abcd 0001 6162 6364 6566 6768";

    @Test
    void icmpechoAnswersAnEchoRequest() {
        FwdEngine e = engine("icmpecho");
        byte[] req = hex(ether(A, B, 0x0800) + ECHO_REQ_IP + ECHO_REQ_ICMP);
        fixIpv4(req, 14);
        int c = inetCksum(req, 34, 16);
        req[36] = (byte) (c >> 8);
        req[37] = (byte) c;
        inject(packet(req));
        run(e);
        List<Mbuf> got = collect();
        assertEquals(1, got.size());
        byte[] b = bytes(got.get(0));
        assertEquals(B, mac(b, 0));
        assertEquals(A, mac(b, 6));
        assertEquals(0x0a00_0002, u32(b, 26));
        assertEquals(0x0a00_0001, u32(b, 30));
        assertEquals(0, inetCksum(b, 14, 20), "IPv4 checksum valid");
        assertEquals(0, b[34], "echo reply");
        assertEquals(0, inetCksum(b, 34, 16), "ICMP checksum valid");
        assertArrayEquals(java.util.Arrays.copyOfRange(req, 38, 50), java.util.Arrays.copyOfRange(b, 38, 50), "id, seq and data kept");
        assertEquals(0, fs.fwdDropped());
        free(got);
        assertNoAllocation(e, refillWith(req, 32));
    }

    @Test
    void icmpechoAnswersAMulticastEchoFromAUnicastAddress() {
        FwdEngine e = engine("icmpecho");
        byte[] req = hex(ether(A, B, 0x8100) + "0005 0800" + ECHO_REQ_IP.replace("0a00 0002", "e000 0001") + ECHO_REQ_ICMP);
        fixIpv4(req, 18);
        int c = inetCksum(req, 38, 16);
        req[40] = (byte) (c >> 8);
        req[41] = (byte) c;
        inject(packet(req));
        run(e);
        List<Mbuf> got = collect();
        byte[] b = bytes(got.get(0));
        assertEquals(0x0a00_0002, u32(b, 18 + 12), "10.0.0.1 asked: answer from 10.0.0.2");
        assertEquals(0x0a00_0001, u32(b, 18 + 16));
        assertEquals(0, inetCksum(b, 18, 20));
        assertEquals(0, inetCksum(b, 38, 16));
        free(got);
    }

    @Test
    void icmpechoAnswersArpRequests() {
        FwdEngine e = engine("icmpecho");
        long own = p1.macAddr().value();
        byte[] req = hex(ether(0xffff_ffff_ffffL, A, 0x0806) + "0001 0800 0604 0001" + mac(A) + "0a00 0001" + "0000 0000 0000" + "0a00 0063");
        inject(packet(req));
        run(e);
        List<Mbuf> got = collect();
        assertArrayEquals(hex(ether(A, own, 0x0806) + "0001 0800 0604 0002" + mac(own) + "0a00 0063" + mac(A) + "0a00 0001"),
                bytes(got.get(0)));
        free(got);
    }

    @Test
    void icmpechoDropsEverythingElseWithoutThrowing() {
        FwdEngine e = engine("icmpecho");
        byte[] reply = hex(ether(A, B, 0x0800) + ECHO_REQ_IP + ECHO_REQ_ICMP.replace("0800 0000 abcd", "0000 0000 abcd"));
        byte[] udp = hex(ether(A, B, 0x0800) + ipv4Udp(0, 0));
        byte[] arpReply = hex(ether(A, B, 0x0806) + "0001 0800 0604 0002" + mac(A) + "0a00 0001" + mac(B) + "0a00 0063");
        byte[] cutArp = hex(ether(A, B, 0x0806) + "0001 0800 0604 0001");
        byte[] cutIcmp = hex(ether(A, B, 0x0800) + ECHO_REQ_IP + "0800 00");
        byte[] v6 = hex(ether(A, B, 0x86dd) + "6000");
        byte[] ten = hex("0102 0304 0506 0708 090a");
        byte[] cutVlan = hex(ether(A, B, 0x8100) + "00");
        inject(packet(reply), packet(udp), packet(arpReply), packet(cutArp), packet(cutIcmp), packet(v6), packet(ten), packet(cutVlan));
        int before = pool.inUseCount();
        run(e);
        assertEquals(0, collect().size());
        assertEquals(8, fs.fwdDropped());
        assertEquals(0, fs.txPackets());
        assertEquals(before - 8, pool.inUseCount(), "all freed");
    }
}
