package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * ICMPv6 (RFC 4443, next header 58): message types and the checksum, which covers the IPv6
 * pseudo header (RFC 8200 section 8.1) and the message. The header layout is {@link Icmp}'s.
 */
public final class Icmp6 {
    public static final int PROTO = 58;
    public static final int DEST_UNREACHABLE = 1;
    public static final int PACKET_TOO_BIG = 2;
    public static final int TIME_EXCEEDED = 3;
    public static final int PARAM_PROBLEM = 4;
    public static final int ECHO_REQUEST = 128;
    public static final int ECHO_REPLY = 129;
    public static final int ROUTER_SOLICITATION = 133;
    public static final int ROUTER_ADVERTISEMENT = 134;
    public static final int NEIGHBOR_SOLICITATION = 135;
    public static final int NEIGHBOR_ADVERTISEMENT = 136;

    private Icmp6() {
    }

    /**
     * The checksum the message after the IPv6 header at {@code l3off} should carry: the
     * message at {@code l3off + l3len} (l3len with extension headers, from {@link Ipv6#walk}),
     * with the checksum field's current value skipped.
     */
    public static int cksum(Mbuf m, int l3off, int l3len) {
        int l4off = l3off + l3len;
        int field = m.readShort(l4off + Icmp.CKSUM_OFF);
        int withField = ~Ipv6.l4Cksum(m, l3off, l3len, PROTO) & 0xffff;
        return ~Checksum.reduce(withField + (~field & 0xffff)) & 0xffff;
    }

    /** True when pseudo header plus message, checksum included, sum to 0xffff. */
    public static boolean cksumVerify(Mbuf m, int l3off, int l3len) {
        return Ipv6.l4CksumVerify(m, l3off, l3len, PROTO);
    }

    /** Computes {@link #cksum} and writes it. */
    public static void setChecksum(Mbuf m, int l3off, int l3len) {
        m.writeShort(l3off + l3len + Icmp.CKSUM_OFF, cksum(m, l3off, l3len));
    }
}
