package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * The fixed IPv6 header (rte_ipv6_hdr) at offset {@code l3off} of an mbuf's data, and the UDP/TCP
 * checksum over it (rte_ip.h). Extension headers are not walked: the L4 header is taken to follow
 * at {@code l3off + HDR_LEN} with protocol {@link #proto}, as DPDK's helpers do.
 * <pre>
 *   offset  size  field
 *   0       4     version (6) | traffic class | flow label
 *   4       2     payload length
 *   6       1     next header (proto)
 *   7       1     hop limit
 *   8       16    source address
 *   24      16    destination address
 * </pre>
 * Bounds as {@link Ipv4}: accessors and checksums throw IndexOutOfBoundsException on a short
 * packet; {@link #l4Len} returns -1. Nothing allocates.
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

    private Ipv6() {
    }

    public static int payloadLen(Mbuf m, int l3off) {
        return m.readShort(l3off + PAYLOAD_LEN_OFF);
    }

    public static int proto(Mbuf m, int l3off) {
        return m.readByte(l3off + PROTO_OFF) & 0xff;
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
        int raw = Checksum.raw(m, l3off + HDR_LEN, payloadLen(m, l3off));
        return Checksum.reduce((long) raw + phdrCksum(m, l3off));
    }
}
