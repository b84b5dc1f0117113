package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * The Ethernet header at the start of an mbuf's data (rte_ether.h), and 802.1Q/802.1ad tags.
 * <pre>
 *   offset  size  field
 *   0       6     destination address
 *   6       6     source address
 *   12      2     ether type (VLAN_TYPE/QINQ_TYPE: a 4-byte tag follows: TCI, then the next type)
 * </pre>
 * Addresses are 48-bit values in a long, first wire byte in bits 47..40 (as
 * {@code org.jpdk.ethdev.MacAddr#value}). Field accessors go through Mbuf's bounded accessors
 * and throw IndexOutOfBoundsException on a packet too short for them; the parsers
 * {@link #l2Len} and {@link #innerEtherType} return -1 instead. Nothing here allocates.
 */
public final class Ether {
    public static final int ADDR_LEN = 6;
    public static final int HDR_LEN = 14;
    public static final int DST_OFF = 0;
    public static final int SRC_OFF = 6;
    public static final int TYPE_OFF = 12;
    /** One VLAN tag (rte_vlan_hdr): TCI, then the encapsulated ether type. */
    public static final int VLAN_HDR_LEN = 4;

    public static final int TYPE_IPV4 = 0x0800;
    public static final int TYPE_ARP = 0x0806;
    public static final int TYPE_VLAN = 0x8100;
    public static final int TYPE_IPV6 = 0x86DD;
    public static final int TYPE_QINQ = 0x88A8;
    public static final int TYPE_PPPOE_DISCOVERY = 0x8863;
    public static final int TYPE_PPPOE_SESSION = 0x8864;
    public static final int TYPE_MPLS = 0x8847;
    public static final int TYPE_MPLS_MULTICAST = 0x8848;
    public static final int TYPE_LLDP = 0x88CC;
    /** IEEE 1588 (PTP) over Ethernet. */
    public static final int TYPE_1588 = 0x88F7;
    public static final int TYPE_FCOE = 0x8906;
    public static final int TYPE_NSH = 0x894F;
    /** Transparent Ethernet bridging: an Ethernet frame inside GRE (NVGRE). */
    public static final int TYPE_TEB = 0x6558;

    private static final long MASK48 = 0xffff_ffff_ffffL;
    private static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Ether() {
    }

    /**
     * Swaps the destination and source addresses in place: one 8-byte and one 4-byte read and
     * write straight on the buffer, after one check that the data holds both addresses. Mbuf's
     * accessors checked each access against the data length and again against the buffer, which
     * cost testpmd's macswap about 1.2 ns a packet more (MacSwapPerf, docs/benchmarks.md). A
     * 12-byte slice ({@code m.data(0, 12)}) was faster still, but only where escape analysis
     * removes it: inlined into a larger loop (exception_path's) it allocated one segment a call.
     */
    public static void swapMacs(Mbuf m) {
        Objects.checkFromIndexSize(0, 2 * ADDR_LEN, m.dataLen());
        MemorySegment b = m.buffer();
        long o = m.dataOff();
        long a = b.get(BE_LONG, o);                   // dst[0..5] src[0..1]
        long c = b.get(BE_INT, o + 8) & 0xffff_ffffL; // src[2..5]
        long dst = a >>> 16;
        long src = (a & 0xffff) << 32 | c;
        b.set(BE_LONG, o, src << 16 | dst >>> 32);
        b.set(BE_INT, o + 8, (int) dst);
    }

    public static long dst(Mbuf m) {
        return readAddr(m, DST_OFF);
    }

    public static long src(Mbuf m) {
        return readAddr(m, SRC_OFF);
    }

    public static void setDst(Mbuf m, long addr) {
        writeAddr(m, DST_OFF, addr);
    }

    public static void setSrc(Mbuf m, long addr) {
        writeAddr(m, SRC_OFF, addr);
    }

    /** The 48-bit address at {@code off} of the data (also for ARP's hardware addresses). */
    public static long readAddr(Mbuf m, int off) {
        return (m.readInt(off) & 0xffff_ffffL) << 16 | m.readShort(off + 4);
    }

    public static void writeAddr(Mbuf m, int off, long addr) {
        m.writeInt(off, (int) (addr >>> 16));
        m.writeShort(off + 4, (int) addr);
    }

    /** Sets both addresses in one 8-byte and one 4-byte write. */
    public static void setAddrs(Mbuf m, long dst, long src) {
        dst &= MASK48;
        src &= MASK48;
        Objects.checkFromIndexSize(0, 2 * ADDR_LEN, m.dataLen()); // one check, as in swapMacs
        MemorySegment b = m.buffer();
        long o = m.dataOff();
        b.set(BE_LONG, o, dst << 16 | src >>> 32);
        b.set(BE_INT, o + 8, (int) src);
    }

    /** The outer ether type (may be {@link #TYPE_VLAN} or {@link #TYPE_QINQ}). */
    public static int etherType(Mbuf m) {
        return m.readShort(TYPE_OFF);
    }

    /**
     * The length of the L2 header: 14, plus 4 for each of up to two VLAN/QinQ tags; -1 if the
     * first segment is too short for the header and the tags it announces.
     */
    public static int l2Len(Mbuf m) {
        int len = m.dataLen();
        if (len < HDR_LEN) return -1;
        int l2 = HDR_LEN;
        int type = m.readShort(TYPE_OFF);
        for (int tags = 0; tags < 2 && isVlan(type); tags++) {
            if (len < l2 + VLAN_HDR_LEN) return -1;
            type = m.readShort(l2 + 2);
            l2 += VLAN_HDR_LEN;
        }
        return l2;
    }

    /**
     * The ether type after up to two VLAN/QinQ tags (of the payload at {@link #l2Len}); -1 if the
     * first segment is too short for the header and tags.
     */
    public static int innerEtherType(Mbuf m) {
        int len = m.dataLen();
        if (len < HDR_LEN) return -1;
        int l2 = HDR_LEN;
        int type = m.readShort(TYPE_OFF);
        for (int tags = 0; tags < 2 && isVlan(type); tags++) {
            if (len < l2 + VLAN_HDR_LEN) return -1;
            type = m.readShort(l2 + 2);
            l2 += VLAN_HDR_LEN;
        }
        return type;
    }

    public static void setEtherType(Mbuf m, int type) {
        m.writeShort(TYPE_OFF, type);
    }

    /** The TCI of the VLAN tag at {@code tagOff} (14 for the first tag): priority, DEI, VLAN id. */
    public static int vlanTci(Mbuf m, int tagOff) {
        return m.readShort(tagOff);
    }

    /** The 12-bit VLAN id of the tag at {@code tagOff}. */
    public static int vlanId(Mbuf m, int tagOff) {
        return m.readShort(tagOff) & 0xfff;
    }

    /** The 3-bit priority (PCP) of the tag at {@code tagOff}. */
    public static int vlanPcp(Mbuf m, int tagOff) {
        return m.readShort(tagOff) >>> 13;
    }

    /** The ether type after the tag at {@code tagOff}. */
    public static int vlanNextType(Mbuf m, int tagOff) {
        return m.readShort(tagOff + 2);
    }

    /** Writes a tag's TCI and the ether type that follows it. */
    public static void setVlan(Mbuf m, int tagOff, int tci, int nextType) {
        m.writeInt(tagOff, (tci & 0xffff) << 16 | nextType & 0xffff);
    }

    /** True for the two tag types, 802.1Q and 802.1ad. */
    public static boolean isVlan(int etherType) {
        return etherType == TYPE_VLAN || etherType == TYPE_QINQ;
    }
}
