package org.jpdk.app.testpmd;

import org.jpdk.ethdev.MacAddr;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

/**
 * What the forwarding engines read (testpmd's globals). Written by the control thread only while
 * forwarding is stopped; the lcores read it after their launch (which orders the writes before).
 */
public final class FwdConfig {
    /** As MAX_PKT_BURST. */
    public static final int MAX_PKT_BURST = 512;
    public static final int DEFAULT_BURST = 32;

    /** Packets per burst (--burst, set burst). */
    public int burst = DEFAULT_BURST;
    /** Segment lengths of generated packets (--txpkts; the packet length is their sum). Default 64. */
    public int[] txPktSegLengths = {64};
    /** Destination MAC per port id for mac, txonly, flowgen (--eth-peer); default 02:00:00:00:00:<port>. */
    public MacAddr[] peerAddrs = defaultPeers();
    /** Generated packets' IPv4 addresses (host order), as testpmd's defaults 198.18.0.1 and 198.18.0.2. */
    public int txIpSrc = 0xC612_0001, txIpDst = 0xC612_0002;
    /** Generated packets' UDP ports, as testpmd's defaults (9, discard). */
    public int txUdpSrc = 9, txUdpDst = 9;
    /** Generated packets' TTL. */
    public int txIpTtl = 64;
    /** Flows flowgen cycles through (testpmd's nb_flows_flowgen). */
    public int flowgenFlows = 1024;
    /** The pool generated packets come from (the first port's rx pool). */
    public Mempool<Mbuf> txPool;

    static MacAddr[] defaultPeers() {
        MacAddr[] a = new MacAddr[org.jpdk.ethdev.EthDev.MAX_PORTS];
        for (int i = 0; i < a.length; i++) a[i] = new MacAddr(0x0200_0000_0000L | i);
        return a;
    }

    /** The generated packet length: the sum of {@link #txPktSegLengths}. */
    public int txPktLength() {
        int n = 0;
        for (int l : txPktSegLengths) n += l;
        return n;
    }
}
