package org.jpdk.drivers.net.nullpmd;

import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.Offloads;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Checksum;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Toeplitz;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * What net_null receives while RSS is on: {@link #FLOWS} IPv4/UDP flows spread over the rx queues
 * as a NIC's RSS would spread them. Flow f goes from 198.18.(f>>8).(f&255) port 1024+f to
 * 198.19.0.1 port 5678, to the port's MAC. Each flow is hashed once, here, with the port's key over
 * what the hash functions select for a non-fragmented IPv4/UDP packet: the 4-tuple with
 * NONFRAG_IPV4_UDP, the addresses with IPV4, nothing otherwise (then, as a NIC leaves a packet
 * type it does not hash, every flow goes to queue 0 without a hash). A hashed flow goes to the
 * queue the redirection table names for the hash's low bits, and its packets carry the hash
 * ({@link Mbuf#F_RX_RSS_HASH}). A queue the table never names receives nothing.
 *
 * <p>Immutable; the device builds a new one on every change of hash functions, key, table or
 * address (control path: a Toeplitz table and 1024 hashes) and publishes it through a volatile
 * field, which each burst reads once. Per packet the rx path copies the flow's 42 header bytes.
 */
final class RssFlows {
    static final int FLOWS = 1024;
    /** Ethernet, IPv4 and UDP headers: the least a packet must hold for RSS to place it. */
    static final int HEADER = Ether.HDR_LEN + Ipv4.HDR_LEN + 8;
    private static final int[] NONE = {};
    private static final int STRIDE = 64, DST_IP = 0xC6130001, DST_PORT = 5678;
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final MemorySegment headers;   // FLOWS x STRIDE bytes: each flow's HEADER bytes
    private final int[] hashes;
    private final boolean hashed;
    private final int[][] flowsOfQueue;

    private RssFlows(MemorySegment headers, int[] hashes, boolean hashed, int[][] flowsOfQueue) {
        this.headers = headers;
        this.hashes = hashes;
        this.hashed = hashed;
        this.flowsOfQueue = flowsOfQueue;
    }

    /** Flow {@code f}'s source address. */
    static int srcIp(int f) {
        return 0xC6120000 | f;
    }

    /** Flow {@code f}'s source port. */
    static int srcPort(int f) {
        return 1024 + f;
    }

    /**
     * The flows for hash functions {@code hf} (0: RSS off, null returned), {@code key} (null: the
     * default), redirection table {@code reta} over {@code nbRxQueues} queues, packets of
     * {@code size} bytes (at least {@link #HEADER}) to {@code dst}.
     */
    static RssFlows build(long hf, byte[] key, int[] reta, int nbRxQueues, int size, MacAddr dst) {
        if (hf == 0 || nbRxQueues == 0) return null;
        boolean fourTuple = (hf & Offloads.RSS_NONFRAG_IPV4_UDP) != 0, twoTuple = (hf & Offloads.RSS_IPV4) != 0;
        boolean hashed = (fourTuple || twoTuple) && reta.length > 0;
        Toeplitz t = key == null ? Toeplitz.DEFAULT_KEY : new Toeplitz(key);
        MemorySegment h = Arena.ofAuto().allocate((long) FLOWS * STRIDE, 64);
        int[] hashes = new int[FLOWS];
        int[] count = new int[nbRxQueues];
        int[] queueOf = new int[FLOWS];
        for (int f = 0; f < FLOWS; f++) {
            writeHeaders(h.asSlice((long) f * STRIDE, HEADER), f, size, dst);
            if (hashed) {
                hashes[f] = fourTuple ? t.hashIpv4(srcIp(f), DST_IP, srcPort(f), DST_PORT) : t.hashIpv4(srcIp(f), DST_IP);
                queueOf[f] = reta[hashes[f] & (reta.length - 1)];
            }
            count[queueOf[f]]++;
        }
        int[][] flows = new int[nbRxQueues][];
        for (int q = 0; q < nbRxQueues; q++) flows[q] = new int[count[q]];
        int[] at = new int[nbRxQueues];
        for (int f = 0; f < FLOWS; f++) flows[queueOf[f]][at[queueOf[f]]++] = f;
        return new RssFlows(h, hashes, hashed, flows);
    }

    private static void writeHeaders(MemorySegment s, int f, int size, MacAddr dst) {
        dst.write(s, 0);
        s.set(BE_SHORT, 6, (short) 0x0200);                       // source 02:00:00:00:00:00, locally administered
        s.set(BE_INT, 8, 0);
        s.set(BE_SHORT, 12, (short) Ether.TYPE_IPV4);
        int ip = Ether.HDR_LEN;
        s.set(ValueLayout.JAVA_BYTE, ip, (byte) Ipv4.VHL_DEF);
        s.set(BE_SHORT, ip + Ipv4.TOTAL_LENGTH_OFF, (short) (size - Ether.HDR_LEN));
        s.set(BE_SHORT, ip + Ipv4.FRAGMENT_OFFSET_OFF, (short) Ipv4.DF_FLAG);
        s.set(ValueLayout.JAVA_BYTE, ip + Ipv4.TTL_OFF, (byte) 64);
        s.set(ValueLayout.JAVA_BYTE, ip + Ipv4.PROTO_OFF, (byte) Ipv4.PROTO_UDP);
        s.set(BE_INT, ip + Ipv4.SRC_OFF, srcIp(f));
        s.set(BE_INT, ip + Ipv4.DST_OFF, DST_IP);
        s.set(BE_SHORT, ip + Ipv4.CHECKSUM_OFF, (short) ~Checksum.raw(s, ip, Ipv4.HDR_LEN));
        int udp = ip + Ipv4.HDR_LEN;
        s.set(BE_SHORT, udp, (short) srcPort(f));
        s.set(BE_SHORT, udp + 2, (short) DST_PORT);
        s.set(BE_SHORT, udp + 4, (short) (size - udp));
        s.set(BE_SHORT, udp + 6, (short) 0);                       // no UDP checksum (allowed over IPv4)
    }

    /** The flows rx queue {@code q} receives, in the order it cycles through them (empty: none). */
    int[] flowsOf(int q) {
        return q < flowsOfQueue.length ? flowsOfQueue[q] : NONE;
    }

    /** Writes flow {@code f}'s headers over the first {@link #HEADER} bytes of {@code m}'s data, and its hash. */
    void stamp(Mbuf m, int f) {
        MemorySegment.copy(headers, (long) f * STRIDE, m.buffer(), m.dataOff(), HEADER);
        if (hashed) {
            m.rssHash = hashes[f];
            m.olFlags |= Mbuf.F_RX_RSS_HASH;
        }
    }

    /** The hash of flow {@code f} (tests). */
    int hash(int f) {
        return hashes[f];
    }
}
