package org.jpdk.lpm;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;
import org.jpdk.eal.Memzone;
import org.jpdk.sys.Errno;

/**
 * IPv6 longest-prefix match as DPDK's {@code rte_lpm6}: a {@code tbl24} indexed by the first three
 * bytes of the address, then one 256-entry {@code tbl8} group per further byte a longer route
 * needs (up to 13 levels for a /128). Each entry is one 32-bit word packed as DPDK's
 * {@code rte_lpm6_tbl_entry}:
 * <pre>
 *   31  30  29  28        21 20                          0
 * +---+---+---+-------------+-----------------------------+
 * | X | - | V |    depth    | next hop, or tbl8 group (X) |
 * +---+---+---+-------------+-----------------------------+
 *  V: valid (RTE_LPM6_LOOKUP_SUCCESS)   X: ext_entry, the next byte is looked up in group
 * </pre>
 * A rule covers a range of entries in the table of the level where its depth ends; an entry there
 * that already points to a deeper group hands the rule down to every entry of that subtree whose
 * own rule is shorter. A delete gives the covered entries to the next less specific rule (found in
 * the {@link RuleTable}); groups that end up holding one route no longer than their parent's
 * prefix, or nothing, fold back into the parent entry, bottom up, and are recycled.
 *
 * <p>Memory, threads and ordering are as in {@link Lpm} (read its class comment): one writer and
 * any number of readers; new groups are filled, as copies of the entry they replace, before the
 * parent entry is published (release); a lookup whose tbl24 entry is extended walks the levels
 * with acquire loads between two reads of {@code reuseGen}, which the writer bumps before refilling
 * a freed group, and starts again if it moved. A lookup therefore sees each concurrent update
 * before or after, never a mix from a reused group. Lookups allocate nothing. Addresses are 16 bytes in network order, in a {@code byte[]}
 * or as two longs (the first eight bytes big-endian in {@code hi}, the last eight in {@code lo}).
 */
public final class Lpm6 extends LpmTables {
    /** RTE_LPM6_MAX_DEPTH. */
    public static final int MAX_DEPTH = 128;
    /** RTE_LPM6_TBL8_MAX_NUM_GROUPS: a group number must fit the entry's 21-bit field. */
    public static final int MAX_TBL8_NUM_GROUPS = 1 << 21;
    /** Next hops are 21 bits, as in rte_lpm6. */
    public static final int MAX_NEXT_HOP = (1 << 21) - 1;
    /** What a lookup returns (and lookupBulk writes) when no rule matches: DPDK's -1. */
    public static final int MISS = -1;
    /** Longest name: the memzone is called "LPM6_" + name, within {@link Memzone#NAMESIZE}. */
    public static final int MAX_NAME_LEN = Memzone.NAMESIZE - 1 - 5;

    static final int NEXT_HOP_MASK = 0x001FFFFF;
    static final int VALID = 0x20000000, EXT = 0x80000000, VALID_EXT = VALID | EXT;
    static final int DEPTH_SHIFT = 21, DEPTH_MASK = 0xFF;
    private static final int MAX_DEPTH_TBL24 = 24;
    /** Byte index (0..15) of the address each tbl8 level looks up: level 1 looks up byte 3. */
    private static final int FIRST_TBL8_BYTE = 3;

    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    /** Entry positions of the path walked by add/delete: pathPos[0] in tbl24, pathPos[k] in the level-k group. */
    private final long[] pathPos = new long[16];
    private Lpm6(String name, int socketId, int maxRules, int numberTbl8s) {
        super("LPM6", name, socketId, maxRules, numberTbl8s, MAX_TBL8_NUM_GROUPS);
    }

    /**
     * {@code rte_lpm6_create}: an empty table for at most {@code maxRules} rules with
     * {@code numberTbl8s} tbl8 groups, in EAL memory on {@code socketId}. Throws
     * IllegalArgumentException for a bad argument and IllegalStateException when the name is taken
     * or memory is short.
     */
    public static Lpm6 create(String name, int socketId, int maxRules, int numberTbl8s) {
        return new Lpm6(name, socketId, maxRules, numberTbl8s);
    }

    // ---------------------------------------------------------------- lookups (any thread)

