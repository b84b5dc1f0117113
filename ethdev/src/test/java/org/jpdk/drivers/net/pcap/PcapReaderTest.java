package org.jpdk.drivers.net.pcap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.jpdk.drivers.net.pcap.PcapFiles.*;
import static org.junit.jupiter.api.Assertions.*;

/** PcapReader and PcapWriter on their own: every format variant, tshark interop, and bad files. */
class PcapReaderTest {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN, BE = ByteOrder.BIG_ENDIAN;
    private static final long T0 = 1_700_000_000_123_456_789L;

    @TempDir
    Path dir;

    private static List<byte[]> packets(int n) {
        List<byte[]> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add(frame(i, 60 + i * 97 % 1400));
        return l;
    }

    /** Reads every record; asserts a clean end. */
    private static List<byte[]> readAll(PcapReader r, List<Long> ts) {
        List<byte[]> out = new ArrayList<>();
        int s;
        while ((s = r.next()) == PcapReader.RECORD) {
            byte[] b = new byte[r.caplen()];
            MemorySegment.copy(r.window(), ValueLayout.JAVA_BYTE, r.dataOffset(), b, 0, b.length);
            out.add(b);
            if (ts != null) ts.add(r.timestampNanos());
        }
        assertEquals(PcapReader.EOF, s, r.error());
        assertEquals(PcapReader.EOF, r.next(), "EOF repeats");
        return out;
    }

