package org.jpdk.eal;

import java.util.List;

/**
 * The memsegs of one page size on one NUMA socket, as DPDK's {@code rte_memseg_list}: the unit
 * DPDK reserves virtual address space for. Here it is a snapshot grouping made by
 * {@link EalMemory#memsegLists()}, in address order; it does not change after it is returned.
 * With --single-file-segments all of its memsegs live in one file ({@link #fd()}), each at its
 * {@link Memseg#fileOffset()}; otherwise each memseg has a file of its own.
 */
public record MemsegList(int socketId, long pageSize, List<Memseg> memsegs) {
    public MemsegList {
        memsegs = List.copyOf(memsegs);
    }

    /**
     * The file descriptor of this list's file (--single-file-segments), which its memsegs are
     * mapped from at their {@link Memseg#fileOffset()}s; -1 when each memseg has a file of its own.
     * A dedicated memzone's memseg always has its own ({@link Memseg#fd()}).
     */
    public int fd() {
        for (Memseg m : memsegs) if (m.segmentFile.shared()) return m.fd();
        return -1;
    }

    /** The bytes mapped in this list. */
    public long len() {
        long n = 0;
        for (Memseg m : memsegs) n += m.len();
        return n;
    }
}
