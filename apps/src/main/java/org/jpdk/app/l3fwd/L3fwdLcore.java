package org.jpdk.app.l3fwd;

import org.jpdk.app.ForwardLoop;
import org.jpdk.eal.LcoreCounters;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.TxBuffer;
import org.jpdk.hash.FlowKey;
import org.jpdk.hash.Hash;
import org.jpdk.lpm.Lpm;
import org.jpdk.lpm.Lpm6;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Ipv6;
import org.jpdk.net.PacketType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * One l3fwd lcore (lcore_conf): its rx queues, its tx queue on every enabled port with a
 * {@link TxBuffer} for each, and the scratch arrays of a burst. A burst is classified in one pass
 * (software packet-type parsing, {@link PacketType#parse}), looked up in bulk
 * ({@link Lpm#lookupX4}, {@link Lpm6#lookupBulk}, {@link Hash#lookupBulkData}), then rewritten
 * and buffered per out port in arrival order; a full buffer goes out at once and every buffer is
 * drained after ~100 µs, as l2fwd. Allocates nothing per packet.
 */
final class L3fwdLcore extends ForwardLoop.Lcore {
    static final long BURST_TX_DRAIN_NS = 100_000;
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /** The lookup structures, shared read-only by every lcore. */
    record Tables(Lpm lpm, Lpm6 lpm6, Hash em4, Hash em6) {
        boolean exactMatch() {
            return em4 != null || em6 != null;
        }
    }

    /** Counters per rx queue: received, then dropped by cause. */
    static final int RX = 0, NOT_IP = 1, BAD_HDR = 2, TTL = 3, TOO_LONG = 4, RX_COUNTERS = 5;
    final EthDev[] rxPorts;
    final int[] rxQueues;
    final int txQueue;
    /** By port id: the port, or null if not enabled. */
    final EthDev[] txPorts;
    final long[] dstMac, srcMac;
    final Tables t;
    final int burst, maxPktLen;
    final Mbuf[] pkts;
    final int[] out;
    final int[] ip4, idx4, hop4, idx6, hop6;
    final byte[] ip6;
    final long[] data;
    final MemorySegment keys4, keys6;
    /** By port id: this lcore's tx buffer for that port, or null if the port is not enabled. */
    final TxBuffer[] tx;
    /** Per rx queue slot s: counters s * RX_COUNTERS + RX, NOT_IP, ...; written by this lcore only. */
    final LcoreCounters counters;
    private long prevDrain;

    L3fwdLcore(int lcoreId, List<EthDev> rx, List<Integer> queues, int txQueue, EthDev[] txPorts, long[] dstMac, Tables t,
               int burst, int maxPktLen, Arena arena) {
        super(lcoreId);
        this.rxPorts = rx.toArray(new EthDev[0]);
        this.rxQueues = queues.stream().mapToInt(Integer::intValue).toArray();
        this.txQueue = txQueue;
        this.txPorts = txPorts;
        this.dstMac = dstMac;
        this.srcMac = new long[EthDev.MAX_PORTS];
        for (EthDev p : txPorts) if (p != null) srcMac[p.id()] = p.macAddr().value();
        this.t = t;
        this.burst = burst;
        this.maxPktLen = maxPktLen;
        pkts = new Mbuf[burst];
        out = new int[burst];
        ip4 = new int[burst + 3];
        idx4 = new int[burst];
        hop4 = new int[burst + 3];
        idx6 = new int[burst];
        hop6 = new int[burst];
        ip6 = new byte[16 * burst];
        data = new long[Hash.LOOKUP_BULK_MAX];
        keys4 = arena.allocate((long) FlowKey.IPV4_LEN * burst, 64);
        keys6 = arena.allocate((long) FlowKey.IPV6_LEN * burst, 64);
        tx = new TxBuffer[EthDev.MAX_PORTS];
        for (EthDev p : txPorts) if (p != null) tx[p.id()] = new TxBuffer(p, txQueue, burst);
        counters = new LcoreCounters(rxPorts.length * RX_COUNTERS);
    }

    private void count(int k, long n) {
        counters.add(k, n);
    }

    long rxCounter(int slot, int c) {
        return counters.get(slot * RX_COUNTERS + c);
    }

    @Override
    protected void begin(long now) {
        prevDrain = now;
    }

    /** One pass: drain the tx buffers when due, then one burst per rx queue, routed. Allocates nothing. */
    @Override
    protected int poll(long now) {
        if (now - prevDrain > BURST_TX_DRAIN_NS) {
            drain();
            prevDrain = now;
        }
        int got = 0;
        for (int s = 0; s < rxPorts.length; s++) {
            int n = rxPorts[s].rxBurst(rxQueues[s], pkts, 0, burst);
            if (n == 0) continue;
            count(s * RX_COUNTERS + RX, n);
            got += n;
            route(s, n);
            for (int j = 0; j < n; j++) {
                int p = out[j];
                if (p >= 0) tx[p].buffer(pkts[j]);
            }
        }
        return got;
    }

    /**
     * Classifies the burst, looks it up and rewrites each packet to forward; {@code out[j]} is
     * packet j's out port, or -1 for a packet dropped (and freed) here.
     */
    private void route(int s, int n) {
        final int inPort = rxPorts[s].id();
        final boolean em = t.exactMatch();
        int n4 = 0, n6 = 0, notIp = 0, bad = 0, ttl = 0, tooLong = 0;
        for (int j = 0; j < n; j++) {
            Mbuf m = pkts[j];
            out[j] = -1;
            if (m.pktLen() > maxPktLen) {
                tooLong++;
                m.free();
                continue;
            }
            int pt = PacketType.parse(m);
            int l3 = m.l2Len;
            int verdict;
            if (PacketType.isIpv4(pt)) {
                verdict = checkIpv4(m, l3);
                if (verdict == 0) {
                    if (em) {
                        if (!FlowKey.ipv4(m, l3, keys4, (long) n4 * FlowKey.IPV4_LEN)) verdict = BAD_HDR;
                    } else {
                        ip4[n4] = Ipv4.dst(m, l3);
                    }
                    if (verdict == 0) idx4[n4++] = j;
                }
            } else if (PacketType.isIpv6(pt)) {
                verdict = checkIpv6(m, l3);
                if (verdict == 0) {
                    if (em) {
                        if (!FlowKey.ipv6(m, l3, keys6, (long) n6 * FlowKey.IPV6_LEN)) verdict = BAD_HDR;
                    } else {
                        LONG_BE.set(ip6, 16 * n6, Ipv6.dstHi(m, l3));
                        LONG_BE.set(ip6, 16 * n6 + 8, Ipv6.dstLo(m, l3));
                    }
                    if (verdict == 0) idx6[n6++] = j;
                }
            } else {
                verdict = NOT_IP;
            }
            if (verdict != 0) {
                if (verdict == NOT_IP) notIp++;
                else if (verdict == TTL) ttl++;
                else bad++;
                m.free();
            }
        }
        int base = s * RX_COUNTERS;
        if (notIp != 0) count(base + NOT_IP, notIp);
        if (bad != 0) count(base + BAD_HDR, bad);
        if (ttl != 0) count(base + TTL, ttl);
        if (tooLong != 0) count(base + TOO_LONG, tooLong);
        if (n4 > 0) {
            if (em) emLookup(t.em4, keys4, FlowKey.IPV4_LEN, n4, hop4, inPort);
            else lpmLookup(n4, inPort);
            for (int i = 0; i < n4; i++) {
                int j = idx4[i];
                Mbuf m = pkts[j];
                int p = outPort(hop4[i], inPort);
                Ipv4.decrementTtl(m, m.l2Len);
                Ether.setAddrs(m, dstMac[p], srcMac[p]);
                out[j] = p;
            }
        }
        if (n6 > 0) {
            if (em) {
                emLookup(t.em6, keys6, FlowKey.IPV6_LEN, n6, hop6, inPort);
            } else if (t.lpm6 != null) {
                t.lpm6.lookupBulk(ip6, hop6, n6);
            } else {
                Arrays.fill(hop6, 0, n6, Lpm6.MISS);
            }
            for (int i = 0; i < n6; i++) {
                int j = idx6[i];
                Mbuf m = pkts[j];
                int p = outPort(hop6[i], inPort);
                int l3 = m.l2Len;
                Ipv6.setHopLimit(m, l3, Ipv6.hopLimit(m, l3) - 1);
                Ether.setAddrs(m, dstMac[p], srcMac[p]);
                out[j] = p;
            }
        }
    }

    /** A next hop if it is an enabled port, else the port the packet came in on (a miss is -1). */
    private int outPort(int hop, int inPort) {
        return hop >= 0 && hop < EthDev.MAX_PORTS && txPorts[hop] != null ? hop : inPort;
    }

    /** rte_lpm_lookupx4 over groups of four, the rest one by one; a miss gives the rx port, as DPDK. */
    private void lpmLookup(int n4, int inPort) {
        Lpm lpm = t.lpm;
        if (lpm == null) {
            Arrays.fill(hop4, 0, n4, inPort);
            return;
        }
        int i = 0;
        for (; i + 4 <= n4; i += 4) lpm.lookupX4(ip4, i, hop4, i, inPort);
        for (; i < n4; i++) {
            int h = lpm.lookup(ip4[i]);
            hop4[i] = h == Lpm.MISS ? inPort : h;
        }
    }

    /** rte_hash_lookup_bulk_data in chunks of {@link Hash#LOOKUP_BULK_MAX}; a miss gives the rx port. */
    private void emLookup(Hash h, MemorySegment keys, int keyLen, int n, int[] hops, int inPort) {
        if (h == null) {
            Arrays.fill(hops, 0, n, inPort);
            return;
        }
        long[] d = data;
        for (int at = 0; at < n; at += Hash.LOOKUP_BULK_MAX) {
            int k = Math.min(Hash.LOOKUP_BULK_MAX, n - at);
            for (int i = 0; i < k; i++) d[i] = inPort;
            h.lookupBulkData(keys, (long) at * keyLen, keyLen, k, d);
            for (int i = 0; i < k; i++) hops[at + i] = (int) d[i];
        }
    }

    /** 0 if the IPv4 packet may be forwarded, else the counter to blame (RFC 1812 5.2.2, 5.3.1). */
    private static int checkIpv4(Mbuf m, int l3) {
        if (Ipv4.l4Len(m, l3) < 0) return BAD_HDR; // version, IHL, header in the segment, total length within the packet
        long ck = m.olFlags & Mbuf.F_RX_IP_CKSUM_MASK;
        if (ck == Mbuf.F_RX_IP_CKSUM_BAD || (ck != Mbuf.F_RX_IP_CKSUM_GOOD && !Ipv4.cksumVerify(m, l3))) return BAD_HDR;
        return Ipv4.ttl(m, l3) <= 1 ? TTL : 0;
    }

    private static int checkIpv6(Mbuf m, int l3) {
        if (l3 > m.dataLen() - Ipv6.HDR_LEN || Ipv6.payloadLen(m, l3) > m.pktLen() - l3 - Ipv6.HDR_LEN) return BAD_HDR;
        return Ipv6.hopLimit(m, l3) <= 1 ? TTL : 0;
    }

    @Override
    protected void drain() {
        for (TxBuffer b : tx) if (b != null) b.flush();
    }
}
