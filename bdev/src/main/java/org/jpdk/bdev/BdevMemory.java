package org.jpdk.bdev;

import org.jpdk.eal.Malloc;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * I/O buffer memory, as SPDK's {@code spdk_dma_malloc} and {@code spdk_mem_register}: buffers from
 * EAL memory (hugepages where reserved), registered once with every qpair's ring as fixed buffers,
 * so that a read or write of a registered buffer costs the kernel no page pinning per I/O. This is
 * the analogue of SPDK's registration table; its lookup is per qpair ({@link FixedBuffers}).
 * Regions registered here are added to every qpair open now and to every qpair made later; a
 * buffer not registered still works, through the plain (slower) read and write.
 *
 * <p>Control path: a lock, and one {@code io_uring_register} per qpair per region.
 */
public final class BdevMemory {
    /** The alignment {@link #allocate} gives: O_DIRECT needs the block size, 4 KiB covers every device here. */
    public static final long ALIGN = 4096;

    private static final Object LOCK = new Object();
    private static final List<MemorySegment> REGIONS = new ArrayList<>();
    private static final List<FixedBuffers> TABLES = new ArrayList<>();

    private BdevMemory() {
    }

    /**
     * {@code size} bytes of EAL memory (Malloc, on hugepages when reserved) aligned to
     * {@code max(align, 4096)}, registered with every qpair. Free with {@link #free}.
     */
    public static MemorySegment allocate(String name, long size, long align) {
        MemorySegment s = Malloc.malloc(name, size, Math.max(align, ALIGN));
        try {
            register(s);
        } catch (RuntimeException e) {
            Malloc.free(s);
            throw e;
        }
        return s;
    }

    /** Unregisters {@code segment} and returns it to the EAL heap. */
    public static void free(MemorySegment segment) {
        unregister(segment);
        Malloc.free(segment);
    }

    /**
     * Registers native memory the application owns (a memzone, a mapping) with every qpair, as
     * {@code spdk_mem_register}. A region already registered is left as it is. Buffers inside it
     * match only while its memory scope is alive.
     */
    public static void register(MemorySegment region) {
        if (!region.isNative() || region.byteSize() == 0) {
            throw new IllegalArgumentException("BdevMemory.register(" + region + "): allowed a non-empty native segment");
        }
        synchronized (LOCK) {
            prune();
            for (MemorySegment r : REGIONS) if (same(r, region)) return;
            REGIONS.add(region);
            for (FixedBuffers t : TABLES) t.add(region);
        }
    }

    /** Unregisters {@code region} from every qpair; I/O still in flight on it ends normally. */
    public static void unregister(MemorySegment region) {
        synchronized (LOCK) {
            for (int i = REGIONS.size() - 1; i >= 0; i--) {
                MemorySegment r = REGIONS.get(i);
                if (same(r, region)) {
                    REGIONS.remove(i);
                    for (FixedBuffers t : TABLES) t.remove(r);
                }
            }
        }
    }

    /** The regions registered now (for tests and dumps). */
    public static int regionCount() {
        synchronized (LOCK) {
            prune();
            return REGIONS.size();
        }
    }

    static void attach(FixedBuffers table) {
        synchronized (LOCK) {
            prune();
            TABLES.add(table);
            for (MemorySegment r : REGIONS) table.add(r);
        }
    }

    static void detach(FixedBuffers table) {
        synchronized (LOCK) {
            TABLES.remove(table);
        }
    }

    private static boolean same(MemorySegment a, MemorySegment b) {
        return a.address() == b.address() && a.byteSize() == b.byteSize() && a.scope() == b.scope();
    }

    /** Forgets regions whose memory was freed without {@link #unregister} (an EAL shut down). */
    private static void prune() {
        for (int i = REGIONS.size() - 1; i >= 0; i--) {
            MemorySegment r = REGIONS.get(i);
            if (!r.scope().isAlive()) {
                REGIONS.remove(i);
                for (FixedBuffers t : TABLES) t.remove(r);
            }
        }
    }
}
