package org.jpdk.net;

import static org.jpdk.net.PacketType.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.Random;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** PacketType.parse on hand-built packets of every kind, on truncated and random ones, and its allocation. */
class PacketTypeTest {
    private Mempool<Mbuf> pool;

    @BeforeEach
    void pool() {
        pool = Mbuf.createPool("ptype_test", 255, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
    }

    @AfterEach
    void close() {
        pool.close();
    }

    /** Parses {@code bytes}, checks type and the five lengths (l2, l3, l4, outer l2, outer l3), frees. */
    private void expect(byte[] bytes, int ptype, int l2, int l3, int l4, int outerL2, int outerL3) {
        Mbuf m = Pkts.mbuf(pool, bytes);
        int got = PacketType.parse(m);
        assertEquals(PacketType.name(ptype), PacketType.name(got));
        assertEquals(got, m.packetType);
        assertEquals(l2, m.l2Len, "l2Len");
        assertEquals(l3, m.l3Len, "l3Len");
        assertEquals(l4, m.l4Len, "l4Len");
        assertEquals(outerL2, m.outerL2Len, "outerL2Len");
        assertEquals(outerL3, m.outerL3Len, "outerL3Len");
        m.free();
    }

    @Test
    void valuesAreDpdks() {
        // spot checks against rte_mbuf_ptype.h (DPDK 22.11)
        assertEquals(0x7, L2_ETHER_QINQ);
        assertEquals(0xc0, L3_IPV6_EXT);
        assertEquals(0x600, L4_NONFRAG);
        assertEquals(0x3000, TUNNEL_VXLAN);
        assertEquals(0x500000, INNER_L3_IPV6_EXT);
        assertEquals(0x6000000, INNER_L4_NONFRAG);
        assertEquals("L2_ETHER L3_IPV4 L4_UDP", PacketType.name(L2_ETHER | L3_IPV4 | L4_UDP));
        assertEquals("L2_ETHER L3_IPV4 L4_UDP TUNNEL_VXLAN INNER_L2_ETHER INNER_L3_IPV6_EXT INNER_L4_TCP",
                PacketType.name(L2_ETHER | L3_IPV4 | L4_UDP | TUNNEL_VXLAN | INNER_L2_ETHER | INNER_L3_IPV6_EXT | INNER_L4_TCP));
        assertEquals("UNKNOWN", PacketType.name(0));
    }

    @Test
    void plainPackets() {
        expect(Pkts.udp4(), L2_ETHER | L3_IPV4 | L4_UDP, 14, 20, 8, 0, 0);
        expect(Pkts.vlanTcp4Options(), L2_ETHER_VLAN | L3_IPV4_EXT | L4_TCP, 18, 24, 24, 0, 0);
        expect(Pkts.icmp4Echo(), L2_ETHER | L3_IPV4 | L4_ICMP, 14, 20, 0, 0, 0);
        expect(Pkts.icmp6Echo(), L2_ETHER | L3_IPV6 | L4_ICMP, 14, 40, 0, 0, 0);
        expect(Pkts.arpRequest(), L2_ETHER_ARP, 14, 0, 0, 0, 0);
        expect(Pkts.ipv4FragUdp(), L2_ETHER | L3_IPV4 | L4_FRAG, 14, 20, 0, 0, 0);
        expect(Pkts.gre4(), L2_ETHER | L3_IPV4 | L4_NONFRAG, 14, 20, 0, 0, 0);
        byte[] sctp = Pkts.ether(Ether.TYPE_IPV4, Pkts.ipv4(Pkts.A, Pkts.Z, Ipv4.PROTO_SCTP, 0, new byte[0], new byte[16]));
        expect(sctp, L2_ETHER | L3_IPV4 | L4_SCTP, 14, 20, 12, 0, 0);
        byte[] lldp = Pkts.ether(Ether.TYPE_LLDP, new byte[30]);
        expect(lldp, L2_ETHER_LLDP, 14, 0, 0, 0, 0);
    }

    @Test
    void ipv6ExtensionHeaders() {
        expect(Pkts.qinqIpv6ExtUdp(), L2_ETHER_QINQ | L3_IPV6_EXT | L4_UDP, 22, 40 + 8 + 16, 8, 0, 0);
        expect(Pkts.ipv6RoutingAhTcp(), L2_ETHER | L3_IPV6_EXT | L4_TCP, 14, 40 + 8 + 16, 20, 0, 0);
        expect(Pkts.ipv6FragUdp(), L2_ETHER | L3_IPV6_EXT | L4_FRAG, 14, 48, 0, 0, 0);

        // a chain longer than the walk allows: L3 stands, nothing after it
        int n = Ipv6.MAX_EXT_HDRS + 1;
        Pkts.B exts = Pkts.b();
        for (int i = 0; i < n; i++) exts.bytes(Pkts.ext8(i == n - 1 ? 17 : 60, 8));
        byte[] longChain = Pkts.ether(Ether.TYPE_IPV6, Pkts.ipv6(Pkts.A6, Pkts.Z6, 60, exts.get(), 17, Pkts.udp(1, 2, new byte[4]), true));
        expect(longChain, L2_ETHER | L3_IPV6_EXT, 14, 40, 0, 0, 0);
        // exactly the limit is walked
        exts = Pkts.b();
        for (int i = 0; i < n - 1; i++) exts.bytes(Pkts.ext8(i == n - 2 ? 17 : 60, 8));
        byte[] atLimit = Pkts.ether(Ether.TYPE_IPV6, Pkts.ipv6(Pkts.A6, Pkts.Z6, 60, exts.get(), 17, Pkts.udp(1, 2, new byte[4]), true));
        expect(atLimit, L2_ETHER | L3_IPV6_EXT | L4_UDP, 14, 40 + 8 * (n - 1), 8, 0, 0);
        // an extension header whose length runs past the packet
        byte[] lying = Pkts.qinqIpv6ExtUdp();
        lying[22 + 40 + 1] = (byte) 200;
        expect(lying, L2_ETHER_QINQ | L3_IPV6_EXT, 22, 40, 0, 0, 0);
    }

    @Test
    void tunnels() {
        // VXLAN: outer 14 + 20, then UDP 8 + VXLAN 8 + inner Ethernet 14 in l2Len, inner IPv4 and TCP
        expect(Pkts.vxlanTcp4(), L2_ETHER | L3_IPV4 | L4_UDP | TUNNEL_VXLAN | INNER_L2_ETHER | INNER_L3_IPV4 | INNER_L4_TCP,
                30, 20, 20, 14, 20);
        expect(Pkts.ipipUdp(), L2_ETHER | L3_IPV4 | TUNNEL_IP | INNER_L3_IPV4 | INNER_L4_UDP, 0, 20, 8, 14, 20);
        // VXLAN port without the I flag: plain UDP
        byte[] noFlag = Pkts.vxlanTcp4();
        noFlag[14 + 20 + 8] = 0;
        expect(noFlag, L2_ETHER | L3_IPV4 | L4_UDP, 14, 20, 8, 0, 0);
        // inner frame with a VLAN tag and IPv6
        byte[] inner = Pkts.ether(Ether.TYPE_IPV6, Pkts.ipv6(Pkts.A6, Pkts.Z6, 17, new byte[0], 17, Pkts.udp(1, 2, new byte[8]), true),
                Ether.TYPE_VLAN, 7);
        byte[] v = Pkts.ether(Ether.TYPE_IPV4, Pkts.ipv4(Pkts.A, Pkts.Z, 17, 0, new byte[0], Pkts.udp(3, Vxlan.PORT, Pkts.vxlan(9, inner))));
        expect(v, L2_ETHER | L3_IPV4 | L4_UDP | TUNNEL_VXLAN | INNER_L2_ETHER_VLAN | INNER_L3_IPV6 | INNER_L4_UDP,
                8 + 8 + 18, 40, 8, 14, 20);
        // inner IPv4 cut short: tunnel and inner L2 only
        byte[] cut = Pkts.vxlanTcp4();
        cut = Arrays.copyOf(cut, 14 + 20 + 16 + 14 + 10);
        Pkts.put16(cut, 14 + 2, cut.length - 14);
        Pkts.put16(cut, 14 + 20 + 4, cut.length - 34);
        expect(cut, L2_ETHER | L3_IPV4 | L4_UDP | TUNNEL_VXLAN | INNER_L2_ETHER, 30, 0, 0, 14, 20);
    }

    @Test
    void truncatedAndLyingHeadersLoseLayersNeverThrow() {
        expect(new byte[13], UNKNOWN, 0, 0, 0, 0, 0);
        // IPv4 total length beyond the packet: L3 known, no L4
        byte[] b = Pkts.udp4();
        Pkts.put16(b, 16, 500);
        expect(b, L2_ETHER | L3_IPV4, 14, 20, 0, 0, 0);
        // total length below the header length
        Pkts.put16(b, 16, 10);
        expect(b, L2_ETHER | L3_IPV4, 14, 20, 0, 0, 0);
        // total length too short for the UDP header
        Pkts.put16(b, 16, 24);
        expect(b, L2_ETHER | L3_IPV4, 14, 20, 0, 0, 0);
        // version 6 in an IPv4 frame, IHL 4
        b = Pkts.udp4();
        b[14] = 0x65;
        expect(b, L2_ETHER, 14, 0, 0, 0, 0);
        b[14] = 0x44;
        expect(b, L2_ETHER, 14, 0, 0, 0, 0);
        // TCP data offset below 5 words, and beyond the data
        b = Pkts.vlanTcp4Options();
        int doff = 18 + 24 + 12;
        b[doff] = 0x40;
        expect(b, L2_ETHER_VLAN | L3_IPV4_EXT, 18, 24, 0, 0, 0);
        b[doff] = (byte) 0xf0;
        byte[] cut = Arrays.copyOf(b, 18 + 24 + 40);
        Pkts.put16(cut, 18 + Ipv4.TOTAL_LENGTH_OFF, 24 + 40);
        expect(cut, L2_ETHER_VLAN | L3_IPV4_EXT, 18, 24, 0, 0, 0);
        // every truncation of every sample loses layers from the end and never throws
        for (byte[] p : samples()) {
            for (int len = 0; len <= p.length; len++) {
                Mbuf m = Pkts.mbuf(pool, Arrays.copyOf(p, len));
                PacketType.parse(m);
                m.free();
            }
        }
    }

    static byte[][] samples() {
        return new byte[][] {Pkts.udp4(), Pkts.vlanTcp4Options(), Pkts.qinqIpv6ExtUdp(), Pkts.ipv6RoutingAhTcp(), Pkts.ipv6FragUdp(),
                Pkts.icmp4Echo(), Pkts.icmp6Echo(), Pkts.arpRequest(), Pkts.vxlanTcp4(), Pkts.ipv4FragUdp(), Pkts.ipipUdp(), Pkts.gre4()};
    }

    /**
     * 100k cases, fixed seed: random bytes, random truncations of valid packets, and valid
     * packets with random bytes flipped. Nothing may throw, and the lengths must describe
     * headers inside the data.
     */
    @Test
    void fuzz() {
        Random rnd = new Random(0x5eed);
        byte[][] samples = samples();
        Mbuf m = Mbuf.alloc(pool);
        byte[] buf = new byte[256];
        for (int i = 0; i < 100_000; i++) {
            int kind = i % 3;
            byte[] p;
            int len;
            if (kind == 0) {
                len = rnd.nextInt(160);
                rnd.nextBytes(buf);
                // steer some random frames into the IP paths
                if (rnd.nextBoolean()) Pkts.put16(buf, 12, rnd.nextBoolean() ? Ether.TYPE_IPV4 : Ether.TYPE_IPV6);
                if (rnd.nextInt(4) == 0) buf[14] = (byte) (rnd.nextBoolean() ? 0x45 : 0x60);
                p = buf;
            } else {
                p = samples[rnd.nextInt(samples.length)].clone();
                len = kind == 1 ? rnd.nextInt(p.length + 1) : p.length;
                if (kind == 2) for (int k = rnd.nextInt(4) + 1; k > 0; k--) p[rnd.nextInt(p.length)] = (byte) rnd.nextInt(256);
            }
            m.reset();
            int off = m.appendOffset(len);
            java.lang.foreign.MemorySegment.copy(p, 0, m.buffer(), java.lang.foreign.ValueLayout.JAVA_BYTE, m.dataOff() + off, len);
            int t;
            try {
                t = PacketType.parse(m);
            } catch (RuntimeException e) {
                throw new AssertionError("case " + i + " len " + len + ": " + java.util.HexFormat.of().formatHex(p, 0, len), e);
            }
            assertEquals(t & ALL_MASK, t);
            int l3off = (t & TUNNEL_MASK) != 0 ? m.outerL2Len + m.outerL3Len + m.l2Len : m.l2Len;
            assertTrue(l3off + m.l3Len + m.l4Len <= len, "case " + i + ": lengths past the data");
            if ((t & L3_MASK) == 0) assertEquals(0, m.l3Len);
            if ((t & L4_MASK) == 0 && (t & TUNNEL_MASK) == 0) assertEquals(0, m.l4Len);
        }
        m.free();
    }

    @Test
    void parseAllocatesNothing() {
        Mbuf udp = Pkts.mbuf(pool, Pkts.udp4());
        Mbuf vx = Pkts.mbuf(pool, Pkts.vxlanTcp4());
        Mbuf ext = Pkts.mbuf(pool, Pkts.ipv6RoutingAhTcp());
        AllocationMeter.assertNoAllocation("parse", 20_000, 10_000, () -> {
            if (PacketType.parse(udp) == 0 | PacketType.parse(vx) == 0 | PacketType.parse(ext) == 0) throw new AssertionError();
        });
        udp.free();
        vx.free();
        ext.free();
    }
}
