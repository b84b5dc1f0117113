package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Ipv6;
import org.jpdk.net.PacketType;
import org.jpdk.net.Udp;

/**
 * testpmd's csum mode (csumonly.c) for drivers without checksum offloads: addresses each packet
 * as mac mode does (tx port's address to its peer), parses it with {@link PacketType#parse}
 * (Ether with up to two VLAN/QinQ tags / IPv4 or IPv6 with extension headers / UDP or TCP; the
 * outer headers of a tunnel; the mbuf's packet type and lengths are left set), counts received packets whose IPv4 header or L4 checksum is
 * wrong ({@link FwdStream#countBadIpCsum}, {@link FwdStream#countBadL4Csum}; DPDK takes these
 * from the driver's rx flags, jpdk verifies in software), then computes both in software and
 * transmits. A UDP checksum of 0 (none) is neither counted nor filled in, as DPDK. Packets it
 * cannot parse (short, bad IHL, lengths beyond the packet, fragments, other protocols) are
 * forwarded with only their addresses set (and an IPv4 header checksum fixed); nothing throws. The L4 header must be in the first segment, the
 * payload may span segments. Allocates nothing after {@link #streamBegin}.
 */
final class CsumFwd implements FwdEngine {
    @Override
    public String name() {
        return "csum";
    }

    @Override
    public void streamBegin(FwdStream fs) {
        fs.engineState = MacFwd.Addrs.of(fs);
    }

    @Override
    public void forward(FwdStream fs) {
        int n = fs.rxBurst();
        if (n == 0) return;
        MacFwd.Addrs a = MacFwd.Addrs.get(fs);
        Mbuf[] pkts = fs.pkts;
        int badIp = 0, badL4 = 0;
        for (int i = 0; i < n; i++) {
            int r = process(pkts[i], a);
            badIp += r & BAD_IP;
            badL4 += (r & BAD_L4) >>> 1;
        }
        if (badIp > 0) fs.countBadIpCsum(badIp);
        if (badL4 > 0) fs.countBadL4Csum(badL4);
        fs.txBurst(n);
    }

    static final int BAD_IP = 1, BAD_L4 = 2;

    /** Addresses, verifies and fixes one packet; returns BAD_IP | BAD_L4 bits for what was wrong on arrival. */
    static int process(Mbuf m, MacFwd.Addrs a) {
        if (m.dataLen() >= 2 * Ether.ADDR_LEN) Ether.setAddrs(m, a.dst, a.src);
        int t = PacketType.parse(m);
        boolean v4 = PacketType.isIpv4(t);
        if (!v4 && !PacketType.isIpv6(t)) return 0;
        // a tunnel's checksums checked here are the outer ones, as the parser leaves them in outerL2Len/outerL3Len
        boolean tunnel = (t & PacketType.TUNNEL_MASK) != 0;
        int l3 = tunnel ? m.outerL2Len : m.l2Len, l3Len = tunnel ? m.outerL3Len : m.l3Len;
        int result = 0;
        if (v4) {
            if (!Ipv4.cksumVerify(m, l3)) result |= BAD_IP;
            Ipv4.setChecksum(m, l3);
        }
        int l4 = t & PacketType.L4_MASK, proto;
        if (l4 == PacketType.L4_UDP) {
            if (Udp.cksum(m, l3 + l3Len) == 0) return result;
            proto = Ipv4.PROTO_UDP;
        } else if (l4 == PacketType.L4_TCP) {
            proto = Ipv4.PROTO_TCP;
        } else {
            return result;
        }
        if (v4) {
            if (!Ipv4.udptcpCksumVerify(m, l3)) result |= BAD_L4;
            Ipv4.setUdptcpChecksum(m, l3);
        } else {
            if (!Ipv6.l4CksumVerify(m, l3, l3Len, proto)) result |= BAD_L4;
            Ipv6.setL4Checksum(m, l3, l3Len, proto);
        }
        return result;
    }
}
