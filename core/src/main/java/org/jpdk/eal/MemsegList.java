package org.jpdk.eal;

import java.util.List;

/**
 * The memsegs of one page size on one NUMA socket, as DPDK's {@code rte_memseg_list}: the unit
 * DPDK reserves virtual address space for. Here it is a snapshot grouping made by
 * {@link EalMemory#memsegLists()}, in address order; it does not change after it is returned.
 */
public record MemsegList(int socketId, long pageSize, List<Memseg> memsegs) {
    public MemsegList {
        memsegs = List.copyOf(memsegs);
    }

    /** The bytes mapped in this list. */
    public long len() {
        long n = 0;
        for (Memseg m : memsegs) n += m.len();
        return n;
    }
}
