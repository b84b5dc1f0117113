package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * Packet types (DPDK's RTE_PTYPE_* bits, rte_mbuf_ptype.h, same values) and the software parser
 * that finds them, as {@code rte_net_get_ptype}.
 * <pre>
 *   bits   field        values
 *   3:0    L2           ETHER, ETHER_VLAN (0x8100), ETHER_QINQ (0x88A8), ETHER_ARP, ...
 *   7:4    L3 (outer)   IPV4, IPV4_EXT (with options), IPV6, IPV6_EXT (with extension headers)
 *   11:8   L4 (outer)   TCP, UDP, SCTP, ICMP, IGMP, FRAG, NONFRAG (any other protocol)
 *   15:12  tunnel       IP (IP in IP), VXLAN (UDP port 4789)
 *   19:16  inner L2     INNER_L2_ETHER, _VLAN, _QINQ
 *   23:20  inner L3     INNER_L3_IPV4, _IPV4_EXT, _IPV6, _IPV6_EXT
 *   27:24  inner L4     INNER_L4_TCP, _UDP, ... (the outer L4 value shifted by 16)
 * </pre>
 *
 * <p>{@link #parse} reads the headers in the first segment and stores the type and the header
 * lengths in the mbuf. A field is set only when its header is whole and sane: a truncated or
 * malformed header leaves that field and every later one unknown (0), and parsing never throws.
 * Checks beyond DPDK's: the IPv4 version and IHL, the total (payload) length against the packet
 * (the L4 header must lie inside it and inside the first segment), the TCP data offset, and an
 * IPv6 extension chain walked to at most {@link Ipv6#MAX_EXT_HDRS} headers (AH too, which DPDK
 * stops at). Beyond DPDK: VXLAN on UDP destination port 4789 is recognised as a tunnel (DPDK's
 * software parser leaves that to hardware), ICMP/ICMPv6 and IGMP get their L4 type and other
 * unfragmented protocols L4_NONFRAG, as the header file defines them. Tunnels nest one level.
 *
 * <p>Lengths, as DPDK's transmit offloads want them: for a plain packet {@code l2Len},
 * {@code l3Len} (extension headers included), {@code l4Len} (8 UDP, 20-60 TCP, 12 SCTP, else
 * 0); for a tunnelled packet {@code outerL2Len} and {@code outerL3Len} are the outer headers,
 * {@code l2Len} spans outer UDP, VXLAN and inner Ethernet (0 for IP in IP), and {@code l3Len},
 * {@code l4Len} are the inner ones. Allocates nothing.
 */
public final class PacketType {
    public static final int UNKNOWN = 0;

    public static final int L2_ETHER = 0x1;
    public static final int L2_ETHER_TIMESYNC = 0x2;
    public static final int L2_ETHER_ARP = 0x3;
    public static final int L2_ETHER_LLDP = 0x4;
    public static final int L2_ETHER_NSH = 0x5;
    public static final int L2_ETHER_VLAN = 0x6;
    public static final int L2_ETHER_QINQ = 0x7;
    public static final int L2_ETHER_PPPOE = 0x8;
    public static final int L2_ETHER_FCOE = 0x9;
    public static final int L2_ETHER_MPLS = 0xa;
    public static final int L2_MASK = 0xf;

    public static final int L3_IPV4 = 0x10;
    public static final int L3_IPV4_EXT = 0x30;
    public static final int L3_IPV6 = 0x40;
    public static final int L3_IPV4_EXT_UNKNOWN = 0x90;
    public static final int L3_IPV6_EXT = 0xc0;
    public static final int L3_IPV6_EXT_UNKNOWN = 0xe0;
    public static final int L3_MASK = 0xf0;

    public static final int L4_TCP = 0x100;
    public static final int L4_UDP = 0x200;
    public static final int L4_FRAG = 0x300;
    public static final int L4_SCTP = 0x400;
    public static final int L4_ICMP = 0x500;
    public static final int L4_NONFRAG = 0x600;
    public static final int L4_IGMP = 0x700;
    public static final int L4_MASK = 0xf00;

    public static final int TUNNEL_IP = 0x1000;
    public static final int TUNNEL_GRE = 0x2000;
    public static final int TUNNEL_VXLAN = 0x3000;
    public static final int TUNNEL_NVGRE = 0x4000;
    public static final int TUNNEL_GENEVE = 0x5000;
    public static final int TUNNEL_GRENAT = 0x6000;
    public static final int TUNNEL_GTPC = 0x7000;
    public static final int TUNNEL_GTPU = 0x8000;
    public static final int TUNNEL_ESP = 0x9000;
    public static final int TUNNEL_L2TP = 0xa000;
    public static final int TUNNEL_VXLAN_GPE = 0xb000;
    public static final int TUNNEL_MPLS_IN_GRE = 0xc000;
    public static final int TUNNEL_MPLS_IN_UDP = 0xd000;
    public static final int TUNNEL_MASK = 0xf000;

    public static final int INNER_L2_ETHER = 0x10000;
    public static final int INNER_L2_ETHER_VLAN = 0x20000;
    public static final int INNER_L2_ETHER_QINQ = 0x30000;
    public static final int INNER_L2_MASK = 0xf0000;

    public static final int INNER_L3_IPV4 = 0x100000;
    public static final int INNER_L3_IPV4_EXT = 0x200000;
    public static final int INNER_L3_IPV6 = 0x300000;
    public static final int INNER_L3_IPV4_EXT_UNKNOWN = 0x400000;
    public static final int INNER_L3_IPV6_EXT = 0x500000;
    public static final int INNER_L3_IPV6_EXT_UNKNOWN = 0x600000;
    public static final int INNER_L3_MASK = 0xf00000;

    public static final int INNER_L4_TCP = 0x1000000;
    public static final int INNER_L4_UDP = 0x2000000;
    public static final int INNER_L4_FRAG = 0x3000000;
    public static final int INNER_L4_SCTP = 0x4000000;
    public static final int INNER_L4_ICMP = 0x5000000;
    public static final int INNER_L4_NONFRAG = 0x6000000;
    public static final int INNER_L4_MASK = 0xf000000;

    public static final int ALL_MASK = 0x0fffffff;

    // l3l4's packed result: L3 code (bits 0..3: 0 none, else one of the CODE_* below), L4 type
    // nibble (4..7, the L4_* value >>> 8), L3 length (8..23), L4 length (24..31), protocol
    // (32..39), and the end of the IP datagram within the first segment (40..63).
    private static final int CODE_IPV4 = 1, CODE_IPV4_EXT = 2, CODE_IPV6 = 3, CODE_IPV6_EXT = 4;
    private static final int[] OUTER_L3 = {0, L3_IPV4, L3_IPV4_EXT, L3_IPV6, L3_IPV6_EXT};
    private static final int[] INNER_L3 = {0, INNER_L3_IPV4, INNER_L3_IPV4_EXT, INNER_L3_IPV6, INNER_L3_IPV6_EXT};

    private PacketType() {
    }

    /**
     * Parses the packet's headers (rte_net_get_ptype with all layers), sets
     * {@code m.packetType}, {@code l2Len}, {@code l3Len}, {@code l4Len}, {@code outerL2Len} and
     * {@code outerL3Len} (lengths of layers not found are 0) and returns the type. Reads only
     * the first segment; never throws; allocates nothing.
     */
    public static int parse(Mbuf m) {
        m.l2Len = m.l3Len = m.l4Len = m.outerL2Len = m.outerL3Len = 0;
        int end = m.dataLen();
        long l2 = l2(m, 0, end);
        if (l2 < 0) return m.packetType = UNKNOWN;
        int l2Len = (int) l2 & 0xffff, etherType = (int) (l2 >>> 16) & 0xffff, tags = (int) (l2 >>> 32);
        int ptype = outerL2Type(tags, m.readShort(Ether.TYPE_OFF), etherType);
        m.l2Len = l2Len;
        long r = l3l4(m, l2Len, end, etherType);
        if (r == 0) return m.packetType = ptype;
        int code = (int) r & 0xf, l4 = (int) r & 0xf0, l3Len = (int) (r >>> 8) & 0xffff, l4Len = (int) (r >>> 24) & 0xff;
        int proto = (int) (r >>> 32) & 0xff, ipEnd = (int) (r >>> 40);
        ptype |= OUTER_L3[code] | l4 << 4;
        m.l3Len = l3Len;
        m.l4Len = l4Len;
        int l4off = l2Len + l3Len;
        int inner, innerType;
        if (l4 << 4 == L4_UDP && isVxlan(m, l4off, ipEnd)) {
            inner = l4off + Vxlan.TUNNEL_LEN;
            long il2 = l2(m, inner, ipEnd);
            if (il2 < 0) return m.packetType = ptype; // isVxlan saw 14 bytes, so only a cut inner tag lands here
            int innerTags = (int) (il2 >>> 32);
            ptype |= TUNNEL_VXLAN | (innerTags == 0 ? INNER_L2_ETHER : m.readShort(inner + Ether.TYPE_OFF) == Ether.TYPE_QINQ
                    ? INNER_L2_ETHER_QINQ : INNER_L2_ETHER_VLAN);
            innerType = (int) (il2 >>> 16) & 0xffff;
            m.l2Len = Vxlan.TUNNEL_LEN + ((int) il2 & 0xffff);
            inner += (int) il2 & 0xffff;
        } else if (l4 == 0 && ipEnd >= l4off && (proto == Ipv4.PROTO_IPIP || proto == Ipv4.PROTO_IPV6)) {
            ptype |= TUNNEL_IP;
            innerType = proto == Ipv4.PROTO_IPIP ? Ether.TYPE_IPV4 : Ether.TYPE_IPV6;
            inner = l4off;
            m.l2Len = 0;
        } else {
            return m.packetType = ptype;
        }
        m.outerL2Len = l2Len;
        m.outerL3Len = l3Len;
        m.l3Len = m.l4Len = 0;
        long ir = l3l4(m, inner, ipEnd, innerType);
        if (ir == 0) return m.packetType = ptype;
        ptype |= INNER_L3[(int) ir & 0xf] | ((int) ir & 0xf0) << 20;
        m.l3Len = (int) (ir >>> 8) & 0xffff;
        m.l4Len = (int) (ir >>> 24) & 0xff;
        return m.packetType = ptype;
    }

    /** True for a VXLAN header with the I flag and a whole inner Ethernet header after the UDP header at {@code udp}. */
    private static boolean isVxlan(Mbuf m, int udp, int end) {
        return m.readShort(udp + Udp.DST_PORT_OFF) == Vxlan.PORT && udp + Vxlan.TUNNEL_LEN + Ether.HDR_LEN <= end
                && (m.readByte(udp + Udp.HDR_LEN + Vxlan.FLAGS_OFF) & Vxlan.FLAG_VNI) != 0;
    }

    private static int outerL2Type(int tags, int outerType, int etherType) {
        if (tags > 0) return outerType == Ether.TYPE_QINQ ? L2_ETHER_QINQ : L2_ETHER_VLAN;
        return switch (etherType) {
            case Ether.TYPE_ARP -> L2_ETHER_ARP;
            case Ether.TYPE_1588 -> L2_ETHER_TIMESYNC;
            case Ether.TYPE_LLDP -> L2_ETHER_LLDP;
            case Ether.TYPE_NSH -> L2_ETHER_NSH;
            case Ether.TYPE_PPPOE_DISCOVERY, Ether.TYPE_PPPOE_SESSION -> L2_ETHER_PPPOE;
            case Ether.TYPE_FCOE -> L2_ETHER_FCOE;
            case Ether.TYPE_MPLS, Ether.TYPE_MPLS_MULTICAST -> L2_ETHER_MPLS;
            default -> L2_ETHER;
        };
    }

    /**
     * The Ethernet header at {@code off} and up to two tags: {@code len | etherType << 16 | tags << 32},
     * or -1 if the header and the tags it announces do not fit before {@code end}.
     */
    private static long l2(Mbuf m, int off, int end) {
        if (off > end - Ether.HDR_LEN) return -1;
        int len = Ether.HDR_LEN;
        int type = m.readShort(off + Ether.TYPE_OFF);
        int tags = 0;
        while (tags < 2 && Ether.isVlan(type)) {
            if (off + len > end - Ether.VLAN_HDR_LEN) return -1;
            type = m.readShort(off + len + 2);
            len += Ether.VLAN_HDR_LEN;
            tags++;
        }
        return len | (long) type << 16 | (long) tags << 32;
    }

    /**
     * The L3 header of {@code etherType} at {@code off} and the L4 header after it, all before
     * {@code end}: 0 if the L3 header is unknown or broken, else the packed result described above.
     */
    private static long l3l4(Mbuf m, int off, int end, int etherType) {
        int code, l3Len, proto, ipEnd;
        boolean frag;
        if (etherType == Ether.TYPE_IPV4) {
            if (off > end - Ipv4.MIN_HDR_LEN) return 0;
            int vhl = m.readByte(off) & 0xff;
            l3Len = (vhl & 0xf) << 2;
            if (vhl >>> 4 != 4 || l3Len < Ipv4.MIN_HDR_LEN || l3Len > end - off) return 0;
            code = l3Len == Ipv4.MIN_HDR_LEN ? CODE_IPV4 : CODE_IPV4_EXT;
            int total = m.readShort(off + Ipv4.TOTAL_LENGTH_OFF);
            ipEnd = total < l3Len || total > m.pktLen() - off ? -1 : off + total;
            frag = (m.readShort(off + Ipv4.FRAGMENT_OFFSET_OFF) & (Ipv4.MF_FLAG | Ipv4.OFFSET_MASK)) != 0;
            proto = m.readByte(off + Ipv4.PROTO_OFF) & 0xff;
        } else if (etherType == Ether.TYPE_IPV6) {
            if (off > end - Ipv6.HDR_LEN || (m.readByte(off) & 0xf0) != 0x60) return 0;
            int payload = m.readShort(off + Ipv6.PAYLOAD_LEN_OFF);
            ipEnd = payload > m.pktLen() - off - Ipv6.HDR_LEN ? -1 : off + Ipv6.HDR_LEN + payload;
            int walk = Ipv6.walk(m, off, ipEnd < 0 ? end : Math.min(end, ipEnd));
            code = Ipv6.isExtension(Ipv6.proto(m, off)) ? CODE_IPV6_EXT : CODE_IPV6;
            if (walk < 0) {
                // a broken or too long extension chain: the L3 type stands, nothing after it
                return code | (long) Ipv6.HDR_LEN << 8;
            }
            l3Len = Ipv6.walkLen(walk);
            proto = Ipv6.walkProto(walk);
            frag = Ipv6.walkFragment(walk);
        } else {
            return 0;
        }
        long head = code | (long) l3Len << 8 | (long) proto << 32;
        if (ipEnd < 0) return head;                                   // lengths lie: no L4
        int limit = Math.min(end, ipEnd);
        head |= (long) limit << 40;
        if (frag) return head | L4_FRAG >>> 4;
        int l4off = off + l3Len;
        int avail = limit - l4off;
        int l4, l4Len = 0;
        switch (proto) {
            case Ipv4.PROTO_UDP -> {
                l4 = avail >= Udp.HDR_LEN ? L4_UDP : 0;
                l4Len = Udp.HDR_LEN;
            }
            case Ipv4.PROTO_TCP -> {
                l4Len = avail >= Tcp.HDR_LEN ? Tcp.headerLen(m, l4off) : 0;
                l4 = l4Len >= Tcp.HDR_LEN && l4Len <= avail ? L4_TCP : 0;
            }
            case Ipv4.PROTO_SCTP -> {
                l4 = avail >= Sctp.HDR_LEN ? L4_SCTP : 0;
                l4Len = Sctp.HDR_LEN;
            }
            case Ipv4.PROTO_ICMP, Ipv4.PROTO_ICMPV6 -> l4 = (proto == Ipv4.PROTO_ICMP) != (code <= CODE_IPV4_EXT) ? L4_NONFRAG
                    : avail >= 4 ? L4_ICMP : 0;             // type, code and checksum must be there
            case Ipv4.PROTO_IGMP -> l4 = code <= CODE_IPV4_EXT ? L4_IGMP : L4_NONFRAG;
            case Ipv4.PROTO_IPIP, Ipv4.PROTO_IPV6 -> l4 = 0;     // a tunnel: the caller looks inside
            default -> l4 = L4_NONFRAG;
        }
        if (l4 == 0) return head;
        return head | l4 >>> 4 | (long) (l4 == L4_TCP || l4 == L4_UDP || l4 == L4_SCTP ? l4Len : 0) << 24;
    }

    /** True if the type has an IPv4 L3 (plain or with options), outer layer. */
    public static boolean isIpv4(int ptype) {
        int l3 = ptype & L3_MASK;
        return l3 == L3_IPV4 || l3 == L3_IPV4_EXT || l3 == L3_IPV4_EXT_UNKNOWN;
    }

    /** True if the type has an IPv6 L3 (plain or with extensions), outer layer. */
    public static boolean isIpv6(int ptype) {
        int l3 = ptype & L3_MASK;
        return l3 == L3_IPV6 || l3 == L3_IPV6_EXT || l3 == L3_IPV6_EXT_UNKNOWN;
    }

    /**
     * The names of the type's fields, space separated, as {@code rte_get_ptype_name}
     * ("L2_ETHER L3_IPV4 L4_UDP"); "UNKNOWN" for 0. For display: it allocates.
     */
    public static String name(int ptype) {
        if (ptype == UNKNOWN) return "UNKNOWN";
        StringBuilder sb = new StringBuilder();
        append(sb, ptype & L2_MASK, new String[] {null, "L2_ETHER", "L2_ETHER_TIMESYNC", "L2_ETHER_ARP", "L2_ETHER_LLDP",
                "L2_ETHER_NSH", "L2_ETHER_VLAN", "L2_ETHER_QINQ", "L2_ETHER_PPPOE", "L2_ETHER_FCOE", "L2_ETHER_MPLS"}, "L2");
        append(sb, (ptype & L3_MASK) >>> 4, new String[] {null, "L3_IPV4", null, "L3_IPV4_EXT", "L3_IPV6", null, null, null,
                null, "L3_IPV4_EXT_UNKNOWN", null, null, "L3_IPV6_EXT", null, "L3_IPV6_EXT_UNKNOWN"}, "L3");
        String[] l4 = {null, "TCP", "UDP", "FRAG", "SCTP", "ICMP", "NONFRAG", "IGMP"};
        append(sb, (ptype & L4_MASK) >>> 8, prefixed("L4_", l4), "L4");
        append(sb, (ptype & TUNNEL_MASK) >>> 12, new String[] {null, "TUNNEL_IP", "TUNNEL_GRE", "TUNNEL_VXLAN",
                "TUNNEL_NVGRE", "TUNNEL_GENEVE", "TUNNEL_GRENAT", "TUNNEL_GTPC", "TUNNEL_GTPU", "TUNNEL_ESP", "TUNNEL_L2TP",
                "TUNNEL_VXLAN_GPE", "TUNNEL_MPLS_IN_GRE", "TUNNEL_MPLS_IN_UDP"}, "TUNNEL");
        append(sb, (ptype & INNER_L2_MASK) >>> 16, new String[] {null, "INNER_L2_ETHER", "INNER_L2_ETHER_VLAN",
                "INNER_L2_ETHER_QINQ"}, "INNER_L2");
        append(sb, (ptype & INNER_L3_MASK) >>> 20, new String[] {null, "INNER_L3_IPV4", "INNER_L3_IPV4_EXT",
                "INNER_L3_IPV6", "INNER_L3_IPV4_EXT_UNKNOWN", "INNER_L3_IPV6_EXT", "INNER_L3_IPV6_EXT_UNKNOWN"}, "INNER_L3");
        append(sb, (ptype & INNER_L4_MASK) >>> 24, prefixed("INNER_L4_", l4), "INNER_L4");
        return sb.toString();
    }

    private static String[] prefixed(String prefix, String[] names) {
        String[] out = new String[names.length];
        for (int i = 0; i < names.length; i++) out[i] = names[i] == null ? null : prefix + names[i];
        return out;
    }

    private static void append(StringBuilder sb, int v, String[] names, String field) {
        if (v == 0) return;
        if (!sb.isEmpty()) sb.append(' ');
        sb.append(v < names.length && names[v] != null ? names[v] : field + "_0x" + Integer.toHexString(v));
    }
}
