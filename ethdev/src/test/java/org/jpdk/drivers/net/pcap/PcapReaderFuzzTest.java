package org.jpdk.drivers.net.pcap;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Tag;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzz target: a pcap or pcapng file. An input is the whole file. {@link PcapReader#open} either
 * refuses it with a {@link PcapException} or returns a reader whose {@link PcapReader#next} never
 * throws and ends in EOF or ERROR (with a one-line error) after at most one step per 12 bytes;
 * every record's bytes lie inside the window and copy out whole; after {@link PcapReader#rewind}
 * the same records come back.
 */
@Tag("fuzz")
class PcapReaderFuzzTest {
    private static final Path FILE;

    static {
        try {
            Path dir = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
            FILE = Files.createTempFile(dir, "jpdk-fuzz-pcap-", ".pcap");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "30s")
    void read(byte[] file) throws IOException {
        Files.write(FILE, file);
        PcapReader r;
        try {
            r = PcapReader.open(FILE);
        } catch (PcapException e) {
            if (e.getMessage() == null || e.getMessage().contains("\n")) throw new AssertionError("not one line: " + e.getMessage(), e);
            return;
        }
        try (r; Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(PcapReader.MAX_CAPLEN);
            long first = pass(r, dst, file.length);
            r.rewind();
            long second = pass(r, dst, file.length);
            if (first != second) throw new AssertionError("records before rewind " + first + ", after " + second);
        }
    }

    /** Reads to the end; returns the record count and the final state folded together. */
    private static long pass(PcapReader r, MemorySegment dst, int fileLen) {
        long records = 0;
        int s;
        while ((s = r.next()) == PcapReader.RECORD) {
            if (++records > fileLen / 12 + 1) throw new AssertionError("more records than the file can hold: " + records);
            int caplen = r.caplen();
            if (caplen < 0 || caplen > PcapReader.MAX_CAPLEN || r.dataOffset() + caplen > r.window().byteSize()) {
                throw new AssertionError("record outside the window: caplen " + caplen + " at " + r.dataOffset());
            }
            r.copy(0, dst, 0, caplen);
        }
        if (s == PcapReader.ERROR && (r.error() == null || r.error().contains("\n"))) throw new AssertionError("error not one line: " + r.error());
        if (s != PcapReader.ERROR && s != PcapReader.EOF) throw new AssertionError("next() returned " + s);
        return records << 1 | (s == PcapReader.ERROR ? 1 : 0);
    }
}
