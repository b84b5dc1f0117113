package org.jpdk.hash;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A cuckoo hash table of fixed-size keys with a 64-bit value each, DPDK's {@code rte_hash}
 * (lib/hash/rte_cuckoo_hash.c; after Fan et al., "MemC3", NSDI 2013). A key's 32-bit hash picks
 * its primary bucket (low bits) and its 16-bit signature (high bits); its alternative bucket is
 * the primary XOR the signature, so an entry can move between its two buckets knowing only where
 * it is. A bucket holds 8 (signature, key index) pairs in one cache line; keys and values live in
 * a separate key store and a key's index there is its <em>position</em>, stable from add to
 * delete, which callers may use to index their own arrays (as {@code rte_hash_add_key} returns).
 * An add that finds both buckets full makes room by cuckoo displacement: a breadth-first search
 * (at most {@value #BFS_QUEUE_MAX_LEN} buckets) from the primary, then from the alternative, for
 * a bucket with a free slot, then moves the entries along that path one step each, last first.
 * With {@link #F_EXT_TABLE}, a key that still does not fit goes into a chain of extendable
 * buckets hanging off its alternative bucket, so a table never refuses a key while its key store
 * has room; without it, {@link #ENOSPC} is possible before the table holds {@code entries} keys
 * (cuckoo tables fill to about 95%). Unlike DPDK, a delete does not compact a chain by moving its
 * last entry into the hole; an extendable bucket goes back to the free list as soon as it is
 * empty, wherever it is in the chain.
 *
 * <p><b>Concurrency</b> (DPDK's {@code RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF}, always on): one
 * writer thread at a time calls {@code add}, {@code delete}, {@link #freeKeyWithPosition},
 * {@link #reset} and {@link #iterate}; any number of threads look up at the same time, lock-free.
 * The argument: (1) a writer fills a key-store slot (key, value) and only then publishes its index
 * in a bucket with a release store (R1); readers load the index with acquire (A1), so they see the
 * whole key. (2) A cuckoo move first copies the entry to its new bucket (it is then in both), then
 * bumps the table's change counter and issues a store-store fence, then overwrites the old slot;
 * a reader reads the counter before its search (acquire) and again after a load-load fence, and a
 * reader that missed retries if the counter moved: any overwrite it observed was preceded by a bump
 * it must then see, so a key moved under it is never reported missing. Hits need no retry.
 * (3) Unlike DPDK, freed slots are reused at once, so every slot carries a sequence number, odd
 * while the writer rewrites it (seqlock: odd store, store-store fence, key and value, release
 * store of the next even number, R2); a reader reads it with acquire (A2) before comparing the key
 * and reading the value and again after a load-load fence, and takes the slot as a match only if
 * the number did not change and the bucket still holds the index: a torn or recycled key is never
 * reported. Values are 64-bit, read with acquire and written with release (R3), so a value update
 * is atomic. Emptied extendable buckets are unlinked and the counter bumped before their reuse.
 * DPDK's {@code RTE_HASH_EXTRA_FLAGS_NO_FREE_ON_DEL} ({@link #F_NO_FREE_ON_DEL}, implied by
 * {@link #F_RW_CONCURRENCY_LF}) remains for callers whose own arrays are indexed by position: a
 * deleted key's position is then not reused until {@link #freeKeyWithPosition}, which the caller
 * calls once no reader can still hold it.
 *
 * <p><b>Allocation</b>: lookups, bulk lookups, adds and deletes on {@link MemorySegment} keys
 * allocate nothing (a bulk lookup's per-thread scratch is made on the thread's first call); the
 * {@code byte[]} variants copy the key into a per-thread off-heap scratch first, also without
 * allocating.
 * Bad arguments throw one-line exceptions; a full table returns {@link #ENOSPC}, a missing key
 * {@link #ENOENT}.
 * <pre>
 * Bucket (64 B, cache-line aligned, off-heap)     Key-store slot (keyEntrySize B, 16-aligned)
 *   offset size field           writer            offset size field    writer
 *   0      16   sig[8]  (u16)   plain             0      8    value    release (R3)
 *   16     32   keyIdx[8] (u32) release (R1)      8      4    seq      odd, then release even (R2)
 *   48     4    next ext bucket release           12     4    (pad)
 *   52     12   (pad)                             16     keyLen key    plain, inside the seq window
 * keyIdx 0 is empty; slot 0 of the key store is never used, so position = keyIdx - 1.
 * Ext buckets follow the main ones in the same segment (index numBuckets .. 2*numBuckets-1).
 * </pre>
 */
public final class Hash implements AutoCloseable {
    /** Entries per bucket (RTE_HASH_BUCKET_ENTRIES). */
    public static final int BUCKET_ENTRIES = 8;
    /** The most keys one bulk lookup takes (RTE_HASH_LOOKUP_BULK_MAX). */
    public static final int LOOKUP_BULK_MAX = 64;
    /** The largest key size accepted. */
    public static final int KEY_LEN_MAX = 64;
    /** The most entries a table may have (RTE_HASH_ENTRIES_MAX). */
    public static final int ENTRIES_MAX = 1 << 30;
    /** The longest name (RTE_HASH_NAMESIZE less the terminator). */
    public static final int NAME_MAX = 31;
    /** Buckets a cuckoo search may visit (RTE_HASH_BFS_QUEUE_MAX_LEN). */
    public static final int BFS_QUEUE_MAX_LEN = 1000;

    /** The key is not in the table. */
    public static final int ENOENT = -2;
    /** The position holds no deleted key awaiting {@link #freeKeyWithPosition}. */
    public static final int EINVAL = -22;
    /** No room for the key (key store full, or no cuckoo path and no extendable bucket). */
    public static final int ENOSPC = -28;

    /** Chain extendable buckets to the alternative bucket when cuckoo displacement fails. */
    public static final int F_EXT_TABLE = 0x08;
    /** Do not reuse a deleted key's position until {@link #freeKeyWithPosition}. */
    public static final int F_NO_FREE_ON_DEL = 0x10;
    /** DPDK's lock-free read/write flag: readers are always lock-free here; implies {@link #F_NO_FREE_ON_DEL}. */
    public static final int F_RW_CONCURRENCY_LF = 0x20;
    private static final int FLAGS_KNOWN = F_EXT_TABLE | F_NO_FREE_ON_DEL | F_RW_CONCURRENCY_LF;

    static final int BKT_SIZE = 64, BKT_SIG = 0, BKT_KEY_IDX = 16, BKT_NEXT = 48;
    static final int KE_DATA = 0, KE_SEQ = 8, KE_KEY = 16;
    private static final int CNT_OFF = 128;
    private static final byte FREE = 0, USED = 1, PENDING = 2;

    private static final ValueLayout.OfLong LONG_U = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT_U = ValueLayout.JAVA_INT_UNALIGNED;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle COUNT;
    private static final long SIG_LANES = 0x0001_0001_0001_0001L, LOW15 = 0x7fff_7fff_7fff_7fffL;
    private static final ThreadLocal<long[]> SCRATCH = ThreadLocal.withInitial(() -> new long[LOOKUP_BULK_MAX + 1]);
    /** Per-thread off-heap copy of a byte[] key, so the byte[] calls allocate nothing either. */
    private static final ThreadLocal<MemorySegment> KEY_SCRATCH = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(KEY_LEN_MAX, 16));
    private static final ConcurrentHashMap<String, Hash> TABLES = new ConcurrentHashMap<>();

    static {
        try {
            COUNT = MethodHandles.lookup().findVarHandle(Hash.class, "count", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final int entries, keyLen, entrySize, flags, numBuckets, bucketMask, initVal;
    private final HashFunction hashFunc;
    private final Arena arena;
    private final MemorySegment buckets, keys, ctl;

    // Writer-only state.
    private final int[] freeSlots;
    private final int freeMask;
    private int freeHead, freeTail, freeCount;
    private final byte[] slotState;
    private final int[] freeExt;
    private int freeExtTop;
    private int changeCount;
    private final int[] bfsBucket = new int[BFS_QUEUE_MAX_LEN], bfsParent = new int[BFS_QUEUE_MAX_LEN], bfsSlot = new int[BFS_QUEUE_MAX_LEN];
    private final int[] visited;
    private int epoch;
    @SuppressWarnings("unused") // through COUNT
    private int count;
    private boolean closed;

    private Hash(String name, int entries, int keyLen, HashFunction hashFunc, int initVal, int flags) {
        this.name = name;
        this.entries = entries;
        this.keyLen = keyLen;
        this.hashFunc = hashFunc;
        this.initVal = initVal;
        this.flags = (flags & F_RW_CONCURRENCY_LF) != 0 ? flags | F_NO_FREE_ON_DEL : flags;
        this.entrySize = (KE_KEY + keyLen + 15) & ~15;
        this.numBuckets = Integer.highestOneBit(entries - 1) * 2 / BUCKET_ENTRIES; // rte_align32pow2(entries) / 8
        this.bucketMask = numBuckets - 1;
        int totalBuckets = (flags & F_EXT_TABLE) != 0 ? 2 * numBuckets : numBuckets;
        this.arena = Arena.ofShared();
        this.buckets = arena.allocate((long) totalBuckets * BKT_SIZE, 64);
        this.keys = arena.allocate((long) (entries + 1) * entrySize, 64);
        this.ctl = arena.allocate(256, 128);
        this.freeSlots = new int[Integer.highestOneBit(entries - 1) * 2];
        this.freeMask = freeSlots.length - 1;
        this.slotState = new byte[entries + 1];
        this.freeExt = new int[(flags & F_EXT_TABLE) != 0 ? numBuckets : 0];
        this.visited = new int[numBuckets];
        fillFreeLists();
    }

    /** A table with CRC32C hashing (seed 0) and no flags: {@code create(name, entries, keyLen, HashFunction.CRC32C, 0, 0)}. */
    public static Hash create(String name, int entries, int keyLen) {
        return create(name, entries, keyLen, HashFunction.CRC32C, 0, 0);
    }

    /**
     * rte_hash_create: a table for up to {@code entries} keys of {@code keyLen} bytes.
     *
     * @param name     1 to {@value #NAME_MAX} characters, unique among open tables
     * @param entries  {@value #BUCKET_ENTRIES} to {@value #ENTRIES_MAX}; buckets = next power of two / 8
     * @param keyLen   1 to {@value #KEY_LEN_MAX} bytes
     * @param hashFunc the hash ({@link HashFunction#CRC32C}, {@link HashFunction#JHASH} or your own)
     * @param initVal  the seed passed to {@code hashFunc}
     * @param flags    0 or {@link #F_EXT_TABLE}, {@link #F_NO_FREE_ON_DEL}, {@link #F_RW_CONCURRENCY_LF}
     */
    public static Hash create(String name, int entries, int keyLen, HashFunction hashFunc, int initVal, int flags) {
        if (name == null || name.isEmpty() || name.length() > NAME_MAX) {
            throw new IllegalArgumentException("name: '" + name + "' must be 1 to " + NAME_MAX + " characters");
        }
        if (entries < BUCKET_ENTRIES || entries > ENTRIES_MAX) {
            throw new IllegalArgumentException("entries: " + entries + " must be " + BUCKET_ENTRIES + " to " + ENTRIES_MAX);
        }
        if (keyLen < 1 || keyLen > KEY_LEN_MAX) {
            throw new IllegalArgumentException("keyLen: " + keyLen + " must be 1 to " + KEY_LEN_MAX);
        }
        if (hashFunc == null) throw new IllegalArgumentException("hashFunc: null; use HashFunction.CRC32C or HashFunction.JHASH");
        if ((flags & ~FLAGS_KNOWN) != 0) {
            throw new IllegalArgumentException(String.format("flags: 0x%x has unknown bits 0x%x; allowed are F_EXT_TABLE, "
                    + "F_NO_FREE_ON_DEL, F_RW_CONCURRENCY_LF", flags, flags & ~FLAGS_KNOWN));
        }
        Hash h = new Hash(name, entries, keyLen, hashFunc, initVal, flags);
        if (TABLES.putIfAbsent(name, h) != null) {
            h.arena.close();
            throw new IllegalStateException("hash name '" + name + "' is already in use; close that table or pick another name");
        }
        return h;
    }

    /** rte_hash_find_existing: the open table named {@code name}, or null. */
    public static Hash findExisting(String name) {
        return TABLES.get(name);
    }

    /** rte_hash_free: releases the memory; later calls on this table throw IllegalStateException. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        TABLES.remove(name, this);
        arena.close();
    }

    public String name() { return name; }
    public int entries() { return entries; }
    public int keyLen() { return keyLen; }
    public int flags() { return flags; }
    public int bucketCount() { return numBuckets; }

    /** rte_hash_count: keys in the table (deleted keys awaiting {@link #freeKeyWithPosition} are not counted). Any thread. */
    public int count() {
        return (int) COUNT.getAcquire(this);
    }

    /** Cuckoo moves and ext-bucket unlinks so far (the change counter readers re-check); for tests. */
    int changeCount() {
        return (int) INT.getAcquire(ctl, (long) CNT_OFF);
    }

    /** rte_hash_hash: this table's hash of the key at {@code off}. */
    public int hash(MemorySegment key, long off) {
        checkKey(key, off);
        return hashFunc.hash(key, off, keyLen, initVal);
    }

    // ---------------------------------------------------------------- lookups (any thread)

    /** rte_hash_lookup: the key's position, or {@link #ENOENT}. Lock-free; allocates nothing. */
    public int lookup(MemorySegment key, long off) {
        checkKey(key, off);
        return position(find(key, off, hashFunc.hash(key, off, keyLen, initVal), null, 0));
    }

    public int lookup(byte[] key) {
        return lookup(heapKey(key), 0);
    }

    /** rte_hash_lookup_with_hash: as {@link #lookup} with the hash already computed ({@link #hash}). */
    public int lookupWithHash(MemorySegment key, long off, int hash) {
        checkKey(key, off);
        return position(find(key, off, hash, null, 0));
    }

    /**
     * rte_hash_lookup_data: the key's position, its value stored in {@code data[dataIdx]}; or
     * {@link #ENOENT}, {@code data} untouched. Lock-free; allocates nothing.
     */
    public int lookupData(MemorySegment key, long off, long[] data, int dataIdx) {
        checkKey(key, off);
        java.util.Objects.checkIndex(dataIdx, data.length);
        return position(find(key, off, hashFunc.hash(key, off, keyLen, initVal), data, dataIdx));
    }

    public int lookupData(byte[] key, long[] data, int dataIdx) {
        return lookupData(heapKey(key), 0, data, dataIdx);
    }

    /**
     * rte_hash_lookup_bulk: looks up {@code n} (0..{@value #LOOKUP_BULK_MAX}) keys laid out in
     * {@code keys} at {@code off}, {@code off + stride}, ...; {@code positions[i]} gets key i's
     * position or {@link #ENOENT}. Returns the hit mask (bit i set if key i was found). Hashes all
     * keys first, then reads all their buckets, then compares keys, so the cache misses of
     * different keys overlap. Lock-free; allocates nothing after the thread's first call.
     */
    public long lookupBulk(MemorySegment keys, long off, long stride, int n, int[] positions) {
        checkBulk(keys, off, stride, n, positions.length);
        return bulk(keys, off, stride, n, positions, null);
    }

    /**
     * rte_hash_lookup_bulk_data: as {@link #lookupBulk}, storing key i's value in {@code data[i]}
     * for each hit ({@code data[i]} of a miss is untouched). Returns the hit mask; its bit count
     * is the number of hits.
     */
    public long lookupBulkData(MemorySegment keys, long off, long stride, int n, long[] data) {
        checkBulk(keys, off, stride, n, data.length);
        return bulk(keys, off, stride, n, null, data);
    }

    private static int position(int idx) {
        return idx == 0 ? ENOENT : idx - 1;
    }

    /** The key index (position + 1) of the key, or 0; the value goes to {@code data[di]} on a hit if data is non-null. */
    private int find(MemorySegment key, long off, int hash, long[] data, int di) {
        int sig = hash >>> 16;
        int prim = hash & bucketMask, sec = (prim ^ sig) & bucketMask;
        long pattern = sig * SIG_LANES;
        for (;;) {
            int before = (int) INT.getAcquire(ctl, (long) CNT_OFF);                 // A3
            int idx = searchBucket(key, off, pattern, prim, data, di);
            if (idx != 0) return idx;
            idx = searchChain(key, off, pattern, sec, data, di);
            if (idx != 0) return idx;
            VarHandle.loadLoadFence();                                             // the scans stay before the re-read
            if ((int) INT.getAcquire(ctl, (long) CNT_OFF) == before) return 0;     // no entry moved under us: a true miss
        }
    }

    private int searchChain(MemorySegment key, long off, long pattern, int b, long[] data, int di) {
        for (;;) {
            int idx = searchBucket(key, off, pattern, b, data, di);
            if (idx != 0) return idx;
            b = (int) INT.getAcquire(buckets, (long) b * BKT_SIZE + BKT_NEXT);
            if (b == 0) return 0;
        }
    }

    private int searchBucket(MemorySegment key, long off, long pattern, int b, long[] data, int di) {
        long base = (long) b * BKT_SIZE;
        int m = sigMatch(buckets.get(ValueLayout.JAVA_LONG, base), pattern)
                | sigMatch(buckets.get(ValueLayout.JAVA_LONG, base + 8), pattern) << 4;
        while (m != 0) {
            int i = Integer.numberOfTrailingZeros(m);
            m &= m - 1;
            long at = base + BKT_KEY_IDX + 4L * i;
            int idx = (int) INT.getAcquire(buckets, at);                          // A1 pairs with R1
            if (idx != 0 && matchSlot(key, off, idx, at, data, di)) return idx;
        }
        return 0;
    }

    /** A 4-bit mask of the 16-bit lanes of {@code word} equal to the signature repeated in {@code pattern}. */
    static int sigMatch(long word, long pattern) {
        long x = word ^ pattern;
        long z = ~(((x & LOW15) + LOW15) | x | LOW15);                           // bit 15 of each zero lane
        return (int) (((z >>> 15) & 1) | ((z >>> 30) & 2) | ((z >>> 45) & 4) | ((z >>> 60) & 8));
    }

    /** True if key-store slot {@code idx} stably holds the key and bucket entry {@code at} still points to it. */
    private boolean matchSlot(MemorySegment key, long off, int idx, long at, long[] data, int di) {
        long e = (long) idx * entrySize;
        int seq = (int) INT.getAcquire(keys, e + KE_SEQ);                          // A2 pairs with R2
        if ((seq & 1) != 0 || !keyEquals(key, off, e + KE_KEY)) return false;
        long value = (long) LONG.getAcquire(keys, e + KE_DATA);                    // pairs with R3
        VarHandle.loadLoadFence();
        if ((int) INT.get(keys, e + KE_SEQ) != seq || (int) INT.get(buckets, at) != idx) return false;
        if (data != null) data[di] = value;
        return true;
    }

    private boolean keyEquals(MemorySegment key, long off, long k) {
        MemorySegment ks = keys;
        int n = keyLen, i = 0;
        for (; i <= n - 8; i += 8) if (key.get(LONG_U, off + i) != ks.get(LONG_U, k + i)) return false;
        if (i <= n - 4) {
            if (key.get(INT_U, off + i) != ks.get(INT_U, k + i)) return false;
            i += 4;
        }
        for (; i < n; i++) if (key.get(ValueLayout.JAVA_BYTE, off + i) != ks.get(ValueLayout.JAVA_BYTE, k + i)) return false;
        return true;
    }

    private long bulk(MemorySegment keys, long off, long stride, int n, int[] positions, long[] data) {
        long[] h = SCRATCH.get();
        // Step 1: hash every key.
        for (int i = 0; i < n; i++) h[i] = hashFunc.hash(keys, off + i * stride, keyLen, initVal) & 0xffff_ffffL;
        // Step 1b: load one word of both buckets of every key, in a loop with nothing else in it.
        // Java has no prefetch, and a load that misses holds up retirement, so the number of misses
        // in flight is what fits in the CPU's reorder window: a few keys of step 2's body, most of
        // the burst of this one. Step 2 then finds the lines arriving (bulk of 16, 2^19 entries,
        // 4 KiB pages: 171 -> 110 ns per key, interleaved in one JVM).
        {
            long t0 = 0;
            MemorySegment bk = buckets;
            int mask = bucketMask;
            for (int i = 0; i < n; i++) {
                int hash = (int) h[i];
                int prim = hash & mask, sec = (prim ^ (hash >>> 16)) & mask;
                t0 += bk.get(ValueLayout.JAVA_LONG, (long) prim * BKT_SIZE) + bk.get(ValueLayout.JAVA_LONG, (long) sec * BKT_SIZE);
            }
            h[LOOKUP_BULK_MAX] = t0;
        }
        long hits = 0, todo = n == 64 ? -1L : (1L << n) - 1;
        for (;;) {
            int before = (int) INT.getAcquire(ctl, (long) CNT_OFF);                // A3
            // Step 2: compare signatures in both buckets of every key.
            for (long t = todo; t != 0; t &= t - 1) {
                int i = Long.numberOfTrailingZeros(t);
                int hash = (int) h[i], sig = hash >>> 16;
                int prim = hash & bucketMask, sec = (prim ^ sig) & bucketMask;
                long pattern = sig * SIG_LANES, pb = (long) prim * BKT_SIZE, sb = (long) sec * BKT_SIZE;
                long pm = sigMatch(buckets.get(ValueLayout.JAVA_LONG, pb), pattern)
                        | sigMatch(buckets.get(ValueLayout.JAVA_LONG, pb + 8), pattern) << 4;
                long sm = sigMatch(buckets.get(ValueLayout.JAVA_LONG, sb), pattern)
                        | sigMatch(buckets.get(ValueLayout.JAVA_LONG, sb + 8), pattern) << 4;
                h[i] = (hash & 0xffff_ffffL) | pm << 32 | sm << 40;
            }
            // Step 2b: touch the key-store slot of each key's first signature hit, so those cache
            // misses overlap too (DPDK prefetches them); the sums keep the loads from being dropped.
            int touched = 0;
            for (long t = todo; t != 0; t &= t - 1) {
                int i = Long.numberOfTrailingZeros(t);
                long v = h[i];
                int pm = (int) (v >>> 32) & 0xff;
                if (pm == 0) continue;
                long at = (long) ((int) v & bucketMask) * BKT_SIZE + BKT_KEY_IDX + 4L * Integer.numberOfTrailingZeros(pm);
                touched += this.keys.get(ValueLayout.JAVA_INT, (long) buckets.get(ValueLayout.JAVA_INT, at) * entrySize + KE_SEQ);
            }
            h[LOOKUP_BULK_MAX] += touched;
            // Step 3: compare keys for the signature hits, walk chains for the rest.
            for (long t = todo; t != 0; t &= t - 1) {
                int i = Long.numberOfTrailingZeros(t);
                long v = h[i];
                int hash = (int) v, sig = hash >>> 16;
                int prim = hash & bucketMask, sec = (prim ^ sig) & bucketMask;
                long ko = off + i * stride;
                int idx = matchMask(keys, ko, (int) (v >>> 32) & 0xff, prim, data, i);
                if (idx == 0) idx = matchMask(keys, ko, (int) (v >>> 40) & 0xff, sec, data, i);
                if (idx == 0 && buckets.get(ValueLayout.JAVA_INT, (long) sec * BKT_SIZE + BKT_NEXT) != 0) {
                    int next = (int) INT.getAcquire(buckets, (long) sec * BKT_SIZE + BKT_NEXT);
                    if (next != 0) idx = searchChain(keys, ko, sig * SIG_LANES, next, data, i);
                }
                if (idx != 0) {
                    hits |= 1L << i;
                    todo &= ~(1L << i);
                    if (positions != null) positions[i] = idx - 1;
                }
            }
            VarHandle.loadLoadFence();
            if (todo == 0 || (int) INT.getAcquire(ctl, (long) CNT_OFF) == before) break;
        }
        if (positions != null) for (long t = todo; t != 0; t &= t - 1) positions[Long.numberOfTrailingZeros(t)] = ENOENT;
        return hits;
    }

    private int matchMask(MemorySegment key, long off, int m, int b, long[] data, int di) {
        long base = (long) b * BKT_SIZE;
        while (m != 0) {
            int i = Integer.numberOfTrailingZeros(m);
            m &= m - 1;
            long at = base + BKT_KEY_IDX + 4L * i;
            int idx = (int) INT.getAcquire(buckets, at);                           // A1
            if (idx != 0 && matchSlot(key, off, idx, at, data, di)) return idx;
        }
        return 0;
    }

    // ---------------------------------------------------------------- writer

    /** rte_hash_add_key: {@link #add(MemorySegment, long, long)} with value 0. */
    public int add(MemorySegment key, long off) {
        return add(key, off, 0L);
    }

    /**
     * rte_hash_add_key_data: adds the key with {@code value}, or updates the value of a key already
     * present (atomically for readers). Returns the key's position (0 .. entries-1), stable until it
     * is deleted, or {@link #ENOSPC}. Writer thread only; allocates nothing.
     */
    public int add(MemorySegment key, long off, long value) {
        checkKey(key, off);
        return addWithHash(key, off, hashFunc.hash(key, off, keyLen, initVal), value);
    }

    public int add(byte[] key, long value) {
        return add(heapKey(key), 0, value);
    }

    /** rte_hash_add_key_with_hash_data: as {@link #add(MemorySegment, long, long)} with the hash already computed. */
    public int addWithHash(MemorySegment key, long off, int hash, long value) {
        checkKey(key, off);
        checkOpen();
        int sig = hash >>> 16;
        int prim = hash & bucketMask, sec = (prim ^ sig) & bucketMask;
        long pattern = sig * SIG_LANES;
        int idx = searchBucket(key, off, pattern, prim, null, 0);
        if (idx == 0) idx = searchChain(key, off, pattern, sec, null, 0);
        if (idx != 0) {
            LONG.setRelease(keys, (long) idx * entrySize + KE_DATA, value);       // R3
            return idx - 1;
        }
        if (freeCount == 0) return ENOSPC;
        idx = takeFreeSlot();
        writeSlot(idx, key, off, value);
        if (insertIntoBucket(prim, sig, idx) || makeSpace(prim, sig, idx) || makeSpace(sec, sig, idx)
                || ((flags & F_EXT_TABLE) != 0 && insertInExt(sec, sig, idx))) {
            slotState[idx] = USED;
            COUNT.setRelease(this, (int) COUNT.get(this) + 1);
            return idx - 1;
        }
        putFreeSlot(idx);
        return ENOSPC;
    }

    /** rte_hash_del_key: removes the key; returns the position it had, or {@link #ENOENT}. Writer thread only. */
    public int delete(MemorySegment key, long off) {
        checkKey(key, off);
        return deleteWithHash(key, off, hashFunc.hash(key, off, keyLen, initVal));
    }

    public int delete(byte[] key) {
        return delete(heapKey(key), 0);
    }

    /** rte_hash_del_key_with_hash. */
    public int deleteWithHash(MemorySegment key, long off, int hash) {
        checkKey(key, off);
        checkOpen();
        int sig = hash >>> 16;
        int prim = hash & bucketMask, sec = (prim ^ sig) & bucketMask;
        long pattern = sig * SIG_LANES;
        int b = prim, slot = locate(key, off, pattern, prim);
        if (slot < 0) {
            b = sec;                                  // then sec and its chain (ext buckets are never bucket 0)
            while ((slot = locate(key, off, pattern, b)) < 0 && (b = next(b)) != 0) {
                // next bucket of the chain
            }
            if (slot < 0) return ENOENT;
        }
        long at = (long) b * BKT_SIZE;
        int idx = buckets.get(ValueLayout.JAVA_INT, at + BKT_KEY_IDX + 4L * slot);
        buckets.set(ValueLayout.JAVA_SHORT, at + BKT_SIG + 2L * slot, (short) 0);
        INT.setRelease(buckets, at + BKT_KEY_IDX + 4L * slot, 0);
        if (b >= numBuckets && isEmpty(b)) unlinkExt(sec, b);
        COUNT.setRelease(this, (int) COUNT.get(this) - 1);
        if ((flags & F_NO_FREE_ON_DEL) != 0) {
            slotState[idx] = PENDING;
        } else {
            putFreeSlot(idx);
        }
        return idx - 1;
    }

    /**
     * rte_hash_free_key_with_position: with {@link #F_NO_FREE_ON_DEL}, makes a deleted key's
     * position reusable; call it when no reader can still use the position. Returns 0, or
     * {@link #EINVAL} if the position holds no deleted key awaiting this call. Writer thread only.
     */
    public int freeKeyWithPosition(int position) {
        checkPosition(position);
        checkOpen();
        int idx = position + 1;
        if (slotState[idx] != PENDING) return EINVAL;
        putFreeSlot(idx);
        return 0;
    }

    /** rte_hash_reset: empties the table. Writer thread only, with no reader running (as in DPDK). */
    public void reset() {
        checkOpen();
        buckets.fill((byte) 0);
        keys.fill((byte) 0);
        changeCount = 0;
        INT.setRelease(ctl, (long) CNT_OFF, 0);
        java.util.Arrays.fill(slotState, FREE);
        COUNT.setRelease(this, 0);
        fillFreeLists();
    }

    // ---------------------------------------------------------------- iteration and positions (writer thread)

    /**
     * rte_hash_iterate: the first position at or after {@code next} holding a key, or
     * {@link #ENOENT} when there is none; continue from the returned position + 1. Read the
     * entry with {@link #keyAt} and {@link #dataAt}. Writer thread only (DPDK's contract too).
     */
    public int iterate(int next) {
        if (next < 0) throw new IllegalArgumentException("next: " + next + " must be 0 or a position + 1");
        for (int idx = next + 1; idx <= entries; idx++) if (slotState[idx] == USED) return idx - 1;
        return ENOENT;
    }

    /** rte_hash_get_key_with_position: copies the key at {@code position} to {@code dst}; 0, or {@link #ENOENT} if no key is there. */
    public int keyAt(int position, MemorySegment dst, long dstOff) {
        checkPosition(position);
        if (slotState[position + 1] != USED) return ENOENT;
        MemorySegment.copy(keys, (long) (position + 1) * entrySize + KE_KEY, dst, dstOff, keyLen);
        return 0;
    }

    /** The value of the key at {@code position} (0 if none). */
    public long dataAt(int position) {
        checkPosition(position);
        return (long) LONG.getAcquire(keys, (long) (position + 1) * entrySize + KE_DATA);
    }

    // ---------------------------------------------------------------- writer internals

    /** Bucket slot (0..7) of the key in bucket b, or -1; writer only (plain reads). */
    private int locate(MemorySegment key, long off, long pattern, int b) {
        long base = (long) b * BKT_SIZE;
        int m = sigMatch(buckets.get(ValueLayout.JAVA_LONG, base), pattern)
                | sigMatch(buckets.get(ValueLayout.JAVA_LONG, base + 8), pattern) << 4;
        while (m != 0) {
            int i = Integer.numberOfTrailingZeros(m);
            m &= m - 1;
            int idx = buckets.get(ValueLayout.JAVA_INT, base + BKT_KEY_IDX + 4L * i);
            if (idx != 0 && keyEquals(key, off, (long) idx * entrySize + KE_KEY)) return i;
        }
        return -1;
    }

    private int next(int b) {
        return buckets.get(ValueLayout.JAVA_INT, (long) b * BKT_SIZE + BKT_NEXT);
    }

    /** Fills slot idx: seq odd, fence, key and value, seq even with release (R2). */
    private void writeSlot(int idx, MemorySegment key, long off, long value) {
        long e = (long) idx * entrySize;
        int seq = keys.get(ValueLayout.JAVA_INT, e + KE_SEQ);
        INT.setOpaque(keys, e + KE_SEQ, seq + 1);
        VarHandle.storeStoreFence();
        MemorySegment.copy(key, off, keys, e + KE_KEY, keyLen);
        LONG.setRelease(keys, e + KE_DATA, value);
        INT.setRelease(keys, e + KE_SEQ, seq + 2);                                  // R2
    }

    private int firstEmpty(int b) {
        long base = (long) b * BKT_SIZE + BKT_KEY_IDX;
        for (int i = 0; i < BUCKET_ENTRIES; i++) if (buckets.get(ValueLayout.JAVA_INT, base + 4L * i) == 0) return i;
        return -1;
    }

    private boolean isEmpty(int b) {
        long base = (long) b * BKT_SIZE + BKT_KEY_IDX;
        for (int i = 0; i < BUCKET_ENTRIES; i++) if (buckets.get(ValueLayout.JAVA_INT, base + 4L * i) != 0) return false;
        return true;
    }

    /** Publishes (sig, idx) in slot i of bucket b: the signature, then the index with release (R1). */
    private void publish(int b, int i, int sig, int idx) {
        long base = (long) b * BKT_SIZE;
        buckets.set(ValueLayout.JAVA_SHORT, base + BKT_SIG + 2L * i, (short) sig);
        INT.setRelease(buckets, base + BKT_KEY_IDX + 4L * i, idx);
    }

    private boolean insertIntoBucket(int b, int sig, int idx) {
        int i = firstEmpty(b);
        if (i < 0) return false;
        publish(b, i, sig, idx);
        return true;
    }

    /** Bumps the change counter before an entry is overwritten, fenced so readers see it first. */
    private void bumpChangeCount() {
        INT.setRelease(ctl, (long) CNT_OFF, ++changeCount);
        VarHandle.storeStoreFence();
    }

    /**
     * rte_hash_cuckoo_make_space_mw: breadth-first search from bucket {@code start} for a bucket
     * with a free slot, each step following one entry to its alternative bucket (visited buckets
     * are skipped, so a path never crosses itself); then moves the entries along the path, last
     * first, and puts the new entry in {@code start}. False if no bucket within the limit is free.
     */
    private boolean makeSpace(int start, int sig, int idx) {
        if (++epoch == 0) {
            java.util.Arrays.fill(visited, 0);
            epoch = 1;
        }
        int head = 0, tail = 1;
        bfsBucket[0] = start;
        bfsParent[0] = -1;
        visited[start] = epoch;
        while (head < tail) {
            int node = head++, b = bfsBucket[node];
            int free = firstEmpty(b);
            if (free >= 0) {
                moveAlongPath(node, free, sig, idx);
                return true;
            }
            if (tail > BFS_QUEUE_MAX_LEN - BUCKET_ENTRIES) continue;
            long base = (long) b * BKT_SIZE;
            for (int i = 0; i < BUCKET_ENTRIES; i++) {
                int s = buckets.get(ValueLayout.JAVA_SHORT, base + BKT_SIG + 2L * i) & 0xffff;
                int alt = (b ^ s) & bucketMask;
                if (visited[alt] == epoch) continue;
                visited[alt] = epoch;
                bfsBucket[tail] = alt;
                bfsParent[tail] = node;
                bfsSlot[tail] = i;
                tail++;
            }
        }
        return false;
    }

    /** rte_hash_cuckoo_move_insert_mw: copy each entry forward (it is then in two buckets), bump, overwrite its old place. */
    private void moveAlongPath(int node, int freeSlot, int sig, int idx) {
        int toB = bfsBucket[node], toS = freeSlot;
        boolean overwrite = false;
        while (bfsParent[node] >= 0) {
            int fromB = bfsBucket[bfsParent[node]], fromS = bfsSlot[node];
            long from = (long) fromB * BKT_SIZE;
            int movedSig = buckets.get(ValueLayout.JAVA_SHORT, from + BKT_SIG + 2L * fromS) & 0xffff;
            int movedIdx = buckets.get(ValueLayout.JAVA_INT, from + BKT_KEY_IDX + 4L * fromS);
            if (overwrite) bumpChangeCount();
            publish(toB, toS, movedSig, movedIdx);
            overwrite = true;
            toB = fromB;
            toS = fromS;
            node = bfsParent[node];
        }
        if (overwrite) bumpChangeCount();
        publish(toB, toS, sig, idx);
    }

    /** Puts the entry in the first free slot of sec's extendable chain, linking a new bucket if all are full. */
    private boolean insertInExt(int sec, int sig, int idx) {
        int last = sec;
        for (int b = next(sec); b != 0; b = next(b)) {
            if (insertIntoBucket(b, sig, idx)) return true;
            last = b;
        }
        if (freeExtTop == 0) return false;
        int e = freeExt[--freeExtTop];
        buckets.set(ValueLayout.JAVA_INT, (long) e * BKT_SIZE + BKT_NEXT, 0);
        publish(e, 0, sig, idx);
        INT.setRelease(buckets, (long) last * BKT_SIZE + BKT_NEXT, e);
        return true;
    }

    /** Unlinks the emptied ext bucket e from sec's chain and frees it; readers still inside it retry (counter bumped). */
    private void unlinkExt(int sec, int e) {
        int prev = sec;
        while (next(prev) != e) prev = next(prev);
        INT.setRelease(buckets, (long) prev * BKT_SIZE + BKT_NEXT, next(e));
        bumpChangeCount();
        freeExt[freeExtTop++] = e;
    }

    private int takeFreeSlot() {
        int idx = freeSlots[freeHead++ & freeMask];
        freeCount--;
        return idx;
    }

    private void putFreeSlot(int idx) {
        slotState[idx] = FREE;
        freeSlots[freeTail++ & freeMask] = idx;
        freeCount++;
    }

    private void fillFreeLists() {
        freeHead = freeTail = freeCount = 0;
        for (int i = 1; i <= entries; i++) putFreeSlot(i);
        freeExtTop = 0;
        for (int i = 2 * numBuckets - 1; freeExt.length > 0 && i >= numBuckets; i--) freeExt[freeExtTop++] = i;
    }

    // ---------------------------------------------------------------- checks

    private void checkKey(MemorySegment key, long off) {
        if (off < 0 || off > key.byteSize() - keyLen) badKey(key, off);
    }

    private void badKey(MemorySegment key, long off) {
        throw new IllegalArgumentException("key: " + keyLen + " bytes at offset " + off + " do not fit in a segment of "
                + key.byteSize() + " bytes (hash '" + name + "')");
    }

    /** The byte[] key copied into this thread's scratch segment. */
    private MemorySegment heapKey(byte[] key) {
        if (key.length != keyLen) {
            throw new IllegalArgumentException("key: byte[" + key.length + "] must have keyLen " + keyLen + " bytes (hash '" + name + "')");
        }
        MemorySegment s = KEY_SCRATCH.get();
        MemorySegment.copy(key, 0, s, ValueLayout.JAVA_BYTE, 0, keyLen);
        return s;
    }

    private void checkBulk(MemorySegment keys, long off, long stride, int n, int outLen) {
        if (n < 0 || n > LOOKUP_BULK_MAX) {
            throw new IllegalArgumentException("n: " + n + " must be 0 to " + LOOKUP_BULK_MAX);
        }
        if (outLen < n) throw new IllegalArgumentException("output array: length " + outLen + " is shorter than n " + n);
        if (stride < 0) throw new IllegalArgumentException("stride: " + stride + " must be 0 or more");
        if (n > 0) checkKey(keys, off);
        if (n > 1 && off + (n - 1) * stride > keys.byteSize() - keyLen) badKey(keys, off + (n - 1) * stride);
    }

    private void checkPosition(int position) {
        if (position < 0 || position >= entries) {
            throw new IllegalArgumentException("position: " + position + " must be 0 to " + (entries - 1) + " (hash '" + name + "')");
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("hash '" + name + "' is closed");
    }

    @Override
    public String toString() {
        return "Hash[" + name + ", entries=" + entries + ", keyLen=" + keyLen + ", buckets=" + numBuckets + ", count=" + count() + "]";
    }
}
