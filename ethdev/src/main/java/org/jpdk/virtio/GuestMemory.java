package org.jpdk.virtio;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.Mapping;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The front end's memory as a vhost-user back end sees it: the regions of one SET_MEM_TABLE, each
 * its descriptor mapped shared into one arena and kept as a segment bounded to the region.
 *
 * <pre>
 * region i:  guest physical [gpa, gpa + size)    descriptors (split and packed) point here
 *            front-end VA   [uva, uva + size)    SET_VRING_ADDR's ring addresses point here
 *            fd, mapped from 0 for mmapOffset + size bytes; the region is the slice at mmapOffset
 * </pre>
 *
 * A translation succeeds only when the whole range {@code [addr, addr + len)} lies inside one
 * region; it never wraps around 2<sup>64</sup> and never spans two regions (even adjacent ones),
 * so a descriptor always becomes one bounded slice. Lookups are read-only and allocate nothing
 * ({@link #regionOfGpa} returns an index); any number of lcores may translate at once. The table
 * is immutable: a new SET_MEM_TABLE builds a new one and {@link #close} unmaps the old one (after
 * the queues stopped using it: an access after close throws IllegalStateException, never faults).
 */
public final class GuestMemory implements AutoCloseable {
    private final Arena arena;
    private final long[] gpa, uva, size;
    private final MemorySegment[] segments;
    private final int n;

    private GuestMemory(Arena arena, long[] gpa, long[] uva, long[] size, MemorySegment[] segments) {
        this.arena = arena;
        this.gpa = gpa;
        this.uva = uva;
        this.size = size;
        this.segments = segments;
        this.n = segments.length;
    }

    /**
     * Maps the regions of the SET_MEM_TABLE in {@code m}, one descriptor per region. Takes every
     * descriptor of {@code m} (closed here once mapped, or on failure). Throws
     * {@link VhostUserException} for a table that is malformed (region count, descriptor count,
     * sizes that overflow, overlapping guest ranges) or cannot be mapped.
     */
    public static GuestMemory map(VhostUserMessage m, String what) {
        try {
            int payload = m.size();
            if (payload < VhostUserMessage.MEM_REGIONS) throw bad(what, "payload of " + payload + " bytes, no region count");
            int nregions = m.u32(VhostUserMessage.MEM_NREGIONS);
            if (nregions < 1 || nregions > VhostUserMessage.MAX_REGIONS) {
                throw bad(what, Integer.toUnsignedString(nregions) + " regions; 1 to " + VhostUserMessage.MAX_REGIONS);
            }
            if (payload != VhostUserMessage.MEM_REGIONS + nregions * VhostUserMessage.MEM_REGION_SIZE) {
                throw bad(what, "payload of " + payload + " bytes for " + nregions + " regions");
            }
            if (m.fdCount != nregions) throw bad(what, nregions + " regions but " + m.fdCount + " descriptors");
            long[] gpa = new long[nregions], uva = new long[nregions], size = new long[nregions], off = new long[nregions];
            for (int i = 0; i < nregions; i++) {
                gpa[i] = m.region(i, VhostUserMessage.REGION_GPA);
                size[i] = m.region(i, VhostUserMessage.REGION_SIZE);
                uva[i] = m.region(i, VhostUserMessage.REGION_UVA);
                off[i] = m.region(i, VhostUserMessage.REGION_MMAP_OFFSET);
                String r = "region " + i + " (gpa 0x" + Long.toHexString(gpa[i]) + ", size 0x" + Long.toHexString(size[i])
                        + ", mmap_offset 0x" + Long.toHexString(off[i]) + ")";
                if (size[i] <= 0) throw bad(what, r + ": size must be positive");
                if (off[i] < 0 || off[i] + size[i] < 0) throw bad(what, r + ": mmap_offset + size overflows");
                if (Long.compareUnsigned(gpa[i] + size[i], gpa[i]) < 0 && gpa[i] + size[i] != 0) {
                    throw bad(what, r + ": guest range wraps around");
                }
                if (Long.compareUnsigned(uva[i] + size[i], uva[i]) < 0 && uva[i] + size[i] != 0) {
                    throw bad(what, r + ": user address range wraps around");
                }
                for (int j = 0; j < i; j++) {
                    if (overlap(gpa[i], size[i], gpa[j], size[j])) throw bad(what, r + " overlaps region " + j);
                }
            }
            Arena arena = Arena.ofShared();
            MemorySegment[] segs = new MemorySegment[nregions];
            try {
                for (int i = 0; i < nregions; i++) {
                    MemorySegment whole = mapRegion(arena, m.fds[i], off[i] + size[i], what + " region " + i);
                    segs[i] = whole.asSlice(off[i], size[i]);
                }
            } catch (RuntimeException e) {
                arena.close();
                throw e instanceof VhostUserException ? e : new VhostUserException(what + ": " + e.getMessage(), false);
            }
            return new GuestMemory(arena, gpa, uva, size, segs);
        } finally {
            m.closeFds();
        }
    }

    /**
     * mmap of {@code len} bytes of {@code fd}; a hugetlbfs file refuses a length that is not a
     * multiple of its page size (EINVAL), so the length is then rounded up to 2 MiB and 1 GiB.
     * The region slice never reaches past {@code len}, so the rounding adds no reachable bytes.
     */
    private static MemorySegment mapRegion(Arena arena, int fd, long len, String what) {
        int prot = Libc.PROT_READ | Libc.PROT_WRITE;
        long[] tries = {len, roundUp(len, 2L << 20), roundUp(len, 1L << 30)};
        LinuxException last = null;
        for (long l : tries) {
            try {
                MemorySegment s = Mapping.map(arena, l, prot, Libc.MAP_SHARED, fd, 0, what);
                return s.asSlice(0, len);
            } catch (LinuxException e) {
                if (e.errno() != Errno.EINVAL) throw e;
                last = e;
            }
        }
        throw last;
    }

    private static long roundUp(long v, long a) {
        return (v + a - 1) & -a;
    }

    private static boolean overlap(long a, long alen, long b, long blen) {
        // [a, a+alen) and [b, b+blen) in unsigned arithmetic, neither wrapping
        return Long.compareUnsigned(a, b + blen - 1) <= 0 && Long.compareUnsigned(b, a + alen - 1) <= 0;
    }

    private static VhostUserException bad(String what, String why) {
        return new VhostUserException(what + ": SET_MEM_TABLE " + why, false);
    }

    /** A table of already mapped segments (tests, and a front end describing its own memory). */
    public static GuestMemory of(Arena owner, long[] gpa, long[] uva, MemorySegment[] segments) {
        long[] size = new long[segments.length];
        for (int i = 0; i < size.length; i++) size[i] = segments[i].byteSize();
        return new GuestMemory(owner, gpa.clone(), uva.clone(), size, segments.clone());
    }

    public int regions() {
        return n;
    }

    /** The region holding all of guest physical {@code [addr, addr + len)}, or -1. */
    public int regionOfGpa(long addr, long len) {
        for (int i = 0; i < n; i++) if (inside(addr, len, gpa[i], size[i])) return i;
        return -1;
    }

    /** The region holding all of front-end virtual {@code [addr, addr + len)}, or -1. */
    public int regionOfUva(long addr, long len) {
        for (int i = 0; i < n; i++) if (inside(addr, len, uva[i], size[i])) return i;
        return -1;
    }

    private static boolean inside(long addr, long len, long base, long size) {
        long rel = addr - base;
        // unsigned: addr >= base and rel + len <= size, with len itself no larger than size
        return Long.compareUnsigned(rel, size) < 0 && Long.compareUnsigned(len, size - rel) <= 0;
    }

    /** Region {@code r}'s bytes, bounded to it. */
    public MemorySegment segment(int r) {
        return segments[r];
    }

    public long gpa(int r) {
        return gpa[r];
    }

    public long uva(int r) {
        return uva[r];
    }

    public long size(int r) {
        return size[r];
    }

    /** The slice for guest physical {@code [addr, addr + len)}, or null when it is not inside one region. */
    public MemorySegment sliceGpa(long addr, long len) {
        int r = regionOfGpa(addr, len);
        return r < 0 ? null : segments[r].asSlice(addr - gpa[r], len);
    }

    /** The slice for front-end virtual {@code [addr, addr + len)}, or null when it is not inside one region. */
    public MemorySegment sliceUva(long addr, long len) {
        int r = regionOfUva(addr, len);
        return r < 0 ? null : segments[r].asSlice(addr - uva[r], len);
    }

    /** Translates a front-end virtual address to guest physical, or -1 when no region holds it. */
    public long uvaToGpa(long addr) {
        int r = regionOfUva(addr, 1);
        return r < 0 ? -1 : gpa[r] + (addr - uva[r]);
    }

    /** Unmaps every region (a handshake with all threads: control path only). */
    @Override
    public void close() {
        try {
            if (arena.scope().isAlive()) arena.close();
        } catch (UnsupportedOperationException e) {
            // a table over segments of the global or an automatic arena (of): nothing to unmap here
        }
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("guest memory:");
        for (int i = 0; i < n; i++) {
            b.append(" [gpa 0x").append(Long.toHexString(gpa[i])).append(" uva 0x").append(Long.toHexString(uva[i]))
                    .append(" size 0x").append(Long.toHexString(size[i])).append(']');
        }
        return b.toString();
    }
}
