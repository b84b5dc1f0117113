package org.jpdk.net;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

/**
 * Test packets built byte by byte from the RFCs' layouts, with their checksums computed by the
 * plain 16-bit word loop ({@link NetTest#naiveSum}), never by the code under test.
 */
final class Pkts {
    static final long DST_MAC = 0x02_00_00_00_00_02L, SRC_MAC = 0x02_00_00_00_00_01L;

    private Pkts() {
    }

    /** A growing byte string with big-endian writers. */
    static final class B {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        B u8(int v) {
            out.write(v);
            return this;
        }

        B u16(int v) {
            return u8(v >>> 8).u8(v);
        }

        B u32(int v) {
            return u16(v >>> 16).u16(v);
        }

        B u48(long v) {
            return u16((int) (v >>> 32)).u32((int) v);
        }

        B u64(long v) {
            return u32((int) (v >>> 32)).u32((int) v);
        }

        B bytes(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        B hex(String h) {
            return bytes(HexFormat.of().parseHex(h.replace(" ", "")));
        }

        byte[] get() {
            return out.toByteArray();
        }
    }

    static B b() {
        return new B();
    }

    static byte[] payload(int n, int seed) {
        byte[] p = new byte[n];
        for (int i = 0; i < n; i++) p[i] = (byte) (i * 31 + seed);
        return p;
    }

    /** Ethernet with tags given as (tpid, tci) pairs, then {@code type} and {@code payload}. */
    static byte[] ether(int type, byte[] payload, int... tags) {
        B b = b().u48(DST_MAC).u48(SRC_MAC);
        for (int i = 0; i < tags.length; i += 2) b.u16(tags[i]).u16(tags[i + 1]);
        return b.u16(type).bytes(payload).get();
    }

    /** IPv4 with {@code options} (a multiple of 4 bytes), a right header checksum, and an L4 checksum fixed if UDP/TCP/ICMP. */
    static byte[] ipv4(int src, int dst, int proto, int fragWord, byte[] options, byte[] l4) {
        int hl = 20 + options.length;
        byte[] h = b().u8(0x40 | hl / 4).u8(0).u16(hl + l4.length).u16(0x1234).u16(fragWord).u8(64).u8(proto).u16(0)
                .u32(src).u32(dst).bytes(options).bytes(l4).get();
        put16(h, 10, ~NetTest.naiveSum(h, 0, hl) & 0xffff);
        if ((fragWord & 0x3fff) == 0) fixL4(h, hl, proto, pseudo4(h, proto, l4.length));
        return h;
    }

    /** The IPv4 pseudo header of the L4 bytes. */
    static byte[] pseudo4(byte[] ip, int proto, int l4len) {
        return b().bytes(java.util.Arrays.copyOfRange(ip, 12, 20)).u8(0).u8(proto).u16(l4len).get();
    }

    /** IPv6 with extension headers {@code exts} (already encoded, chained by the caller) before the upper layer. */
    static byte[] ipv6(long[] src, long[] dst, int firstNext, byte[] exts, int proto, byte[] l4, boolean fixL4) {
        byte[] h = b().u32(0x6000_0000 | 0x12345).u16(exts.length + l4.length).u8(firstNext).u8(64)
                .u64(src[0]).u64(src[1]).u64(dst[0]).u64(dst[1]).bytes(exts).bytes(l4).get();
        byte[] ph = b().bytes(java.util.Arrays.copyOfRange(h, 8, 40)).u32(l4.length).u32(proto).get();
        if (fixL4) fixL4(h, 40 + exts.length, proto, ph);
        return h;
    }

