package org.jpdk.net;

import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Header accessors and checksums against known vectors and an independent byte-loop checksum. */
class NetTest {
    private Mempool<Mbuf> pool;

    @BeforeEach
    void pool() {
        pool = Mbuf.createPool("net_test", 255, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
    }

    @AfterEach
    void close() {
        pool.close();
    }

    /** The Internet checksum the slow, obvious way: 16-bit big-endian words, odd byte padded, end-around carry. */
    static int naiveSum(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i < len; i += 2) {
            int hi = b[off + i] & 0xff, lo = i + 1 < len ? b[off + i + 1] & 0xff : 0;
            sum += hi << 8 | lo;
        }
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
        return (int) sum;
    }

    private Mbuf packet(byte[] bytes) {
        Mbuf m = Mbuf.alloc(pool);
        int off = m.appendOffset(bytes.length);
        MemorySegment.copy(bytes, 0, m.buffer(), ValueLayout.JAVA_BYTE, m.dataOff() + off, bytes.length);
        return m;
    }

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    // A real IPv4 header (a UDP datagram from 192.168.0.1 to 192.168.0.199) with checksum 0xb861.
    private static final String IPV4_HDR = "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7";

    @Test
    void ipv4HeaderChecksumKnownVector() {
        Mbuf m = packet(hex("0000 0000 0000 0000 0000 0000 0800" + IPV4_HDR));
        assertEquals(20, Ipv4.headerLen(m, Ether.HDR_LEN));
        assertEquals(0xb861, Ipv4.cksum(m, Ether.HDR_LEN));
        assertTrue(Ipv4.cksumVerify(m, Ether.HDR_LEN));
        m.writeShort(Ether.HDR_LEN + Ipv4.CHECKSUM_OFF, 0x1234);
        assertFalse(Ipv4.cksumVerify(m, Ether.HDR_LEN));
        assertEquals(0xb861, Ipv4.cksum(m, Ether.HDR_LEN), "the field's current value is ignored");
        Ipv4.setChecksum(m, Ether.HDR_LEN);
        assertEquals(0xb861, m.readShort(Ether.HDR_LEN + Ipv4.CHECKSUM_OFF));
        assertEquals(0xC0A8_0001, Ipv4.src(m, Ether.HDR_LEN));
        assertEquals(Ipv4.PROTO_UDP, Ipv4.proto(m, Ether.HDR_LEN));
        m.free();
    }

    @Test
    void ipv4HeaderWithOptions() {
        // IHL 6: one option word (NOP NOP NOP EOL); checksum from the byte loop
        byte[] h = hex("4600 0018 abcd 0000 4006 0000 0a00 0001 0a00 0002 0101 0100");
        int c = ~naiveSum(h, 0, 24) & 0xffff;
        Mbuf m = packet(h);
        assertEquals(24, Ipv4.headerLen(m, 0));
        assertEquals(c, Ipv4.cksum(m, 0));
        Ipv4.setChecksum(m, 0);
        assertTrue(Ipv4.cksumVerify(m, 0));
        m.free();
    }

