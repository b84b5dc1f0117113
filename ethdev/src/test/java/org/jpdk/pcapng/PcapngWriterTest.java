package org.jpdk.pcapng;

import org.jpdk.drivers.net.pcap.PcapReader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.*;

/** The pcapng writer: blocks well formed, read back by our reader and by tshark; the block checks a reader of a peer's stream relies on. */
class PcapngWriterTest {
    private static final long T0 = 1_700_000_000_123_456_789L;

    private static byte[] frame(int i, int len) {
        byte[] b = new byte[len];
        for (int k = 0; k < len; k++) b[k] = (byte) (i * 11 + k);
        return b;
    }

    private static Path write(Path dir) {
        Path f = dir.resolve("w.pcapng");
        try (PcapngWriter w = PcapngWriter.create(f, "jpdk test", "a comment")) {
            assertEquals(0, w.addInterface("net_null0", "port zero", 2176));
            assertEquals(1, w.addInterface("net_ring1", "port one", 64));
            for (int i = 0; i < 6; i++) {
                byte[] data = frame(i, 60 + i);
                int ifId = i % 2;
                byte[] cut = ifId == 1 ? java.util.Arrays.copyOf(data, Math.min(64, data.length)) : data;
                w.writePacket(ifId, T0 + i * 1000L, cut, data.length, i < 3 ? Pcapng.FLAG_INBOUND : Pcapng.FLAG_OUTBOUND, i % 3);
            }
            w.writeStats(0, T0 + 10_000, T0, 3, 1, 3, 1);
            assertEquals(6, w.packets());
            assertEquals(Files.size(f), w.bytes());
            assertThrows(IllegalArgumentException.class, () -> w.writePacket(2, 0, new byte[1], 1, 0, 0), "undescribed interface");
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        return f;
    }

    @Test
    void ourReaderReadsItBack(@TempDir Path dir) {
        Path f = write(dir);
        try (PcapReader r = PcapReader.open(f)) {
            assertTrue(r.isPcapng());
            List<Integer> lens = new ArrayList<>();
            int s;
            int i = 0;
            while ((s = r.next()) == PcapReader.RECORD) {
                assertEquals(T0 + i * 1000L, r.timestampNanos(), "ns timestamps (if_tsresol 9)");
                lens.add(r.caplen());
                i++;
            }
            assertEquals(PcapReader.EOF, s, r.error());
            assertEquals(List.of(60, 61, 62, 63, 64, 64), lens);
        }
    }

    @Test
    void tsharkReadsItBack(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tshark")) || "true".equals(System.getProperty("jpdk.ci")),
                "tshark is not installed; skipping");
        Path f = write(dir);
        List<String> lines = run("tshark", "-r", f.toString(), "-T", "fields", "-E", "separator=;",
                "-e", "frame.interface_name", "-e", "frame.interface_description", "-e", "frame.p2p_dir", "-e", "frame.len",
                "-e", "frame.cap_len", "-e", "frame.time_epoch", "-e", "frame.interface_queue");
        assertEquals(6, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("net_null0;port zero;1;60;60;1700000000.123456789"), lines.get(0));
        assertTrue(lines.get(5).startsWith("net_ring1;port one;0;65;64;1700000000.123461789"), lines.get(5));
        assertTrue(lines.get(5).endsWith(";2"), "epb_queue: " + lines.get(5));
        String info = String.join("\n", run("capinfos", "-M", f.toString()));
        assertTrue(info.contains("Number of interfaces in file: 2") && info.contains("Time precision = nanoseconds (9)"), info);
        assertTrue(info.contains("Capture application: jpdk test") && info.contains("Number of stat entries = 1"), info);
        assertTrue(info.contains("Capture comment:     a comment"), info);
    }

    @Test
    void anUnwritableFileIsOneLine(@TempDir Path dir) {
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> PcapngWriter.create(dir.resolve("no/such/dir.pcapng"), "t", null));
        assertEquals(dir.resolve("no/such/dir.pcapng") + ": cannot open for writing: no such directory", e.getMessage());
    }

    @Test
    void checkBlockRefusesWhatIsNotAWholeBlock() {
        byte[] epb = Pcapng.epb(0, T0, frame(1, 61), 61, Pcapng.FLAG_INBOUND, 0);
        assertEquals(Pcapng.epbSize(61), epb.length);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(epb.length + 16);
            MemorySegment.copy(epb, 0, s, JAVA_BYTE, 0, epb.length);
            assertEquals(epb.length, Pcapng.checkBlock(s, 0, epb.length));
            assertEquals(-1, Pcapng.checkBlock(s, 0, epb.length - 4), "truncated");
            assertEquals(-1, Pcapng.checkBlock(s, 0, 8), "shorter than a header");
            s.set(JAVA_INT, epb.length - 4, epb.length + 4);
            assertEquals(-1, Pcapng.checkBlock(s, 0, epb.length), "trailer differs");
            for (int bad : new int[]{0, 8, 13, -4, Integer.MAX_VALUE & ~3}) {
                s.set(JAVA_INT, 4, bad);
                assertEquals(-1, Pcapng.checkBlock(s, 0, s.byteSize()), "length " + bad);
            }
            byte[] isb = Pcapng.isb(0, T0, T0 - 5, 10, 2, 8, 2);
            MemorySegment.copy(isb, 0, s, JAVA_BYTE, 0, isb.length);
            assertEquals(isb.length, Pcapng.checkBlock(s, 0, isb.length));
            assertEquals(10, Pcapng.isbCounter(s, 0, Pcapng.ISB_IFRECV));
            assertEquals(2, Pcapng.isbCounter(s, 0, Pcapng.ISB_IFDROP));
            assertEquals(-1, Pcapng.isbCounter(s, 0, 99), "absent option");
            s.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 22, (short) 0x7fff); // the first option's length runs past the block
            assertEquals(-1, Pcapng.isbCounter(s, 0, Pcapng.ISB_IFRECV));
        }
    }

    private static List<String> run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + ": timed out");
        assertEquals(0, p.exitValue(), String.join(" ", cmd));
        List<String> lines = new ArrayList<>();
        for (String l : new String(out, StandardCharsets.UTF_8).split("\n")) if (!l.isBlank()) lines.add(l);
        return lines;
    }
}
