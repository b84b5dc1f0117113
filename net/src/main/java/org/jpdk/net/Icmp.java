package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * The ICMP header (rte_icmp_hdr) at offset {@code l4off} of an mbuf's data, shared by ICMP and
 * ICMPv6 (type, code, checksum, then for echo an identifier and a sequence number); ICMPv6's
 * types are in {@link Icmp6}. The ICMP checksum covers the message only; ICMPv6's adds the IPv6
 * pseudo header ({@link Icmp6#cksum}). Accessors throw IndexOutOfBoundsException past the data;
 * nothing allocates.
 */
public final class Icmp {
    public static final int HDR_LEN = 8;
    public static final int TYPE_OFF = 0;
    public static final int CODE_OFF = 1;
    public static final int CKSUM_OFF = 2;
    public static final int IDENT_OFF = 4;
    public static final int SEQ_NB_OFF = 6;

    /** RTE_IP_ICMP_ECHO_REPLY. */
    public static final int ECHO_REPLY = 0;
    public static final int DEST_UNREACHABLE = 3;
    /** RTE_IP_ICMP_ECHO_REQUEST. */
    public static final int ECHO_REQUEST = 8;
    public static final int TIME_EXCEEDED = 11;
    /** RTE_ICMP6_ECHO_REQUEST. */
    public static final int ICMP6_ECHO_REQUEST = Icmp6.ECHO_REQUEST;
    /** RTE_ICMP6_ECHO_REPLY. */
    public static final int ICMP6_ECHO_REPLY = Icmp6.ECHO_REPLY;

    private Icmp() {
    }

    public static int type(Mbuf m, int l4off) {
        return m.readByte(l4off + TYPE_OFF) & 0xff;
    }

    public static int code(Mbuf m, int l4off) {
        return m.readByte(l4off + CODE_OFF) & 0xff;
    }

    /** Sets type and code in one write. */
    public static void setTypeCode(Mbuf m, int l4off, int type, int code) {
        m.writeShort(l4off + TYPE_OFF, (type & 0xff) << 8 | code & 0xff);
    }

    public static int ident(Mbuf m, int l4off) {
        return m.readShort(l4off + IDENT_OFF);
    }

    public static int seq(Mbuf m, int l4off) {
        return m.readShort(l4off + SEQ_NB_OFF);
    }

    /** The checksum field as it is. */
    public static int checksum(Mbuf m, int l4off) {
        return m.readShort(l4off + CKSUM_OFF);
    }

    public static void setChecksum(Mbuf m, int l4off, int cksum) {
        m.writeShort(l4off + CKSUM_OFF, cksum);
    }

    /** The ICMP checksum {@code len} message bytes at {@code l4off} should carry; the field's current value is skipped. */
    public static int cksum(Mbuf m, int l4off, int len) {
        int raw = Checksum.raw(m, l4off, len);
        int field = m.readShort(l4off + CKSUM_OFF);
        return ~Checksum.reduce(raw + (~field & 0xffff)) & 0xffff;
    }

    /** True when the {@code len} message bytes, checksum included, sum to 0xffff. */
    public static boolean cksumVerify(Mbuf m, int l4off, int len) {
        return Checksum.raw(m, l4off, len) == 0xffff;
    }

    /**
     * Turns an echo request into an echo reply in place: the type word changes from
     * {@code request << 8} to {@code reply << 8} and the checksum follows incrementally
     * (RFC 1624). For ICMP pass {@link #ECHO_REQUEST}/{@link #ECHO_REPLY}, for ICMPv6 the
     * {@link Icmp6} ones (its pseudo header does not change when addresses are swapped).
     */
    public static void echoToReply(Mbuf m, int l4off, int request, int reply) {
        int old = m.readShort(l4off + TYPE_OFF);
        int next = (reply & 0xff) << 8 | old & 0xff;
        m.writeShort(l4off + TYPE_OFF, next);
        m.writeShort(l4off + CKSUM_OFF, Checksum.adjust(m.readShort(l4off + CKSUM_OFF), old, next));
    }
}