    @Test
    void rawSumMatchesByteLoopForEveryLengthAndAlignment() {
        Random rnd = new Random(7);
        byte[] b = new byte[200];
        rnd.nextBytes(b);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(b.length);
            MemorySegment.copy(b, 0, seg, ValueLayout.JAVA_BYTE, 0, b.length);
            for (int off = 0; off < 9; off++) {
                for (int len = 0; len < 150; len++) {
                    assertEquals(naiveSum(b, off, len), Checksum.raw(seg, off, len), "off " + off + " len " + len);
                }
            }
            byte[] ones = new byte[4096];
            java.util.Arrays.fill(ones, (byte) 0xff);
            MemorySegment big = arena.allocate(ones.length);
            MemorySegment.copy(ones, 0, big, ValueLayout.JAVA_BYTE, 0, ones.length);
            assertEquals(0xffff, Checksum.raw(big, 0, ones.length), "carries fold back");
            assertThrows(IndexOutOfBoundsException.class, () -> Checksum.raw(seg, 190, 11));
        }
    }

    @Test
    void rawSumAcrossOddSegments() {
        Random rnd = new Random(11);
        byte[] b = new byte[7 + 13 + 30];
        rnd.nextBytes(b);
        Mbuf head = packet(java.util.Arrays.copyOfRange(b, 0, 7));
        assertTrue(head.chain(packet(java.util.Arrays.copyOfRange(b, 7, 20))));
        assertTrue(head.chain(packet(java.util.Arrays.copyOfRange(b, 20, 50))));
        assertEquals(50, head.pktLen());
        for (int off = 0; off < 50; off++) {
            for (int len = 0; off + len <= 50; len++) {
                assertEquals(naiveSum(b, off, len), Checksum.raw(head, off, len), "off " + off + " len " + len);
            }
        }
        assertThrows(IndexOutOfBoundsException.class, () -> Checksum.raw(head, 45, 6));
        head.free();
    }

    /** Ether / IPv4 / UDP from 10.0.0.1:1234 to 10.0.0.2:9 with {@code payload} bytes 0, 1, 2, ... */
    private static byte[] udp4(int payload) {
        int l4 = Udp.HDR_LEN + payload;
        byte[] b = new byte[Ether.HDR_LEN + Ipv4.HDR_LEN + l4];
        byte[] head = hex("0200 0000 0002 0200 0000 0001 0800"
                + "4500" + String.format("%04x", Ipv4.HDR_LEN + l4) + "0001 0000 4011 0000 0a00 0001 0a00 0002"
                + "04d2 0009" + String.format("%04x", l4) + "0000");
        System.arraycopy(head, 0, b, 0, head.length);
        for (int i = 0; i < payload; i++) b[head.length + i] = (byte) (i * 7 + 3);
        return b;
    }

    /** The UDP/TCP checksum over IPv4 from the RFC's definition, computed on plain bytes. */
    private static int independentUdp4(byte[] b, int l3) {
        int l4len = b.length - l3 - Ipv4.HDR_LEN;
        byte[] ph = new byte[12 + l4len];
        System.arraycopy(b, l3 + Ipv4.SRC_OFF, ph, 0, 8);
        ph[9] = b[l3 + Ipv4.PROTO_OFF];
        ph[10] = (byte) (l4len >> 8);
        ph[11] = (byte) l4len;
        System.arraycopy(b, l3 + Ipv4.HDR_LEN, ph, 12, l4len);
        return ~naiveSum(ph, 0, ph.length) & 0xffff;
    }

    @Test
    void udpOverIpv4ChecksumOddAndEvenLengths() {
        for (int payload : new int[] {0, 1, 17, 18, 1000, 1001}) {
            byte[] b = udp4(payload);
            int expect = independentUdp4(b, Ether.HDR_LEN);
            Mbuf m = packet(b);
            assertEquals(expect, Ipv4.udptcpCksum(m, Ether.HDR_LEN), "payload " + payload);
            assertFalse(Ipv4.udptcpCksumVerify(m, Ether.HDR_LEN), "field still 0");
            assertTrue(Ipv4.setUdptcpChecksum(m, Ether.HDR_LEN));
            assertEquals(expect, m.readShort(34 + Udp.CKSUM_OFF));
            assertTrue(Ipv4.udptcpCksumVerify(m, Ether.HDR_LEN));
            m.writeByte(m.dataLen() - 1, m.readByte(m.dataLen() - 1) ^ 0x40);
            assertFalse(Ipv4.udptcpCksumVerify(m, Ether.HDR_LEN));
            m.free();
        }
    }

    @Test
    void udpChecksumZeroIsSentAsOnesButTcpKeepsZero() {
        for (int proto : new int[] {Ipv4.PROTO_UDP, Ipv4.PROTO_TCP}) {
            byte[] b = udp4(22); // 30 L4 bytes: room for a TCP header too; the sum does not care where the field is
            b[14 + Ipv4.PROTO_OFF] = (byte) proto;
            int last = b.length - 2;
            b[last] = 0;
            b[last + 1] = 0;
            // the last payload word set to the checksum computed without it makes the complemented sum 0
            int c = independentUdp4(b, 14);
            b[last] = (byte) (c >> 8);
            b[last + 1] = (byte) c;
            assertEquals(0, independentUdp4(b, 14));
            Mbuf m = packet(b);
            assertEquals(proto == Ipv4.PROTO_UDP ? 0xffff : 0, Ipv4.udptcpCksum(m, 14));
            m.free();
        }
    }

    private static byte[] bytesOf(Mbuf m) {
        byte[] b = new byte[m.dataLen()];
        MemorySegment.copy(m.buffer(), ValueLayout.JAVA_BYTE, m.dataOff(), b, 0, b.length);
        return b;
    }

    @Test
    void udpChecksumOverTwoSegments() {
        byte[] b = udp4(101);
        int expect = independentUdp4(b, 14);
        Mbuf head = packet(java.util.Arrays.copyOfRange(b, 0, 45)); // headers and 3 payload bytes, odd split
        assertTrue(head.chain(packet(java.util.Arrays.copyOfRange(b, 45, b.length))));
        assertEquals(expect, Ipv4.udptcpCksum(head, 14));
        assertEquals(b.length - 34, Ipv4.l4Len(head, 14));
        head.free();
    }

    @Test
    void tcpOverIpv6Checksum() {
        int payload = 33;
        int l4 = Tcp.HDR_LEN + payload;
        byte[] b = new byte[Ether.HDR_LEN + Ipv6.HDR_LEN + l4];
        byte[] head = hex("0200 0000 0002 0200 0000 0001 86dd"
                + "6000 0000" + String.format("%04x", l4) + "0640"
                + "2001 0db8 0000 0000 0000 0000 0000 0001" + "2001 0db8 0000 0000 0000 0000 0000 0002"
                + "c000 0050 0000 0001 0000 0000 5018 ffff 0000 0000");
        System.arraycopy(head, 0, b, 0, head.length);
        for (int i = 0; i < payload; i++) b[head.length + i] = (byte) (255 - i);
        byte[] ph = new byte[40 + l4];
        System.arraycopy(b, 14 + Ipv6.SRC_OFF, ph, 0, 32);
        ph[34] = (byte) (l4 >> 8);
        ph[35] = (byte) l4;
        ph[39] = Ipv4.PROTO_TCP;
        System.arraycopy(b, 54, ph, 40, l4);
        int expect = ~naiveSum(ph, 0, ph.length) & 0xffff;
        Mbuf m = packet(b);
        assertEquals(l4, Ipv6.l4Len(m, 14));
        assertEquals(expect, Ipv6.udptcpCksum(m, 14));
        assertTrue(Ipv6.setUdptcpChecksum(m, 14));
        assertEquals(expect, m.readShort(54 + Tcp.CKSUM_OFF));
        assertTrue(Ipv6.udptcpCksumVerify(m, 14));
        assertEquals(20, Tcp.headerLen(m, 54));
        Ipv6.swapAddrs(m, 14);
        assertEquals(2, m.readByte(14 + Ipv6.SRC_OFF + 15));
        assertEquals(1, m.readByte(14 + Ipv6.DST_OFF + 15));
        assertTrue(Ipv6.udptcpCksumVerify(m, 14), "a swap keeps the sum");
        m.free();
    }

    @Test
    void etherAddressesAndTags() {
        Mbuf m = packet(hex("0a0b 0c0d 0e0f 1112 1314 1516 0800 4500"));
        assertEquals(0x0a0b0c0d0e0fL, Ether.dst(m));
        assertEquals(0x111213141516L, Ether.src(m));
        Ether.swapMacs(m);
        assertEquals(0x111213141516L, Ether.dst(m));
        assertEquals(0x0a0b0c0d0e0fL, Ether.src(m));
        assertEquals(0x0800, m.readShort(12), "type untouched");
        Ether.setDst(m, 0xfedcba987654L);
        Ether.setSrc(m, 0x020000000001L);
        assertEquals(0xfedcba987654L, Ether.dst(m));
        assertEquals(0x020000000001L, Ether.src(m));
        Ether.setAddrs(m, 0xffff_0102_0304_0506L, 0x0a0b0c0d0e0fL);
        assertEquals(0x010203040506L, Ether.dst(m));
        assertEquals(0x0a0b0c0d0e0fL, Ether.src(m));
        assertEquals(Ether.TYPE_IPV4, Ether.etherType(m));
        assertEquals(14, Ether.l2Len(m));
        assertEquals(Ether.TYPE_IPV4, Ether.innerEtherType(m));
        m.free();

        m = packet(hex("0a0b 0c0d 0e0f 1112 1314 1516 88a8 0064 8100 0005 86dd 6000"));
        assertEquals(22, Ether.l2Len(m));
        assertEquals(Ether.TYPE_IPV6, Ether.innerEtherType(m));
        m.free();

        m = packet(hex("0a0b 0c0d 0e0f 1112 1314 1516 8100 0064 81")); // tag cut short
        assertEquals(-1, Ether.l2Len(m));
        assertEquals(-1, Ether.innerEtherType(m));
        m.free();
    }

    @Test
    void truncatedPacketsThrowFromAccessorsAndParsersReturnMinusOne() {
        Mbuf m = packet(hex("0a0b 0c0d 0e0f 1112 1314")); // 10 bytes
        assertEquals(-1, Ether.l2Len(m));
        assertThrows(IndexOutOfBoundsException.class, () -> Ether.swapMacs(m));
        assertThrows(IndexOutOfBoundsException.class, () -> Ether.src(m));
        assertThrows(IndexOutOfBoundsException.class, () -> Ether.etherType(m));
        assertEquals(-1, Ipv4.headerLen(m, 14));
        assertEquals(-1, Ipv4.l4Len(m, 14));
        assertEquals(-1, Ipv6.l4Len(m, 14));
        m.free();

        byte[] b = udp4(20);
        Mbuf cut = packet(java.util.Arrays.copyOf(b, 30)); // IPv4 header cut at 16 of 20 bytes
        assertEquals(-1, Ipv4.headerLen(cut, 14));
        assertThrows(IndexOutOfBoundsException.class, () -> Ipv4.cksum(cut, 14));
        assertThrows(IndexOutOfBoundsException.class, () -> Ipv4.cksumVerify(cut, 14));
        cut.free();

        Mbuf lying = packet(java.util.Arrays.copyOf(b, 50)); // total length says 48 bytes of IP, 36 are there
        assertEquals(20, Ipv4.headerLen(lying, 14));
        assertEquals(-1, Ipv4.l4Len(lying, 14));
        assertThrows(IndexOutOfBoundsException.class, () -> Ipv4.udptcpCksum(lying, 14));
        lying.writeByte(14, 0x65); // version 6 in an IPv4 slot
        assertEquals(-1, Ipv4.headerLen(lying, 14));
        lying.free();
    }

    @Test
    void hotHelpersAllocateNothing() {
        Mbuf m = packet(udp4(100));
        AllocationMeter.assertNoAllocation("hot helpers", 20_000, 10_000, () -> {
            Ether.swapMacs(m);
            Ether.setAddrs(m, 0x0200_0000_0001L, 0x0200_0000_0002L);
            Ipv4.setChecksum(m, 14);
            Ipv4.setUdptcpChecksum(m, 14);
            if (!Ipv4.cksumVerify(m, 14) || !Ipv4.udptcpCksumVerify(m, 14) || Ether.l2Len(m) != 14) throw new AssertionError();
        });
        m.free();
    }
}
