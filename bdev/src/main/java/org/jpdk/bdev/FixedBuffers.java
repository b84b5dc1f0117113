package org.jpdk.bdev;

import org.jpdk.eal.Log;
import org.jpdk.sys.Errno;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One qpair's table of fixed buffers: the regions of {@link BdevMemory} registered with its ring
 * ({@code IORING_REGISTER_BUFFERS2}, sparse, {@value #SLOTS} slots, filled by
 * {@code IORING_REGISTER_BUFFERS_UPDATE}), and the lookup from a request's buffer to its slot.
 * A region over 1 GiB (io_uring's limit per buffer) takes several slots.
 *
 * <p>A buffer matches a slot only if it lies inside the region <em>and</em> belongs to the
 * region's memory scope: a region freed and its addresses mapped again for something else has a
 * new scope, so a stale slot, which still pins the old pages in the kernel, is never used for new
 * memory (the I/O would go to pages nobody reads). Matching is a scan of a few entries, reading
 * an immutable table published by a volatile store; the lcore allocates nothing and takes no lock.
 * Changes come from the control thread, under this object's lock.
 *
 * <pre>
 * struct io_uring_rsrc_register (32 bytes)    struct io_uring_rsrc_update2 (32 bytes)
 *   +0  u32 nr     +4 u32 flags (SPARSE 1)       +0  u32 offset (first slot)  +4 u32 resv
 *   +8  u64 resv2                                +8  u64 data (struct iovec[nr])
 *   +16 u64 data   +24 u64 tags                  +16 u64 tags  +24 u32 nr  +28 u32 resv2
 * </pre>
 */
final class FixedBuffers {
    static final int SLOTS = 1024;
    static final long MAX_BUFFER = 1L << 30;
    private static final Log.Type LOG = Bdev.LOG;

    /** One registered slot: a region (or a 1 GiB piece of one) and the scope its memory belongs to. */
    static final class Entry {
        final MemorySegment.Scope scope;
        final long start, end;
        final int slot;
        final MemorySegment region;

        Entry(MemorySegment region, long start, long end, int slot) {
            this.region = region;
            this.scope = region.scope();
            this.start = start;
            this.end = end;
            this.slot = slot;
        }
    }

    private static final Entry[] EMPTY = {};

    private final IoUring ring;
    private final String what;
    private final boolean[] used = new boolean[SLOTS];
    private volatile Entry[] table = EMPTY;
    /** False when the kernel has no sparse buffer tables (before 5.19): every buffer goes unregistered. */
    private final boolean enabled;

    FixedBuffers(IoUring ring, String what) {
        this.ring = ring;
        this.what = what;
        int r;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(32, 8);
            reg.set(JAVA_INT, 0, SLOTS);
            reg.set(JAVA_INT, 4, IoUring.RSRC_REGISTER_SPARSE);
            // bounded: the kernel reads nr_args = 32 bytes of struct io_uring_rsrc_register; SPARSE: no data
            r = IoUringCalls.register(ring.fd, IoUring.REGISTER_BUFFERS2, reg, 32);
        }
        enabled = r >= 0;
        if (!enabled) LOG.log(Log.INFO, "%s: no fixed buffers (IORING_REGISTER_BUFFERS2: %s); I/O goes unregistered", what, Errno.name(-r));
    }

    /**
     * The slot of the registered region holding {@code [addr, addr + len)} of {@code buf}, or -1.
     * Allocates nothing.
     */
    int slotOf(MemorySegment buf, long addr, long len) {
        Entry[] t = table;
        for (int i = 0; i < t.length; i++) {
            Entry e = t[i];
            if (addr >= e.start && addr + len <= e.end && e.scope == buf.scope()) return e.slot;
        }
        return -1;
    }

    /** Registers {@code region}; returns false (and says why at INFO) when the kernel refused it. */
    synchronized boolean add(MemorySegment region) {
        if (!enabled) return false;
        long base = region.address(), end = base + region.byteSize();
        Entry[] t = table;
        java.util.ArrayList<Entry> added = new java.util.ArrayList<>();
        // bounded: every slot registered lies inside the region's segment; the kernel pins those
        // pages and a request's part is matched to a slot only when it lies inside it (slotOf)
        for (long s = base; s < end; s += MAX_BUFFER) {
            long e = Math.min(end, s + MAX_BUFFER);
            int slot = freeSlot();
            if (slot < 0 || !update(slot, s, e - s)) {
                for (Entry x : added) clear(x.slot);
                return false;
            }
            used[slot] = true;
            added.add(new Entry(region, s, e, slot));
        }
        Entry[] n = java.util.Arrays.copyOf(t, t.length + added.size());
        for (int i = 0; i < added.size(); i++) n[t.length + i] = added.get(i);
        table = n;
        return true;
    }

    /** Unregisters every slot of {@code region} (the kernel keeps pages that I/O still uses until it ends). */
    synchronized void remove(MemorySegment region) {
        Entry[] t = table;
        java.util.ArrayList<Entry> keep = new java.util.ArrayList<>();
        for (Entry e : t) {
            if (e.region == region) clear(e.slot);
            else keep.add(e);
        }
        table = keep.toArray(EMPTY);
    }

    /** The number of slots in use. */
    int size() {
        return table.length;
    }

    private int freeSlot() {
        for (int i = 0; i < SLOTS; i++) if (!used[i]) return i;
        return -1;
    }

    private void clear(int slot) {
        update(slot, 0, 0);
        used[slot] = false;
    }

    private boolean update(int slot, long addr, long len) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment iov = a.allocate(16, 8);
            iov.set(JAVA_LONG, 0, addr);
            iov.set(JAVA_LONG, 8, len);
            MemorySegment up = a.allocate(32, 8);
            up.set(JAVA_INT, 0, slot);
            up.set(JAVA_LONG, 8, iov.address());
            up.set(JAVA_INT, 24, 1);
            // bounded: 32 bytes of struct io_uring_rsrc_update2 naming one 16-byte iovec (nr = 1)
            int r = IoUringCalls.register(ring.fd, IoUring.REGISTER_BUFFERS_UPDATE, up, 32);
            if (r < 0) {
                LOG.log(Log.INFO, "%s: buffer of %s bytes not registered (IORING_REGISTER_BUFFERS_UPDATE: %s)", what,
                        len, Errno.name(-r) + (-r == Errno.ENOMEM ? ", RLIMIT_MEMLOCK (ulimit -l) too small" : ""));
                return false;
            }
            return true;
        }
    }
}
