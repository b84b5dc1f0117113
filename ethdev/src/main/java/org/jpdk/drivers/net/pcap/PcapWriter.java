package org.jpdk.drivers.net.pcap;

import org.jpdk.mbuf.Mbuf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * Writes packets to a classic pcap file, little-endian, as libpcap's dumper writes them on x86:
 * the 24-byte global header (magic {@code a1b23c4d} for nanosecond timestamps, as DPDK 22.11's
 * net_pcap writes, or {@code a1b2c3d4} for microseconds; version 2.4; snaplen; link type 1,
 * Ethernet) and then per packet a 16-byte record header (seconds, ns or µs, caplen, origlen) and
 * the bytes. Records are gathered in an off-heap buffer of at least 256 KiB and written with one
 * system call when it is full, at {@link #flush} and at {@link #close}, so nothing is allocated
 * and nothing is written per packet. A chained mbuf is written whole, segment after segment; a
 * packet longer than the snaplen is cut to it (origlen keeps the real length). The file is
 * complete (readable by tshark) after flush or close. One thread writes at a time.
 */
public final class PcapWriter implements AutoCloseable {
    /** The snaplen written by default: libpcap's MAXIMUM_SNAPLEN, so jumbo chains stay whole. */
    public static final int DEFAULT_SNAPLEN = PcapReader.MAX_CAPLEN;
    public static final int MIN_BUFFER = 256 * 1024;
    private static final int HEADER = 24, RECORD = 16;
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final FileChannel ch;
    private final Arena arena;
    private final MemorySegment buf;
    private final ByteBuffer bb;
    private long bufferedPackets, bufferedBytes; // appended since the last successful write
    private final boolean nanos;
    private final int snaplen;
    private final long wallBase, nanoBase; // wall clock at open, and System.nanoTime then
    private int fill;
    private long packets, bytes;
    private boolean closed;

    private PcapWriter(Path file, boolean nanos, int snaplen) {
        this.name = file.toString();
        this.nanos = nanos;
        this.snaplen = snaplen;
        try {
            this.ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE);
        } catch (IOException | RuntimeException e) {
            throw new PcapException(name + ": cannot open for writing: " + describe(e), e);
        }
        int size = Math.max(MIN_BUFFER, (RECORD + snaplen + 4095) & ~4095);
        this.arena = Arena.ofShared();
        this.buf = arena.allocate(size, 4096);
        this.bb = buf.asByteBuffer();
        Instant now = Instant.now();
        this.nanoBase = System.nanoTime();
        this.wallBase = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        buf.set(LE_INT, 0, nanos ? PcapReader.MAGIC_NS : PcapReader.MAGIC_US);
        buf.set(LE_SHORT, 4, (short) 2);
        buf.set(LE_SHORT, 6, (short) 4);
        buf.set(LE_INT, 8, 0);  // thiszone: timestamps are UTC
        buf.set(LE_INT, 12, 0); // sigfigs
        buf.set(LE_INT, 16, snaplen);
        buf.set(LE_INT, 20, PcapReader.LINKTYPE_ETHERNET);
        fill = HEADER;
        try {
            flush(); // the header goes out now, so even a port that sends nothing leaves a valid file
        } catch (PcapException e) {
            close();
            throw e;
        }
    }

    /**
     * Creates (or truncates) {@code file} for nanosecond records with the default snaplen.
     *
     * @throws PcapException naming the file when it cannot be created or written
     */
    public static PcapWriter create(Path file) {
        return new PcapWriter(file, true, DEFAULT_SNAPLEN);
    }

    /** Creates {@code file} with nanosecond ({@code nanos}) or microsecond records and {@code snaplen} (1..262144). */
    public static PcapWriter create(Path file, boolean nanos, int snaplen) {
        if (snaplen < 1 || snaplen > PcapReader.MAX_CAPLEN) {
            throw new IllegalArgumentException(file + ": snaplen " + snaplen + ": allowed 1.." + PcapReader.MAX_CAPLEN);
        }
        return new PcapWriter(file, nanos, snaplen);
    }

    /** Wall-clock time in nanoseconds since the epoch, from the monotonic clock and the time at open; allocates nothing. */
    public long nowNanos() {
        return wallBase + (System.nanoTime() - nanoBase);
    }

    /**
     * Appends {@code m} (the whole chain) stamped {@code tsNanos}: its timestamp if it has
     * {@link Mbuf#F_RX_TIMESTAMP}, else now. The caller keeps the mbuf. Allocates nothing.
     *
     * @throws PcapException when a full buffer cannot be written out
     */
    public void write(Mbuf m) {
        write(m, (m.olFlags & Mbuf.F_RX_TIMESTAMP) != 0 ? m.timestamp : nowNanos());
    }

    /** Appends {@code m} (the whole chain) stamped {@code tsNanos} since the epoch. */
    public void write(Mbuf m, long tsNanos) {
        int len = m.pktLen();
        int cap = Math.min(len, snaplen);
        reserve(RECORD + cap);
        int at = fill + RECORD, copied = 0;
        for (Mbuf s = m; s != null && copied < cap; s = s.next()) {
            int k = Math.min(s.dataLen(), cap - copied);
            MemorySegment.copy(s.buffer(), s.dataOff(), buf, at + copied, k);
            copied += k;
        }
        record(tsNanos, copied, Math.max(len, copied));
    }

    /** Appends {@code len} bytes of {@code src} at {@code off} as one packet stamped {@code tsNanos}. */
    public void write(MemorySegment src, long off, int len, long tsNanos) {
        int cap = Math.min(len, snaplen);
        reserve(RECORD + cap);
        MemorySegment.copy(src, off, buf, fill + RECORD, cap);
        record(tsNanos, cap, len);
    }

    private void reserve(int n) {
        if (closed) throw new PcapException(name + ": write after close");
        if (fill + n > buf.byteSize()) flush();
    }

    private void record(long tsNanos, int cap, int orig) {
        long ts = Math.max(tsNanos, 0);
        long sec = ts / 1_000_000_000L, sub = ts % 1_000_000_000L;
        buf.set(LE_INT, fill, (int) sec);
        buf.set(LE_INT, fill + 4, (int) (nanos ? sub : sub / 1000));
        buf.set(LE_INT, fill + 8, cap);
        buf.set(LE_INT, fill + 12, orig);
        fill += RECORD + cap;
        packets++;
        bytes += cap;
        bufferedPackets++;
        bufferedBytes += cap;
    }

    /** Writes out what is buffered. */
    public void flush() {
        if (fill == 0 || closed) return;
        bb.limit(fill).position(0);
        try {
            while (bb.hasRemaining()) ch.write(bb);
        } catch (IOException | RuntimeException e) {
            // drop it: retrying a failed write (a full disk) would fail again on every burst; the
            // records it held never reach the file, so they no longer count as written
            fill = 0;
            packets -= bufferedPackets;
            bytes -= bufferedBytes;
            bufferedPackets = bufferedBytes = 0;
            throw new PcapException(name + ": write failed: " + describe(e), e);
        }
        fill = 0;
        bufferedPackets = bufferedBytes = 0;
    }

    /** Packets appended so far, less those a failed write dropped from the buffer. */
    public long packets() {
        return packets;
    }

    /** Packet bytes (caplen) appended so far, less those a failed write dropped. */
    public long bytes() {
        return bytes;
    }

    public String name() {
        return name;
    }

    /** Flushes and closes the file. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        try {
            flush();
        } finally {
            closed = true;
            try {
                ch.close();
            } catch (IOException e) {
                throw new PcapException(name + ": close failed: " + describe(e), e);
            } finally {
                arena.close();
            }
        }
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        String kind = e.getClass().getSimpleName();
        return m == null || m.isEmpty() ? kind : kind.equals("IOException") ? m : kind + " " + m;
    }
}
