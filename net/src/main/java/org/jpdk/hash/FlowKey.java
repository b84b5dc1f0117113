package org.jpdk.hash;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Ipv6;

/**
 * 5-tuple flow keys for {@link Hash}, built from a packet without allocating, in the layouts of
 * DPDK's l3fwd exact-match tables. Every field keeps its wire (network) byte order, so a key is
 * mostly a copy of header bytes.
 * <pre>
 * IPv4, {@value #IPV4_LEN} bytes (l3fwd's ipv4_5tuple_host: IPv4 header bytes 8..19 with TTL and
 * checksum zeroed, then the first 4 L4 bytes)
 *   0 pad (0)  1 proto  2-3 pad (0)  4-7 source address  8-11 destination address
 *   12-13 source port  14-15 destination port
 * IPv6, {@value #IPV6_LEN} bytes
 *   0-15 source address  16-31 destination address  32-33 source port  34-35 destination port
 *   36 proto (next header)  37-39 pad (0)
 * </pre>
 * Ports are those of TCP, UDP and SCTP (whose first 4 bytes are the two ports) and 0 for any
 * other protocol or a fragment that is not the first; IPv6 extension headers are not walked (as
 * {@link Ipv6}). Keys of both families can share a table only if their sizes match, so use one
 * table per family.
 */
public final class FlowKey {
    public static final int IPV4_LEN = 16;
    public static final int IPV6_LEN = 40;
    public static final int IPV4_PROTO_OFF = 1, IPV4_SRC_OFF = 4, IPV4_DST_OFF = 8, IPV4_SRC_PORT_OFF = 12, IPV4_DST_PORT_OFF = 14;
    public static final int IPV6_SRC_OFF = 0, IPV6_DST_OFF = 16, IPV6_SRC_PORT_OFF = 32, IPV6_DST_PORT_OFF = 34, IPV6_PROTO_OFF = 36;

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
    /** Bytes 1 (proto) and 4..7 (source address) of header word 8..15, in memory order. */
    private static final long IPV4_W0_MASK = java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN
            ? 0xffff_ffff_0000_ff00L : 0x00ff_0000_ffff_ffffL;

    private FlowKey() {
    }

    /**
     * Writes the IPv4 5-tuple of the packet whose IPv4 header is at {@code l3off} of {@code m}'s
     * data into {@code dst} at {@code dstOff}. False (nothing written) if the header is not a
     * valid IPv4 header ({@link Ipv4#headerLen}) or the ports are not within the first segment.
     */
    public static boolean ipv4(Mbuf m, int l3off, MemorySegment dst, long dstOff) {
        java.util.Objects.checkFromIndexSize(dstOff, IPV4_LEN, dst.byteSize());
        int hl = Ipv4.headerLen(m, l3off);
        if (hl < 0) return false;
        int proto = Ipv4.proto(m, l3off);
        int l4off = l3off + hl;
        boolean ports = hasPorts(proto) && (m.readShort(l3off + Ipv4.FRAGMENT_OFFSET_OFF) & 0x1fff) == 0;
        if (ports && l4off + 4 > m.dataLen()) return false;
        MemorySegment buf = m.buffer();
        long base = m.dataOff() + (long) l3off;
        dst.set(LONG, dstOff, buf.get(LONG, base + 8) & IPV4_W0_MASK);
        dst.set(INT, dstOff + IPV4_DST_OFF, buf.get(INT, base + Ipv4.DST_OFF));
        dst.set(INT, dstOff + IPV4_SRC_PORT_OFF, ports ? buf.get(INT, m.dataOff() + (long) l4off) : 0);
        return true;
    }

    /**
     * Writes the IPv6 5-tuple of the packet whose IPv6 header is at {@code l3off} into
     * {@code dst} at {@code dstOff}. False (nothing written) if the fixed header is not in the
     * first segment, the version is not 6, or the ports are not within the first segment.
     */
    public static boolean ipv6(Mbuf m, int l3off, MemorySegment dst, long dstOff) {
        java.util.Objects.checkFromIndexSize(dstOff, IPV6_LEN, dst.byteSize());
        if (l3off < 0 || l3off > m.dataLen() - Ipv6.HDR_LEN || (m.readByte(l3off) & 0xf0) != 0x60) return false;
        int proto = Ipv6.proto(m, l3off);
        int l4off = l3off + Ipv6.HDR_LEN;
        boolean ports = hasPorts(proto);
        if (ports && l4off + 4 > m.dataLen()) return false;
        MemorySegment buf = m.buffer();
        long base = m.dataOff() + (long) l3off + Ipv6.SRC_OFF;
        MemorySegment.copy(buf, base, dst, dstOff, 2 * Ipv6.ADDR_LEN);
        dst.set(INT, dstOff + IPV6_SRC_PORT_OFF, ports ? buf.get(INT, m.dataOff() + (long) l4off) : 0);
        dst.set(INT, dstOff + IPV6_PROTO_OFF, 0);
        dst.set(ValueLayout.JAVA_BYTE, dstOff + IPV6_PROTO_OFF, (byte) proto);
        return true;
    }

    /** Writes an IPv4 key from values (addresses as host-order ints, 198.18.0.1 = 0xC6120001), as {@link #ipv4(Mbuf, int, MemorySegment, long)} would. */
    public static void ipv4(MemorySegment dst, long dstOff, int src, int dstAddr, int srcPort, int dstPort, int proto) {
        dst.set(LONG, dstOff, 0L);
        dst.set(ValueLayout.JAVA_BYTE, dstOff + IPV4_PROTO_OFF, (byte) proto);
        dst.set(BE_INT, dstOff + IPV4_SRC_OFF, src);
        dst.set(BE_INT, dstOff + IPV4_DST_OFF, dstAddr);
        dst.set(BE_SHORT, dstOff + IPV4_SRC_PORT_OFF, (short) (hasPorts(proto) ? srcPort : 0));
        dst.set(BE_SHORT, dstOff + IPV4_DST_PORT_OFF, (short) (hasPorts(proto) ? dstPort : 0));
    }

    /** Writes an IPv6 key from values (16-byte addresses in wire order). */
    public static void ipv6(MemorySegment dst, long dstOff, byte[] src, byte[] dstAddr, int srcPort, int dstPort, int proto) {
        if (src.length != Ipv6.ADDR_LEN || dstAddr.length != Ipv6.ADDR_LEN) {
            throw new IllegalArgumentException("src/dst: addresses must be 16 bytes, not " + src.length + "/" + dstAddr.length);
        }
        MemorySegment.copy(src, 0, dst, ValueLayout.JAVA_BYTE, dstOff + IPV6_SRC_OFF, Ipv6.ADDR_LEN);
        MemorySegment.copy(dstAddr, 0, dst, ValueLayout.JAVA_BYTE, dstOff + IPV6_DST_OFF, Ipv6.ADDR_LEN);
        dst.set(BE_SHORT, dstOff + IPV6_SRC_PORT_OFF, (short) (hasPorts(proto) ? srcPort : 0));
        dst.set(BE_SHORT, dstOff + IPV6_DST_PORT_OFF, (short) (hasPorts(proto) ? dstPort : 0));
        dst.set(INT, dstOff + IPV6_PROTO_OFF, 0);
        dst.set(ValueLayout.JAVA_BYTE, dstOff + IPV6_PROTO_OFF, (byte) proto);
    }

    private static boolean hasPorts(int proto) {
        return proto == Ipv4.PROTO_TCP || proto == Ipv4.PROTO_UDP || proto == Ipv4.PROTO_SCTP;
    }
}
