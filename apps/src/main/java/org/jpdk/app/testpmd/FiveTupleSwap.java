package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Ipv6;
import org.jpdk.net.Tcp;
import org.jpdk.net.Udp;

/**
 * testpmd's 5tswap mode (5tswap.c): swaps source and destination layer by layer, Ethernet
 * addresses, then (after any VLAN/QinQ tags) IPv4 or IPv6 addresses, then UDP or TCP ports,
 * stopping at the first layer it does not know, and sends the packet back. Swaps keep every
 * checksum valid (the sums are the same). Like DPDK it also fills l2Len/l3Len/l4Len. Each layer
 * is touched only when it lies whole in the first segment, so a short or garbage packet is
 * forwarded with what could be swapped and never throws. Allocates nothing.
 */
final class FiveTupleSwap implements FwdEngine {
    @Override
    public String name() {
        return "5tswap";
    }

    @Override
    public void forward(FwdStream fs) {
        int n = fs.rxBurst();
        if (n == 0) return;
        Mbuf[] pkts = fs.pkts;
        for (int i = 0; i < n; i++) swap(pkts[i]);
        fs.txBurst(n);
    }

    static void swap(Mbuf m) {
        int len = m.dataLen();
        if (len < 2 * Ether.ADDR_LEN) return;
        Ether.swapMacs(m);
        if (len < Ether.HDR_LEN) return;
        int l2 = Ether.HDR_LEN;
        int type = m.readShort(Ether.TYPE_OFF);
        while (Ether.isVlan(type) && len >= l2 + Ether.VLAN_HDR_LEN) {
            type = m.readShort(l2 + 2);
            l2 += Ether.VLAN_HDR_LEN;
        }
        m.l2Len = l2;
        int proto;
        int l4;
        if (type == Ether.TYPE_IPV4) {
            int hl = Ipv4.headerLen(m, l2);
            if (hl < 0) return;
            int src = m.readInt(l2 + Ipv4.SRC_OFF);
            m.writeInt(l2 + Ipv4.SRC_OFF, m.readInt(l2 + Ipv4.DST_OFF));
            m.writeInt(l2 + Ipv4.DST_OFF, src);
            proto = Ipv4.proto(m, l2);
            m.l3Len = hl;
            l4 = l2 + hl;
        } else if (type == Ether.TYPE_IPV6) {
            if (len < l2 + Ipv6.HDR_LEN) return;
            Ipv6.swapAddrs(m, l2);
            proto = Ipv6.proto(m, l2);
            m.l3Len = Ipv6.HDR_LEN;
            l4 = l2 + Ipv6.HDR_LEN;
        } else {
            return;
        }
        if (proto == Ipv4.PROTO_UDP && len >= l4 + Udp.HDR_LEN) {
            m.writeInt(l4, Integer.rotateLeft(m.readInt(l4), 16));
            m.l4Len = Udp.HDR_LEN;
        } else if (proto == Ipv4.PROTO_TCP && len >= l4 + Tcp.HDR_LEN) {
            m.writeInt(l4, Integer.rotateLeft(m.readInt(l4), 16));
            m.l4Len = Tcp.headerLen(m, l4);
        }
    }
}
