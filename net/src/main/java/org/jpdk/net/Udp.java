package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * The UDP header (rte_udp_hdr) at offset {@code l4off} of an mbuf's data. Accessors go through
 * Mbuf's bounded accessors and throw IndexOutOfBoundsException past the data; nothing allocates.
 * The checksum over a pseudo header is in {@link Ipv4} and {@link Ipv6}.
 */
public final class Udp {
    public static final int HDR_LEN = 8;
    public static final int SRC_PORT_OFF = 0;
    public static final int DST_PORT_OFF = 2;
    public static final int DGRAM_LEN_OFF = 4;
    public static final int CKSUM_OFF = 6;

    private Udp() {
    }

    public static int srcPort(Mbuf m, int l4off) {
        return m.readShort(l4off + SRC_PORT_OFF);
    }

    public static int dstPort(Mbuf m, int l4off) {
        return m.readShort(l4off + DST_PORT_OFF);
    }

    public static void setSrcPort(Mbuf m, int l4off, int port) {
        m.writeShort(l4off + SRC_PORT_OFF, port);
    }

    public static void setDstPort(Mbuf m, int l4off, int port) {
        m.writeShort(l4off + DST_PORT_OFF, port);
    }

    /** Both ports in one word: source port in the high half (the order RSS hashes them in). */
    public static int ports(Mbuf m, int l4off) {
        return m.readInt(l4off + SRC_PORT_OFF);
    }

    /** The datagram length: header plus payload. */
    public static int dgramLen(Mbuf m, int l4off) {
        return m.readShort(l4off + DGRAM_LEN_OFF);
    }

    public static void setDgramLen(Mbuf m, int l4off, int len) {
        m.writeShort(l4off + DGRAM_LEN_OFF, len);
    }

    /** The checksum field as it is (0: none was computed, over IPv4). */
    public static int cksum(Mbuf m, int l4off) {
        return m.readShort(l4off + CKSUM_OFF);
    }

    public static void setCksum(Mbuf m, int l4off, int cksum) {
        m.writeShort(l4off + CKSUM_OFF, cksum);
    }
}
