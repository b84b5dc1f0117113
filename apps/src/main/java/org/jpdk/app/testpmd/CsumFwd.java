package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Ipv6;
import org.jpdk.net.Tcp;
import org.jpdk.net.Udp;

/**
 * testpmd's csum mode (csumonly.c) for drivers without checksum offloads: addresses each packet
 * as mac mode does (tx port's address to its peer), parses Ether (with up to two VLAN/QinQ
 * tags) / IPv4 or IPv6 / UDP or TCP, counts received packets whose IPv4 header or L4 checksum is
 * wrong ({@link FwdStream#countBadIpCsum}, {@link FwdStream#countBadL4Csum}; DPDK takes these
 * from the driver's rx flags, jpdk verifies in software), then computes both in software and
 * transmits. A UDP checksum of 0 (none) is neither counted nor filled in, as DPDK. Packets it
 * cannot parse (short, bad IHL, lengths beyond the packet, other protocols) are forwarded with
 * only their addresses set; nothing throws. The L4 header must be in the first segment, the
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
        int len = m.dataLen();
        if (len >= 2 * Ether.ADDR_LEN) Ether.setAddrs(m, a.dst, a.src);
        int l2 = Ether.l2Len(m);
        if (l2 < 0) return 0;
        int type = Ether.innerEtherType(m);
        int result = 0, l3Len, l4Len, proto;
        boolean v4 = type == Ether.TYPE_IPV4;
        if (v4) {
            l3Len = Ipv4.headerLen(m, l2);
            if (l3Len < 0) return 0;
            if (!Ipv4.cksumVerify(m, l2)) result |= BAD_IP;
            Ipv4.setChecksum(m, l2);
            l4Len = Ipv4.l4Len(m, l2);
            proto = Ipv4.proto(m, l2);
        } else if (type == Ether.TYPE_IPV6) {
            l4Len = Ipv6.l4Len(m, l2);
            l3Len = Ipv6.HDR_LEN;
            if (l4Len < 0) return 0;
            proto = Ipv6.proto(m, l2);
        } else {
            return 0;
        }
        m.l2Len = l2;
        m.l3Len = l3Len;
        int l4 = l2 + l3Len;
        if (proto == Ipv4.PROTO_UDP) {
            if (l4Len < Udp.HDR_LEN || len < l4 + Udp.HDR_LEN) return result;
            m.l4Len = Udp.HDR_LEN;
            if (m.readShort(l4 + Udp.CKSUM_OFF) == 0) return result;
        } else if (proto == Ipv4.PROTO_TCP) {
            if (l4Len < Tcp.HDR_LEN || len < l4 + Tcp.HDR_LEN) return result;
            m.l4Len = Tcp.headerLen(m, l4);
        } else {
            return result;
        }
        if (v4) {
            if (!Ipv4.udptcpCksumVerify(m, l2)) result |= BAD_L4;
            Ipv4.setUdptcpChecksum(m, l2);
        } else {
            if (!Ipv6.udptcpCksumVerify(m, l2)) result |= BAD_L4;
            Ipv6.setUdptcpChecksum(m, l2);
        }
        return result;
    }
}