    /** Sets the checksum of the L4 header at {@code l4} of {@code b} (to the end) for UDP, TCP, ICMP (no pseudo header) or ICMPv6. */
    static void fixL4(byte[] b, int l4, int proto, byte[] pseudo) {
        int field = switch (proto) {
            case 17 -> 6;
            case 6 -> 16;
            case 1, 58 -> 2;
            default -> -1;
        };
        if (field < 0 || b.length - l4 < field + 2) return;
        put16(b, l4 + field, 0);
        byte[] all = proto == 1 ? java.util.Arrays.copyOfRange(b, l4, b.length)
                : b().bytes(pseudo).bytes(java.util.Arrays.copyOfRange(b, l4, b.length)).get();
        int c = ~NetTest.naiveSum(all, 0, all.length) & 0xffff;
        if (c == 0 && proto == 17) c = 0xffff;
        put16(b, l4 + field, c);
    }

    static byte[] udp(int sport, int dport, byte[] payload) {
        return b().u16(sport).u16(dport).u16(8 + payload.length).u16(0).bytes(payload).get();
    }

    /** TCP with {@code options} (a multiple of 4 bytes). */
    static byte[] tcp(int sport, int dport, byte[] options, byte[] payload) {
        return b().u16(sport).u16(dport).u32(1000).u32(2000).u8((20 + options.length) / 4 << 4).u8(Tcp.ACK | Tcp.PSH)
                .u16(8192).u16(0).u16(0).bytes(options).bytes(payload).get();
    }

    static byte[] icmpEcho(int type, int ident, int seq, byte[] payload) {
        return b().u8(type).u8(0).u16(0).u16(ident).u16(seq).bytes(payload).get();
    }

    static byte[] vxlan(int vni, byte[] frame) {
        return b().u8(0x08).u8(0).u16(0).u32(vni << 8).bytes(frame).get();
    }

    /** An extension header of {@code len} bytes (a multiple of 8) with next header {@code next}: hop-by-hop/routing/dstopts encoding. */
    static byte[] ext8(int next, int len) {
        B b = b().u8(next).u8(len / 8 - 1);
        for (int i = 2; i < len; i++) b.u8(i == 2 ? 1 : 0); // a PadN option, then zeros (routing: type 1 segments 0)
        return b.get();
    }

    static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }

    static Mbuf mbuf(Mempool<Mbuf> pool, byte[] bytes) {
        Mbuf m = Mbuf.alloc(pool);
        int off = m.appendOffset(bytes.length);
        MemorySegment.copy(bytes, 0, m.buffer(), ValueLayout.JAVA_BYTE, m.dataOff() + off, bytes.length);
        return m;
    }

    static long[] v6(String addr) {
        try {
            byte[] a = java.net.InetAddress.getByName(addr).getAddress();
            long hi = 0, lo = 0;
            for (int i = 0; i < 8; i++) hi = hi << 8 | (a[i] & 0xff);
            for (int i = 8; i < 16; i++) lo = lo << 8 | (a[i] & 0xff);
            return new long[] {hi, lo};
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(addr, e);
        }
    }

    static int v4(String addr) {
        String[] p = addr.split("\\.");
        return Integer.parseInt(p[0]) << 24 | Integer.parseInt(p[1]) << 16 | Integer.parseInt(p[2]) << 8 | Integer.parseInt(p[3]);
    }

    // ---------------------------------------------------------------- the sample packets

    static final int A = v4("10.0.0.1"), Z = v4("10.0.0.2");
    static final long[] A6 = v6("2001:db8::1"), Z6 = v6("2001:db8::2");

    static byte[] udp4() {
        return ether(Ether.TYPE_IPV4, ipv4(A, Z, 17, 0x4000, new byte[0], udp(1234, 5678, payload(26, 1))));
    }

    /** One 802.1Q tag, IPv4 with a 4-byte option word (NOPs), TCP with 4 bytes of options (MSS). */
    static byte[] vlanTcp4Options() {
        return ether(Ether.TYPE_IPV4, ipv4(A, Z, 6, 0, b().hex("01010100").get(),
                tcp(40000, 80, b().hex("020405b4").get(), payload(33, 2))), Ether.TYPE_VLAN, 100);
    }

