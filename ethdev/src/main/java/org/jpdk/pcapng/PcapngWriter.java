package org.jpdk.pcapng;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes a pcapng file (DPDK's rte_pcapng): the Section Header Block at open, then Interface
 * Description Blocks, Enhanced Packet Blocks (built here, or already encoded by a capture and
 * passed through with {@link #writeBlocks}) and Interface Statistics Blocks, in the order the
 * caller gives. Every block is written whole, so the file tshark reads is valid after every call.
 * A failing write throws {@link UncheckedIOException} naming the file. One thread writes at a time.
 */
public final class PcapngWriter implements AutoCloseable {
    private final Path file;
    private final FileChannel ch;
    private int interfaces;
    private long bytes, packets;

    private PcapngWriter(Path file, FileChannel ch) {
        this.file = file;
        this.ch = ch;
    }

    /**
     * Creates (or truncates) {@code file} and writes its Section Header Block naming
     * {@code application} (shb_userappl), the OS and the machine, with {@code comment} (or null).
     */
    public static PcapngWriter create(Path file, String application, String comment) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        } catch (IOException | RuntimeException e) {
            throw new UncheckedIOException(file + ": cannot open for writing: " + reason(e),
                    e instanceof IOException io ? io : new IOException(e));
        }
        PcapngWriter w = new PcapngWriter(file, ch);
        try {
            w.write(Pcapng.shb(System.getProperty("os.arch"), System.getProperty("os.name") + " " + System.getProperty("os.version"),
                    application, comment));
        } catch (UncheckedIOException e) {
            w.close();
            throw e;
        }
        return w;
    }

    private static String reason(Exception e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.AccessDeniedException) return "permission denied";
        if (e instanceof java.nio.file.NoSuchFileException) return "no such directory";
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) return fs.getReason();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    /** Adds an interface (an IDB) and returns its id, the if_id of its packets: 0, 1, ... */
    public int addInterface(String name, String description, int snaplen) {
        write(Pcapng.idb(name, description, snaplen));
        return interfaces++;
    }

    /** Writes one packet. */
    public void writePacket(int ifId, long tsNanos, byte[] data, int origLen, int flags, int queue) {
        checkInterface(ifId);
        write(Pcapng.epb(ifId, tsNanos, data, origLen, flags, queue));
        packets++;
    }

    /**
     * Writes {@code len} bytes of whole blocks from {@code seg} at {@code off} as they are; the
     * caller has checked them ({@link Pcapng#checkBlock}) and says how many packets they hold.
     */
    public void writeBlocks(MemorySegment seg, long off, long len, int packetCount) {
        write(seg.asSlice(off, len).asByteBuffer());
        packets += packetCount;
    }

    /** Writes the statistics of interface {@code ifId} (see {@link Pcapng#isb}). */
    public void writeStats(int ifId, long nowNanos, long startNanos, long received, long dropped, long accepted, long osDropped) {
        checkInterface(ifId);
        write(Pcapng.isb(ifId, nowNanos, startNanos, received, dropped, accepted, osDropped));
    }

    private void checkInterface(int ifId) {
        if (ifId < 0 || ifId >= interfaces) throw new IllegalArgumentException("interface " + ifId + ": " + interfaces + " described");
    }

    private void write(byte[] block) {
        write(ByteBuffer.wrap(block));
    }

    private void write(ByteBuffer b) {
        try {
            while (b.hasRemaining()) bytes += ch.write(b);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": write failed: " + reason(e), e);
        }
    }

    /** Bytes written so far, the file's size. */
    public long bytes() {
        return bytes;
    }

    /** Packets written so far. */
    public long packets() {
        return packets;
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() {
        try {
            ch.close();
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": close failed: " + reason(e), e);
        }
    }
}
