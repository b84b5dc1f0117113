package org.jpdk.ethdev;

import java.util.ArrayList;
import java.util.List;

/**
 * Offload and RSS hash-function bits, with DPDK's values (RTE_ETH_RX_OFFLOAD_*,
 * RTE_ETH_TX_OFFLOAD_*, RTE_ETH_RSS_*) so masks read the same in both, and their names for
 * messages and {@code show port info}.
 */
public final class Offloads {
    private Offloads() {
    }

    public static final long RX_VLAN_STRIP = 1L << 0, RX_IPV4_CKSUM = 1L << 1, RX_UDP_CKSUM = 1L << 2,
            RX_TCP_CKSUM = 1L << 3, RX_TCP_LRO = 1L << 4, RX_QINQ_STRIP = 1L << 5, RX_OUTER_IPV4_CKSUM = 1L << 6,
            RX_VLAN_FILTER = 1L << 9, RX_VLAN_EXTEND = 1L << 10, RX_SCATTER = 1L << 13, RX_TIMESTAMP = 1L << 14,
            RX_KEEP_CRC = 1L << 16, RX_SCTP_CKSUM = 1L << 17, RX_OUTER_UDP_CKSUM = 1L << 18, RX_RSS_HASH = 1L << 19;

    public static final long TX_VLAN_INSERT = 1L << 0, TX_IPV4_CKSUM = 1L << 1, TX_UDP_CKSUM = 1L << 2,
            TX_TCP_CKSUM = 1L << 3, TX_SCTP_CKSUM = 1L << 4, TX_TCP_TSO = 1L << 5, TX_UDP_TSO = 1L << 6,
            TX_OUTER_IPV4_CKSUM = 1L << 7, TX_QINQ_INSERT = 1L << 8, TX_MT_LOCKFREE = 1L << 14,
            TX_MULTI_SEGS = 1L << 15, TX_MBUF_FAST_FREE = 1L << 16;

    public static final long RSS_IPV4 = 1L << 2, RSS_FRAG_IPV4 = 1L << 3, RSS_NONFRAG_IPV4_TCP = 1L << 4,
            RSS_NONFRAG_IPV4_UDP = 1L << 5, RSS_NONFRAG_IPV4_SCTP = 1L << 6, RSS_NONFRAG_IPV4_OTHER = 1L << 7,
            RSS_IPV6 = 1L << 8, RSS_FRAG_IPV6 = 1L << 9, RSS_NONFRAG_IPV6_TCP = 1L << 10,
            RSS_NONFRAG_IPV6_UDP = 1L << 11, RSS_NONFRAG_IPV6_SCTP = 1L << 12, RSS_NONFRAG_IPV6_OTHER = 1L << 13,
            RSS_L2_PAYLOAD = 1L << 14, RSS_IPV6_EX = 1L << 15, RSS_IPV6_TCP_EX = 1L << 16, RSS_IPV6_UDP_EX = 1L << 17,
            RSS_PORT = 1L << 18;
    /** RTE_ETH_RSS_IP, _TCP, _UDP: the usual groups. */
    public static final long RSS_IP = RSS_IPV4 | RSS_FRAG_IPV4 | RSS_NONFRAG_IPV4_OTHER | RSS_IPV6 | RSS_FRAG_IPV6
            | RSS_NONFRAG_IPV6_OTHER | RSS_IPV6_EX;
    public static final long RSS_TCP = RSS_NONFRAG_IPV4_TCP | RSS_NONFRAG_IPV6_TCP | RSS_IPV6_TCP_EX;
    public static final long RSS_UDP = RSS_NONFRAG_IPV4_UDP | RSS_NONFRAG_IPV6_UDP | RSS_IPV6_UDP_EX;

    private static final String[] RX_NAMES = new String[64], TX_NAMES = new String[64], RSS_NAMES = new String[64];

    static {
        String[] rx = {"VLAN_STRIP", "IPV4_CKSUM", "UDP_CKSUM", "TCP_CKSUM", "TCP_LRO", "QINQ_STRIP", "OUTER_IPV4_CKSUM",
                "MACSEC_STRIP", null, "VLAN_FILTER", "VLAN_EXTEND", null, null, "SCATTER", "TIMESTAMP", "SECURITY",
                "KEEP_CRC", "SCTP_CKSUM", "OUTER_UDP_CKSUM", "RSS_HASH", "BUFFER_SPLIT"};
        String[] tx = {"VLAN_INSERT", "IPV4_CKSUM", "UDP_CKSUM", "TCP_CKSUM", "SCTP_CKSUM", "TCP_TSO", "UDP_TSO",
                "OUTER_IPV4_CKSUM", "QINQ_INSERT", "VXLAN_TNL_TSO", "GRE_TNL_TSO", "IPIP_TNL_TSO", "GENEVE_TNL_TSO",
                "MACSEC_INSERT", "MT_LOCKFREE", "MULTI_SEGS", "MBUF_FAST_FREE", "SECURITY"};
        String[] rss = {null, null, "ipv4", "ipv4-frag", "ipv4-tcp", "ipv4-udp", "ipv4-sctp", "ipv4-other", "ipv6",
                "ipv6-frag", "ipv6-tcp", "ipv6-udp", "ipv6-sctp", "ipv6-other", "l2-payload", "ipv6-ex", "ipv6-tcp-ex",
                "ipv6-udp-ex", "port"};
        System.arraycopy(rx, 0, RX_NAMES, 0, rx.length);
        System.arraycopy(tx, 0, TX_NAMES, 0, tx.length);
        System.arraycopy(rss, 0, RSS_NAMES, 0, rss.length);
    }

    /** The names of the rx offload bits in {@code mask}, space separated ({@code VLAN_STRIP IPV4_CKSUM}). */
    public static String rxNames(long mask) {
        return names(mask, RX_NAMES);
    }

    public static String txNames(long mask) {
        return names(mask, TX_NAMES);
    }

    public static String rssNames(long mask) {
        return names(mask, RSS_NAMES);
    }

    /** The RSS bits for testpmd's names: ip, tcp, udp, none, all, or one of {@link #rssNames}. */
    public static long rssFromName(String name) {
        switch (name) {
            case "none": return 0;
            case "ip": return RSS_IP;
            case "tcp": return RSS_TCP;
            case "udp": return RSS_UDP;
            case "all": return RSS_IP | RSS_TCP | RSS_UDP | RSS_NONFRAG_IPV4_SCTP | RSS_NONFRAG_IPV6_SCTP | RSS_L2_PAYLOAD;
            default:
                for (int i = 0; i < 64; i++) if (name.equals(RSS_NAMES[i])) return 1L << i;
                throw new IllegalArgumentException("unknown RSS hash function '" + name + "'; known: none, ip, tcp, udp, all, "
                        + rssNames(-1L).replace(' ', ','));
        }
    }

    private static String names(long mask, String[] table) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            if ((mask & (1L << i)) == 0) continue;
            if (table[i] != null) out.add(table[i]);
            else if (mask != -1L) out.add("0x" + Long.toHexString(1L << i));
        }
        return String.join(" ", out);
    }
}
