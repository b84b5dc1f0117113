package org.jpdk.eal;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;

/**
 * DPDK's {@code rte_malloc} on EAL memory: allocations from per-socket heaps ({@link MallocHeap})
 * that grow by mapping more hugepages (or 4 KiB pages in the fall-back) when full. Every segment
 * returned is bounded to exactly the size asked (touching past it throws
 * IndexOutOfBoundsException) and becomes unusable when freed (IllegalStateException). Double
 * frees, foreign segments and slices are refused with an exception naming the address, and leave
 * the heap untouched. The first call initialises EAL memory with defaults if nothing has yet.
 * Thread-safe; this is control-plane allocation (a lock, and an arena close per free), not for
 * per-packet use: that is what mempools are for.
 */
public final class Malloc {
    private Malloc() {
    }

    /** {@code rte_malloc}: {@code size} bytes aligned to {@code align} (0 or a power of two; at least 64 is used). */
    public static MemorySegment malloc(String type, long size, long align) {
        return mallocSocket(type, size, align, Memzone.SOCKET_ID_ANY);
    }

    /** {@code rte_zmalloc}: as {@link #malloc} but zeroed. */
    public static MemorySegment zmalloc(String type, long size, long align) {
        return zmallocSocket(type, size, align, Memzone.SOCKET_ID_ANY);
    }

    /** {@code rte_calloc}: {@code num * size} zeroed bytes. */
    public static MemorySegment calloc(String type, long num, long size, long align) {
        return callocSocket(type, num, size, align, Memzone.SOCKET_ID_ANY);
    }

    /** {@code rte_malloc_socket}: from the heap of {@code socketId} (SOCKET_ID_ANY: socket 0 first, then others). */
    public static MemorySegment mallocSocket(String type, long size, long align, int socketId) {
        return alloc("malloc", type, size, align, socketId, false);
    }

    /** {@code rte_zmalloc_socket}. */
    public static MemorySegment zmallocSocket(String type, long size, long align, int socketId) {
        return alloc("zmalloc", type, size, align, socketId, true);
    }

    /** {@code rte_calloc_socket}. */
    public static MemorySegment callocSocket(String type, long num, long size, long align, int socketId) {
        if (num <= 0) throw new IllegalArgumentException("calloc: num=" + num + ": must be > 0");
        long total;
        try {
            total = Math.multiplyExact(num, size);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("calloc: num=" + num + " * size=" + size + " overflows a long");
        }
        return alloc("calloc", type, total, align, socketId, true);
    }

    /**
     * {@code rte_realloc}: a segment of {@code newSize} bytes holding the first
     * {@code min(old, newSize)} bytes of {@code segment}, on the same socket. {@code segment} must
     * not be used afterwards (it is closed, even when the memory did not move). A null segment
     * makes this a malloc.
     */
    public static MemorySegment realloc(MemorySegment segment, long newSize, long align) {
        if (segment == null) return malloc(null, newSize, align);
        checkSize("realloc", newSize);
        checkAlign("realloc", align);
        return EalMemory.locked(s -> heapOf(s, segment, "realloc").realloc(s, segment, newSize, align, "realloc"));
    }

    /** {@code rte_free}: returns {@code segment} to its heap. A null segment is ignored, as in C. */
    public static void free(MemorySegment segment) {
        if (segment == null) return;
        EalMemory.locked(s -> {
            heapOf(s, segment, "free").free(s, segment, "free");
            return null;
        });
    }

    /** {@code rte_malloc_get_socket_stats}. */
    public static MallocSocketStats socketStats(int socketId) {
        return EalMemory.locked(s -> s.heaps[EalMemory.checkSocket(s, socketId)].stats());
    }

    /** {@code rte_malloc_validate}: checks every heap's invariants; throws IllegalStateException on the first broken one. */
    public static void validate() {
        EalMemory.locked(s -> {
            for (MallocHeap h : s.heaps) h.validate();
            return null;
        });
    }

    /** {@code rte_malloc_dump_heaps}: every heap with its elements. */
    public static void dump(PrintStream out) {
        EalMemory.locked(s -> {
            for (MallocHeap h : s.heaps) h.dump(out);
            return null;
        });
    }

    private static MemorySegment alloc(String call, String type, long size, long align, int socketId, boolean zero) {
        checkSize(call, size);
        checkAlign(call, align);
        return EalMemory.locked(s -> {
            int first = EalMemory.checkSocket(s, socketId);
            try {
                return s.heaps[first].alloc(s, type, size, align, 0, 0, zero);
            } catch (MemoryException e) {
                if (socketId != Memzone.SOCKET_ID_ANY) throw e;
                for (int other = 0; other < s.sockets; other++) {
                    if (other == first) continue;
                    try {
                        return s.heaps[other].alloc(s, type, size, align, 0, 0, zero);
                    } catch (MemoryException next) {
                        e.addSuppressed(next);
                    }
                }
                throw e;
            }
        });
    }

    /** The heap {@code segment}'s address belongs to, or an exception naming the address. */
    private static MallocHeap heapOf(EalMemory.State s, MemorySegment segment, String call) {
        for (MallocHeap h : s.heaps) {
            if (h.contains(segment.address())) return h;
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException(call + "(0x" + Long.toHexString(segment.address())
                    + "): double free: this segment was already freed");
        }
        throw new IllegalArgumentException(call + "(0x" + Long.toHexString(segment.address()) + ", size="
                + segment.byteSize() + "): not in any malloc heap (foreign memory)");
    }

    static void checkSize(String call, long size) {
        if (size <= 0) throw new IllegalArgumentException(call + ": size=" + size + ": must be > 0");
    }

    static void checkAlign(String call, long align) {
        if (align < 0 || (align & (align - 1)) != 0) {
            throw new IllegalArgumentException(call + ": align=" + align + ": must be 0 or a power of two");
        }
    }
}
