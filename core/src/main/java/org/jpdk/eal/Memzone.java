package org.jpdk.eal;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A named, aligned, zeroed region of EAL memory, as DPDK's {@code rte_memzone}: what mempools and
 * rings put their objects in and what another lcore finds by name. Like DPDK, a zone is carved out
 * of its socket's {@link Malloc} heap rather than mapped on its own, so a 64-byte zone does not
 * cost a 2 MiB hugepage; the heap maps a chunk at least as large as the zone, so every zone is
 * virtually contiguous within one mapping (one {@link Memseg}), on one page size and socket.
 * {@link #segment()} is bounded to exactly {@link #len()} bytes; after {@link #free()} (or
 * {@link EalMemory#shutdown()}) any use of it throws IllegalStateException. The first reserve
 * initialises EAL memory with defaults when nothing has. Thread-safe.
 *
 * <p>Sharing: {@link #fileRange()} describes the zone as (fd, offset, length) of the file behind it,
 * for a peer to map. A zone reserved with {@link #MEMZONE_DEDICATED} gets memory of its own instead
 * of a piece of the heap: a mapping (and a file, at offset 0) that holds this zone only, page
 * aligned and page rounded, so that a peer shown the file sees this zone's bytes and nothing else
 * of the process; freeing the zone unmaps it.
 */
public final class Memzone {
    /** Any NUMA socket (SOCKET_ID_ANY). */
    public static final int SOCKET_ID_ANY = -1;
    /** RTE_MEMZONE_NAMESIZE: names hold at most 31 characters, as in C where the NUL takes the 32nd byte. */
    public static final int NAMESIZE = 32;
    /** Flags, with DPDK's values: use 2 MiB pages, 1 GiB pages, or treat the page size as a hint only. */
    public static final int MEMZONE_2MB = 0x1, MEMZONE_1GB = 0x2, MEMZONE_SIZE_HINT_ONLY = 0x4;
    /**
     * jpdk's: memory of its own, a dedicated page-aligned mapping of a file of its own, for showing
     * to a peer (memif regions, a UMEM) without showing the rest of the heap.
     */
    public static final int MEMZONE_DEDICATED = 0x1000000;

    private final String name;
    private final MemorySegment segment;
    private final int socketId;
    private final long pageSize;
    private final long iova;
    private final int flags;
    private final Memseg memseg;
    private final Arena dedicated; // the arena of a MEMZONE_DEDICATED zone's segment, else null
    private boolean freed;

    private Memzone(String name, MemorySegment segment, Memseg chunk, int flags, Arena dedicated) {
        this.name = name;
        this.segment = segment;
        this.socketId = chunk.socketId();
        this.pageSize = chunk.pageSize();
        this.iova = chunk.iova(segment.address());
        this.flags = flags;
        this.memseg = chunk;
        this.dedicated = dedicated;
    }

    /** Reserves a zeroed region of {@code len} bytes aligned to {@code align} (0: 64, else a power of two, at least 64). */
    public static Memzone reserve(String name, long len, int socketId, long align) {
        return reserveBounded(name, len, socketId, 0, align, 0);
    }

    /** As {@link #reserve(String, long, int, long)} with {@code MEMZONE_*} flags choosing the page size. */
    public static Memzone reserve(String name, long len, int socketId, int flags, long align) {
        return reserveBounded(name, len, socketId, flags, align, 0);
    }

    /**
     * {@code rte_memzone_reserve_bounded}: as {@link #reserve(String, long, int, int, long)}, and
     * the zone does not cross a multiple of {@code bound} (0: no bound, else a power of two at
     * least {@code len}), as hardware that cannot DMA across some boundary needs.
     */
    public static Memzone reserveBounded(String name, long len, int socketId, int flags, long align, long bound) {
        String call = "memzone reserve(name=" + name + ")";
        checkName(call, name);
        if (len <= 0) throw new IllegalArgumentException(call + ": len=" + len + ": must be > 0");
        long a = align == 0 ? MallocHeap.MIN_ALIGN : align;
        if (a < MallocHeap.MIN_ALIGN || (a & (a - 1)) != 0) {
            throw new IllegalArgumentException(call + ": align=" + align + ": must be 0 (64) or a power of two >= 64");
        }
        if (bound != 0 && (bound < len || (bound & (bound - 1)) != 0)) {
            throw new IllegalArgumentException(call + ": bound=" + bound + ": must be 0 or a power of two >= len (" + len + ")");
        }
        if ((flags & ~(MEMZONE_2MB | MEMZONE_1GB | MEMZONE_SIZE_HINT_ONLY | MEMZONE_DEDICATED)) != 0
                || (flags & (MEMZONE_2MB | MEMZONE_1GB)) == (MEMZONE_2MB | MEMZONE_1GB)) {
            throw new IllegalArgumentException(call + ": flags=0x" + Integer.toHexString(flags)
                    + ": allowed: at most one of MEMZONE_2MB, MEMZONE_1GB, plus MEMZONE_SIZE_HINT_ONLY and MEMZONE_DEDICATED");
        }
        long pageSize = (flags & MEMZONE_2MB) != 0 ? Hugepages.SIZE_2M : (flags & MEMZONE_1GB) != 0 ? Hugepages.SIZE_1G : 0;
        return EalMemory.locked(s -> {
            Memzone old = s.memzones.get(name);
            if (old != null) {
                throw new IllegalStateException(call + ": a memzone of that name exists (len " + old.len() + ", socket "
                        + old.socketId + "); free it or pick another name");
            }
            int socket = EalMemory.checkSocket(s, socketId);
            if ((flags & MEMZONE_DEDICATED) != 0) return reserveDedicated(s, call, name, len, socket, pageSize, flags, a, bound);
            MallocHeap heap = s.heaps[socket];
            MemorySegment seg;
            try {
                seg = heap.alloc(s, "memzone " + name, len, a, bound, pageSize, true);
            } catch (MemoryException e) {
                if (pageSize == 0 || (flags & MEMZONE_SIZE_HINT_ONLY) == 0) {
                    throw new MemoryException(call + ", len=" + len + ": " + e.getMessage(), e);
                }
                seg = heap.alloc(s, "memzone " + name, len, a, bound, 0, true);
            }
            Memzone mz = new Memzone(name, seg, heap.chunkOf(seg.address()), flags, null);
            s.memzones.put(name, mz);
            return mz;
        });
    }

    /** A zone on a mapping of its own: page-aligned (so any align up to the page size holds), never crossing a bound. */
    private static Memzone reserveDedicated(EalMemory.State s, String call, String name, long len, int socket, long pageSize,
                                            int flags, long align, long bound) {
        Memseg m;
        try {
            m = EalMemory.map(s, len, socket, pageSize, true);
        } catch (MemoryException e) {
            if (pageSize == 0 || (flags & MEMZONE_SIZE_HINT_ONLY) == 0) {
                throw new MemoryException(call + ", len=" + len + ": " + e.getMessage(), e);
            }
            m = EalMemory.map(s, len, socket, 0, true);
        }
        // a page-aligned start satisfies any align up to the page size
        if (align > m.pageSize() || (bound != 0 && m.address() / bound != (m.address() + len - 1) / bound)) {
            EalMemory.unmap(s, m);
            throw new IllegalArgumentException(call + ": align=" + align + ", bound=" + bound
                    + ": a dedicated zone starts on a page of " + m.pageSize() + " bytes and cannot promise more");
        }
        Arena arena = Arena.ofShared();
        // bounded: len <= the mapping just made for this zone alone; free closes the arena before it unmaps
        MemorySegment seg = MemorySegment.ofAddress(m.address()).reinterpret(len, arena, null);
        Memzone mz = new Memzone(name, seg, m, flags, arena);
        s.memzones.put(name, mz);
        return mz;
    }

    /** The zone named {@code name}, or null, as {@code rte_memzone_lookup}. */
    public static Memzone lookup(String name) {
        EalMemory.LOCK.lock();
        try {
            EalMemory.State s = EalMemory.current();
            return s == null ? null : s.memzones.get(name);
        } finally {
            EalMemory.LOCK.unlock();
        }
    }

    /**
     * Frees the zone, as {@code rte_memzone_free}: its name can be reserved again and its memory
     * goes back to the heap. Throws IllegalStateException if it was already freed.
     */
    public void free() {
        EalMemory.LOCK.lock();
        try {
            EalMemory.State s = EalMemory.current();
            if (freed || s == null || s.memzones.get(name) != this) {
                throw new IllegalStateException("memzone free(name=" + name + "): already freed");
            }
            if (dedicated != null) {
                dedicated.close(); // first: from here nobody can touch the memory through the old segment
                EalMemory.unmap(s, memseg);
            } else {
                MallocHeap heap = s.heaps[chunkSocket(s)];
                heap.free(s, segment, "memzone free(name=" + name + ")");
            }
            s.memzones.remove(name);
            freed = true;
        } finally {
            EalMemory.LOCK.unlock();
        }
    }

    private int chunkSocket(EalMemory.State s) {
        for (MallocHeap h : s.heaps) {
            if (h.contains(segment.address())) return h.socket;
        }
        throw new IllegalStateException("memzone " + name + ": its memory is in no heap");
    }

    /**
     * Called by shutdown, which closes a heap zone's segment through the heap; a dedicated zone's
     * segment is closed here. Returns the memseg to unmap, or null (a heap zone, or a dedicated one
     * that a native call still holds: unmapping it would let that call fault).
     */
    Memseg markFreed() {
        freed = true;
        if (dedicated == null) return null;
        try {
            dedicated.close();
            return memseg;
        } catch (IllegalStateException busy) {
            System.err.println("EAL: WARNING: memzone " + name + " is in use during shutdown; it stays mapped");
            return null;
        }
    }

    /** Calls {@code action} for every zone, in reservation order, as {@code rte_memzone_walk}. */
    public static void walk(Consumer<Memzone> action) {
        List<Memzone> all;
        EalMemory.LOCK.lock();
        try {
            EalMemory.State s = EalMemory.current();
            all = s == null ? List.of() : new ArrayList<>(s.memzones.values());
        } finally {
            EalMemory.LOCK.unlock();
        }
        all.forEach(action);
    }

    /** Prints every zone, as {@code rte_memzone_dump}. */
    public static void dump(PrintStream out) {
        int[] i = {0};
        walk(z -> out.printf("Zone %d: name:<%s>, len:0x%x, virt:0x%x, socket_id:%d, flags:0x%x, iova:0x%x, pagesz:0x%x%n",
                i[0]++, z.name, z.len(), z.segment.address(), z.socketId, z.flags, z.iova, z.pageSize));
    }

    /** The name given at reserve. */
    public String name() {
        return name;
    }

    /** The zone's memory, bounded to {@link #len()} bytes; unusable (IllegalStateException) once freed. */
    public MemorySegment segment() {
        return segment;
    }

    /** The length asked at reserve. */
    public long len() {
        return segment.byteSize();
    }

    /** The IOVA of the first byte: the physical address in PA mode, the virtual one in VA mode. */
    public long iova() {
        return iova;
    }

    /**
     * The IOVA of the byte at {@code offset} of the zone, translated through the page it lies in
     * (in PA mode consecutive pages need not be physically consecutive).
     */
    public long iova(long offset) {
        java.util.Objects.checkIndex(offset, segment.byteSize());
        return memseg.iova(segment.address() + offset);
    }

    /** The mapping the zone lies in (one of the heap's, or its own when {@link #MEMZONE_DEDICATED}). */
    public Memseg memseg() {
        return memseg;
    }

    /** Whether the zone has memory of its own ({@link #MEMZONE_DEDICATED}). */
    public boolean dedicated() {
        return dedicated != null;
    }

    /**
     * The zone as a range of the file behind it, for a peer to map (see {@link FileRange}). For a
     * dedicated zone the offset is 0 and the length the whole page-rounded mapping.
     */
    public FileRange fileRange() {
        return dedicated != null ? memseg.fileRange(memseg.address(), memseg.len())
                : memseg.fileRange(segment.address(), segment.byteSize());
    }

    /** The NUMA socket the memory is on. */
    public int socketId() {
        return socketId;
    }

    /** The size of the pages backing the zone: 4096, 2 MiB or 1 GiB. */
    public long hugepageSize() {
        return pageSize;
    }

    /** The {@code MEMZONE_*} flags given at reserve. */
    public int flags() {
        return flags;
    }

    @Override
    public String toString() {
        return "memzone " + name + " len=" + len() + " virt=0x" + Long.toHexString(segment.address()) + " socket=" + socketId;
    }

    private static void checkName(String call, String name) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException(call + ": name must be non-empty");
        if (name.length() >= NAMESIZE) {
            throw new IllegalArgumentException(call + ": name is " + name.length() + " characters; at most "
                    + (NAMESIZE - 1) + " (RTE_MEMZONE_NAMESIZE)");
        }
    }
}
