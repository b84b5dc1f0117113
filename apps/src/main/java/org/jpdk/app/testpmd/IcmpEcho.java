package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Arp;
import org.jpdk.net.Ether;
import org.jpdk.net.Icmp;
import org.jpdk.net.Ipv4;

/**
 * testpmd's icmpecho mode (icmpecho.c): answers, in place and out of the stream's transmit port,
 * <ul>
 * <li>an ARP request for any address: a reply from the transmit port's MAC, sender and target
 * swapped;
 * <li>an IPv4 ICMP echo request: an echo reply with Ethernet addresses swapped, IP addresses
 * swapped (the header checksum is unchanged; for a multicast destination a unicast source is
 * chosen and the header checksum recomputed, as DPDK), and the ICMP checksum updated for the
 * type change (RFC 1624; the request's checksum is assumed right, not verified).
 * </ul>
 * One 802.1Q tag is understood, as in DPDK. Everything else, and any packet too short for the
 * headers it claims, is freed and counted as dropped (DPDK frees without counting). Allocates
 * nothing after {@link #streamBegin}.
 */
final class IcmpEcho implements FwdEngine {
    @Override
    public String name() {
        return "icmpecho";
    }

    @Override
    public void streamBegin(FwdStream fs) {
        fs.engineState = MacFwd.Addrs.of(fs);
    }

    @Override
    public void forward(FwdStream fs) {
        int n = fs.rxBurst();
        if (n == 0) return;
        long portMac = MacFwd.Addrs.get(fs).src;
        Mbuf[] pkts = fs.pkts;
        int replies = 0;
        for (int i = 0; i < n; i++) {
            Mbuf m = pkts[i];
            if (reply(m, portMac)) {
                pkts[replies++] = m;
            } else {
                m.free();
            }
        }
        if (replies < n) fs.countDropped(n - replies);
        fs.txBurst(replies);
    }

    /** Turns a request into its reply in place; false when the packet is not one to answer. */
    static boolean reply(Mbuf m, long portMac) {
        int len = m.dataLen();
        if (len < Ether.HDR_LEN) return false;
        int l2 = Ether.HDR_LEN;
        int type = Ether.etherType(m);
        if (type == Ether.TYPE_VLAN) {
            if (len < l2 + Ether.VLAN_HDR_LEN) return false;
            type = m.readShort(l2 + 2);
            l2 += Ether.VLAN_HDR_LEN;
        }
        if (type == Ether.TYPE_ARP) return arpReply(m, l2, portMac);
        if (type != Ether.TYPE_IPV4) return false;
        int hl = Ipv4.headerLen(m, l2);
        if (hl < 0) return false;
        int icmp = l2 + hl;
        if (len < icmp + Icmp.HDR_LEN || Ipv4.proto(m, l2) != Ipv4.PROTO_ICMP
                || m.readByte(icmp + Icmp.TYPE_OFF) != Icmp.ECHO_REQUEST || m.readByte(icmp + Icmp.CODE_OFF) != 0) {
            return false;
        }
        Ether.swapMacs(m);
        int src = Ipv4.src(m, l2), dst = Ipv4.dst(m, l2);
        if (Ipv4.isMulticast(dst)) {
            // answer from a unicast address next to the requester's, never the requester's own
            int newSrc = (src & 0x3) == 1 ? (src & ~0x3) | 0x2 : (src & ~0x3) | 0x1;
            m.writeInt(l2 + Ipv4.SRC_OFF, newSrc);
            m.writeInt(l2 + Ipv4.DST_OFF, src);
            Ipv4.setChecksum(m, l2);
        } else {
            m.writeInt(l2 + Ipv4.SRC_OFF, dst);
            m.writeInt(l2 + Ipv4.DST_OFF, src);
        }
        m.writeByte(icmp + Icmp.TYPE_OFF, Icmp.ECHO_REPLY);
        // RFC 1624: HC' = ~(~HC + ~m + m'), m the 16-bit word holding the type (type << 8 | code)
        int c = (~m.readShort(icmp + Icmp.CKSUM_OFF) & 0xffff) + (~(Icmp.ECHO_REQUEST << 8) & 0xffff) + (Icmp.ECHO_REPLY << 8);
        c = (c & 0xffff) + (c >>> 16);
        c = (c & 0xffff) + (c >>> 16);
        m.writeShort(icmp + Icmp.CKSUM_OFF, ~c);
        return true;
    }

    private static boolean arpReply(Mbuf m, int l3, long portMac) {
        if (m.dataLen() < l3 + Arp.HDR_LEN) return false;
        if (m.readShort(l3 + Arp.HRD_OFF) != Arp.HRD_ETHER || m.readShort(l3 + Arp.PRO_OFF) != Ether.TYPE_IPV4
                || m.readByte(l3 + Arp.HLEN_OFF) != Ether.ADDR_LEN || m.readByte(l3 + Arp.PLEN_OFF) != 4
                || m.readShort(l3 + Arp.OP_OFF) != Arp.OP_REQUEST) {
            return false;
        }
        Ether.setAddrs(m, Ether.src(m), portMac);
        m.writeShort(l3 + Arp.OP_OFF, Arp.OP_REPLY);
        Ether.writeAddr(m, l3 + Arp.THA_OFF, Ether.readAddr(m, l3 + Arp.SHA_OFF));
        Ether.writeAddr(m, l3 + Arp.SHA_OFF, portMac);
        int sip = m.readInt(l3 + Arp.SIP_OFF);
        m.writeInt(l3 + Arp.SIP_OFF, m.readInt(l3 + Arp.TIP_OFF));
        m.writeInt(l3 + Arp.TIP_OFF, sip);
        return true;
    }
}