    /** {@code rte_lpm6_lookup}: the next hop for the 16-byte address at {@code ip[off..]}, or {@link #MISS}. */
    public int lookup(byte[] ip, int off) {
        Objects.checkFromIndexSize(off, 16, ip.length);
        return lookup((long) LONG_BE.get(ip, off), (long) LONG_BE.get(ip, off + 8));
    }

    /** The next hop for address (hi, lo), or {@link #MISS}. Allocates nothing. */
    public int lookup(long hi, long lo) {
        int e = (int) ENTRY.get(tbl, 0L, hi >>> 40);
        if ((e & VALID_EXT) == VALID_EXT) e = resolveExt(hi, lo);
        return (e & VALID) != 0 ? e & NEXT_HOP_MASK : MISS;
    }

    /**
     * The ordered lookup, for an address whose tbl24 entry was seen extended: reuseGen, then each
     * level with acquire (pairs with the release that published the group), then reuseGen again
     * behind a LoadLoad fence; again from the top if a group was refilled meanwhile.
     */
    private int resolveExt(long hi, long lo) {
        for (; ; ) {
            int gen = reuseGenAcquire();
            int e = (int) ENTRY.getAcquire(tbl, 0L, hi >>> 40);
            for (int b = FIRST_TBL8_BYTE; (e & VALID_EXT) == VALID_EXT; b++) {
                long i = TBL24_NUM_ENTRIES + (long) (e & NEXT_HOP_MASK) * TBL8_GROUP_NUM_ENTRIES + byteAt(hi, lo, b);
                e = (int) ENTRY.getAcquire(tbl, 0L, i);
            }
            if (reuseGenUnchanged(gen)) return e;
        }
    }

    /**
     * {@code rte_lpm6_lookup_bulk_func}: looks up the {@code n} 16-byte addresses packed in
     * {@code ips} (address i at {@code ips[16 i]}), writing each next hop or {@link #MISS} to
     * {@code nextHops[i]}. Allocates nothing.
     */
    public void lookupBulk(byte[] ips, int[] nextHops, int n) {
        Objects.checkFromIndexSize(0, n, nextHops.length);
        Objects.checkFromIndexSize(0, 16L * n, ips.length);
        MemorySegment t = tbl;
        for (int i = 0, off = 0; i < n; i++, off += 16) {
            long hi = (long) LONG_BE.get(ips, off);
            int e = (int) ENTRY.get(t, 0L, hi >>> 40);
            if ((e & VALID_EXT) == VALID_EXT) e = resolveExt(hi, (long) LONG_BE.get(ips, off + 8));
            nextHops[i] = (e & VALID) != 0 ? e & NEXT_HOP_MASK : MISS;
        }
    }

    // ---------------------------------------------------------------- rules (the one writer)

    /** {@code rte_lpm6_add} for the 16-byte address at {@code ip[0..16)}; see {@link #add(long, long, int, int)}. */
    public int add(byte[] ip, int depth, int nextHop) {
        checkAddress(ip);
        return add((long) LONG_BE.get(ip, 0), (long) LONG_BE.get(ip, 8), depth, nextHop);
    }

    /**
     * {@code rte_lpm6_add}: routes {@code (hi, lo)/depth} (masked to the depth) to {@code nextHop},
     * or changes the next hop of that rule. Returns 0, or {@code -ENOSPC} with nothing changed when
     * the rule table is full or too few tbl8 groups are free.
     */
    public int add(long hi, long lo, int depth, int nextHop) {
        checkDepth("add", hi, lo, depth);
        if (nextHop < 0 || nextHop > MAX_NEXT_HOP) {
            throw new IllegalArgumentException("lpm6 add(" + name + ", " + toString(hi, lo) + "/" + depth + "): nextHop="
                    + nextHop + ": must be 0.." + MAX_NEXT_HOP + " (21 bits)");
        }
        long mh = hi & maskHi(depth), ml = lo & maskLo(depth);
        int level = levelOf(depth);
        if (groupsNeeded(mh, ml, level) > tbl8FreeCount()) return -Errno.ENOSPC;
        int old = rules.put(mh, ml, depth, nextHop);
        if (old == -2) return -Errno.ENOSPC;
        // Walk down, giving each level without a group one: a copy of the entry it replaces, so
        // publishing it (release) changes no lookup result.
        long pos = index24(mh);
        for (int k = 1; k <= level; k++) {
            int e = get(pos);
            if ((e & VALID_EXT) != VALID_EXT) {
                int g = tbl8Alloc();
                long base = groupBase(g);
                int copy = (e & VALID) != 0 ? e : 0;
                for (int j = 0; j < TBL8_GROUP_NUM_ENTRIES; j++) ENTRY.set(tbl, 0L, base + j, copy);
                ENTRY.setRelease(tbl, 0L, pos, VALID_EXT | g);
                e = VALID_EXT | g;
            }
            pos = groupBase(e & NEXT_HOP_MASK) + byteAt(mh, ml, FIRST_TBL8_BYTE + k - 1);
        }
        int entry = nextHop | VALID | depth << DEPTH_SHIFT;
        overwrite(pos, pos + (1L << (levelBits(level) - depth)), entry, depth);
        return 0;
    }

