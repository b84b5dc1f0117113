package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * The IPv6 header (rte_ipv6_hdr) at offset {@code l3off} of an mbuf's data, its extension
 * headers, and the upper-layer checksums over it (rte_ip.h).
 * <pre>
 *   offset  size  field
 *   0       4     version (6) | traffic class | flow label
 *   4       2     payload length
 *   6       1     next header (proto)
 *   7       1     hop limit
 *   8       16    source address
 *   24      16    destination address
 * </pre>
 * Addresses are two longs each, high half first ({@link #srcHi}, {@link #srcLo}).
 *
 * <p>Extension headers: {@link #walk} skips hop-by-hop, routing, destination options (8-byte
 * units), fragment (8 bytes, always the last one walked) and AH (4-byte units), at most
 * {@link #MAX_EXT_HDRS} of them, and returns the header length with the extensions and the
 * upper-layer protocol, packed in an int (no object). The one-argument checksums
 * ({@link #udptcpCksum(Mbuf, int)}) take the L4 header right after the fixed header, as DPDK's
 * helpers do; the ones with {@code l3len} and {@code proto} take them from a walk.
 *
 * <p>Bounds as {@link Ipv4}: accessors and checksums throw IndexOutOfBoundsException on a short
 * packet; {@link #l4Len} and {@link #walk} return -1. Nothing allocates.
 */
public final class Ipv6 {
    public static final int HDR_LEN = 40;
    public static final int ADDR_LEN = 16;
    public static final int VTC_FLOW_OFF = 0;
    public static final int PAYLOAD_LEN_OFF = 4;
    public static final int PROTO_OFF = 6;
    public static final int HOP_LIMITS_OFF = 7;
    public static final int SRC_OFF = 8;
    public static final int DST_OFF = 24;

    /** Extension header protocol numbers (IPPROTO_*). */
    public static final int PROTO_HOPOPTS = 0, PROTO_ROUTING = 43, PROTO_FRAGMENT = 44, PROTO_ESP = 50, PROTO_AH = 51,
            PROTO_NONE = 59, PROTO_DSTOPTS = 60;
    /** The fragment extension header (rte_ipv6_fragment_ext) is 8 bytes. */
    public static final int FRAG_HDR_LEN = 8;
    /** Most extension headers {@link #walk} skips before giving up (DPDK's rte_net_skip_ip6_ext stops at 5). */
    public static final int MAX_EXT_HDRS = 8;
    /** Set in a {@link #walk} result when a fragment header was passed. */
    public static final int WALK_FRAGMENT = 1 << 24;

    private Ipv6() {
    }

    public static int payloadLen(Mbuf m, int l3off) {
        return m.readShort(l3off + PAYLOAD_LEN_OFF);
    }

    public static void setPayloadLen(Mbuf m, int l3off, int len) {
        m.writeShort(l3off + PAYLOAD_LEN_OFF, len);
    }

    /** The next header of the fixed header (the first extension header's type, if any). */
    public static int proto(Mbuf m, int l3off) {
        return m.readByte(l3off + PROTO_OFF) & 0xff;
    }

    public static void setProto(Mbuf m, int l3off, int proto) {
        m.writeByte(l3off + PROTO_OFF, proto);
    }

    /** Version, traffic class and flow label as one 32-bit word. */
    public static int vtcFlow(Mbuf m, int l3off) {
        return m.readInt(l3off + VTC_FLOW_OFF);
    }

    public static int trafficClass(Mbuf m, int l3off) {
        return vtcFlow(m, l3off) >>> 20 & 0xff;
    }

    public static int flowLabel(Mbuf m, int l3off) {
        return vtcFlow(m, l3off) & 0xfffff;
    }

    /** Writes version 6 with the given traffic class and flow label. */
    public static void setVtcFlow(Mbuf m, int l3off, int trafficClass, int flowLabel) {
        m.writeInt(l3off + VTC_FLOW_OFF, 6 << 28 | (trafficClass & 0xff) << 20 | flowLabel & 0xfffff);
    }

    public static int hopLimit(Mbuf m, int l3off) {
        return m.readByte(l3off + HOP_LIMITS_OFF) & 0xff;
    }

    public static void setHopLimit(Mbuf m, int l3off, int hops) {
        m.writeByte(l3off + HOP_LIMITS_OFF, hops);
    }

    /** True for the next-header values of extension headers (hop-by-hop, routing, fragment, ESP, AH, destination options). */
    public static boolean isExtension(int proto) {
        return proto == PROTO_HOPOPTS || proto == PROTO_ROUTING || proto == PROTO_FRAGMENT || proto == PROTO_ESP
                || proto == PROTO_AH || proto == PROTO_DSTOPTS;
    }

    /** High 64 bits of the source address (first wire byte in bits 63..56). */
    public static long srcHi(Mbuf m, int l3off) {
        return m.readLong(l3off + SRC_OFF);
    }

    public static long srcLo(Mbuf m, int l3off) {
        return m.readLong(l3off + SRC_OFF + 8);
    }

    public static long dstHi(Mbuf m, int l3off) {
        return m.readLong(l3off + DST_OFF);
    }

    public static long dstLo(Mbuf m, int l3off) {
        return m.readLong(l3off + DST_OFF + 8);
    }

    public static void setSrc(Mbuf m, int l3off, long hi, long lo) {
        m.writeLong(l3off + SRC_OFF, hi);
        m.writeLong(l3off + SRC_OFF + 8, lo);
    }

    public static void setDst(Mbuf m, int l3off, long hi, long lo) {
        m.writeLong(l3off + DST_OFF, hi);
        m.writeLong(l3off + DST_OFF + 8, lo);
    }

    /**
     * Walks the extension headers after the fixed header at {@code l3off}, within the first
     * segment's data. Returns {@code len | proto << 16 | fragment}: the header length with
     * the extensions ({@link #walkLen}), the upper-layer protocol ({@link #walkProto}; 59 for
     * "no next header", 50 for ESP, which cannot be walked) and {@link #WALK_FRAGMENT} if a
     * fragment header was passed (the walk stops after it, as DPDK's). -1 if the fixed header
     * or an extension header is not whole in the data, the version is not 6, or there are more
     * than {@link #MAX_EXT_HDRS} extension headers.
     */
    public static int walk(Mbuf m, int l3off) {
        return walk(m, l3off, m.dataLen());
    }

    /** {@link #walk(Mbuf, int)} with the headers to lie before {@code end} (an offset in the first segment's data). */
    static int walk(Mbuf m, int l3off, int end) {
        if (l3off < 0 || end > m.dataLen() || l3off > end - HDR_LEN) return -1;
        if ((m.readByte(l3off) & 0xf0) != 0x60) return -1;
        int proto = proto(m, l3off);
        int off = l3off + HDR_LEN;
        for (int i = 0; i <= MAX_EXT_HDRS; i++) {
            int len;
            switch (proto) {
                case PROTO_HOPOPTS, PROTO_ROUTING, PROTO_DSTOPTS -> len = -8;
                case PROTO_AH -> len = -4;
                case PROTO_FRAGMENT -> len = FRAG_HDR_LEN;
                default -> {
                    return off - l3off | proto << 16;
                }
            }
            if (i == MAX_EXT_HDRS || off > end - 2) return -1;
            int next = m.readByte(off) & 0xff;
            // hop-by-hop, routing and options count 8-byte units after the first; AH 4-byte units after the first two
            len = len == -8 ? ((m.readByte(off + 1) & 0xff) + 1) * 8 : len == -4 ? ((m.readByte(off + 1) & 0xff) + 2) * 4 : len;
            if (len > end - off) return -1;
            off += len;
            if (proto == PROTO_FRAGMENT) return off - l3off | next << 16 | WALK_FRAGMENT;
            proto = next;
        }
        return -1;
    }

    /** The header length, extensions included, of a {@link #walk} result. */
    public static int walkLen(int walk) {
        return walk & 0xffff;
    }

    /** The upper-layer protocol of a {@link #walk} result. */
    public static int walkProto(int walk) {
        return walk >>> 16 & 0xff;
    }

    /** True if the {@link #walk} passed a fragment header. */
    public static boolean walkFragment(int walk) {
        return (walk & WALK_FRAGMENT) != 0;
    }

    /**
     * The payload length, or -1 if the fixed header is not in the first segment, the version is
     * not 6 or the payload length reaches beyond the packet (pkt_len): a packet for which
     * {@link #udptcpCksum} is safe to call.
     */
    public static int l4Len(Mbuf m, int l3off) {
        if (l3off < 0 || l3off > m.dataLen() - HDR_LEN) return -1;
        if ((m.readByte(l3off) & 0xf0) != 0x60) return -1;
        int len = payloadLen(m, l3off);
        return len > m.pktLen() - l3off - HDR_LEN ? -1 : len;
    }

    /** Swaps the source and destination addresses in place. */
    public static void swapAddrs(Mbuf m, int l3off) {
        long s0 = m.readLong(l3off + SRC_OFF), s1 = m.readLong(l3off + SRC_OFF + 8);
        m.writeLong(l3off + SRC_OFF, m.readLong(l3off + DST_OFF));
        m.writeLong(l3off + SRC_OFF + 8, m.readLong(l3off + DST_OFF + 8));
        m.writeLong(l3off + DST_OFF, s0);
        m.writeLong(l3off + DST_OFF + 8, s1);
    }

    /** The folded pseudo-header sum (rte_ipv6_phdr_cksum): addresses, 32-bit payload length, next header. */
    public static int phdrCksum(Mbuf m, int l3off) {
        long sum = Checksum.partial(m.buffer(), Ipv4.bounded(m, l3off + SRC_OFF, 2 * ADDR_LEN), 2 * ADDR_LEN, 0);
        sum += payloadLen(m, l3off) + proto(m, l3off);
        return Checksum.reduce(sum);
    }

    /**
     * The UDP or TCP checksum (rte_ipv6_udptcp_cksum) over the pseudo header and the payload as
     * it is (clear the L4 checksum field first, or use {@link #setUdptcpChecksum}); a UDP result
     * of 0 becomes 0xffff.
     */
    public static int udptcpCksum(Mbuf m, int l3off) {
        int c = ~rawUdptcp(m, l3off) & 0xffff;
        if (c == 0 && proto(m, l3off) == Ipv4.PROTO_UDP) c = 0xffff;
        return c;
    }

    /** True when pseudo header plus payload sum to 0xffff (rte_ipv6_udptcp_cksum_verify). */
    public static boolean udptcpCksumVerify(Mbuf m, int l3off) {
        return rawUdptcp(m, l3off) == 0xffff;
    }

    /** As {@link Ipv4#setUdptcpChecksum}: false if the next header is neither UDP nor TCP. */
    public static boolean setUdptcpChecksum(Mbuf m, int l3off) {
        int proto = proto(m, l3off);
        int field = proto == Ipv4.PROTO_UDP ? Udp.CKSUM_OFF : proto == Ipv4.PROTO_TCP ? Tcp.CKSUM_OFF : -1;
        if (field < 0) return false;
        int l4off = l3off + HDR_LEN;
        m.writeShort(l4off + field, 0);
        m.writeShort(l4off + field, udptcpCksum(m, l3off));
        return true;
    }

    private static int rawUdptcp(Mbuf m, int l3off) {
        return rawL4(m, l3off, HDR_LEN, proto(m, l3off));
    }

    /**
     * The upper-layer checksum (UDP, TCP or ICMPv6, RFC 8200 section 8.1) of a packet with
     * extension headers: the L4 header at {@code l3off + l3len}, {@code proto} in the pseudo
     * header and an upper-layer length of payload length minus the extensions (both from
     * {@link #walk}), over the bytes as they are (clear the checksum field first). A UDP result
     * of 0 becomes 0xffff. The destination in the pseudo header is the one in the fixed header:
     * a routing header's final destination is not looked up.
     */
    public static int l4Cksum(Mbuf m, int l3off, int l3len, int proto) {
        int c = ~rawL4(m, l3off, l3len, proto) & 0xffff;
        if (c == 0 && proto == Ipv4.PROTO_UDP) c = 0xffff;
        return c;
    }

    /** True when {@link #l4Cksum}'s sum, the checksum field included, is 0xffff. */
    public static boolean l4CksumVerify(Mbuf m, int l3off, int l3len, int proto) {
        return rawL4(m, l3off, l3len, proto) == 0xffff;
    }

    /**
     * Clears the UDP or TCP checksum field after the extension headers, computes
     * {@link #l4Cksum} and writes it; false (nothing written) if {@code proto} is neither.
     */
    public static boolean setL4Checksum(Mbuf m, int l3off, int l3len, int proto) {
        int field = proto == Ipv4.PROTO_UDP ? Udp.CKSUM_OFF : proto == Ipv4.PROTO_TCP ? Tcp.CKSUM_OFF : -1;
        if (field < 0) return false;
        int at = l3off + l3len + field;
        m.writeShort(at, 0);
        m.writeShort(at, l4Cksum(m, l3off, l3len, proto));
        return true;
    }

    private static int rawL4(Mbuf m, int l3off, int l3len, int proto) {
        int l4len = payloadLen(m, l3off) - (l3len - HDR_LEN);
        if (l4len < 0) return 0;
        long sum = Checksum.partial(m.buffer(), Ipv4.bounded(m, l3off + SRC_OFF, 2 * ADDR_LEN), 2 * ADDR_LEN, 0);
        sum += l4len + proto + Checksum.raw(m, l3off + l3len, l4len);
        return Checksum.reduce(sum);
    }
}
