package org.jpdk.eal;

import java.util.Arrays;

/**
 * The EAL arguments that shape memory, as plain values, so {@link EalMemory#init} needs nothing
 * from the argument parser. Map DPDK's options onto it as follows:
 * <pre>
 *   -m MB               memoryBytes    = MB &lt;&lt; 20        (0: no total limit)
 *   --socket-mem a,b    socketMemBytes = {a &lt;&lt; 20, b &lt;&lt; 20} (null: no per-socket limit; else socket i maps at most entry i, 0 or missing: nothing)
 *   --no-huge           noHuge         = true           (4 KiB anonymous pages, IOVA as VA)
 *   --huge-dir DIR      hugeDir        = DIR            (null: anonymous hugepages, no files)
 *   --file-prefix P     filePrefix     = P              (default "rte"; names DIR/Pmap_N)
 *   --in-memory         inMemory       = true           (never create files, even with hugeDir)
 *   --iova-mode pa|va   iovaMode       = PA | VA        (AUTO: PA when pagemap yields PFNs)
 *   --single-file-segments singleFileSegments = true    (one file per memseg list, segments at offsets)
 * </pre>
 * Both limits are upper bounds on what is mapped: memory is mapped on demand, and a reserve or
 * malloc that would map past a limit fails with a message naming the limit.
 */
public record MemoryOptions(long memoryBytes, long[] socketMemBytes, boolean noHuge, String hugeDir,
                            String filePrefix, boolean inMemory, EalMemory.IovaMode iovaMode,
                            boolean singleFileSegments) {

    public MemoryOptions {
        if (memoryBytes < 0) throw new IllegalArgumentException("memoryBytes=" + memoryBytes + ": must be >= 0 (0: no limit)");
        if (socketMemBytes != null) {
            socketMemBytes = socketMemBytes.clone();
            for (int i = 0; i < socketMemBytes.length; i++) {
                if (socketMemBytes[i] < 0) {
                    throw new IllegalArgumentException("socketMemBytes[" + i + "]=" + socketMemBytes[i] + ": must be >= 0");
                }
            }
        }
        if (filePrefix == null || filePrefix.isEmpty() || filePrefix.contains("/")) {
            throw new IllegalArgumentException("filePrefix=" + filePrefix + ": must be a non-empty name without '/'");
        }
        if (iovaMode == null) iovaMode = EalMemory.IovaMode.AUTO;
    }

    /** The options without --single-file-segments. */
    public MemoryOptions(long memoryBytes, long[] socketMemBytes, boolean noHuge, String hugeDir, String filePrefix,
                         boolean inMemory, EalMemory.IovaMode iovaMode) {
        this(memoryBytes, socketMemBytes, noHuge, hugeDir, filePrefix, inMemory, iovaMode, false);
    }

    /** No limits, hugepages when free (memfd-backed), prefix "rte", IOVA mode chosen automatically. */
    public static MemoryOptions defaults() {
        return new MemoryOptions(0, null, false, null, "rte", false, EalMemory.IovaMode.AUTO, false);
    }

    /** A copy with a total limit (-m) in bytes. */
    public MemoryOptions withMemoryBytes(long bytes) {
        return new MemoryOptions(bytes, socketMemBytes, noHuge, hugeDir, filePrefix, inMemory, iovaMode, singleFileSegments);
    }

    /** A copy with per-socket limits (--socket-mem) in bytes. */
    public MemoryOptions withSocketMemBytes(long... bytes) {
        return new MemoryOptions(memoryBytes, bytes, noHuge, hugeDir, filePrefix, inMemory, iovaMode, singleFileSegments);
    }

    /** A copy with --no-huge set or cleared. */
    public MemoryOptions withNoHuge(boolean on) {
        return new MemoryOptions(memoryBytes, socketMemBytes, on, hugeDir, filePrefix, inMemory, iovaMode, singleFileSegments);
    }

    /** A copy mapping hugepages as files in {@code dir} named {@code prefix}map_N. */
    public MemoryOptions withHugeDir(String dir, String prefix) {
        return new MemoryOptions(memoryBytes, socketMemBytes, noHuge, dir, prefix, inMemory, iovaMode, singleFileSegments);
    }

    /** A copy with --in-memory set or cleared. */
    public MemoryOptions withInMemory(boolean on) {
        return new MemoryOptions(memoryBytes, socketMemBytes, noHuge, hugeDir, filePrefix, on, iovaMode, singleFileSegments);
    }

    /** A copy with a forced IOVA mode. */
    public MemoryOptions withIovaMode(EalMemory.IovaMode mode) {
        return new MemoryOptions(memoryBytes, socketMemBytes, noHuge, hugeDir, filePrefix, inMemory, mode, singleFileSegments);
    }

    /** A copy with --single-file-segments set or cleared. */
    public MemoryOptions withSingleFileSegments(boolean on) {
        return new MemoryOptions(memoryBytes, socketMemBytes, noHuge, hugeDir, filePrefix, inMemory, iovaMode, on);
    }

    /** The most {@code socket} may map: -1 without --socket-mem, else its entry (0 when missing). */
    public long socketLimit(int socket) {
        if (socketMemBytes == null) return -1;
        return socket >= 0 && socket < socketMemBytes.length ? socketMemBytes[socket] : 0;
    }

    @Override
    public long[] socketMemBytes() {
        return socketMemBytes == null ? null : socketMemBytes.clone();
    }

    // The record's own equals would compare the array by identity; options are values.
    @Override
    public boolean equals(Object o) {
        return o instanceof MemoryOptions m && memoryBytes == m.memoryBytes && Arrays.equals(socketMemBytes, m.socketMemBytes)
                && noHuge == m.noHuge && java.util.Objects.equals(hugeDir, m.hugeDir) && filePrefix.equals(m.filePrefix)
                && inMemory == m.inMemory && iovaMode == m.iovaMode && singleFileSegments == m.singleFileSegments;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(memoryBytes, Arrays.hashCode(socketMemBytes), noHuge, hugeDir, filePrefix, inMemory, iovaMode,
                singleFileSegments);
    }

    @Override
    public String toString() {
        return "MemoryOptions[m=" + memoryBytes + ", socketMem=" + Arrays.toString(socketMemBytes) + ", noHuge=" + noHuge
                + ", hugeDir=" + hugeDir + ", filePrefix=" + filePrefix + ", inMemory=" + inMemory + ", iova=" + iovaMode
                + ", singleFileSegments=" + singleFileSegments + "]";
    }
}
