package org.jpdk.lpm;

import java.util.Arrays;

/**
 * The rules of an {@link Lpm} or {@link Lpm6}: prefix (a 128-bit masked address as two longs, and
 * a depth) to next hop, what DPDK keeps in {@code rules_tbl} (IPv4) or an {@code rte_hash} (IPv6).
 * The lookup tables only say which next hop wins for an address; this table remembers every rule,
 * so a delete can find the next less specific rule to take over. DPDK's IPv4 table is an array
 * grouped by depth with a linear search per depth (a million /24 routes cost it some 370,000 cycles
 * per add); this is an open-addressing hash with linear probing and backward-shift deletion, so add,
 * delete and find are O(1). It grows by doubling up to the capacity {@code maxRules} needs.
 * Writer-only: readers of the LPM never touch it. Not thread-safe.
 */
final class RuleTable {
    private static final int MIN_CAPACITY = 64;

    private final int maxRules;
    private long[] hi;
    private long[] lo;
    private short[] depth; // 0: empty slot
    private int[] nextHop;
    private int mask;
    private int size;

    RuleTable(int maxRules) {
        this.maxRules = maxRules;
        allocate(MIN_CAPACITY);
    }

    int size() {
        return size;
    }

    int maxRules() {
        return maxRules;
    }

    /** The next hop of rule (hi, lo)/d, or -1 if there is no such rule. */
    int find(long h, long l, int d) {
        for (int i = slot(h, l, d); ; i = (i + 1) & mask) {
            int sd = depth[i];
            if (sd == 0) return -1;
            if (sd == d && hi[i] == h && lo[i] == l) return nextHop[i];
        }
    }

    /**
     * Adds the rule or replaces its next hop. Returns the previous next hop, -1 if the rule is new,
     * or -2 (nothing changed) if it is new and the table already holds {@code maxRules} rules.
     */
    int put(long h, long l, int d, int nh) {
        int i = slot(h, l, d);
        for (; depth[i] != 0; i = (i + 1) & mask) {
            if (depth[i] == d && hi[i] == h && lo[i] == l) {
                int old = nextHop[i];
                nextHop[i] = nh;
                return old;
            }
        }
        if (size >= maxRules) return -2;
        if ((size + 1) * 4L > (mask + 1) * 3L) {
            grow();
            i = slot(h, l, d);
            while (depth[i] != 0) i = (i + 1) & mask;
        }
        hi[i] = h;
        lo[i] = l;
        depth[i] = (short) d;
        nextHop[i] = nh;
        size++;
        return -1;
    }

    /** Removes the rule; returns its next hop, or -1 if there was no such rule. */
    int remove(long h, long l, int d) {
        int i = slot(h, l, d);
        for (; ; i = (i + 1) & mask) {
            if (depth[i] == 0) return -1;
            if (depth[i] == d && hi[i] == h && lo[i] == l) break;
        }
        int old = nextHop[i];
        // Backward shift: pull later members of the probe run into the hole so no tombstone is needed.
        for (int j = (i + 1) & mask; depth[j] != 0; j = (j + 1) & mask) {
            int home = slot(hi[j], lo[j], depth[j]);
            // Move j into hole i unless j's home lies cyclically in (i, j].
            boolean homeBetween = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!homeBetween) {
                hi[i] = hi[j];
                lo[i] = lo[j];
                depth[i] = depth[j];
                nextHop[i] = nextHop[j];
                i = j;
            }
        }
        depth[i] = 0;
        size--;
        return old;
    }

    void clear() {
        if (mask + 1 > MIN_CAPACITY) {
            allocate(MIN_CAPACITY);
        } else {
            Arrays.fill(depth, (short) 0);
        }
        size = 0;
    }

    private void grow() {
        long[] oh = hi, ol = lo;
        short[] od = depth;
        int[] on = nextHop;
        allocate((mask + 1) * 2);
        for (int k = 0; k < od.length; k++) {
            if (od[k] == 0) continue;
            int i = slot(oh[k], ol[k], od[k]);
            while (depth[i] != 0) i = (i + 1) & mask;
            hi[i] = oh[k];
            lo[i] = ol[k];
            depth[i] = od[k];
            nextHop[i] = on[k];
        }
    }

    private void allocate(int capacity) {
        hi = new long[capacity];
        lo = new long[capacity];
        depth = new short[capacity];
        nextHop = new int[capacity];
        mask = capacity - 1;
    }

    private int slot(long h, long l, int d) {
        long x = (h * 0x9E3779B97F4A7C15L) ^ (l + d) * 0xC2B2AE3D27D4EB4FL;
        x ^= x >>> 29;
        x *= 0xBF58476D1CE4E5B9L;
        return (int) (x ^ (x >>> 32)) & mask;
    }
}
