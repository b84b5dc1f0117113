package org.jpdk.drivers.net.pcap;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads packet records from a classic pcap or a pcapng file, one record at a time, without
 * allocating per record. The file is read through a {@link FileChannel} into a 1 MiB off-heap
 * window with positional reads of as much as fits, so a record costs a few bounds checks and no
 * system call; a record that straddles the window's end is moved to its start before the window
 * is topped up. {@link #next} parses the next record and leaves its bytes in the window at
 * {@link #dataOffset()} until the following call.
 *
 * <p>Formats (libpcap's {@code sf-pcap.c} and {@code sf-pcapng.c}; every field in the file's
 * own byte order, recognised by the magic or the section's byte-order magic):
 * <pre>
 *   classic pcap                        pcapng block (4-byte aligned)
 *   offset size field                   offset   size  field
 *   0      4    magic a1b2c3d4 (µs)     0        4     type: SHB 0a0d0d0a, IDB 1, SPB 3, EPB 6
 *                     a1b23c4d (ns)     4        4     total length L (multiple of 4, >= 12)
 *   4      2+2  version 2.4             8        L-12  body
 *   8      4+4  thiszone, sigfigs       L-4      4     total length again
 *   16     4    snaplen
 *   20     4    linktype (1 Ethernet)   SHB body: byte-order magic 1a2b3c4d, version 1.x, ...
 *   then per record:                    IDB body: linktype u16, reserved u16, snaplen, options
 *   0      4    ts seconds                        (if_tsresol code 9, if_tsoffset code 14)
 *   4      4    ts µs or ns             EPB body: if id, ts high, ts low, caplen, origlen, data
 *   8      4    caplen                  SPB body: origlen, data (caplen from the snaplen)
 *   12     4    origlen, then data
 * </pre>
 * Unknown pcapng blocks are skipped; a new SHB starts a new section (byte order, interfaces).
 *
 * <p>Bad input never throws from {@link #next}: a truncated header or record, a caplen above
 * {@link #MAX_CAPLEN} or above origlen, a block length that is not a multiple of 4 or disagrees
 * with its trailer, a packet of a non-Ethernet interface: {@link #next} returns {@link #ERROR}
 * from then on and {@link #error()} says, in one line, the file, the byte offset and what is
 * wrong. Every step moves forward by at least 12 bytes, so a file cannot make it loop. Problems
 * found by {@link #open} (a missing file, a bad magic, a non-Ethernet link type) throw
 * {@link PcapException}. One thread reads at a time.
 */
public final class PcapReader implements AutoCloseable {
    /** The largest caplen accepted: libpcap's MAXIMUM_SNAPLEN. */
    public static final int MAX_CAPLEN = 262_144;
    public static final int LINKTYPE_ETHERNET = 1;
    /** {@link #next} results. */
    public static final int RECORD = 1, EOF = 0, ERROR = -1;

    static final int MAGIC_US = 0xa1b2c3d4, MAGIC_NS = 0xa1b23c4d;
    static final int SHB = 0x0a0d0d0a, IDB = 1, SPB = 3, EPB = 6, BYTE_ORDER_MAGIC = 0x1a2b3c4d;
    private static final int WINDOW = 1 << 20; // holds the largest block that is parsed, not skipped
    private static final int CLASSIC_HEADER = 24, RECORD_HEADER = 16;
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long[] POW10 = {1L, 10L, 100L, 1_000L, 10_000L, 100_000L, 1_000_000L, 10_000_000L,
            100_000_000L, 1_000_000_000L, 10_000_000_000L, 100_000_000_000L, 1_000_000_000_000L,
            10_000_000_000_000L, 100_000_000_000_000L, 1_000_000_000_000_000L, 10_000_000_000_000_000L,
            100_000_000_000_000_000L, 1_000_000_000_000_000_000L};

    private final Path file;
    private final String name;
    private final FileChannel ch;
    private final Arena arena;
    private final MemorySegment win;
    private final ByteBuffer winBuf;
    private final boolean pcapng;

    // the window: win[0..end) holds file bytes [winFileOff, winFileOff + end); the cursor is pos
    private long winFileOff;
    private int pos, end;
    private int consume;        // bytes of the current record to step over on the next call
    private int state = RECORD; // EOF or ERROR once reached: sticky until rewind
    private String error;
    private boolean swapped;    // file byte order is big-endian

    // classic header
    private boolean nanos;
    private int snaplen, linktype;

    // pcapng section: its interfaces
    private boolean inSection;
    private int nIf;
    private int[] ifLinktype = new int[4], ifSnaplen = new int[4], ifTsExp = new int[4];
    private boolean[] ifTsPow2 = new boolean[4];
    private long[] ifTsOffset = new long[4];

    // the current record
    private int caplen, origLen, dataOff;
    private long tsNanos, recordOff;
    private boolean hasTs;

    private PcapReader(Path file) {
        this.file = file;
        this.name = file.toString();
        try {
            this.ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException | RuntimeException e) {
            throw new PcapException(name + ": cannot open for reading: " + describe(e), e);
        }
        this.arena = Arena.ofShared();
        this.win = arena.allocate(WINDOW, 4096);
        this.winBuf = win.asByteBuffer();
        int have = fill(CLASSIC_HEADER);
        if (state == ERROR) throw fail();
        if (have < 4) throw fail(name + ": truncated file header: " + have + " of at least 4 bytes");
        int magic = win.get(LE_INT, 0);
        if (magic == SHB) {
            pcapng = true;
            probeSection();
        } else {
            pcapng = false;
            if (magic == MAGIC_US || magic == MAGIC_NS) swapped = false;
            else if (magic == Integer.reverseBytes(MAGIC_US) || magic == Integer.reverseBytes(MAGIC_NS)) swapped = true;
            else throw fail(name + ": not a pcap or pcapng file (magic 0x" + Integer.toHexString(magic) + ")");
            nanos = int32(0) == MAGIC_NS;
            if (have < CLASSIC_HEADER) throw fail(name + ": truncated pcap global header: " + have + " of " + CLASSIC_HEADER + " bytes");
            int major = u16(4), minor = u16(6);
            if (major != 2) throw fail(name + ": pcap version " + major + "." + minor + " not supported; expected 2.4");
            snaplen = int32(16);
            linktype = int32(20) & 0x03ff_ffff; // the upper bits carry FCS information
            if (linktype != LINKTYPE_ETHERNET) throw fail(name + ": " + linkName(linktype));
        }
        rewind();
    }

    /**
     * Opens {@code file} and checks its header: a classic pcap (either byte order, µs or ns) or a
     * pcapng whose first interface is Ethernet.
     *
     * @throws PcapException naming the file and what is wrong
     */
    public static PcapReader open(Path file) {
        return new PcapReader(file);
    }

    private PcapException fail(String msg) {
        close();
        return new PcapException(msg);
    }

    private PcapException fail() {
        close();
        return new PcapException(error);
    }

    private static String linkName(int lt) {
        return "link type " + lt + " is not Ethernet (1); net_pcap carries Ethernet frames only";
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        String kind = e.getClass().getSimpleName();
        return m == null || m.isEmpty() ? kind : kind.equals("IOException") ? m : kind + " " + m;
    }

    /** Reads the blocks of the first section up to its first interface, to check its link type. */
    private void probeSection() {
        while (true) {
            int r = step(true);
            if (r == ERROR) throw fail();
            if (r == EOF || r == RECORD) break; // a packet before any interface fails later, when read
            if (nIf > 0) {
                if (ifLinktype[0] != LINKTYPE_ETHERNET) throw fail(name + ": interface 0: " + linkName(ifLinktype[0]));
                break;
            }
        }
        linktype = nIf > 0 ? ifLinktype[0] : LINKTYPE_ETHERNET;
        snaplen = nIf > 0 ? ifSnaplen[0] : 0;
    }

    /** Goes back to the first record (the header was checked at open). */
    public void rewind() {
        winFileOff = 0;
        pos = end = 0;
        consume = pcapng ? 0 : CLASSIC_HEADER;
        state = RECORD;
        error = null;
        inSection = false;
        nIf = 0;
        caplen = origLen = dataOff = 0;
        if (pcapng) swapped = false;
    }

    /**
     * Moves to the next packet record: {@link #RECORD} (its bytes are at {@link #dataOffset()} of
     * {@link #window()} until the next call), {@link #EOF} at a clean end of file, {@link #ERROR}
     * on bad input or a failed read (see {@link #error()}). EOF and ERROR repeat until
     * {@link #rewind}. Allocates nothing but the error message.
     */
    public int next() {
        if (state != RECORD) return state;
        pos += consume;
        consume = 0;
        return pcapng ? step(false) : nextClassic();
    }

    private int nextClassic() {
        long off = fileOffset();
        int have = fill(RECORD_HEADER);
        if (state == ERROR) return ERROR;
        if (have == 0) return eof();
        if (have < RECORD_HEADER) return bad(off, "truncated record header: " + have + " of " + RECORD_HEADER + " bytes");
        long sec = Integer.toUnsignedLong(int32(pos));
        long frac = Integer.toUnsignedLong(int32(pos + 4));
        int cap = int32(pos + 8), orig = int32(pos + 12);
        if (cap < 0 || cap > MAX_CAPLEN) {
            return bad(off, "caplen " + Integer.toUnsignedString(cap) + " exceeds the maximum " + MAX_CAPLEN);
        }
        if (Integer.compareUnsigned(cap, orig) > 0) {
            return bad(off, "caplen " + cap + " exceeds origlen " + Integer.toUnsignedString(orig));
        }
        have = fill(RECORD_HEADER + cap);
        if (state == ERROR) return ERROR;
        if (have < RECORD_HEADER + cap) {
            return bad(off, "truncated record: caplen " + cap + " but " + (have - RECORD_HEADER) + " bytes of data left");
        }
        recordOff = off;
        caplen = cap;
        origLen = orig;
        tsNanos = sec * 1_000_000_000L + (nanos ? frac : frac * 1000);
        hasTs = true;
        dataOff = pos + RECORD_HEADER;
        consume = RECORD_HEADER + cap;
        return RECORD;
    }

    /**
     * Steps over pcapng blocks up to the next packet. With {@code probing} it returns 2 after each
     * interface block and RECORD, without consuming it, at the first packet block.
     */
    private int step(boolean probing) {
        while (true) {
            long off = fileOffset();
            int have = fill(12);
            if (state == ERROR) return ERROR;
            if (have == 0) return eof();
            if (have < 8) return bad(off, "truncated block header: " + have + " of 8 bytes");
            int type = win.get(LE_INT, pos);
            if (type == SHB) {
                if (have < 12) return bad(off, "truncated section header block: " + have + " bytes");
                int bom = win.get(LE_INT, pos + 8);
                if (bom == BYTE_ORDER_MAGIC) swapped = false;
                else if (bom == Integer.reverseBytes(BYTE_ORDER_MAGIC)) swapped = true;
                else return bad(off, "section header block with bad byte-order magic 0x" + Integer.toHexString(bom));
            } else {
                if (!inSection) return bad(off, "block type 0x" + Integer.toHexString(type) + " before any section header block");
                type = swapped ? Integer.reverseBytes(type) : type;
            }
            long len = Integer.toUnsignedLong(int32(pos + 4));
            if (len < 12 || (len & 3) != 0) {
                return bad(off, "block length " + len + " is invalid (must be a multiple of 4 and at least 12)");
            }
            switch (type) {
                case SHB -> {
                    if (!block(off, len, 28)) return ERROR;
                    int major = u16(pos + 12);
                    if (major != 1) return bad(off, "pcapng version " + major + "." + u16(pos + 14) + " not supported; expected 1.0");
                    inSection = true;
                    nIf = 0;
                    pos += (int) len;
                }
                case IDB -> {
                    if (!block(off, len, 20)) return ERROR;
                    if (!interfaceBlock(off, (int) len)) return ERROR;
                    pos += (int) len;
                    if (probing) return 2;
                }
                case EPB -> {
                    if (probing) return RECORD;
                    if (!block(off, len, 32)) return ERROR;
                    int ifId = int32(pos + 8), cap = int32(pos + 20), orig = int32(pos + 24);
                    if (!packetInterface(off, ifId)) return ERROR;
                    if (cap < 0 || cap > MAX_CAPLEN) {
                        return bad(off, "caplen " + Integer.toUnsignedString(cap) + " exceeds the maximum " + MAX_CAPLEN);
                    }
                    if (Integer.compareUnsigned(cap, orig) > 0) {
                        return bad(off, "caplen " + cap + " exceeds origlen " + Integer.toUnsignedString(orig));
                    }
                    if (28 + ((cap + 3) & ~3) + 4 > len) {
                        return bad(off, "caplen " + cap + " does not fit in enhanced packet block of length " + len);
                    }
                    long ts = Integer.toUnsignedLong(int32(pos + 12)) << 32 | Integer.toUnsignedLong(int32(pos + 16));
                    return packet(off, cap, orig, pos + 28, (int) len, toNanos(ts, ifId), true);
                }
                case SPB -> {
                    if (probing) return RECORD;
                    if (!block(off, len, 16)) return ERROR;
                    if (!packetInterface(off, 0)) return ERROR;
                    long orig = Integer.toUnsignedLong(int32(pos + 8));
                    long cap = Math.min(orig, len - 16);
                    if (ifSnaplen[0] > 0) cap = Math.min(cap, Integer.toUnsignedLong(ifSnaplen[0]));
                    if (cap > MAX_CAPLEN) return bad(off, "caplen " + cap + " exceeds the maximum " + MAX_CAPLEN);
                    return packet(off, (int) cap, (int) orig, pos + 12, (int) len, 0, false);
                }
                default -> {
                    if (!skip(off, len)) return ERROR;
                }
            }
        }
    }

    private int packet(long off, int cap, int orig, int data, int len, long ts, boolean withTs) {
        recordOff = off;
        caplen = cap;
        origLen = orig;
        dataOff = data;
        tsNanos = ts;
        hasTs = withTs;
        consume = len;
        return RECORD;
    }

    /** Brings a whole parsed block of {@code len >= min} bytes into the window and checks its trailer. */
    private boolean block(long off, long len, int min) {
        if (len < min) {
            bad(off, "block type " + blockName(int32(pos)) + " of length " + len + " is shorter than its minimum " + min);
            return false;
        }
        if (len > WINDOW) {
            bad(off, "block length " + len + " exceeds the " + WINDOW + " bytes a packet block may have");
            return false;
        }
        int have = fill((int) len);
        if (state == ERROR) return false;
        if (have < len) {
            bad(off, "truncated block: length " + len + " but " + have + " bytes left");
            return false;
        }
        long trailer = Integer.toUnsignedLong(int32(pos + (int) len - 4));
        if (trailer != len) {
            bad(off, "block length " + len + " but trailing length " + trailer);
            return false;
        }
        return true;
    }

    private String blockName(int raw) {
        int t = raw == SHB ? SHB : swapped ? Integer.reverseBytes(raw) : raw;
        return "0x" + Integer.toHexString(t);
    }

    private boolean interfaceBlock(long off, int len) {
        int lt = u16(pos + 8);
        int snap = int32(pos + 12);
        boolean pow2 = false;
        int exp = 6;
        long tsOffset = 0;
        int o = pos + 16, optEnd = pos + len - 4;
        while (o + 4 <= optEnd) {
            int code = u16(o), olen = u16(o + 2);
            if (code == 0) break;
            if (o + 4 + olen > optEnd) {
                bad(off, "interface block option " + code + " of length " + olen + " overruns the block");
                return false;
            }
            if (code == 9 && olen >= 1) {
                int v = win.get(ValueLayout.JAVA_BYTE, o + 4) & 0xff;
                pow2 = (v & 0x80) != 0;
                exp = v & 0x7f;
            } else if (code == 14 && olen == 8) {
                long v = win.get(LE_LONG, o + 4);
                tsOffset = swapped ? Long.reverseBytes(v) : v;
            }
            o += 4 + ((olen + 3) & ~3);
        }
        if (nIf == ifLinktype.length) {
            int n = nIf * 2;
            ifLinktype = java.util.Arrays.copyOf(ifLinktype, n);
            ifSnaplen = java.util.Arrays.copyOf(ifSnaplen, n);
            ifTsExp = java.util.Arrays.copyOf(ifTsExp, n);
            ifTsPow2 = java.util.Arrays.copyOf(ifTsPow2, n);
            ifTsOffset = java.util.Arrays.copyOf(ifTsOffset, n);
        }
        ifLinktype[nIf] = lt;
        ifSnaplen[nIf] = snap;
        ifTsExp[nIf] = exp;
        ifTsPow2[nIf] = pow2;
        ifTsOffset[nIf] = tsOffset;
        nIf++;
        return true;
    }

    private boolean packetInterface(long off, int ifId) {
        if (ifId < 0 || ifId >= nIf) {
            bad(off, "packet of interface " + Integer.toUnsignedString(ifId) + " but the section has " + nIf + " interfaces");
            return false;
        }
        if (ifLinktype[ifId] != LINKTYPE_ETHERNET) {
            bad(off, "packet of interface " + ifId + ": " + linkName(ifLinktype[ifId]));
            return false;
        }
        return true;
    }

    /** Timestamp units of interface {@code ifId} to nanoseconds (if_tsresol, if_tsoffset). */
    private long toNanos(long ts, int ifId) {
        int exp = ifTsExp[ifId];
        long ns;
        if (!ifTsPow2[ifId]) {
            if (exp <= 9) ns = ts * POW10[9 - exp];
            else ns = exp - 9 < POW10.length ? Long.divideUnsigned(ts, POW10[exp - 9]) : 0;
        } else if (exp >= 64) {
            ns = 0;
        } else {
            long sec = ts >>> exp, frac = exp == 0 ? 0 : ts & (-1L >>> (64 - exp));
            int e = exp;
            if (e > 32) { // keep frac * 1e9 within 64 bits
                frac >>>= e - 32;
                e = 32;
            }
            ns = sec * 1_000_000_000L + (frac * 1_000_000_000L >>> e);
        }
        return ns + ifTsOffset[ifId] * 1_000_000_000L;
    }

    /** Steps over a block that is not parsed, without reading it when it is outside the window. */
    private boolean skip(long off, long len) {
        if (len <= end - pos) {
            pos += (int) len;
            return true;
        }
        long size;
        try {
            size = ch.size();
        } catch (IOException e) {
            bad(off, "size failed: " + describe(e));
            return false;
        }
        if (off + len > size) {
            bad(off, "truncated block: length " + len + " but " + (size - off) + " bytes left");
            return false;
        }
        winFileOff = off + len;
        pos = end = 0;
        return true;
    }

    private int eof() {
        state = EOF;
        caplen = 0;
        return EOF;
    }

    private int bad(long off, String what) {
        state = ERROR;
        caplen = 0;
        consume = 0;
        error = name + ": offset " + off + ": " + what;
        return ERROR;
    }

    /**
     * Makes {@code n <= WINDOW} bytes at the cursor available if the file has them, reading in
     * big chunks; returns how many are (fewer only at end of file or on a failed read).
     */
    private int fill(int n) {
        if (end - pos >= n) return n;
        if (pos >= end) { // nothing left in the window (the cursor may be past it after a header)
            winFileOff += pos;
            pos = end = 0;
        } else if (pos > 0) { // slide the partial record to the start of the window
            MemorySegment.copy(win, pos, win, 0, end - pos);
            winFileOff += pos;
            end -= pos;
            pos = 0;
        }
        try {
            while (end < n) {
                winBuf.limit(WINDOW).position(end);
                int r = ch.read(winBuf, winFileOff + end);
                if (r <= 0) break;
                end += r;
            }
        } catch (IOException | RuntimeException e) {
            bad(winFileOff, "read failed: " + describe(e));
            return 0;
        }
        return Math.min(n, end);
    }

    private long fileOffset() {
        return winFileOff + pos;
    }

    private int int32(int at) {
        int v = win.get(LE_INT, at);
        return swapped ? Integer.reverseBytes(v) : v;
    }

    private int u16(int at) {
        short v = win.get(LE_SHORT, at);
        return Short.toUnsignedInt(swapped ? Short.reverseBytes(v) : v);
    }

    // ---------------------------------------------------------------- the current record

    /** Bytes of the current record in the file. */
    public int caplen() {
        return caplen;
    }

    /** Length of the packet on the wire (at least caplen). */
    public int origLen() {
        return origLen;
    }

    /** Timestamp of the current record in nanoseconds since the epoch (0 for a pcapng simple packet). */
    public long timestampNanos() {
        return tsNanos;
    }

    /** False for a pcapng simple packet block, which has no timestamp. */
    public boolean hasTimestamp() {
        return hasTs;
    }

    /** The window that holds the current record's bytes; valid until the next call. */
    public MemorySegment window() {
        return win;
    }

    /** Offset of the current record's first data byte in {@link #window()}. */
    public long dataOffset() {
        return dataOff;
    }

    /** File offset of the current record's header (or block). */
    public long recordOffset() {
        return recordOff;
    }

    /** Copies {@code len} bytes from offset {@code from} of the current record's data to {@code dst}. */
    public void copy(int from, MemorySegment dst, long dstOff, int len) {
        java.util.Objects.checkFromIndexSize(from, len, caplen);
        MemorySegment.copy(win, dataOff + from, dst, dstOff, len);
    }

    // ---------------------------------------------------------------- the file

    /** The last state {@link #next} returned, EOF and ERROR being sticky. */
    public int state() {
        return state;
    }

    /** One line about the bad input or failed read after {@link #ERROR}, else null. */
    public String error() {
        return error;
    }

    public Path file() {
        return file;
    }

    public boolean isPcapng() {
        return pcapng;
    }

    /** True for a classic file with nanosecond timestamps. */
    public boolean nanosecond() {
        return nanos;
    }

    /** True when the file is big-endian (the current section's order for pcapng). */
    public boolean bigEndian() {
        return swapped;
    }

    /** The link type of the header (classic) or of the first interface (pcapng). */
    public int linktype() {
        return linktype;
    }

    /** The snapshot length of the header (classic) or of the first interface (pcapng). */
    public int snaplen() {
        return snaplen;
    }

    @Override
    public void close() {
        try {
            ch.close();
        } catch (IOException ignored) {
            // read-only: nothing is lost
        }
        if (arena.scope().isAlive()) arena.close();
    }
}
