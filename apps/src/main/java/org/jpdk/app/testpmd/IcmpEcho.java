package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Arp;
import org.jpdk.net.Ether;
import org.jpdk.net.Icmp;
import org.jpdk.net.Ipv4;
import org.jpdk.net.PacketType;

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
 * Headers are found by {@link PacketType#parse}; one 802.1Q tag is understood, as in DPDK.
 * Everything else, and any packet too short for the
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
        int t = PacketType.parse(m);
        int l2 = m.l2Len;
        // one 802.1Q tag at most, as DPDK
        if ((t & PacketType.L2_MASK) == PacketType.L2_ETHER_QINQ || l2 > Ether.HDR_LEN + Ether.VLAN_HDR_LEN) return false;
        if ((t & PacketType.L3_MASK) == 0) {
            return l2 > 0 && m.readShort(l2 - 2) == Ether.TYPE_ARP && arpReply(m, l2, portMac);
        }
        if (!PacketType.isIpv4(t) || (t & PacketType.L4_MASK) != PacketType.L4_ICMP || (t & PacketType.TUNNEL_MASK) != 0) return false;
        int icmp = l2 + m.l3Len;
        if (m.dataLen() < icmp + Icmp.HDR_LEN || Icmp.type(m, icmp) != Icmp.ECHO_REQUEST || Icmp.code(m, icmp) != 0) return false;
        Ether.swapMacs(m);
        int src = Ipv4.src(m, l2), dst = Ipv4.dst(m, l2);
        if (Ipv4.isMulticast(dst)) {
            // answer from a unicast address next to the requester's, never the requester's own
            Ipv4.setSrc(m, l2, (src & 0x3) == 1 ? (src & ~0x3) | 0x2 : (src & ~0x3) | 0x1);
            Ipv4.setDst(m, l2, src);
            Ipv4.setChecksum(m, l2);
        } else {
            Ipv4.setSrc(m, l2, dst);
            Ipv4.setDst(m, l2, src);
        }
        Icmp.echoToReply(m, icmp, Icmp.ECHO_REQUEST, Icmp.ECHO_REPLY);
        return true;
    }

    private static boolean arpReply(Mbuf m, int l3, long portMac) {
        if (!Arp.isEtherIpv4(m, l3) || Arp.op(m, l3) != Arp.OP_REQUEST) return false;
        Ether.setAddrs(m, Ether.src(m), portMac);
        Arp.setOp(m, l3, Arp.OP_REPLY);
        Arp.setTha(m, l3, Arp.sha(m, l3));
        Arp.setSha(m, l3, portMac);
        int sip = Arp.sip(m, l3);
        Arp.setSip(m, l3, Arp.tip(m, l3));
        Arp.setTip(m, l3, sip);
        return true;
    }
}