    /** QinQ (S-tag 200, C-tag 300), IPv6 with hop-by-hop (8) and destination options (16), UDP. */
    static byte[] qinqIpv6ExtUdp() {
        byte[] exts = b().bytes(ext8(60, 8)).bytes(ext8(17, 16)).get();
        return ether(Ether.TYPE_IPV6, ipv6(A6, Z6, 0, exts, 17, udp(5353, 53, payload(20, 3)), true),
                Ether.TYPE_QINQ, 200, Ether.TYPE_VLAN, 300);
    }

    /** IPv6 with a routing header (type 0, no segments left... encoded as 8 bytes) and AH (16 bytes), then TCP. */
    static byte[] ipv6RoutingAhTcp() {
        byte[] ah = b().u8(6).u8(2).u16(0).u32(0x100).u32(1).u32(0xdeadbeef).get(); // (2 + 2) * 4 = 16 bytes
        byte[] exts = b().bytes(ext8(51, 8)).bytes(ah).get();
        exts[2] = 0; // routing type 0
        exts[3] = 0; // segments left 0
        return ether(Ether.TYPE_IPV6, ipv6(A6, Z6, 43, exts, 6, tcp(22, 50000, new byte[0], payload(10, 4)), true));
    }

    /** IPv6 first fragment (M set) of a UDP datagram. */
    static byte[] ipv6FragUdp() {
        byte[] frag = b().u8(17).u8(0).u16(0x0001).u32(0xabcd).get();
        return ether(Ether.TYPE_IPV6, ipv6(A6, Z6, 44, frag, 17, udp(7, 7, payload(16, 5)), false));
    }

    static byte[] icmp4Echo() {
        return ether(Ether.TYPE_IPV4, ipv4(A, Z, 1, 0, new byte[0], icmpEcho(Icmp.ECHO_REQUEST, 0x77, 3, payload(24, 6))));
    }

    static byte[] icmp6Echo() {
        return ether(Ether.TYPE_IPV6, ipv6(A6, Z6, 58, new byte[0], 58, icmpEcho(Icmp6.ECHO_REQUEST, 0x78, 4, payload(24, 7)), true));
    }

    static byte[] arpRequest() {
        return ether(Ether.TYPE_ARP, b().u16(1).u16(0x0800).u8(6).u8(4).u16(Arp.OP_REQUEST).u48(SRC_MAC).u32(A).u48(0).u32(Z).get());
    }

    /** IPv4/UDP to 4789, VXLAN VNI 42, inner Ethernet/IPv4/TCP. */
    static byte[] vxlanTcp4() {
        byte[] innerFrame = ether(Ether.TYPE_IPV4, ipv4(v4("192.168.1.1"), v4("192.168.1.2"), 6, 0, new byte[0],
                tcp(1111, 2222, new byte[0], payload(12, 8))));
        return ether(Ether.TYPE_IPV4, ipv4(A, Z, 17, 0, new byte[0], udp(49152, Vxlan.PORT, vxlan(42, innerFrame))));
    }

    /** IPv4 first fragment (MF) of a UDP datagram. */
    static byte[] ipv4FragUdp() {
        return ether(Ether.TYPE_IPV4, ipv4(A, Z, 17, 0x2000, new byte[0], udp(9, 9, payload(16, 9))));
    }

    /** IPv4 in IPv4, the inner one UDP. */
    static byte[] ipipUdp() {
        return ether(Ether.TYPE_IPV4, ipv4(A, Z, 4, 0, new byte[0], ipv4(v4("172.16.0.1"), v4("172.16.0.2"), 17, 0, new byte[0],
                udp(53, 53, payload(8, 10)))));
    }

    /** IPv4 carrying GRE: not parsed, so L4_NONFRAG. */
    static byte[] gre4() {
        return ether(Ether.TYPE_IPV4, ipv4(A, Z, 47, 0, new byte[0], b().u16(0).u16(0x0800).get()));
    }
}
