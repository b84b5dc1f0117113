package org.jpdk.eal;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The heap of one NUMA socket, as DPDK's {@code malloc_heap}: chunks of EAL memory (one
 * {@link Memseg} each) cut into elements, best-fit allocation with splitting, and merging of free
 * neighbours. Callers hold {@link EalMemory#LOCK}.
 *
 * <pre>
 *   chunk (one Memseg, mapped on demand, at least 2 MiB)
 *   ┌──────────┬────────┬────────────────┬──────────────┬──────────────────────┐
 *   │ busy     │ free   │ busy           │ busy         │ free                 │
 *   └──────────┴────────┴────────────────┴──────────────┴──────────────────────┘
 *   elems:    TreeMap start → Elem   (every element of every chunk, in address order)
 *   freeSet:  TreeSet by (size, start) (free elements only: best fit = first that fits)
 *
 *   alloc(n, align):  best fit F ─▶ [lead pad: free][n rounded to 64: busy][rest: free]
 *   free(E):          [free P][E][free N] ─▶ one free element P+E+N (same chunk only)
 * </pre>
 *
 * <p>Element metadata lives only in these Java structures, never in headers inside the memory (DPDK
 * keeps a {@code malloc_elem} header in front of each element): a stray write through some other
 * segment can spoil data but cannot corrupt the heap. Every element handed out is a
 * {@link MemorySegment} of exactly the requested size in its own shared {@link Arena}; free closes
 * that arena first, so a freed segment throws IllegalStateException instead of touching memory that
 * is reused or unmapped. A chunk that becomes entirely free is unmapped, except one small chunk kept
 * so a malloc/free loop does not map and unmap each time.
 */
final class MallocHeap {
    /** Elements start on cache-line boundaries and are a whole number of cache lines. */
    static final long MIN_ALIGN = 64;

    private static final class Elem {
        final Memseg chunk;
        final long start;
        long size;
        boolean free = true;
        Arena arena;
        long requested;
        String type;

        Elem(Memseg chunk, long start, long size) {
            this.chunk = chunk;
            this.start = start;
            this.size = size;
        }

        long end() {
            return start + size;
        }
    }

    private static final Comparator<Elem> BY_SIZE =
            Comparator.comparingLong((Elem e) -> e.size).thenComparingLong(e -> e.start);

    final int socket;
    private final TreeMap<Long, Elem> elems = new TreeMap<>();
    private final TreeSet<Elem> freeSet = new TreeSet<>(BY_SIZE);
    private final List<Memseg> chunks = new ArrayList<>();
    private long totalBytes;
    private long freeBytes;
    private int allocCount;

    MallocHeap(int socket) {
        this.socket = socket;
    }

    /**
     * Allocates {@code size} bytes aligned to {@code align} (a power of two), not crossing a
     * {@code bound} boundary (0: none), on pages of {@code pageSize} (0: any), growing the heap if
     * nothing fits. Returns a segment bounded to exactly {@code size}, zeroed if {@code zero}.
     */
    MemorySegment alloc(EalMemory.State s, String type, long size, long align, long bound, long pageSize, boolean zero) {
        long need = roundUp(size, MIN_ALIGN);
        long a = Math.max(align, MIN_ALIGN);
        Elem e = bestFit(need, a, bound, pageSize);
        if (e == null) {
            grow(s, need + (a > MIN_ALIGN ? a : 0) + bound, pageSize);
            e = bestFit(need, a, bound, pageSize);
            if (e == null) throw new IllegalStateException("malloc heap " + socket + ": grown but nothing fits " + need);
        }
        Elem busy = take(e, placement(e, need, a, bound), need);
        busy.type = type;
        busy.requested = size;
        busy.arena = Arena.ofShared();
        // bounded: size <= the element just taken, inside a mapped chunk; the element's own shared
        // arena is closed by free/realloc before the element is reused, and by destroy before unmapping
        MemorySegment seg = MemorySegment.ofAddress(busy.start).reinterpret(size, busy.arena, null);
        if (zero) seg.fill((byte) 0);
        return seg;
    }

    /** The element handed out as {@code seg}, after the checks that make free and realloc safe. */
    private Elem owned(MemorySegment seg, String call) {
        String at = call + "(0x" + Long.toHexString(seg.address()) + ", size=" + seg.byteSize() + ")";
        if (!seg.scope().isAlive()) {
            throw new IllegalStateException(at + ": double free: this segment was already freed");
        }
        Elem e = elems.get(seg.address());
        if (e == null || e.free || !e.arena.scope().equals(seg.scope())) {
            throw new IllegalArgumentException(at + ": not a segment this heap handed out (foreign memory or a slice)");
        }
        if (e.type != null && e.type.startsWith("memzone ") != call.startsWith("memzone ")) {
            throw new IllegalArgumentException(at + ": belongs to " + e.type + (call.startsWith("memzone ")
                    ? "" : "; free it with Memzone.free()"));
        }
        if (seg.byteSize() != e.requested) {
            throw new IllegalArgumentException(at + ": a slice of the segment handed out (size " + e.requested + ")");
        }
        return e;
    }

    /** Whether {@code address} lies in one of this heap's chunks. */
    boolean contains(long address) {
        Map.Entry<Long, Elem> f = elems.floorEntry(address);
        return f != null && f.getValue().chunk.contains(address);
    }

    /** Frees {@code seg}; its segment (and every slice of it) is unusable afterwards. */
    void free(EalMemory.State s, MemorySegment seg, String call) {
        Elem e = owned(seg, call);
        e.arena.close(); // first: from here nobody can touch the memory through the old segment
        e.arena = null;
        e.type = null;
        e.free = true;
        allocCount--;
        Elem merged = merge(e);
        if (merged.start == merged.chunk.address() && merged.size == merged.chunk.len()
                && (chunks.size() > 1 || merged.size > Math.max(EalMemory.GROW_QUANTUM, merged.chunk.pageSize()))) {
            release(s, merged);
        }
    }

    /**
     * Resizes {@code seg}: in place when the new size fits its element and alignment, else by
     * allocating, copying {@code min(old, new)} bytes and freeing. The old segment is unusable after.
     */
    MemorySegment realloc(EalMemory.State s, MemorySegment seg, long size, long align, String call) {
        Elem e = owned(seg, call);
        long a = Math.max(align, MIN_ALIGN);
        if (roundUp(size, MIN_ALIGN) <= e.size && (e.start & (a - 1)) == 0) {
            Arena arena = Arena.ofShared();
            e.arena.close();
            e.arena = arena;
            e.requested = size;
            // bounded: the element's own bytes (size fits them, checked above), under a fresh arena; the old one is closed
            return MemorySegment.ofAddress(e.start).reinterpret(size, arena, null);
        }
        MemorySegment fresh = alloc(s, e.type, size, align, 0, 0, false);
        fresh.copyFrom(seg.asSlice(0, Math.min(size, seg.byteSize())));
        free(s, seg, call);
        return fresh;
    }

    /** Closes every live element's arena; returns the chunks that are now safe to unmap. */
    List<Memseg> destroy() {
        List<Memseg> safe = new ArrayList<>(chunks);
        for (Elem e : elems.values()) {
            if (e.free) continue;
            try {
                e.arena.close();
            } catch (IllegalStateException busy) {
                // Still in use by a native call: unmapping it would let that call fault, so keep it.
                safe.remove(e.chunk);
                System.err.println("EAL: WARNING: malloc element 0x" + Long.toHexString(e.start)
                        + " is in use during shutdown; its chunk stays mapped");
            }
        }
        elems.clear();
        freeSet.clear();
        chunks.clear();
        totalBytes = freeBytes = 0;
        allocCount = 0;
        return safe;
    }

    /** The statistics of this heap, as {@code rte_malloc_get_socket_stats}. */
    MallocSocketStats stats() {
        long greatest = freeSet.isEmpty() ? 0 : freeSet.last().size;
        return new MallocSocketStats(socket, totalBytes, freeBytes, totalBytes - freeBytes, greatest, freeSet.size(),
                allocCount);
    }

    /** The page size and socket of the element at {@code address}. */
    Memseg chunkOf(long address) {
        Map.Entry<Long, Elem> f = elems.floorEntry(address);
        return f != null && f.getValue().chunk.contains(address) ? f.getValue().chunk : null;
    }

    /**
     * Checks every invariant, as {@code rte_malloc_validate}: elements tile each chunk exactly, no
     * two free neighbours, the free set and counters agree. Throws IllegalStateException naming the
     * first violation.
     */
    void validate() {
        long free = 0;
        long total = 0;
        int busy = 0;
        int freeElems = 0;
        for (Memseg c : chunks) {
            total += c.len();
            long at = c.address();
            boolean prevFree = false;
            for (Elem e : elems.subMap(c.address(), true, c.address() + c.len(), false).values()) {
                if (e.start != at) fail("gap or overlap at 0x" + Long.toHexString(at) + " in chunk " + c.id());
                if (e.free && prevFree) fail("two free neighbours at 0x" + Long.toHexString(e.start));
                if (e.free && !freeSet.contains(e)) fail("free element 0x" + Long.toHexString(e.start) + " not in free set");
                if (e.free) {
                    free += e.size;
                    freeElems++;
                } else {
                    busy++;
                }
                prevFree = e.free;
                at = e.end();
            }
            if (at != c.address() + c.len()) fail("chunk " + c.id() + " not covered up to its end");
        }
        if (total != totalBytes || free != freeBytes || busy != allocCount || freeElems != freeSet.size()) {
            fail("counters: total " + totalBytes + "/" + total + ", free " + freeBytes + "/" + free + ", alloc count "
                    + allocCount + "/" + busy + ", free set " + freeSet.size() + "/" + freeElems);
        }
    }

    /** Prints the heap and its elements, as {@code rte_malloc_dump_heaps}. */
    void dump(PrintStream out) {
        MallocSocketStats st = stats();
        out.printf("Heap id:%d%n  Heap size:0x%x%n  Heap alloc count:%d%n  Free elements:%d, greatest:0x%x%n",
                socket, st.heapTotalBytes(), st.allocCount(), st.freeCount(), st.greatestFreeBytes());
        for (Elem e : elems.values()) {
            out.printf("    0x%x len:0x%x %s%s%n", e.start, e.size, e.free ? "FREE" : "BUSY",
                    e.free ? "" : " requested:" + e.requested + (e.type == null ? "" : " type:" + e.type));
        }
    }

    private static void fail(String what) {
        throw new IllegalStateException("malloc heap corrupt: " + what);
    }

    private Elem bestFit(long need, long align, long bound, long pageSize) {
        Elem probe = new Elem(null, Long.MIN_VALUE, need);
        for (Elem e : freeSet.tailSet(probe, true)) {
            if (pageSize != 0 && e.chunk.pageSize() != pageSize) continue;
            if (placement(e, need, align, bound) >= 0) return e;
        }
        return null;
    }

    /** Where in free element {@code e} an aligned, unbounded-crossing block of {@code need} starts, or -1. */
    private static long placement(Elem e, long need, long align, long bound) {
        long st = roundUp(e.start, align);
        if (bound > 0 && (st / bound) != ((st + need - 1) / bound)) st = roundUp((st | (bound - 1)) + 1, align);
        return st + need <= e.end() ? st : -1;
    }

    /** Splits free element {@code e} into [lead free][busy need at st][tail free]; returns the busy one. */
    private Elem take(Elem e, long st, long need) {
        freeSet.remove(e);
        freeBytes -= e.size;
        long end = e.end();
        Elem busy = e;
        if (st > e.start) {
            e.size = st - e.start;
            addFree(e);
            busy = new Elem(e.chunk, st, need);
            elems.put(st, busy);
        }
        busy.size = need;
        busy.free = false;
        allocCount++;
        if (end > st + need) {
            Elem tail = new Elem(e.chunk, st + need, end - st - need);
            elems.put(tail.start, tail);
            addFree(tail);
        }
        return busy;
    }

    /** Joins free element {@code e} (not yet in the free set) with free neighbours of its chunk. */
    private Elem merge(Elem e) {
        Map.Entry<Long, Elem> p = elems.lowerEntry(e.start);
        if (p != null && p.getValue().free && p.getValue().chunk == e.chunk && p.getValue().end() == e.start) {
            Elem prev = p.getValue();
            removeFree(prev);
            elems.remove(e.start);
            prev.size += e.size;
            e = prev;
        }
        Map.Entry<Long, Elem> n = elems.higherEntry(e.start);
        if (n != null && n.getValue().free && n.getValue().chunk == e.chunk && n.getValue().start == e.end()) {
            removeFree(n.getValue());
            elems.remove(n.getKey());
            e.size += n.getValue().size;
        }
        addFree(e);
        return e;
    }

    private void grow(EalMemory.State s, long len, long pageSize) {
        Memseg c = EalMemory.map(s, Math.max(len, EalMemory.GROW_QUANTUM), socket, pageSize);
        chunks.add(c);
        totalBytes += c.len();
        Elem e = new Elem(c, c.address(), c.len());
        elems.put(e.start, e);
        addFree(e);
    }

    private void release(EalMemory.State s, Elem whole) {
        removeFree(whole);
        elems.remove(whole.start);
        chunks.remove(whole.chunk);
        totalBytes -= whole.chunk.len();
        EalMemory.unmap(s, whole.chunk);
    }

    private void addFree(Elem e) {
        freeSet.add(e);
        freeBytes += e.size;
    }

    private void removeFree(Elem e) {
        freeSet.remove(e);
        freeBytes -= e.size;
    }

    static long roundUp(long v, long align) {
        return (v + align - 1) & -align;
    }
}
