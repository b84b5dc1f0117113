package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Checksum;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Udp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The Ether/IPv4/UDP header of generated packets (txonly, flowgen), built once per stream so
 * that making a packet is one copy of {@link #LEN} bytes: IPv4 without options, id 0, no
 * fragmenting, a valid header checksum, UDP checksum 0 (none), as testpmd's txonly.c.
 */
final class UdpTemplate {
    /** Bytes of the three headers. */
    static final int LEN = Ether.HDR_LEN + Ipv4.HDR_LEN + Udp.HDR_LEN;
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    final MemorySegment bytes = MemorySegment.ofArray(new byte[LEN]);
    /** The same bytes as five longs and a short in the machine's order, for {@link #copyTo}'s stores. */
    private final long w0, w8, w16, w24, w32;
    private final short w40;

    /**
     * @param frameLen the whole packet length the headers announce (without FCS)
     * @throws IllegalArgumentException if {@code frameLen} cannot hold the headers or an IPv4 packet
     */
    UdpTemplate(String engine, long dstMac, long srcMac, int ipSrc, int ipDst, int udpSrc, int udpDst, int ttl, int frameLen) {
        if (frameLen < LEN || frameLen - Ether.HDR_LEN > 0xffff) {
            throw new IllegalArgumentException(engine + ": packet length " + frameLen + " cannot carry Ether+IPv4+UDP headers; allowed "
                    + LEN + ".." + (0xffff + Ether.HDR_LEN));
        }
        MemorySegment b = bytes;
        b.set(BE_INT, 0, (int) (dstMac >>> 16));
        b.set(BE_SHORT, 4, (short) dstMac);
        b.set(BE_SHORT, 6, (short) (srcMac >>> 32));
        b.set(BE_INT, 8, (int) srcMac);
        b.set(BE_SHORT, Ether.TYPE_OFF, (short) Ether.TYPE_IPV4);
        int ip = Ether.HDR_LEN;
        b.set(ValueLayout.JAVA_BYTE, ip + Ipv4.VERSION_IHL_OFF, (byte) Ipv4.VHL_DEF);
        b.set(BE_SHORT, ip + Ipv4.TOTAL_LENGTH_OFF, (short) (frameLen - Ether.HDR_LEN));
        b.set(ValueLayout.JAVA_BYTE, ip + Ipv4.TTL_OFF, (byte) ttl);
        b.set(ValueLayout.JAVA_BYTE, ip + Ipv4.PROTO_OFF, (byte) Ipv4.PROTO_UDP);
        b.set(BE_INT, ip + Ipv4.SRC_OFF, ipSrc);
        b.set(BE_INT, ip + Ipv4.DST_OFF, ipDst);
        b.set(BE_SHORT, ip + Ipv4.CHECKSUM_OFF, (short) ~Checksum.raw(b, ip, Ipv4.HDR_LEN));
        int udp = ip + Ipv4.HDR_LEN;
        b.set(BE_SHORT, udp + Udp.SRC_PORT_OFF, (short) udpSrc);
        b.set(BE_SHORT, udp + Udp.DST_PORT_OFF, (short) udpDst);
        b.set(BE_SHORT, udp + Udp.DGRAM_LEN_OFF, (short) (frameLen - Ether.HDR_LEN - Ipv4.HDR_LEN));
        w0 = b.get(LONG, 0);
        w8 = b.get(LONG, 8);
        w16 = b.get(LONG, 16);
        w24 = b.get(LONG, 24);
        w32 = b.get(LONG, 32);
        w40 = b.get(SHORT, 40);
    }

    /**
     * Copies the headers to the start of {@code pkt}, across its segments if the first is shorter
     * (copy_buf_to_pkt). When the first segment holds them, bytes already equal to the template
     * are not stored: a recycled txonly buffer holds the same 42 bytes from its last trip. Kept
     * small, with the rare paths in methods of their own, so that the JIT inlines it into the
     * engine's loop: past 325 bytes of bytecode (FreqInlineSize) it became a call per packet with
     * its registers spilled, and txonly over net_null fell from 45-53 to 30 Mpps per port. The
     * words are compared one by one, each branch taken only on a difference: folding all six
     * into one value before a single branch ran at 38-40 there (net_null's frames stay in this
     * core's cache, so the loads are pure cost), this form at 44-56, storing always at 48-53.
     */
    void copyTo(Mbuf pkt) {
        if (pkt.dataLen() >= LEN) {
            // Straight on the buffer (the data holds LEN bytes, checked above): a 42-byte
            // MemorySegment.copy from the heap array cost more per packet. Not through a slice:
            // one escape analysis misses is an allocation per packet.
            MemorySegment b = pkt.buffer();
            long o = pkt.dataOff();
            // Loaded and compared before any store, as DPDK's virtio driver does for its header
            // (ASSIGN_UNLESS_EQUAL, and VirtioNetHeader.writePlainUnlessEqual here). The receiver
            // has just read this line: a load shares it, a store must take it back from the
            // receiver's cache, and every later store of the burst queues behind that. Our
            // virtio-user sending to DPDK's vhost went from 9.9-12.7 to 15.3-17.5 Mpps with
            // this (DPDK's own pairing 10.6-15.5, three interleaved rounds; docs/benchmarks.md).
            if (b.get(LONG, o) != w0 || b.get(LONG, o + 8) != w8 || b.get(LONG, o + 16) != w16
                    || b.get(LONG, o + 24) != w24 || b.get(LONG, o + 32) != w32 || b.get(SHORT, o + 40) != w40) {
                store(b, o);
            }
        } else {
            copyAcross(pkt);
        }
        pkt.l2Len = Ether.HDR_LEN;
        pkt.l3Len = Ipv4.HDR_LEN;
    }

    private void store(MemorySegment b, long o) {
        b.set(LONG, o, w0);
        b.set(LONG, o + 8, w8);
        b.set(LONG, o + 16, w16);
        b.set(LONG, o + 24, w24);
        b.set(LONG, o + 32, w32);
        b.set(SHORT, o + 40, w40);
    }

    /** The headers across the segments of a packet whose first is shorter than they are. */
    private void copyAcross(Mbuf pkt) {
        int done = 0;
        for (Mbuf seg = pkt; seg != null && done < LEN; seg = seg.next()) {
            int k = Math.min(seg.dataLen(), LEN - done);
            MemorySegment.copy(bytes, done, seg.buffer(), seg.dataOff(), k);
            done += k;
        }
    }
}
