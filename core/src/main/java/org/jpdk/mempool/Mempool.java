package org.jpdk.mempool;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Array;
import java.util.IdentityHashMap;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ObjIntConsumer;
import org.jpdk.eal.Lcore;
import org.jpdk.eal.Memzone;
import org.jpdk.ring.Ring;

/**
 * A pool of fixed-size objects in one off-heap region, as DPDK's {@code rte_mempool}: each object
 * is a slice of a {@link Memzone} reserved for the pool, represented by a Java handle of type
 * {@code T} built once at creation by an {@link ObjectFactory}; free handles wait in a
 * {@link Ring}, fronted by one LIFO {@link MempoolCache} per lcore so that most gets and puts
 * touch only memory private to the calling core. Objects never change pool and a put leaves the
 * object's bytes as they were. Only lcore threads ({@link Lcore#id()} {@code >= 0}) use a cache
 * implicitly; other threads go to the ring unless they pass a cache explicitly to
 * {@link #genericGet}/{@link #genericPut} (and then must be its only user). Gets are
 * all-or-nothing and fail by returning null/false at once; puts cannot fail.
 *
 * <p>Region layout ({@code stride} = element size rounded up to 64-byte lines, plus one line when
 * that makes the count of lines odd, so consecutive objects start at different offsets of a
 * 4 KiB page and of the L1 cache sets; DPDK's {@code optimize_object_size}):
 * <pre>
 *   offset              size      content
 *   0                   eltSize   object 0
 *   eltSize             pad       up to stride (0..127 bytes)
 *   stride              eltSize   object 1
 *   ...
 *   (n-1) * stride      stride    object n-1
 * </pre>
 * Objects of one or two lines are not padded (every line offset is then used anyway), and
 * {@link #F_NO_SPREAD} turns the extra line off. Each object's IOVA is translated through the
 * page its first byte lies in (in PA mode two pages need not be physically adjacent). Unlike
 * DPDK's populate, which moves an object that would cross a page boundary to the next page, the
 * stride stays uniform (object i is always at {@code i * stride}: net_af_xdp registers the region
 * as a UMEM and finds an mbuf by one division), so in PA mode an object that straddles a
 * boundary is physically contiguous only up to it; no jpdk driver DMAs across one.
 *
 * <p>{@link #F_DEDICATED_MEMORY} puts the region in a memzone of its own
 * ({@link Memzone#MEMZONE_DEDICATED}): a peer shown its file (memif, AF_XDP) sees the pool's
 * objects and nothing else of the process.
 *
 * <p>{@link #close()} refuses (IllegalStateException) while objects are out, so a pool is never
 * unmapped under a packet still in flight.
 */
public final class Mempool<T> implements AutoCloseable {
    /** The largest per-lcore cache, as RTE_MEMPOOL_CACHE_MAX_SIZE. */
    public static final int CACHE_MAX_SIZE = 512;
    /** Do not add the stagger line: objects are only cache-line aligned (RTE_MEMPOOL_F_NO_SPREAD). */
    public static final int F_NO_SPREAD = 0x1;
    /** Only one thread ever puts: the ring takes the single-producer path (RTE_MEMPOOL_F_SP_PUT). */
    public static final int F_SP_PUT = 0x4;
    /** Only one thread ever gets: the ring takes the single-consumer path (RTE_MEMPOOL_F_SC_GET). */
    public static final int F_SC_GET = 0x8;
    /** jpdk's: the region gets memory of its own, for showing to a peer ({@link Memzone#MEMZONE_DEDICATED}). */
    public static final int F_DEDICATED_MEMORY = 0x1000;
    private static final int F_ALL = F_NO_SPREAD | F_SP_PUT | F_SC_GET | F_DEDICATED_MEMORY;
    private static final long CACHE_LINE = 64;

    /**
     * Extra checks: {@link #audit()} and puts that would overflow the ring (a double put) throw.
     * From {@code -Djpdk.mempool.debug=true|false}; by default on exactly when assertions are
     * (so on in tests). Off, an overflowing put drops the surplus handles and counts them.
     */
    public static final boolean DEBUG = debugDefault("jpdk.mempool.debug");

    /**
     * Per-call statistics (objects and calls got and put, per lcore), as DPDK's
     * {@code RTE_LIBRTE_MEMPOOL_STATS}: four counter updates per get+put pair cost some 2 ns, a
     * third of a cached single get+put, so they are off unless {@code -Djpdk.mempool.stats=true}
     * (by default on exactly when assertions are, so on in tests). Failed gets are always counted:
     * they are off the fast path and say the pool ran dry.
     */
    public static final boolean STATS = debugDefault("jpdk.mempool.stats");