    /** New groups an add of a prefix ending at {@code level} needs along its path. */
    private int groupsNeeded(long hi, long lo, int level) {
        long pos = index24(hi);
        for (int k = 1; k <= level; k++) {
            int e = get(pos);
            if ((e & VALID_EXT) != VALID_EXT) return level - k + 1;
            pos = groupBase(e & NEXT_HOP_MASK) + byteAt(hi, lo, FIRST_TBL8_BYTE + k - 1);
        }
        return 0;
    }

    /**
     * Gives {@code entry} to every entry in [from, to), and in the subtrees below them, that is
     * invalid or holds a rule at most {@code depth} long.
     */
    private void overwrite(long from, long to, int entry, int depth) {
        for (long p = from; p < to; p++) {
            int e = get(p);
            if ((e & VALID_EXT) == VALID_EXT) {
                long base = groupBase(e & NEXT_HOP_MASK);
                overwrite(base, base + TBL8_GROUP_NUM_ENTRIES, entry, depth);
            } else if ((e & VALID) == 0 || depthOf(e) <= depth) {
                ENTRY.setRelease(tbl, 0L, p, entry);
            }
        }
    }

    /** {@code rte_lpm6_delete} for the 16-byte address at {@code ip[0..16)}; see {@link #delete(long, long, int)}. */
    public int delete(byte[] ip, int depth) {
        checkAddress(ip);
        return delete((long) LONG_BE.get(ip, 0), (long) LONG_BE.get(ip, 8), depth);
    }

    /**
     * {@code rte_lpm6_delete}: removes rule {@code (hi, lo)/depth}; its addresses go to the next less
     * specific rule or become misses. Returns 0, or {@code -ENOENT} if there is no such rule.
     */
    public int delete(long hi, long lo, int depth) {
        checkDepth("delete", hi, lo, depth);
        long mh = hi & maskHi(depth), ml = lo & maskLo(depth);
        if (rules.remove(mh, ml, depth) < 0) return -Errno.ENOENT;
        int replacement = 0;
        for (int d = depth - 1; d >= 1; d--) {
            int nh = rules.find(hi & maskHi(d), lo & maskLo(d), d);
            if (nh >= 0) {
                replacement = nh | VALID | d << DEPTH_SHIFT;
                break;
            }
        }
        int level = levelOf(depth);
        long pos = index24(mh);
        pathPos[0] = pos;
        for (int k = 1; k <= level; k++) {
            int e = get(pos);
            if ((e & VALID_EXT) != VALID_EXT) return 0; // cannot happen while rules and tables agree
            pos = groupBase(e & NEXT_HOP_MASK) + byteAt(mh, ml, FIRST_TBL8_BYTE + k - 1);
            pathPos[k] = pos;
        }
        replace(pos, pos + (1L << (levelBits(level) - depth)), level, replacement, depth);
        for (int k = level; k >= 1; k--) {
            if (!recycle(pathPos[k - 1], k)) break;
        }
        return 0;
    }

    /**
     * The delete's counterpart of {@link #overwrite}: in entries [from, to) of a level-{@code level}
     * table and the subtrees below them, entries of rules at most {@code depth} long take
     * {@code replacement}; subtree groups that end up as one route fold away.
     */
    private void replace(long from, long to, int level, int replacement, int depth) {
        for (long p = from; p < to; p++) {
            int e = get(p);
            if ((e & VALID_EXT) == VALID_EXT) {
                long base = groupBase(e & NEXT_HOP_MASK);
                replace(base, base + TBL8_GROUP_NUM_ENTRIES, level + 1, replacement, depth);
                recycle(p, level + 1);
            } else if ((e & VALID) != 0 && depthOf(e) <= depth) {
                ENTRY.setRelease(tbl, 0L, p, replacement);
            }
        }
    }

