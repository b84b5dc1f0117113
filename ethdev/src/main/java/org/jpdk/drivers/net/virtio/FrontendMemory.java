package org.jpdk.drivers.net.virtio;

import org.jpdk.eal.EalMemory;
import org.jpdk.eal.Memseg;
import org.jpdk.ethdev.EthDevException;

import java.util.ArrayList;
import java.util.List;

/**
 * The EAL memory a virtio-user front end shows its back end: every memseg (each a MAP_SHARED
 * mapping of a memfd or hugetlbfs file) as one region, so the back end reads and writes mbuf
 * buffers and rings where they are, with no copy. vhost-user carries at most
 * {@link #MAX_REGIONS} regions in one SET_MEM_TABLE (without the CONFIGURE_MEM_SLOTS protocol
 * feature), as many as the descriptors one SCM_RIGHTS message may bring; memsegs adjacent in both
 * address and file are merged into one region first.
 */
final class FrontendMemory {
    static final int MAX_REGIONS = 8;

    private FrontendMemory() {
    }

    /** The regions of the EAL memory now; throws when it needs more than {@link #MAX_REGIONS}. */
    static List<VhostBackend.MemRegion> regions() {
        List<VhostBackend.MemRegion> out = new ArrayList<>();
        EalMemory.walk((Memseg m) -> {
            if (!out.isEmpty()) {
                VhostBackend.MemRegion last = out.getLast();
                if (last.fd() == m.fd() && last.userAddr() + last.size() == m.address()
                        && last.mmapOffset() + last.size() == m.fileOffset()) {
                    out.set(out.size() - 1, new VhostBackend.MemRegion(last.guestPhysAddr(), last.size() + m.len(),
                            last.userAddr(), last.mmapOffset(), last.fd()));
                    return;
                }
            }
            out.add(new VhostBackend.MemRegion(m.address(), m.len(), m.address(), m.fileOffset(), m.fd()));
        });
        if (out.isEmpty()) throw new EthDevException("the EAL has no memory to show the back end (is the EAL initialised?)");
        if (out.size() > MAX_REGIONS) {
            throw new EthDevException("the EAL memory is " + out.size() + " separate mappings; vhost-user takes at most "
                    + MAX_REGIONS + " (use --single-file-segments, or hugepages, or reserve memory up front with -m)");
        }
        return out;
    }

    /** The region holding {@code [addr, addr+len)}, or -1. */
    static int find(VhostBackend.MemRegion[] regions, long addr, long len) {
        for (int i = 0; i < regions.length; i++) if (regions[i].contains(addr, len)) return i;
        return -1;
    }
}
