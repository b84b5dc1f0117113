package org.jpdk.pcapng;

import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The pcapng blocks jpdk writes (IETF draft-ietf-opsawg-pcapng, DPDK's lib/pcapng), encoded into a
 * {@link MemorySegment} in little-endian order: a block is {type, total length, body, total
 * length}, every part padded to 4 bytes; options are {code u16, length u16, value padded to 4}
 * ended by code 0.
 * <pre>
 * Section Header (0x0A0D0D0A)   BOM 0x1A2B3C4D, version 1.0, section length -1; shb_hardware,
 *                               shb_os, shb_userappl
 * Interface Description (1)    linktype u16 (1, Ethernet), reserved, snaplen u32; if_name,
 *                               if_description, if_tsresol = 9 (nanoseconds)
 * Enhanced Packet (6)          if_id, ts_hi, ts_lo, caplen, origlen, data; epb_flags
 *  offset 0  type    4 total 8 if_id 12 ts_hi 16 ts_lo 20 caplen 24 origlen 28 data (padded)
 *  then      2,4,flags  6,4,queue  0,0  total      ({@link #EPB_OVERHEAD} bytes besides the data)
 * Interface Statistics (5)     if_id, ts_hi, ts_lo; isb_starttime, isb_endtime, isb_ifrecv,
 *                               isb_ifdrop, isb_filteraccept, isb_osdrop
 * </pre>
 * {@link #writeEpb} is what the capture callbacks run on the lcore: stores into a segment the
 * caller reserved, no allocation.
 */
public final class Pcapng {
    public static final int SHB = 0x0A0D0D0A, IDB = 1, ISB = 5, EPB = 6;
    public static final int BYTE_ORDER_MAGIC = 0x1A2B3C4D;
    public static final int LINKTYPE_ETHERNET = 1;
    /** epb_flags direction bits (0-1). */
    public static final int FLAG_INBOUND = 1, FLAG_OUTBOUND = 2;
    public static final int OPT_END = 0, OPT_COMMENT = 1;
    public static final int SHB_HARDWARE = 2, SHB_OS = 3, SHB_USERAPPL = 4;
    public static final int IF_NAME = 2, IF_DESCRIPTION = 3, IF_TSRESOL = 9;
    public static final int EPB_FLAGS = 2, EPB_QUEUE = 6;
    public static final int ISB_STARTTIME = 2, ISB_ENDTIME = 3, ISB_IFRECV = 4, ISB_IFDROP = 5, ISB_FILTERACCEPT = 6,
            ISB_OSDROP = 7;
    /** An EPB's bytes besides its padded data: 28 of header, epb_flags 8, epb_queue 8, end 4, trailer 4. */
    public static final int EPB_OVERHEAD = 28 + 8 + 8 + 4 + 4;
    /** The longest packet a capture copies whole (an EPB stays below 64 KiB + overhead). */
    public static final int MAX_CAPLEN = 65535;

    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Pcapng() {
    }

    /** {@code n} rounded up to a multiple of 4. */
    public static int pad4(int n) {
        return (n + 3) & ~3;
    }

    /** The size of the EPB for {@code caplen} bytes of data. */
    public static int epbSize(int caplen) {
        return EPB_OVERHEAD + pad4(caplen);
    }

    /**
     * Writes the EPB of {@code m} (its first {@code caplen} bytes, over its segments) at
     * {@code at}, which must have {@link #epbSize}{@code (caplen)} bytes. Allocates nothing.
     */
    public static void writeEpb(MemorySegment seg, long at, int ifId, long tsNanos, Mbuf m, int caplen, int flags, int queue) {
        int total = epbSize(caplen);
        seg.set(INT, at, EPB);
        seg.set(INT, at + 4, total);
        seg.set(INT, at + 8, ifId);
        seg.set(INT, at + 12, (int) (tsNanos >>> 32));
        seg.set(INT, at + 16, (int) tsNanos);
        seg.set(INT, at + 20, caplen);
        seg.set(INT, at + 24, m.pktLen());
        long p = at + 28;
        int left = caplen;
        for (Mbuf s = m; s != null && left > 0; s = s.next()) {
            int n = Math.min(left, s.dataLen());
            MemorySegment.copy(s.buffer(), s.dataOff(), seg, p, n);
            p += n;
            left -= n;
        }
        if (left > 0) seg.asSlice(p, left).fill((byte) 0); // a chain shorter than its pkt_len: zeros, never stale bytes
        p += left;
        for (int i = caplen; i < pad4(caplen); i++) seg.set(ValueLayout.JAVA_BYTE, p++, (byte) 0);
        seg.set(SHORT, p, (short) EPB_FLAGS);
        seg.set(SHORT, p + 2, (short) 4);
        seg.set(INT, p + 4, flags);
        seg.set(SHORT, p + 8, (short) EPB_QUEUE);
        seg.set(SHORT, p + 10, (short) 4);
        seg.set(INT, p + 12, queue);
        seg.set(INT, p + 16, 0);
        seg.set(INT, p + 20, total);
    }

    /** Builds a block of {@code type} from a fixed body and options; for the control-path blocks. */
    static final class Builder {
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        private final int type;

        Builder(int type) {
            this.type = type;
        }

        Builder u16(int v) {
            out.write(v);
            out.write(v >>> 8);
            return this;
        }

        Builder u32(int v) {
            return u16(v & 0xffff).u16(v >>> 16);
        }

        Builder u64(long v) {
            return u32((int) v).u32((int) (v >>> 32));
        }

        /** An option with raw bytes, padded. */
        Builder option(int code, byte[] value) {
            if (value.length > 0xffff - 3) throw new IllegalArgumentException("pcapng option " + code + ": " + value.length + " bytes");
            u16(code).u16(value.length);
            out.writeBytes(value);
            for (int i = value.length; i < pad4(value.length); i++) out.write(0);
            return this;
        }

        Builder option(int code, String value) {
            return value == null ? this : option(code, value.getBytes(StandardCharsets.UTF_8));
        }

        Builder optionU64(int code, long v) {
            byte[] b = new byte[8];
            for (int i = 0; i < 8; i++) b[i] = (byte) (v >>> (8 * i));
            return option(code, b);
        }

        /** A timestamp option: high then low 32 bits, each little-endian (isb_starttime). */
        Builder optionTime(int code, long nanos) {
            return optionU64(code, (nanos >>> 32) | (nanos << 32));
        }

        byte[] build(boolean withOptions) {
            if (withOptions) u16(OPT_END).u16(0);
            byte[] body = out.toByteArray();
            int total = 12 + body.length;
            Builder b = new Builder(0);
            b.u32(type).u32(total);
            b.out.writeBytes(body);
            b.u32(total);
            return b.out.toByteArray();
        }
    }

    /** A Section Header Block: byte-order magic, version 1.0, unknown section length, who wrote it and a comment (or null). */
    public static byte[] shb(String hardware, String os, String application, String comment) {
        return new Builder(SHB).u32(BYTE_ORDER_MAGIC).u16(1).u16(0).u64(-1L).option(OPT_COMMENT, comment)
                .option(SHB_HARDWARE, hardware).option(SHB_OS, os).option(SHB_USERAPPL, application).build(true);
    }

    /** An Interface Description Block for Ethernet with nanosecond timestamps. */
    public static byte[] idb(String name, String description, int snaplen) {
        return new Builder(IDB).u16(LINKTYPE_ETHERNET).u16(0).u32(snaplen)
                .option(IF_NAME, name).option(IF_DESCRIPTION, description).option(IF_TSRESOL, new byte[]{9}).build(true);
    }

    /** An Interface Statistics Block: capture start and end (ns since the epoch) and the counts. */
    public static byte[] isb(int ifId, long nowNanos, long startNanos, long received, long dropped, long accepted, long osDropped) {
        return new Builder(ISB).u32(ifId).u32((int) (nowNanos >>> 32)).u32((int) nowNanos)
                .optionTime(ISB_STARTTIME, startNanos).optionTime(ISB_ENDTIME, nowNanos)
                .optionU64(ISB_IFRECV, received).optionU64(ISB_IFDROP, dropped)
                .optionU64(ISB_FILTERACCEPT, accepted).optionU64(ISB_OSDROP, osDropped).build(true);
    }

    /** An EPB for the bytes {@code data} (tests, tools): the same layout {@link #writeEpb} writes. */
    public static byte[] epb(int ifId, long tsNanos, byte[] data, int origLen, int flags, int queue) {
        Builder b = new Builder(EPB).u32(ifId).u32((int) (tsNanos >>> 32)).u32((int) tsNanos).u32(data.length).u32(origLen);
        b.out.writeBytes(data);
        for (int i = data.length; i < pad4(data.length); i++) b.out.write(0);
        b.u16(EPB_FLAGS).u16(4).u32(flags).u16(EPB_QUEUE).u16(4).u32(queue);
        return b.build(true);
    }

    /**
     * Checks the block at {@code at} of {@code seg} (whose valid bytes end at {@code limit}) and
     * returns its total length, or -1 when it is not a whole, well-formed block: the length is a
     * multiple of 4, at least 12, fits, and the trailer repeats it. For a reader of blocks from a
     * peer (dumpcap reading the app's stream).
     */
    public static int checkBlock(MemorySegment seg, long at, long limit) {
        if (limit - at < 12) return -1;
        int total = seg.get(INT, at + 4);
        if (total < 12 || (total & 3) != 0 || total > limit - at) return -1;
        if (seg.get(INT, at + total - 4) != total) return -1;
        return total;
    }

    /** The type word of the block at {@code at}. */
    public static int blockType(MemorySegment seg, long at) {
        return seg.get(INT, at);
    }

    /**
     * The u64 option {@code code} of the checked ISB at {@code at} ({@link #checkBlock}), or -1
     * when it has none; options that run past the block end the search.
     */
    public static long isbCounter(MemorySegment seg, long at, int code) {
        int total = seg.get(INT, at + 4);
        long p = at + 20, end = at + total - 4;
        while (p + 4 <= end) {
            int c = seg.get(SHORT, p) & 0xffff, len = seg.get(SHORT, p + 2) & 0xffff;
            if (c == OPT_END || p + 4 + len > end) return -1;
            if (c == code && len == 8) return seg.get(LONG, p + 4);
            p += 4 + pad4(len);
        }
        return -1;
    }
}
