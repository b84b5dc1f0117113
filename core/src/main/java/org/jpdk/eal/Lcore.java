package org.jpdk.eal;

/**
 * Logical cores: the threads the EAL owns, one per CPU it was given, as DPDK's {@code rte_lcore}.
 * {@link #id()} is cheap enough for every fast path (per-lcore caches index by it): on an
 * {@link LcoreThread} it is a type check and a field load; elsewhere one more reference compare
 * against the thread that called {@link Eal#init}, which is the main lcore, as in DPDK.
 */
public final class Lcore {
    /** The largest number of lcores, as RTE_MAX_LCORE. Per-lcore arrays are this long. */
    public static final int MAX = 128;
    /** The id returned on a thread that is not an lcore (LCORE_ID_ANY). */
    public static final int ID_ANY = -1;

    // Plain fields: only the main thread ever compares equal, and it wrote them itself (program
    // order); any other thread that sees a stale value still gets ID_ANY, which is its right answer.
    private static Thread mainThread;
    private static int mainId = ID_ANY;

    private Lcore() {
    }

    /** The lcore id of the calling thread, or {@link #ID_ANY} if it is not an EAL thread. Allocates nothing. */
    public static int id() {
        Thread t = Thread.currentThread();
        if (t instanceof LcoreThread lt) return lt.lcoreId();
        return t == mainThread ? mainId : ID_ANY;
    }

    /** Makes {@code thread} the main lcore {@code id} (at init), or no thread (at cleanup: null, ID_ANY). */
    static void bindMain(Thread thread, int id) {
        mainId = id;
        mainThread = thread;
    }
}
