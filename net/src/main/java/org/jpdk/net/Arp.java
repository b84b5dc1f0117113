package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * The ARP header for Ethernet and IPv4 (rte_arp_hdr) at offset {@code l3off} of an mbuf's data.
 * <pre>
 *   offset  size  field                    offset  size  field
 *   0       2     hardware type (1)        8       6     sender hardware address
 *   2       2     protocol type (0x0800)   14      4     sender IP address
 *   4       1     hardware length (6)      18      6     target hardware address
 *   5       1     protocol length (4)      24      4     target IP address
 *   6       2     operation
 * </pre>
 * Hardware addresses are 48-bit longs as in {@link Ether}, IP addresses ints as in
 * {@link Ipv4}. Accessors throw IndexOutOfBoundsException past the data; nothing allocates.
 */
public final class Arp {
    public static final int HDR_LEN = 28;
    public static final int HRD_OFF = 0;
    public static final int PRO_OFF = 2;
    public static final int HLEN_OFF = 4;
    public static final int PLEN_OFF = 5;
    public static final int OP_OFF = 6;
    /** Sender hardware address. */
    public static final int SHA_OFF = 8;
    /** Sender IP address. */
    public static final int SIP_OFF = 14;
    /** Target hardware address. */
    public static final int THA_OFF = 18;
    /** Target IP address. */
    public static final int TIP_OFF = 24;

    /** RTE_ARP_HRD_ETHER. */
    public static final int HRD_ETHER = 1;
    public static final int OP_REQUEST = 1;
    public static final int OP_REPLY = 2;

    private Arp() {
    }

    /**
     * True when a whole Ethernet/IPv4 ARP header lies at {@code l3off} of the first segment:
     * hardware type 1, protocol 0x0800, lengths 6 and 4. Never throws.
     */
    public static boolean isEtherIpv4(Mbuf m, int l3off) {
        return l3off >= 0 && l3off <= m.dataLen() - HDR_LEN
                && m.readInt(l3off + HRD_OFF) == (HRD_ETHER << 16 | Ether.TYPE_IPV4)
                && m.readShort(l3off + HLEN_OFF) == (Ether.ADDR_LEN << 8 | 4);
    }

    public static int op(Mbuf m, int l3off) {
        return m.readShort(l3off + OP_OFF);
    }

    public static void setOp(Mbuf m, int l3off, int op) {
        m.writeShort(l3off + OP_OFF, op);
    }

    public static long sha(Mbuf m, int l3off) {
        return Ether.readAddr(m, l3off + SHA_OFF);
    }

    public static void setSha(Mbuf m, int l3off, long addr) {
        Ether.writeAddr(m, l3off + SHA_OFF, addr);
    }

    public static int sip(Mbuf m, int l3off) {
        return m.readInt(l3off + SIP_OFF);
    }

    public static void setSip(Mbuf m, int l3off, int addr) {
        m.writeInt(l3off + SIP_OFF, addr);
    }

    public static long tha(Mbuf m, int l3off) {
        return Ether.readAddr(m, l3off + THA_OFF);
    }

    public static void setTha(Mbuf m, int l3off, long addr) {
        Ether.writeAddr(m, l3off + THA_OFF, addr);
    }

    public static int tip(Mbuf m, int l3off) {
        return m.readInt(l3off + TIP_OFF);
    }

    public static void setTip(Mbuf m, int l3off, int addr) {
        m.writeInt(l3off + TIP_OFF, addr);
    }
}