    private static final ConcurrentHashMap<String, Mempool<?>> POOLS = new ConcurrentHashMap<>();

    /** Builds the handle of object {@code index}, once, at pool creation. */
    @FunctionalInterface
    public interface ObjectFactory<T> {
        T create(Mempool<T> pool, int index, MemorySegment object, long iova);
    }

    private final String name;
    private final int size;
    private final int eltSize;
    private final long stride;
    private final int cacheSize;
    private final int flags;
    private final Class<T> type;
    private final Memzone memzone;
    private final Ring<T> ring;
    private final T[] objects;
    private final MempoolCache[] caches;
    private long overflowObjs;
    private volatile boolean closed;

    private Mempool(String name, int n, int eltSize, int cacheSize, int flags, Class<T> type,
                    Memzone mz, ObjectFactory<T> factory) {
        this.name = name;
        this.size = n;
        this.eltSize = eltSize;
        this.stride = stride(eltSize, (flags & F_NO_SPREAD) == 0);
        this.cacheSize = cacheSize;
        this.flags = flags;
        this.type = type;
        this.memzone = mz;
        int ringFlags = Ring.F_EXACT_SZ | ((flags & F_SP_PUT) != 0 ? Ring.F_SP_ENQ : 0)
                | ((flags & F_SC_GET) != 0 ? Ring.F_SC_DEQ : 0);
        this.ring = Ring.create("MP_" + name, n, ringFlags, type);
        this.objects = newArray(n);
        MemorySegment region = mz.segment();
        for (int i = 0; i < n; i++) {
            long off = i * stride;
            T obj = factory.create(this, i, region.asSlice(off, eltSize), mz.iova(off));
            if (obj == null) throw new IllegalArgumentException("mempool " + name + ": factory returned null for object " + i);
            objects[i] = obj;
        }
        // Each cache is allocated right before its own stack, so the heap order is
        // pad|cache fields|pad, stack, pad|cache fields|pad, stack ... and no two lcores' hot
        // fields share a line.
        this.caches = new MempoolCache[Lcore.MAX];
        for (int l = 0; l < caches.length; l++) {
            caches[l] = new MempoolCache(this, cacheSize, newArray(cacheSize * 3 / 2 + cacheSize + 1), newArray(1));
        }
        if (ring.enqueueBulk(objects, 0, n) != n) {
            throw new IllegalStateException("mempool " + name + ": ring of capacity " + ring.capacity() + " took fewer than " + n + " objects");
        }
    }

