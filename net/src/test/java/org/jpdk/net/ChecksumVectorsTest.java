package org.jpdk.net;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The RFC 1071 and RFC 1624 examples, incremental updates against recomputation, IPv6 extensions, ICMP and ICMPv6. */
class ChecksumVectorsTest {
    private Mempool<Mbuf> pool;

    @BeforeEach
    void pool() {
        pool = Mbuf.createPool("cksum_test", 63, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
    }

    @AfterEach
    void close() {
        pool.close();
    }

    @Test
    void rfc1071NumericalExample() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0x2ddf0, folded 0xddf2
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(8);
            s.copyFrom(MemorySegment.ofArray(new byte[] {0x00, 0x01, (byte) 0xf2, 0x03, (byte) 0xf4, (byte) 0xf5, (byte) 0xf6, (byte) 0xf7}));
            assertEquals(0xddf2, Checksum.reduce(0x2ddf0), "the RFC's fold");
            assertEquals(0xddf2, Checksum.raw(s, 0, 8));
            assertEquals(0x220d, ~Checksum.raw(s, 0, 8) & 0xffff);
            // byte-order independence (RFC 1071 1.2.B): the byte-swapped data sums to the byte-swapped result
            s.copyFrom(MemorySegment.ofArray(new byte[] {0x01, 0x00, 0x03, (byte) 0xf2, (byte) 0xf5, (byte) 0xf4, (byte) 0xf7, (byte) 0xf6}));
            assertEquals(0xf2dd, Checksum.raw(s, 0, 8));
        }
    }

    @Test
    void rfc1624Examples() {
        // RFC 1624 section 4: other header octets sum to 0xCD7A, a field goes from 0x5555 to 0x3285.
        assertEquals(0xdd2f, ~Checksum.reduce(0xcd7a + 0x5555) & 0xffff, "HC as the RFC computes it");
        assertEquals(0x0000, ~Checksum.reduce(0xcd7a + 0x3285) & 0xffff, "HC' recomputed");
        assertEquals(0x0000, Checksum.adjust(0xdd2f, 0x5555, 0x3285), "eqn. 3 gives +0, not RFC 1141's -0 (0xffff)");
        // and back
        assertEquals(0xdd2f, Checksum.adjust(0x0000, 0x3285, 0x5555));
        // a change to the same value changes nothing
        assertEquals(0x1234, Checksum.adjust(0x1234, 0xabcd, 0xabcd));
    }

    @Test
    void incrementalUpdatesEqualRecomputation() {
        Random rnd = new Random(1624);
        Mbuf m = Pkts.mbuf(pool, Pkts.udp4());
        for (int i = 0; i < 10_000; i++) {
            int old = m.readInt(14 + Ipv4.SRC_OFF);
            int next = rnd.nextInt();
            int c = m.readShort(14 + Ipv4.CHECKSUM_OFF);
            Ipv4.setSrc(m, 14, next);
            m.writeShort(14 + Ipv4.CHECKSUM_OFF, Checksum.adjust32(c, old, next));
            assertTrue(Ipv4.cksumVerify(m, 14), "round " + i);
            assertEquals(Ipv4.cksum(m, 14), Ipv4.checksum(m, 14), "same value as a full recomputation, round " + i);
            int w = m.readShort(14 + Ipv4.PACKET_ID_OFF), nw = rnd.nextInt(0x10000);
            c = m.readShort(14 + Ipv4.CHECKSUM_OFF);
            Ipv4.setPacketId(m, 14, nw);
            m.writeShort(14 + Ipv4.CHECKSUM_OFF, Checksum.adjust(c, w, nw));
            assertEquals(Ipv4.cksum(m, 14), Ipv4.checksum(m, 14), "round " + i);
        }
        m.free();
    }

    @Test
    void decrementTtlKeepsTheHeaderChecksum() {
        Mbuf m = Pkts.mbuf(pool, Pkts.udp4());
        for (int ttl = 63; ttl >= 0; ttl--) {
            assertEquals(ttl, Ipv4.decrementTtl(m, 14));
            assertTrue(Ipv4.cksumVerify(m, 14), "ttl " + ttl);
        }
        assertEquals(-1, Ipv4.decrementTtl(m, 14));
        assertEquals(0, Ipv4.ttl(m, 14));
        m.free();
    }

    @Test
    void ipv6UpperLayerChecksumsWithExtensionHeaders() {
        for (byte[] p : new byte[][] {Pkts.qinqIpv6ExtUdp(), Pkts.ipv6RoutingAhTcp(), Pkts.icmp6Echo()}) {
            Mbuf m = Pkts.mbuf(pool, p);
            int l3 = Ether.l2Len(m);
            int walk = Ipv6.walk(m, l3);
            int l3len = Ipv6.walkLen(walk), proto = Ipv6.walkProto(walk);
            assertFalse(Ipv6.walkFragment(walk));
            assertTrue(Ipv6.l4CksumVerify(m, l3, l3len, proto), "built right by the byte loop: proto " + proto);
            int field = l3 + l3len + (proto == 17 ? Udp.CKSUM_OFF : proto == 6 ? Tcp.CKSUM_OFF : Icmp.CKSUM_OFF);
            int good = m.readShort(field);
            m.writeShort(field, 0);
            assertEquals(good, Ipv6.l4Cksum(m, l3, l3len, proto));
            if (proto == Icmp6.PROTO) {
                m.writeShort(field, 0x5a5a);
                assertEquals(good, Icmp6.cksum(m, l3, l3len), "the field's value is skipped");
                Icmp6.setChecksum(m, l3, l3len);
                assertTrue(Icmp6.cksumVerify(m, l3, l3len));
            }
            m.free();
        }
    }

    @Test
    void icmpEchoReplyByIncrementalUpdate() {
        Mbuf m = Pkts.mbuf(pool, Pkts.icmp4Echo());
        int l4 = 34, len = m.dataLen() - l4;
        assertTrue(Icmp.cksumVerify(m, l4, len));
        assertEquals(Icmp.checksum(m, l4), Icmp.cksum(m, l4, len));
        Icmp.echoToReply(m, l4, Icmp.ECHO_REQUEST, Icmp.ECHO_REPLY);
        assertEquals(Icmp.ECHO_REPLY, Icmp.type(m, l4));
        assertTrue(Icmp.cksumVerify(m, l4, len));
        m.free();

        m = Pkts.mbuf(pool, Pkts.icmp6Echo());
        Ipv6.swapAddrs(m, 14);
        Icmp.echoToReply(m, 54, Icmp6.ECHO_REQUEST, Icmp6.ECHO_REPLY);
        assertEquals(Icmp6.ECHO_REPLY, Icmp.type(m, 54));
        assertTrue(Icmp6.cksumVerify(m, 14, 40));
        m.free();
    }

    @Test
    void checksumsAllocateNothing() {
        Mbuf m = Pkts.mbuf(pool, Pkts.ipv6RoutingAhTcp());
        Mbuf v4 = Pkts.mbuf(pool, Pkts.vlanTcp4Options());
        int w0 = Ipv6.walk(m, 14);
        assertTrue(Ipv6.l4CksumVerify(m, 14, Ipv6.walkLen(w0), Ipv6.walkProto(w0)), "ipv6 " + Integer.toHexString(w0));
        assertTrue(Ipv4.cksumVerify(v4, 18), "ipv4 header");
        assertTrue(Ipv4.udptcpCksumVerify(v4, 18), "tcp");
        AllocationMeter.assertNoAllocation("checksum helpers", 20_000, 10_000, () -> {
            int w = Ipv6.walk(m, 14);
            boolean ok = Ipv6.l4CksumVerify(m, 14, Ipv6.walkLen(w), Ipv6.walkProto(w)) && Ipv4.cksumVerify(v4, 18)
                    && Ipv4.udptcpCksumVerify(v4, 18);
            Ipv4.decrementTtl(v4, 18);
            Ipv4.setTtl(v4, 18, 64);
            Ipv4.setChecksum(v4, 18);
            int c = Checksum.adjust32(Ipv4.checksum(v4, 18), 1, 2);
            if (!ok || c < 0) throw new AssertionError();
        });
        m.free();
        v4.free();
    }
}