    /**
     * If the entry at {@code parent} points to a level-{@code level} group whose entries are all one
     * route no longer than the parent's prefix (or all invalid), folds the group into the parent
     * entry (published first) and frees it. Returns whether it did.
     */
    private boolean recycle(long parent, int level) {
        int pe = get(parent);
        if ((pe & VALID_EXT) != VALID_EXT) return false;
        long base = groupBase(pe & NEXT_HOP_MASK);
        int first = get(base);
        if ((first & EXT) != 0 || (first != 0 && depthOf(first) > levelBits(level - 1))) return false;
        for (long p = base + 1; p < base + TBL8_GROUP_NUM_ENTRIES; p++) {
            if (get(p) != first) return false;
        }
        ENTRY.setRelease(tbl, 0L, parent, first);
        tbl8Free(pe & NEXT_HOP_MASK);
        return true;
    }

    /** {@code rte_lpm6_delete_all}: removes every rule; lookups miss from then on. */
    public void deleteAll() {
        clear();
    }

    /** {@code rte_lpm6_is_rule_present}. */
    public boolean isRulePresent(byte[] ip, int depth) {
        checkAddress(ip);
        return ruleNextHop((long) LONG_BE.get(ip, 0), (long) LONG_BE.get(ip, 8), depth) >= 0;
    }

    /** The next hop of rule {@code (hi, lo)/depth}, or {@link #MISS} if there is no such rule. */
    public int ruleNextHop(long hi, long lo, int depth) {
        checkDepth("isRulePresent", hi, lo, depth);
        return rules.find(hi & maskHi(depth), lo & maskLo(depth), depth);
    }

    // ---------------------------------------------------------------- internals

    private static long index24(long hi) {
        return hi >>> 40;
    }

    /** Byte {@code b} (0..15) of address (hi, lo), network order. */
    static int byteAt(long hi, long lo, int b) {
        return b < 8 ? (int) (hi >>> (56 - 8 * b)) & 0xFF : (int) (lo >>> (120 - 8 * b)) & 0xFF;
    }

    /** Level of the table a rule of {@code depth} ends in: 0 for tbl24, k for the k-th tbl8 level. */
    private static int levelOf(int depth) {
        return depth <= MAX_DEPTH_TBL24 ? 0 : (depth - MAX_DEPTH_TBL24 + 7) / 8;
    }

    /** Prefix bits resolved once the table at {@code level} has been read. */
    private static int levelBits(int level) {
        return MAX_DEPTH_TBL24 + 8 * level;
    }

    private static int depthOf(int e) {
        return e >>> DEPTH_SHIFT & DEPTH_MASK;
    }

    static long maskHi(int depth) {
        return depth >= 64 ? -1L : depth == 0 ? 0 : -1L << (64 - depth);
    }

    static long maskLo(int depth) {
        return depth <= 64 ? 0 : depth == 128 ? -1L : -1L << (128 - depth);
    }

    private void checkDepth(String op, long hi, long lo, int depth) {
        if (depth < 1 || depth > MAX_DEPTH) {
            throw new IllegalArgumentException("lpm6 " + op + "(" + name + ", " + toString(hi, lo) + "): depth=" + depth
                    + ": must be 1.." + MAX_DEPTH);
        }
    }

    private void checkAddress(byte[] ip) {
        if (ip == null || ip.length != 16) {
            throw new IllegalArgumentException("lpm6 " + name + ": address of " + (ip == null ? "null" : ip.length + " bytes")
                    + ": must be 16 bytes");
        }
    }

    /** Address (hi, lo) as eight colon-separated hex groups (no :: shortening). */
    public static String toString(long hi, long lo) {
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i > 0) sb.append(':');
            long w = i < 4 ? hi >>> (48 - 16 * i) : lo >>> (48 - 16 * (i - 4));
            sb.append(Integer.toHexString((int) (w & 0xFFFF)));
        }
        return sb.toString();
    }
}
