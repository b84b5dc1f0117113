package org.jpdk.mempool;

/** 128 bytes before the fields, so the previous object on the heap never shares their line. */
abstract class MempoolCachePadLeft {
    long p00, p01, p02, p03, p04, p05, p06, p07; // 64
    long p08, p09, p10, p11, p12, p13, p14, p15; // 128
}

/** The fields one lcore writes: the stack depth and its statistics. */
abstract class MempoolCacheFields extends MempoolCachePadLeft {
    int len;                  // objects on the stack now; objs[len-1] is the hottest
    long getSuccessObjs;      // objects handed out
    long getSuccessBulks;     // get calls that succeeded
    long getFailObjs;         // objects asked for by calls that failed
    long getFailBulks;        // get calls that failed
    long putObjs;             // objects given back
    long putBulks;            // put calls
}

/**
 * One lcore's cache of free objects for one {@link Mempool}: a LIFO stack, so the object freed
 * last (still warm in this core's L1/L2) is the next one handed out, as DPDK's
 * {@code rte_mempool_cache}. It also holds that lcore's statistics.
 *
 * <p>Thread contract: a cache has exactly one user at a time, the lcore it belongs to or a thread
 * that took it explicitly with {@link Mempool#defaultCache(int)} on that lcore's behalf. Other
 * threads only read {@link #len()} and the statistics (racy snapshots, as DPDK's dump). The
 * object is padded by inheritance (128 bytes each side) so two lcores' caches never share a
 * cache line; the stack array is a separate object written only by the owner.
 */
public final class MempoolCache extends MempoolCacheFields {
    long q00, q01, q02, q03, q04, q05, q06, q07; // 64
    long q08, q09, q10, q11, q12, q13, q14, q15; // 128

    final Mempool<?> pool;    // the pool this cache serves
    final int size;           // objects kept after a flush, 0..Mempool.CACHE_MAX_SIZE
    final int flushThreshold; // put flushes when the stack grows above this (size * 3 / 2)
    final Object[] objs;      // the stack, typed T[] by the pool; room for threshold + size
    final Object[] scratch;   // one slot: lets a single get run as a bulk get of 1 without allocating

    MempoolCache(Mempool<?> pool, int size, Object[] objs, Object[] scratch) {
        this.pool = pool;
        this.size = size;
        this.flushThreshold = size * 3 / 2;
        this.objs = objs;
        this.scratch = scratch;
    }

    /** The pool this cache belongs to. */
    public Mempool<?> pool() {
        return pool;
    }

    /** The configured size: the depth a flush leaves and a refill reaches. */
    public int size() {
        return size;
    }

    /** The depth above which a put flushes (1.5 x size, as DPDK's CALC_CACHE_FLUSHTHRESH). */
    public int flushThreshold() {
        return flushThreshold;
    }

    /** Objects in the cache now (a racy snapshot when read by another thread). */
    public int len() {
        return len;
    }

    public long getSuccessObjs() {
        return getSuccessObjs;
    }

    public long getSuccessBulks() {
        return getSuccessBulks;
    }

    public long getFailObjs() {
        return getFailObjs;
    }

    public long getFailBulks() {
        return getFailBulks;
    }

    public long putObjs() {
        return putObjs;
    }

    public long putBulks() {
        return putBulks;
    }
}
