package org.jpdk.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import org.jpdk.mbuf.Mbuf;

/**
 * The Internet checksum's raw ones'-complement sum (RFC 1071; DPDK's {@code rte_raw_cksum}), over
 * a {@link MemorySegment} or over the data of an mbuf chain.
 *
 * <p>The sum is of big-endian 16-bit words, so results compare directly with the values
 * {@link Mbuf#readShort} returns. It reads eight bytes at a time: a big-endian long is two 32-bit
 * halves, and because 2<sup>16</sup> is 1 modulo 0xffff, adding 32-bit halves into a 64-bit
 * accumulator and folding at the end gives the same ones'-complement sum as adding 16-bit words.
 * An odd last byte counts as the high byte of a word padded with zero. Nothing here allocates.
 * Ranges outside the segment or the mbuf data throw IndexOutOfBoundsException.
 */
public final class Checksum {
    private static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Checksum() {
    }

    /**
     * The unfolded sum of {@code len} bytes at {@code off} of {@code seg}, added to {@code sum}
     * (DPDK's {@code __rte_raw_cksum}); fold it with {@link #reduce}. Safe to chain for up to
     * 2<sup>31</sup> bytes in all.
     */
    public static long partial(MemorySegment seg, long off, long len, long sum) {
        Objects.checkFromIndexSize(off, len, seg.byteSize());
        long end = off + (len & ~7L);
        for (long p = off; p < end; p += 8) {
            long v = seg.get(BE_LONG, p);
            sum += (v >>> 32) + (v & 0xffff_ffffL);
        }
        long p = end, stop = off + len;
        if (p + 4 <= stop) {
            sum += Short.toUnsignedLong(seg.get(BE_SHORT, p)) + Short.toUnsignedLong(seg.get(BE_SHORT, p + 2));
            p += 4;
        }
        if (p + 2 <= stop) {
            sum += Short.toUnsignedLong(seg.get(BE_SHORT, p));
            p += 2;
        }
        if (p < stop) sum += (seg.get(ValueLayout.JAVA_BYTE, p) & 0xffL) << 8;
        return sum;
    }

    /** Folds an unfolded sum to 16 bits, end-around carry included (__rte_raw_cksum_reduce). */
    public static int reduce(long sum) {
        sum = (sum >>> 32) + (sum & 0xffff_ffffL);
        sum = (sum >>> 16) + (sum & 0xffff);
        sum = (sum >>> 16) + (sum & 0xffff);
        sum = (sum >>> 16) + (sum & 0xffff);
        return (int) sum;
    }

    /**
     * The checksum after a 16-bit word of the covered data changes from {@code oldWord} to
     * {@code newWord}, without summing the data again (RFC 1624, eqn. 3:
     * HC' = ~(~HC + ~m + m')). Unlike RFC 1141's form it never produces -0 (0xffff) from +0
     * data. A UDP checksum that comes out 0 must be sent as 0xffff by the caller (RFC 768).
     */
    public static int adjust(int cksum, int oldWord, int newWord) {
        int sum = (~cksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        return ~sum & 0xffff;
    }

    /** {@link #adjust} for a 32-bit field (an IPv4 address or a port pair) at an even offset. */
    public static int adjust32(int cksum, int oldValue, int newValue) {
        long sum = (~cksum & 0xffff) + (~oldValue >>> 16 & 0xffff) + (~oldValue & 0xffff)
                + (newValue >>> 16 & 0xffff) + (newValue & 0xffff);
        return ~reduce(sum) & 0xffff;
    }

    /** The folded raw sum of {@code len} bytes at {@code off} of {@code seg} (rte_raw_cksum); not complemented. */
    public static int raw(MemorySegment seg, long off, long len) {
        return reduce(partial(seg, off, len, 0));
    }

    /**
     * The folded raw sum of {@code len} bytes at {@code off} of the packet {@code m}, across its
     * segments (rte_raw_cksum_mbuf). Throws IndexOutOfBoundsException if the range is not inside
     * the packet's data.
     */
    public static int raw(Mbuf m, int off, int len) {
        if (off >= 0 && len >= 0 && off <= m.dataLen() - len) {
            return reduce(partial(m.buffer(), m.dataOff() + off, len, 0));
        }
        Objects.checkFromIndexSize(off, len, m.pktLen());
        Mbuf seg = m;
        while (seg != null && off >= seg.dataLen()) {
            off -= seg.dataLen();
            seg = seg.next();
        }
        long sum = 0;
        int done = 0;
        while (done < len) {
            if (seg == null) throw new IndexOutOfBoundsException("packet chain ends " + (len - done) + " bytes before its pkt_len");
            int k = Math.min(seg.dataLen() - off, len - done);
            int s = reduce(partial(seg.buffer(), seg.dataOff() + off, k, 0));
            // a segment that starts at an odd offset of the range has its bytes in the other halves of the words
            sum += (done & 1) == 0 ? s : ((s & 0xff) << 8 | s >>> 8);
            done += k;
            off = 0;
            seg = seg.next();
        }
        return reduce(sum);
    }
}
