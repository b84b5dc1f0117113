package org.jpdk.eal;

import java.nio.file.Path;

/**
 * One mapping of EAL memory: a virtually contiguous run of pages of one size on one NUMA socket,
 * as DPDK's {@code rte_memseg} but one object per mapping rather than per page (a 64 MiB heap on
 * 4 KiB pages would otherwise be 16384 objects); the IOVA of each page is kept when the IOVA mode
 * is PA. Every mapping is {@code MAP_SHARED} from a file, a memfd or a hugetlbfs file, so a
 * peer given {@link #fd()} can map the same pages ({@link #fileRange}). Memsegs are made and
 * unmapped by {@link EalMemory} only; they are immutable.
 * <pre>
 *   address ──▶ ┌ page 0 ┬ page 1 ┬ ... ┬ page n-1 ┐ ◀── address + len
 *               │ iova[0]│ iova[1]│     │ iova[n-1]│   PA mode: per page from /proc/self/pagemap
 *               └────────┴────────┴─────┴──────────┘   VA mode: iova == virtual address
 *   file fd:    [fileOffset, fileOffset + len)          0 for a file per mapping; with
 *                                                       --single-file-segments, where the list's file holds it
 * </pre>
 */
public final class Memseg {
    private final int id;
    private final long address;
    private final long len;
    private final long pageSize;
    private final int socketId;
    private final long[] pageIova;
    private final long fileOffset;
    private final boolean locked;
    /** The file the pages come from (shared with other memsegs under --single-file-segments). */
    final EalMemory.SegmentFile segmentFile;
    /** The heap (socket) this mapping was made for and is accounted to by the limits. */
    final int heapSocket;

    Memseg(int id, long address, long len, long pageSize, int socketId, long[] pageIova, EalMemory.SegmentFile file,
           long fileOffset, boolean locked, int heapSocket) {
        this.heapSocket = heapSocket;
        this.id = id;
        this.address = address;
        this.len = len;
        this.pageSize = pageSize;
        this.socketId = socketId;
        this.pageIova = pageIova;
        this.segmentFile = file;
        this.fileOffset = fileOffset;
        this.locked = locked;
    }

    /** A number unique among the memsegs of this EAL memory instance, in mapping order. */
    public int id() {
        return id;
    }

    /** The virtual address of the first byte. */
    public long address() {
        return address;
    }

    /** The length in bytes, a multiple of {@link #pageSize()}. */
    public long len() {
        return len;
    }

    /** The size of the pages backing this mapping: 4096, 2 MiB or 1 GiB. */
    public long pageSize() {
        return pageSize;
    }

    /** The NUMA node the pages are on. */
    public int socketId() {
        return socketId;
    }

    /** The IOVA of the first byte. */
    public long iova() {
        return iova(address);
    }

    /** The IOVA of {@code addr}, which must lie in this mapping. */
    public long iova(long addr) {
        if (!contains(addr)) {
            throw new IllegalArgumentException("address 0x" + Long.toHexString(addr) + " is not in memseg " + this);
        }
        if (pageIova == null) return addr;
        long off = addr - address;
        return pageIova[(int) (off / pageSize)] + off % pageSize;
    }

    /** Whether the IOVAs of the whole mapping are contiguous (always so in VA mode). */
    public boolean iovaContiguous() {
        if (pageIova == null) return true;
        for (int i = 1; i < pageIova.length; i++) {
            if (pageIova[i] != pageIova[0] + i * pageSize) return false;
        }
        return true;
    }

    /** Whether {@code addr} lies in this mapping. */
    public boolean contains(long addr) {
        return addr - address >= 0 && addr - address < len;
    }

    /** The hugetlbfs file backing this mapping (--huge-dir), or null for a memfd. */
    public Path file() {
        return segmentFile.path;
    }

    /**
     * The open descriptor of the file backing this mapping (a memfd or {@link #file()}), for handing
     * to a peer; valid while the memseg is mapped. Close-on-exec; a peer gets its own copy through
     * SCM_RIGHTS.
     */
    public int fd() {
        return segmentFile.fd;
    }

    /** Where in {@link #fd()}'s file the first byte of this mapping is. */
    public long fileOffset() {
        return fileOffset;
    }

    /**
     * {@code len} bytes at {@code addr} (which must lie in this mapping, with the range) as a range
     * of the backing file, for a peer to map.
     */
    public FileRange fileRange(long addr, long len) {
        if (!contains(addr) || len < 0 || addr - address + len > this.len) {
            throw new IllegalArgumentException("0x" + Long.toHexString(addr) + "+" + len + " is not within memseg " + this);
        }
        return new FileRange(segmentFile.fd, fileOffset + (addr - address), len, pageSize);
    }

    /** Whether mlock succeeded, so the pages cannot be swapped out. */
    public boolean locked() {
        return locked;
    }

    @Override
    public String toString() {
        return String.format("memseg %d: virt:0x%x, len:%d, IOVA:0x%x, socket_id:%d, hugepage_sz:%d, %s, offset:%d",
                id, address, len, iova(), socketId, pageSize, segmentFile.describe(), fileOffset);
    }
}