    private static void assertSame(List<byte[]> want, List<byte[]> got) {
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) assertArrayEquals(want.get(i), got.get(i), "packet " + i);
    }

    @Test
    void classicInBothByteOrdersAndResolutions() throws IOException {
        List<byte[]> pkts = packets(20);
        long[] ts = new long[20];
        for (int i = 0; i < 20; i++) ts[i] = T0 + i * 1_000_001L;
        for (ByteOrder o : List.of(LE, BE)) {
            for (boolean nanos : new boolean[]{true, false}) {
                Path f = write(dir, "c-" + o + nanos + ".pcap", classic(o, nanos, 1, pkts, ts));
                try (PcapReader r = PcapReader.open(f)) {
                    assertEquals(o == BE, r.bigEndian());
                    assertEquals(nanos, r.nanosecond());
                    assertFalse(r.isPcapng());
                    List<Long> got = new ArrayList<>();
                    assertSame(pkts, readAll(r, got));
                    for (int i = 0; i < 20; i++) assertEquals(nanos ? ts[i] : ts[i] / 1000 * 1000, got.get(i));
                    r.rewind();
                    assertSame(pkts, readAll(r, null));
                }
            }
        }
    }

    @Test
    void pcapngBothByteOrdersTsresolSpbUnknownBlocksAndSections() throws IOException {
        byte[] a = frame(1, 64), b = frame(2, 1514), c = frame(3, 61), d = frame(4, 200);
        for (ByteOrder o : List.of(LE, BE)) {
            ByteOrder other = o == LE ? BE : LE;
            byte[] file = concat(shb(o), block(o, 0x0bad, new byte[40]), idb(o, 1, 9), idb(o, 1, 0x80 | 20),
                    epb(o, 0, T0, a), block(o, 5, new byte[12]) /* interface statistics */, epb(o, 1, 3L << 20 | 1L << 19, b),
                    spb(o, c),
                    // a second section in the other byte order, with the default µs resolution
                    shb(other), idb(other, 1, -1), epb(other, 0, 1_500_000L, d));
            Path f = write(dir, "n-" + o + ".pcapng", file);
            try (PcapReader r = PcapReader.open(f)) {
                assertTrue(r.isPcapng());
                List<Long> ts = new ArrayList<>();
                assertSame(List.of(a, b, c, d), readAll(r, ts));
                assertEquals(List.of(T0, 3_500_000_000L, 0L, 1_500_000_000L), ts);
            }
        }
    }

    @Test
    void writerOutputIsReadByTsharkAndByTheReader() throws Exception {
        List<byte[]> pkts = packets(50);
        Path f = dir.resolve("w.pcap");
        try (Arena arena = Arena.ofConfined(); PcapWriter w = PcapWriter.create(f)) {
            MemorySegment s = arena.allocate(2000);
            for (int i = 0; i < pkts.size(); i++) {
                MemorySegment.copy(pkts.get(i), 0, s, ValueLayout.JAVA_BYTE, 0, pkts.get(i).length);
                w.write(s, 0, pkts.get(i).length, T0 + i);
            }
        }
        try (PcapReader r = PcapReader.open(f)) {
            assertTrue(r.nanosecond());
            assertEquals(PcapWriter.DEFAULT_SNAPLEN, r.snaplen());
            List<Long> ts = new ArrayList<>();
            assertSame(pkts, readAll(r, ts));
            assertEquals(T0 + 49, ts.get(49));
        }
        requireTool("tshark");
        List<String> lines = run("tshark", "-r", f.toString(), "-T", "fields", "-e", "frame.len", "-e", "eth.src");
        assertEquals(pkts.size(), lines.size());
        for (int i = 0; i < pkts.size(); i++) {
            assertEquals(pkts.get(i).length + "\t02:00:00:00:00:" + String.format("%02x", i), lines.get(i));
        }
    }

    @Test
    void filesConvertedByEditcapAreRead() throws Exception {
        requireTool("editcap");
        List<byte[]> pkts = packets(30);
        Path f = dir.resolve("src.pcap");
        try (Arena arena = Arena.ofConfined(); PcapWriter w = PcapWriter.create(f, false, 65535)) {
            MemorySegment s = arena.allocate(2000);
            for (int i = 0; i < pkts.size(); i++) {
                MemorySegment.copy(pkts.get(i), 0, s, ValueLayout.JAVA_BYTE, 0, pkts.get(i).length);
                w.write(s, 0, pkts.get(i).length, T0 + i * 1000L);
            }
        }
        for (String type : List.of("pcapng", "nsecpcap", "pcap")) {
            Path out = dir.resolve("conv." + type);
            run("editcap", "-F", type, f.toString(), out.toString());
            try (PcapReader r = PcapReader.open(out)) {
                assertEquals(type.equals("pcapng"), r.isPcapng());
                List<Long> ts = new ArrayList<>();
                assertSame(pkts, readAll(r, ts));
                assertEquals(T0 / 1000 * 1000 + 29_000L, ts.get(29), type);
            }
        }
    }

    // ---------------------------------------------------------------- bad files

    private PcapException refused(String name, byte[] content) throws IOException {
        Path f = write(dir, name, content);
        return assertThrows(PcapException.class, () -> PcapReader.open(f).close());
    }

    @Test
    void badHeadersAreRefusedAtOpen() throws IOException {
        List<byte[]> one = packets(1);
        byte[] good = classic(LE, true, 1, one, new long[]{T0});
        PcapException e = refused("t.pcap", java.util.Arrays.copyOf(good, 20));
        assertEquals(dir.resolve("t.pcap") + ": truncated pcap global header: 20 of 24 bytes", e.getMessage());
        e = refused("e.pcap", new byte[0]);
        assertTrue(e.getMessage().endsWith("e.pcap: truncated file header: 0 of at least 4 bytes"), e.getMessage());
        e = refused("x.pcap", "hello, this is text, not a capture".getBytes());
        assertTrue(e.getMessage().contains("not a pcap or pcapng file (magic 0x6c6c6568)"), e.getMessage());
        e = refused("l.pcap", classic(LE, true, 105, one, new long[]{T0}));
        assertTrue(e.getMessage().endsWith("link type 105 is not Ethernet (1); net_pcap carries Ethernet frames only"), e.getMessage());
        e = refused("l.pcapng", concat(shb(LE), idb(LE, 127, -1)));
        assertTrue(e.getMessage().endsWith("interface 0: link type 127 is not Ethernet (1); net_pcap carries Ethernet frames only"), e.getMessage());
        e = assertThrows(PcapException.class, () -> PcapReader.open(dir.resolve("missing.pcap")));
        assertEquals(dir.resolve("missing.pcap") + ": cannot open for reading: NoSuchFileException " + dir.resolve("missing.pcap"), e.getMessage());
    }

    /** Reads up to the first bad record: returns how many good ones came before and the error. */
    private String badAfter(String name, byte[] content, int goodBefore) throws IOException {
        Path f = write(dir, name, content);
        try (PcapReader r = PcapReader.open(f)) {
            int n = 0, s;
            while ((s = r.next()) == PcapReader.RECORD) n++;
            assertEquals(PcapReader.ERROR, s, "expected an error in " + name);
            assertEquals(goodBefore, n, name);
            assertEquals(PcapReader.ERROR, r.next(), "the error is sticky");
            assertNotNull(r.error());
            assertFalse(r.error().contains("\n"));
            return r.error();
        }
    }

    @Test
    void badRecordsStopTheReaderWithOneLine() throws IOException {
        List<byte[]> pkts = packets(3);
        long[] ts = {T0, T0, T0};
        byte[] good = classic(LE, true, 1, pkts, ts);
        int third = 24 + 16 + pkts.get(0).length + 16 + pkts.get(1).length;

        String e = badAfter("trunc.pcap", java.util.Arrays.copyOf(good, good.length - 5), 2);
        assertEquals(dir.resolve("trunc.pcap") + ": offset " + third + ": truncated record: caplen " + pkts.get(2).length
                + " but " + (pkts.get(2).length - 5) + " bytes of data left", e);
        e = badAfter("trunchdr.pcap", java.util.Arrays.copyOf(good, third + 7), 2);
        assertTrue(e.endsWith("offset " + third + ": truncated record header: 7 of 16 bytes"), e);

        byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(LE).putInt(third + 8, 1 << 30).putInt(third + 12, 1 << 30);
        e = badAfter("huge.pcap", huge, 2);
        assertTrue(e.endsWith("offset " + third + ": caplen 1073741824 exceeds the maximum 262144"), e);

        byte[] neg = good.clone();
        ByteBuffer.wrap(neg).order(LE).putInt(third + 8, -1);
        e = badAfter("neg.pcap", neg, 2);
        assertTrue(e.endsWith("caplen 4294967295 exceeds the maximum 262144"), e);

        byte[] over = good.clone();
        ByteBuffer.wrap(over).order(LE).putInt(third + 12, 10);
        e = badAfter("over.pcap", over, 2);
        assertTrue(e.endsWith("caplen " + pkts.get(2).length + " exceeds origlen 10"), e);
    }

    @Test
    void badPcapngBlocksStopTheReaderWithOneLine() throws IOException {
        byte[] head = concat(shb(LE), idb(LE, 1, -1));
        byte[] p = epb(LE, 0, 1, frame(1, 64));
        byte[] zero = ByteBuffer.allocate(12).order(LE).putInt(6).putInt(0).putInt(0).array();
        String e = badAfter("zero.pcapng", concat(head, p, zero, p), 1);
        assertTrue(e.endsWith("offset " + (head.length + p.length) + ": block length 0 is invalid (must be a multiple of 4 and at least 12)"), e);

        byte[] odd = p.clone();
        ByteBuffer.wrap(odd).order(LE).putInt(4, 93);
        e = badAfter("odd.pcapng", concat(head, p, odd), 1);
        assertTrue(e.endsWith("block length 93 is invalid (must be a multiple of 4 and at least 12)"), e);

        byte[] trailer = p.clone();
        ByteBuffer.wrap(trailer).order(LE).putInt(trailer.length - 4, 12);
        e = badAfter("trailer.pcapng", concat(head, trailer), 0);
        assertTrue(e.endsWith("block length " + p.length + " but trailing length 12"), e);

        byte[] longBlock = p.clone();
        ByteBuffer.wrap(longBlock).order(LE).putInt(4, 0x7ffffff0);
        e = badAfter("long.pcapng", concat(head, longBlock), 0);
        assertTrue(e.endsWith("block length 2147483632 exceeds the 1048576 bytes a packet block may have"), e);

        byte[] unknownLong = ByteBuffer.allocate(16).order(LE).putInt(0x0bad).putInt(0x7ffffff0).array();
        e = badAfter("skip.pcapng", concat(head, p, unknownLong), 1);
        assertTrue(e.contains("truncated block: length 2147483632 but 16 bytes left"), e);

        byte[] capBig = p.clone();
        ByteBuffer.wrap(capBig).order(LE).putInt(8 + 12, 1000);
        e = badAfter("cap.pcapng", concat(head, capBig), 0);
        assertTrue(e.endsWith("caplen 1000 exceeds origlen 64"), e);

        e = badAfter("noif.pcapng", concat(shb(LE), p), 0);
        assertTrue(e.endsWith("packet of interface 0 but the section has 0 interfaces"), e);

        e = badAfter("cut.pcapng", java.util.Arrays.copyOf(concat(head, p, p), head.length + p.length * 2 - 3), 1);
        assertTrue(e.contains("truncated block: length " + p.length + " but " + (p.length - 3) + " bytes left"), e);

        e = badAfter("laterlink.pcapng", concat(head, idb(LE, 113, -1), epb(LE, 1, 0, frame(2, 64))), 0);
        assertTrue(e.endsWith("packet of interface 1: link type 113 is not Ethernet (1); net_pcap carries Ethernet frames only"), e);
    }

    @Test
    void aHugeRunOfUnknownBlocksEnds() throws IOException {
        // 64 MiB of 12-byte unknown blocks would be slow to build; 2 MiB crosses the window twice
        byte[] u = block(LE, 0x0bad, new byte[0]);
        ByteBuffer all = ByteBuffer.allocate(2 << 20);
        byte[] head = concat(shb(LE), idb(LE, 1, -1));
        all.put(head);
        while (all.remaining() >= u.length + 200) all.put(u);
        all.put(epb(LE, 0, 7, frame(9, 100)));
        byte[] file = java.util.Arrays.copyOf(all.array(), all.position());
        try (PcapReader r = PcapReader.open(write(dir, "u.pcapng", file))) {
            assertEquals(PcapReader.RECORD, r.next());
            assertEquals(100, r.caplen());
            assertEquals(PcapReader.EOF, r.next());
        }
        assertTrue(Files.size(dir.resolve("u.pcapng")) > 1 << 20);
    }
}
