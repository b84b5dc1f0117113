package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * The IPv4 header (rte_ipv4_hdr) at offset {@code l3off} of an mbuf's data, and its checksums
 * (rte_ip.h).
 * <pre>
 *   offset  size  field                    offset  size  field
 *   0       1     version (4) | IHL        8       1     time to live
 *   1       1     type of service          9       1     next protocol
 *   2       2     total length             10      2     header checksum
 *   4       2     packet id                12      4     source address
 *   6       2     flags | fragment offset  16      4     destination address
 * </pre>
 * Addresses are ints in host order (198.18.0.1 is 0xC6120001). The header checksum covers the
 * header (IHL words); the UDP/TCP checksum covers a pseudo header (addresses, protocol, L4
 * length = total length - header length) and the L4 bytes, which may span segments.
 *
 * <p>Bounds: everything reads through Mbuf's bounded accessors, so a header or an L4 range
 * (as the total length announces it) beyond the packet's data throws IndexOutOfBoundsException;
 * {@link #headerLen} and {@link #l4Len} return -1 instead, for parsers. Nothing allocates.
 */
public final class Ipv4 {
    public static final int HDR_LEN = 20;
    public static final int MIN_HDR_LEN = 20;
    public static final int MAX_HDR_LEN = 60;
    public static final int VERSION_IHL_OFF = 0;
    public static final int TOS_OFF = 1;
    public static final int TOTAL_LENGTH_OFF = 2;
    public static final int PACKET_ID_OFF = 4;
    public static final int FRAGMENT_OFFSET_OFF = 6;
    public static final int TTL_OFF = 8;
    public static final int PROTO_OFF = 9;
    public static final int CHECKSUM_OFF = 10;
    public static final int SRC_OFF = 12;
    public static final int DST_OFF = 16;
    /** Version 4, IHL 5 (RTE_IPV4_VHL_DEF). */
    public static final int VHL_DEF = 0x45;

    /** Fragment offset word: don't fragment, more fragments, offset in 8-byte units (RTE_IPV4_HDR_*). */
    public static final int DF_FLAG = 0x4000, MF_FLAG = 0x2000, OFFSET_MASK = 0x1fff;

    public static final int PROTO_ICMP = 1;
    public static final int PROTO_IGMP = 2;
    /** IPv4 in IPv4 (IPPROTO_IPIP). */
    public static final int PROTO_IPIP = 4;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;
    public static final int PROTO_IPV6 = 41;
    public static final int PROTO_ICMPV6 = 58;
    public static final int PROTO_SCTP = 132;

    private Ipv4() {
    }

    /**
     * The header length from IHL (rte_ipv4_hdr_len); -1 if the data has no byte at {@code l3off},
     * the version is not 4, IHL is below 5, or the header does not fit in the first segment.
     */
    public static int headerLen(Mbuf m, int l3off) {
        if (l3off < 0 || l3off >= m.dataLen()) return -1;
        int vhl = m.readByte(l3off) & 0xff;
        int hl = (vhl & 0x0f) << 2;
        if (vhl >>> 4 != 4 || hl < MIN_HDR_LEN || hl > m.dataLen() - l3off) return -1;
        return hl;
    }

    public static int totalLength(Mbuf m, int l3off) {
        return m.readShort(l3off + TOTAL_LENGTH_OFF);
    }

    public static void setTotalLength(Mbuf m, int l3off, int len) {
        m.writeShort(l3off + TOTAL_LENGTH_OFF, len);
    }

    public static int proto(Mbuf m, int l3off) {
        return m.readByte(l3off + PROTO_OFF) & 0xff;
    }

    public static void setProto(Mbuf m, int l3off, int proto) {
        m.writeByte(l3off + PROTO_OFF, proto);
    }

    public static int src(Mbuf m, int l3off) {
        return m.readInt(l3off + SRC_OFF);
    }

    public static int dst(Mbuf m, int l3off) {
        return m.readInt(l3off + DST_OFF);
    }

    public static void setSrc(Mbuf m, int l3off, int addr) {
        m.writeInt(l3off + SRC_OFF, addr);
    }

    public static void setDst(Mbuf m, int l3off, int addr) {
        m.writeInt(l3off + DST_OFF, addr);
    }

    public static int tos(Mbuf m, int l3off) {
        return m.readByte(l3off + TOS_OFF) & 0xff;
    }

    public static void setTos(Mbuf m, int l3off, int tos) {
        m.writeByte(l3off + TOS_OFF, tos);
    }

    public static int packetId(Mbuf m, int l3off) {
        return m.readShort(l3off + PACKET_ID_OFF);
    }

    public static void setPacketId(Mbuf m, int l3off, int id) {
        m.writeShort(l3off + PACKET_ID_OFF, id);
    }

    /** The flags and fragment offset word ({@link #DF_FLAG}, {@link #MF_FLAG}, {@link #OFFSET_MASK}). */
    public static int fragmentOffset(Mbuf m, int l3off) {
        return m.readShort(l3off + FRAGMENT_OFFSET_OFF);
    }

    public static void setFragmentOffset(Mbuf m, int l3off, int word) {
        m.writeShort(l3off + FRAGMENT_OFFSET_OFF, word);
    }

    /** True for any fragment but a whole datagram: MF set or a non-zero offset (rte_ipv4_frag_pkt_is_fragmented). */
    public static boolean isFragment(Mbuf m, int l3off) {
        return (fragmentOffset(m, l3off) & (MF_FLAG | OFFSET_MASK)) != 0;
    }

    public static int ttl(Mbuf m, int l3off) {
        return m.readByte(l3off + TTL_OFF) & 0xff;
    }

    public static void setTtl(Mbuf m, int l3off, int ttl) {
        m.writeByte(l3off + TTL_OFF, ttl);
    }

    /**
     * Decrements the TTL and updates the header checksum incrementally (RFC 1624; the TTL is
     * the high byte of the TTL/protocol word), as a router does. Returns the new TTL; a TTL
     * already 0 is left alone and -1 returned (the caller drops the packet).
     */
    public static int decrementTtl(Mbuf m, int l3off) {
        int word = m.readShort(l3off + TTL_OFF);
        if (word < 0x100) return -1;
        int next = word - 0x100;
        m.writeShort(l3off + TTL_OFF, next);
        m.writeShort(l3off + CHECKSUM_OFF, Checksum.adjust(m.readShort(l3off + CHECKSUM_OFF), word, next));
        return next >>> 8;
    }

    /** The header checksum field as it is. */
    public static int checksum(Mbuf m, int l3off) {
        return m.readShort(l3off + CHECKSUM_OFF);
    }

    /**
     * The L4 length the header announces (total length - header length), or -1 if the header is
     * not valid ({@link #headerLen}) or the total length is below the header length or beyond
     * the packet (pkt_len): a packet for which {@link #udptcpCksum} is safe to call.
     */
    public static int l4Len(Mbuf m, int l3off) {
        int hl = headerLen(m, l3off);
        if (hl < 0) return -1;
        int total = totalLength(m, l3off);
        if (total < hl || total > m.pktLen() - l3off) return -1;
        return total - hl;
    }

    /** True for 224.0.0.0/4. */
    public static boolean isMulticast(int addr) {
        return addr >>> 28 == 0xe;
    }

    /**
     * The header checksum the header should carry (rte_ipv4_cksum on the header with its
     * checksum field zero): the field's current value is skipped, so there is no need to clear it.
     */
    public static int cksum(Mbuf m, int l3off) {
        int hl = (m.readByte(l3off) & 0x0f) << 2;
        long sum = Checksum.partial(m.buffer(), bounded(m, l3off, hl), CHECKSUM_OFF, 0);
        sum = Checksum.partial(m.buffer(), m.dataOff() + l3off + CHECKSUM_OFF + 2, hl - CHECKSUM_OFF - 2, sum);
        return ~Checksum.reduce(sum) & 0xffff;
    }

    /** Writes {@link #cksum} into the header. */
    public static void setChecksum(Mbuf m, int l3off) {
        m.writeShort(l3off + CHECKSUM_OFF, cksum(m, l3off));
    }

    /** True when the header checksum is right: the whole header sums to 0xffff. */
    public static boolean cksumVerify(Mbuf m, int l3off) {
        int hl = (m.readByte(l3off) & 0x0f) << 2;
        return Checksum.reduce(Checksum.partial(m.buffer(), bounded(m, l3off, hl), hl, 0)) == 0xffff;
    }

    /** The folded pseudo-header sum (rte_ipv4_phdr_cksum without TSO): addresses, protocol, L4 length. */
    public static int phdrCksum(Mbuf m, int l3off) {
        int hl = (m.readByte(l3off) & 0x0f) << 2;
        long src = m.readInt(l3off + SRC_OFF) & 0xffff_ffffL, dst = m.readInt(l3off + DST_OFF) & 0xffff_ffffL;
        long sum = src + dst + proto(m, l3off) + ((totalLength(m, l3off) - hl) & 0xffff);
        return Checksum.reduce(sum);
    }

    /**
     * The UDP or TCP checksum (rte_ipv4_udptcp_cksum): over the pseudo header and the L4 bytes
     * as they are, so clear the L4 checksum field first (or use {@link #setUdptcpChecksum}). A
     * UDP result of 0 becomes 0xffff (RFC 768). 0 if the total length is below the header length,
     * as DPDK.
     */
    public static int udptcpCksum(Mbuf m, int l3off) {
        int c = ~rawUdptcp(m, l3off) & 0xffff;
        if (c == 0 && proto(m, l3off) == PROTO_UDP) c = 0xffff;
        return c;
    }

    /**
     * True when the L4 checksum is right (rte_ipv4_udptcp_cksum_verify): pseudo header plus L4
     * bytes sum to 0xffff. A UDP checksum of 0 ("none") is not special here: callers that
     * accept it check for it first, as testpmd's csum engine does.
     */
    public static boolean udptcpCksumVerify(Mbuf m, int l3off) {
        return rawUdptcp(m, l3off) == 0xffff;
    }

    /**
     * Clears the UDP or TCP checksum field, computes {@link #udptcpCksum} and writes it; false
     * (nothing written) if the protocol is neither UDP nor TCP. The L4 header must be in the
     * first segment; the payload may span segments.
     */
    public static boolean setUdptcpChecksum(Mbuf m, int l3off) {
        int proto = proto(m, l3off);
        int field = proto == PROTO_UDP ? Udp.CKSUM_OFF : proto == PROTO_TCP ? Tcp.CKSUM_OFF : -1;
        if (field < 0) return false;
        int l4off = l3off + ((m.readByte(l3off) & 0x0f) << 2);
        m.writeShort(l4off + field, 0);
        m.writeShort(l4off + field, udptcpCksum(m, l3off));
        return true;
    }

    private static int rawUdptcp(Mbuf m, int l3off) {
        int hl = (m.readByte(l3off) & 0x0f) << 2;
        int total = totalLength(m, l3off);
        if (total < hl) return 0;
        int raw = Checksum.raw(m, l3off + hl, total - hl);
        return Checksum.reduce((long) raw + phdrCksum(m, l3off));
    }

    /** The absolute buffer offset of {@code len} bytes at {@code off} of the first segment's data, checked. */
    static long bounded(Mbuf m, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, m.dataLen());
        return m.dataOff() + off;
    }
}
