package org.jpdk.eal;

/**
 * Logical cores: the threads the EAL owns, one per CPU it was given, as DPDK's {@code rte_lcore}.
 * {@link #id()} is cheap enough for every fast path (per-lcore caches index by it).
 */
public final class Lcore {
    /** The largest number of lcores, as RTE_MAX_LCORE. Per-lcore arrays are this long. */
    public static final int MAX = 128;
    /** The id returned on a thread that is not an lcore (LCORE_ID_ANY). */
    public static final int ID_ANY = -1;

    private Lcore() {
    }

    /** The lcore id of the calling thread, or {@link #ID_ANY} if it is not an EAL thread. */
    public static int id() {
        return Thread.currentThread() instanceof LcoreThread t ? t.lcoreId() : ID_ANY;
    }
}