    /**
     * Creates a pool of {@code n} objects of {@code eltSize} bytes, as {@code rte_mempool_create}.
     *
     * @param cacheSize per-lcore cache size, 0 (no cache) to {@link #CACHE_MAX_SIZE}, and 1.5 x
     *                  cacheSize must not exceed n
     * @param flags     {@link #F_NO_SPREAD}, {@link #F_SP_PUT}, {@link #F_SC_GET}
     * @param socketId  NUMA socket for the region, or {@link Memzone#SOCKET_ID_ANY}
     * @param type      the handle class (the cache stacks are arrays of it, so copies need no
     *                  per-element type checks)
     * @param factory   called once per object, in index order
     * @throws IllegalArgumentException naming the bad argument
     * @throws IllegalStateException    if a pool of that name exists
     */
    public static <T> Mempool<T> create(String name, int n, int eltSize, int cacheSize, int flags, int socketId,
                                        Class<T> type, ObjectFactory<T> factory) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("mempool name must be a non-empty string, got " + (name == null ? "null" : "\"\""));
        if (n < 1) throw new IllegalArgumentException("mempool " + name + ": n=" + n + ", must be at least 1");
        if (eltSize < 0) throw new IllegalArgumentException("mempool " + name + ": eltSize=" + eltSize + ", must be 0 or more");
        if (cacheSize < 0 || cacheSize > CACHE_MAX_SIZE) {
            throw new IllegalArgumentException("mempool " + name + ": cacheSize=" + cacheSize + ", allowed 0.." + CACHE_MAX_SIZE);
        }
        if (cacheSize * 3 / 2 > n) {
            throw new IllegalArgumentException("mempool " + name + ": cacheSize=" + cacheSize + " too large for n=" + n
                    + " (1.5 x cacheSize must not exceed n; at most " + (n * 2 / 3) + ")");
        }
        if ((flags & ~F_ALL) != 0) {
            throw new IllegalArgumentException("mempool " + name + ": flags=0x" + Integer.toHexString(flags)
                    + ", allowed bits F_NO_SPREAD=0x1, F_SP_PUT=0x4, F_SC_GET=0x8, F_DEDICATED_MEMORY=0x1000");
        }
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(factory, "factory");
        if (POOLS.containsKey(name)) throw new IllegalStateException("mempool " + name + " already exists; pick another name or close it first");
        long len = stride(eltSize, (flags & F_NO_SPREAD) == 0) * n;
        Memzone mz = Memzone.reserve("MP_" + name, len, socketId,
                (flags & F_DEDICATED_MEMORY) != 0 ? Memzone.MEMZONE_DEDICATED : 0, CACHE_LINE);
        Mempool<T> mp;
        try {
            mp = new Mempool<>(name, n, eltSize, cacheSize, flags, type, mz, factory);
        } catch (RuntimeException | Error e) {
            mz.free();
            throw e;
        }
        if (POOLS.putIfAbsent(name, mp) != null) {
            mz.free();
            throw new IllegalStateException("mempool " + name + " already exists; pick another name or close it first");
        }
        return mp;
    }

    /** Every registered pool, by name (rte_mempool_walk); a snapshot. */
    public static java.util.List<Mempool<?>> list() {
        return POOLS.values().stream().sorted(java.util.Comparator.comparing(Mempool::name)).toList();
    }

    /** The pool registered under {@code name}, or null (rte_mempool_lookup). */
    public static Mempool<?> lookup(String name) {
        return POOLS.get(name);
    }

    /** Bytes from one object's start to the next: lines of 64 bytes, an odd count when spread. */
    static long stride(long eltSize, boolean spread) {
        long lines = Math.max(1, (eltSize + CACHE_LINE - 1) / CACHE_LINE);
        if (spread && lines > 2 && (lines & 1) == 0) lines++;
        return lines * CACHE_LINE;
    }

    @SuppressWarnings("unchecked")
    private T[] newArray(int len) {
        return (T[]) Array.newInstance(type, len);
    }

    // ---------------------------------------------------------------- get

    /**
     * One object, or null if the pool (this lcore's cache and the ring) is empty. Allocates
     * nothing; a cache hit touches only this lcore's cache. Publication: an object got here was
     * put by some thread whose writes to it happen-before this get (through the ring).
     */
    @SuppressWarnings("unchecked")
    public T get() {
        MempoolCache cache = defaultCache(Lcore.id());
        if (cache == null) return ring.dequeue();
        int len = cache.len;
        if (len > 0) {
            T obj = (T) cache.objs[--len];
            cache.len = len;
            if (STATS) {
                cache.getSuccessObjs++;
                cache.getSuccessBulks++;
            }
            return obj;
        }
        return getSlowPath(cache);
    }

    /** The cache is empty: the general bulk path with n = 1, into the cache's scratch slot. */
    private T getSlowPath(MempoolCache cache) {
        T[] one = scratch(cache);
        if (!genericGet(one, 0, 1, cache)) return null;
        T obj = one[0];
        one[0] = null;
        return obj;
    }

    @SuppressWarnings("unchecked")
    private T[] scratch(MempoolCache cache) {
        return (T[]) cache.scratch;
    }

    /**
     * Fills {@code objs[off..off+n)} and returns true, or returns false and leaves the pool and
     * the array as they were; uses the calling lcore's cache (none off an lcore).
     */
    public boolean getBulk(T[] objs, int off, int n) {
        return genericGet(objs, off, n, defaultCache(Lcore.id()));
    }

    /**
     * {@link #getBulk} through an explicit {@code cache} (null: straight to the ring), as
     * {@code rte_mempool_generic_get}. The caller must be the cache's only user. Requests larger
     * than the cache size go to the ring. The cache is a LIFO stack, so the objects returned are
     * the ones put most recently on this cache. Allocates nothing; never blocks; never throws for
     * an empty pool.
     */
    @SuppressWarnings("unchecked")
    public boolean genericGet(T[] objs, int off, int n, MempoolCache cache) {
        if (cache == null || n > cache.size) return getFromRing(objs, off, n, cache);
        if (cache.len < n && !refill(cache, n)) {
            cache.getFailObjs += n;
            cache.getFailBulks++;
            return false;
        }
        int len = cache.len - n;
        T[] stack = (T[]) cache.objs;
        // The top n of the stack are the hottest; their order inside the burst does not matter.
        // One object is a plain load: arraycopy's setup costs more than the copy at n = 1.
        if (n == 1) objs[off] = stack[len];
        else System.arraycopy(stack, len, objs, off, n);
        cache.len = len;
        if (STATS) {
            cache.getSuccessObjs += n;
            cache.getSuccessBulks++;
        }
        return true;
    }

    /**
     * The cache holds fewer than n: bring it to size + n from the ring, or failing that to exactly
     * n; false (cache untouched) when even that is not there.
     */
    @SuppressWarnings("unchecked")
    private boolean refill(MempoolCache cache, int n) {
        T[] stack = (T[]) cache.objs;
        int len = cache.len;
        int got = ring.dequeueBulk(stack, len, cache.size + n - len);
        if (got == 0) got = ring.dequeueBulk(stack, len, n - len);
        if (got == 0) return false;
        cache.len = len + got;
        return true;
    }

    private boolean getFromRing(T[] objs, int off, int n, MempoolCache cache) {
        boolean ok = n <= 0 || ring.dequeueBulk(objs, off, n) == n;
        if (cache != null) {
            if (ok) {
                if (STATS) {
                    cache.getSuccessObjs += n;
                    cache.getSuccessBulks++;
                }
            } else {
                cache.getFailObjs += n;
                cache.getFailBulks++;
            }
        }
        return ok;
    }

    // ---------------------------------------------------------------- put

    /**
     * Gives {@code obj} back. Cannot fail. Allocates nothing. The caller's writes to the object
     * happen-before a later get of it on another thread.
     */
    public void put(T obj) {
        MempoolCache cache = defaultCache(Lcore.id());
        if (cache == null || cache.size == 0) {
            if (STATS && cache != null) {
                cache.putObjs++;
                cache.putBulks++;
            }
            if (!ring.enqueue(obj)) overflow(1);
            return;
        }
        if (STATS) {
            cache.putObjs++;
            cache.putBulks++;
        }
        int len = cache.len;
        cache.objs[len++] = obj;
        cache.len = len;
        if (len > cache.flushThreshold) flush(cache, len - cache.size);
    }

    /** Gives {@code objs[off..off+n)} back through the calling lcore's cache (none off an lcore). */
    public void putBulk(T[] objs, int off, int n) {
        genericPut(objs, off, n, defaultCache(Lcore.id()));
    }

    /**
     * {@link #putBulk} through an explicit {@code cache} (null: straight to the ring), as
     * {@code rte_mempool_generic_put}. Pushes on the stack; when the stack grows above 1.5 x size
     * the coldest objects (the bottom) go to the ring until size remain. Requests larger than
     * the cache size go to the ring. Cannot fail; allocates nothing.
     */
    @SuppressWarnings("unchecked")
    public void genericPut(T[] objs, int off, int n, MempoolCache cache) {
        if (cache == null || n > cache.size) {
            if (STATS && cache != null) {
                cache.putObjs += n;
                cache.putBulks++;
            }
            if (n > 0 && ring.enqueueBulk(objs, off, n) != n) overflowBulk(objs, off, n);
            return;
        }
        if (STATS) {
            cache.putObjs += n;
            cache.putBulks++;
        }
        int len = cache.len;
        if (n == 1) ((T[]) cache.objs)[len] = objs[off];
        else System.arraycopy(objs, off, (T[]) cache.objs, len, n);
        len += n;
        cache.len = len;
        if (len > cache.flushThreshold) flush(cache, len - cache.size);
    }

    /** Sends the k coldest (bottom) objects to the ring and slides the rest down. */
    @SuppressWarnings("unchecked")
    private void flush(MempoolCache cache, int k) {
        T[] stack = (T[]) cache.objs;
        if (ring.enqueueBulk(stack, 0, k) != k) overflowBulk(stack, 0, k);
        int len = cache.len - k;
        System.arraycopy(stack, k, stack, 0, len);
        cache.len = len;
    }

    /** Empties {@code cache} into the ring (rte_mempool_cache_flush). Only its user may call it. */
    @SuppressWarnings("unchecked")
    public void cacheFlush(MempoolCache cache) {
        if (cache == null || cache.len == 0) return;
        if (cache.pool != this) throw new IllegalArgumentException("cache of mempool " + cache.pool.name + " given to mempool " + name);
        T[] stack = (T[]) cache.objs;
        int len = cache.len;
        if (ring.enqueueBulk(stack, 0, len) != len) overflowBulk(stack, 0, len);
        cache.len = 0;
    }

    private void overflowBulk(T[] objs, int off, int n) {
        int moved = ring.enqueueBurst(objs, off, n);
        overflow(n - moved);
    }

    /** More objects came back than the pool holds: some handle was put twice. */
    private void overflow(int lost) {
        synchronized (this) {
            overflowObjs += lost;
        }
        if (DEBUG) {
            throw new IllegalStateException("mempool " + name + ": " + lost + " object(s) put back beyond the pool's "
                    + size + " (an object was put twice)");
        }
    }

    // ---------------------------------------------------------------- caches and counts

    /**
     * The cache of lcore {@code lcoreId} (rte_mempool_default_cache), or null for
     * {@link Lcore#ID_ANY}. With cacheSize 0 the cache holds no objects but still counts the
     * lcore's statistics. Whoever uses it must be its only user at that time.
     */
    public MempoolCache defaultCache(int lcoreId) {
        return lcoreId >= 0 && lcoreId < caches.length ? caches[lcoreId] : null;
    }

    /** Free objects: in the ring plus in every cache (racy while other threads run). */
    public int availCount() {
        long n = ring.count();
        for (MempoolCache c : caches) n += c.len;
        return (int) Math.min(n, Integer.MAX_VALUE);
    }

    /** Objects handed out and not yet put back. */
    public int inUseCount() {
        return size - availCount();
    }

    public boolean isFull() {
        return availCount() == size;
    }

    public boolean isEmpty() {
        return availCount() == 0;
    }

    /**
     * Checks the pool is consistent and throws IllegalStateException if not: the free count is at
     * most the size, every cache is within bounds, and every free object (ring and caches) is one
     * of this pool's and free only once. The check of the ring takes its objects out and puts
     * them back, so call it only while no other thread uses the pool.
     */
    @SuppressWarnings("unchecked")
    public void audit() {
        IdentityHashMap<Object, Integer> index = new IdentityHashMap<>(size * 2);
        for (int i = 0; i < size; i++) index.put(objects[i], i);
        String[] seenWhere = new String[size];
        StringBuilder errors = new StringBuilder();
        for (int l = 0; l < caches.length; l++) {
            MempoolCache c = caches[l];
            if (c.len < 0 || c.len > c.objs.length) errors.append("; cache of lcore ").append(l).append(" has len ").append(c.len);
            for (int k = 0; k < Math.min(c.len, c.objs.length); k++) check(c.objs[k], "cache of lcore " + l, index, seenWhere, errors);
        }
        T[] drained = newArray(ring.count() + 1);
        int inRing = ring.dequeueBurst(drained, 0, drained.length);
        try {
            for (int k = 0; k < inRing; k++) check(drained[k], "ring", index, seenWhere, errors);
        } finally {
            ring.enqueueBurst(drained, 0, inRing);
        }
        int avail = availCount();
        if (avail > size) errors.append("; ").append(avail).append(" free objects in a pool of ").append(size);
        if (errors.length() > 0) throw new IllegalStateException("mempool " + name + " audit failed" + errors);
    }

    private void check(Object obj, String where, IdentityHashMap<Object, Integer> index, String[] seenWhere, StringBuilder errors) {
        Integer i = index.get(obj);
        if (i == null) {
            errors.append("; a foreign object in the ").append(where);
        } else if (seenWhere[i] != null) {
            errors.append("; object #").append(i).append(" is free twice (").append(seenWhere[i]).append(" and ").append(where).append(')');
        } else {
            seenWhere[i] = where;
        }
    }

    /** Calls {@code fn(obj, index)} for every object of the pool, free or not; returns the count (rte_mempool_obj_iter). */
    public int objIter(ObjIntConsumer<? super T> fn) {
        for (int i = 0; i < size; i++) fn.accept(objects[i], i);
        return size;
    }

    /** Object {@code index}, free or not. */
    public T object(int index) {
        return objects[Objects.checkIndex(index, size)];
    }

    public String name() {
        return name;
    }

    /** Objects in the pool (populated size: every object is populated at creation). */
    public int size() {
        return size;
    }

    public int eltSize() {
        return eltSize;
    }

    /** Bytes between consecutive objects in the region (total object size). */
    public long stride() {
        return stride;
    }

    public int cacheSize() {
        return cacheSize;
    }

    public int flags() {
        return flags;
    }

    public int socketId() {
        return memzone.socketId();
    }

    /** The region holding every object. */
    public MemorySegment region() {
        return memzone.segment();
    }

    public Memzone memzone() {
        return memzone;
    }

    /** Handles dropped because more came back than the pool holds (see {@link #DEBUG}). */
    public synchronized long overflowCount() {
        return overflowObjs;
    }

    /** Prints the pool as {@code rte_mempool_dump} does: geometry, counts, per-lcore caches and statistics. */
    public void dump(PrintStream out) {
        out.printf("mempool <%s>@0x%x%n", name, memzone.segment().address());
        out.printf("  flags=%x%n  socket_id=%d%n  pool=%s%n  iova=0x%x%n  nb_mem_chunks=1%n",
                flags, memzone.socketId(), ring.name(), memzone.iova());
        out.printf("  size=%d%n  populated_size=%d%n  header_size=0%n  elt_size=%d%n  trailer_size=%d%n  total_obj_size=%d%n",
                size, size, eltSize, stride - eltSize, stride);
        out.printf("  avg bytes/object=%.3f%n", (double) memzone.len() / size);
        out.printf("  internal cache infos:%n    cache_size=%d%n", cacheSize);
        long cached = 0, gOk = 0, gOkB = 0, gFail = 0, gFailB = 0, p = 0, pB = 0;
        for (int l = 0; l < caches.length; l++) {
            MempoolCache c = caches[l];
            if (c.len != 0) out.printf("    cache_count[%d]=%d%n", l, c.len);
            cached += c.len;
            gOk += c.getSuccessObjs;
            gOkB += c.getSuccessBulks;
            gFail += c.getFailObjs;
            gFailB += c.getFailBulks;
            p += c.putObjs;
            pB += c.putBulks;
        }
        out.printf("    total_cache_count=%d%n  common_pool_count=%d%n", cached, ring.count());
        out.printf("  avail=%d%n  in_use=%d%n", availCount(), inUseCount());
        if (!STATS) {
            out.printf("  stats (lcores only; gets and puts are counted with -Djpdk.mempool.stats=true):%n"
                    + "    get_fail_bulk=%d%n    get_fail_objs=%d%n", gFailB, gFail);
            return;
        }
        out.printf("  stats (lcores only):%n    put_bulk=%d%n    put_objs=%d%n    get_success_bulk=%d%n    get_success_objs=%d%n"
                + "    get_fail_bulk=%d%n    get_fail_objs=%d%n", pB, p, gOkB, gOk, gFailB, gFail);
        for (int l = 0; l < caches.length; l++) {
            MempoolCache c = caches[l];
            if (c.putBulks != 0 || c.getSuccessBulks != 0 || c.getFailBulks != 0) {
                out.printf("    lcore %d: put_objs=%d get_success_objs=%d get_fail_objs=%d%n",
                        l, c.putObjs, c.getSuccessObjs, c.getFailObjs);
            }
        }
    }

    /** Sum over lcores of one statistic, for tests and monitoring; the get and put counts stay 0 unless {@link #STATS}. */
    public long statGetSuccessObjs() {
        long s = 0;
        for (MempoolCache c : caches) s += c.getSuccessObjs;
        return s;
    }

    public long statGetFailObjs() {
        long s = 0;
        for (MempoolCache c : caches) s += c.getFailObjs;
        return s;
    }

    public long statPutObjs() {
        long s = 0;
        for (MempoolCache c : caches) s += c.putObjs;
        return s;
    }

    /**
     * Unregisters the pool and frees its memzone (rte_mempool_free). Refuses with
     * IllegalStateException while objects are out (in use), because freeing the region under
     * them would turn their next access into a fault. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        int out = inUseCount();
        if (out != 0) {
            throw new IllegalStateException("mempool " + name + ": " + out + " of " + size
                    + " objects still in use; put them back (and flush caches) before close");
        }
        closed = true;
        POOLS.remove(name, this);
        ring.close();
        memzone.free();
    }

    /** Same as {@link #close()}. */
    public void free() {
        close();
    }

    @Override
    public String toString() {
        return "mempool " + name + " (" + size + " x " + eltSize + " B, cache " + cacheSize + ")";
    }

    static boolean debugDefault(String property) {
        String v = System.getProperty(property);
        if (v != null) return Boolean.parseBoolean(v);
        boolean assertions = false;
        assert assertions = true;
        return assertions;
    }
}
