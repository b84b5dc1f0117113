package org.jpdk.lpm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import org.jpdk.eal.Memzone;
import org.jpdk.sys.Errno;

/**
 * IPv4 longest-prefix match in DPDK's DIR-24-8 layout ({@code rte_lpm}): a lookup is one read of
 * {@code tbl24}, indexed by the address's top 24 bits, and for the few /24s that hold a longer
 * route a second read in a 256-entry {@code tbl8} group indexed by the last byte. Rules of depth
 * 1..24 are expanded over every tbl24 entry they cover; a rule of depth 25..32 takes a tbl8 group
 * for its /24. Each entry is one 32-bit word packed as DPDK's {@code rte_lpm_tbl_entry}:
 * <pre>
 *  31      26 25  24  23                                 0
 * +----------+---+---+------------------------------------+
 * |  depth   | X | V |  next hop, or tbl8 group (X = 1)   |
 * +----------+---+---+------------------------------------+
 *  V: valid (a route is there; RTE_LPM_LOOKUP_SUCCESS)   X: valid_group (tbl24 only: extended to tbl8)
 * </pre>
 * Every rule is also kept in a {@link RuleTable}, so a delete can hand the covered entries to the
 * next less specific rule, as {@code rte_lpm_delete} does; a tbl8 group whose 256 entries become
 * one /≤24 route (or all invalid) folds back into its tbl24 entry and the group is recycled.
 *
 * <p>Memory: tbl24 (64 MiB) and the tbl8 groups sit in one {@link Memzone}, so on 2 MiB hugepages
 * when the EAL has them, as DPDK puts them, rather than in an {@code int[]} on the Java heap.
 * Measured on the 2-core development machine with {@code bench/.../lpm/Tbl24MemoryPerf} (random
 * reads of a 64 MiB table, 4096 independent addresses per batch; other builds were running, so
 * figures vary 2x between runs): in the two quieter runs, hugepage memzone 4.5 and 7.9 ns per read,
 * heap {@code int[]} 7.9 and 11.0 ns, 4 KiB-page native memory 7.9 and 11.3 ns (one run under heavy
 * load had 4 KiB pages ahead: 17.6 against 20.8 ns, heap 31.2); whole lookups ({@code LpmPerf}) 14.1 ns single and 4.4 ns in bursts of 32 on hugepages against
 * 19.0 and 7.1 ns on 4 KiB pages. A random read misses the TLB on 4 KiB pages (16,384 pages against
 * some 1,500 TLB entries) and hits it on 2 MiB pages (32 pages); the heap array only matches the
 * hugepages with {@code -XX:+UseTransparentHugePages}, a flag a library cannot rely on.
 *
 * <p>Threads: one writer ({@code add}, {@code delete}, {@code deleteAll}; callers serialise
 * writers, as with DPDK) and any number of concurrent readers. A lookup returns, for its address,
 * the result before or after each concurrent update, never a next hop no rule gave that address.
 * Every entry is one aligned int written whole, so the fast path reads tbl24 plainly: a
 * non-extended entry is a whole answer. An extended one sends the lookup down the ordered path
 * ({@code resolveExt}): reuseGen (A0), tbl24 again with acquire (A1), which pairs with the release
 * store that published the group after it was filled (R1), the tbl8 entry, then reuseGen again
 * behind a LoadLoad fence (A2). A freed group keeps its contents (the route it folded into, or
 * invalid) until it is reused; before refilling a used group the writer bumps reuseGen and fences
 * StoreStore (R2), so a reader whose group was recycled under it fails A2 and starts again. DPDK
 * leaves that case to its optional RCU; here it costs only the rare path. (A reader that loops on
 * one address with nothing else in the loop might have its plain read hoisted by the JIT, as a C
 * compiler could hoist DPDK's; real lookups take a new address each time.)
 *
 * <p>Lookups allocate nothing. Bad arguments to add/delete throw IllegalArgumentException naming
 * the argument; running out of rule slots or tbl8 groups returns {@code -ENOSPC} with nothing
 * changed, as DPDK does.
 */
public final class Lpm extends LpmTables {
    /** RTE_LPM_MAX_DEPTH. */
    public static final int MAX_DEPTH = 32;
    /** RTE_LPM_MAX_TBL8_NUM_GROUPS: a group number must fit the entry's 24-bit field. */
    public static final int MAX_TBL8_NUM_GROUPS = 1 << 24;
    /** Next hops are 24 bits. */
    public static final int MAX_NEXT_HOP = (1 << 24) - 1;
    /** RTE_LPM_LOOKUP_SUCCESS: set in a {@link #lookupBulk} result that found a route. */
    public static final int LOOKUP_SUCCESS = 0x01000000;
    /** What {@link #lookup} returns when no rule matches. */
    public static final int MISS = -1;
    /** Longest name: the memzone is called "LPM_" + name, within {@link Memzone#NAMESIZE}. */
    public static final int MAX_NAME_LEN = Memzone.NAMESIZE - 1 - 4;

    static final int NEXT_HOP_MASK = 0x00FFFFFF;
    static final int VALID = 0x01000000, EXT = 0x02000000, VALID_EXT = VALID | EXT;
    static final int DEPTH_SHIFT = 26;
    /** A bulk result: next hop plus the success bit (an invalid entry is always written as 0). */
    private static final int BULK_MASK = VALID | NEXT_HOP_MASK;
    private static final int MAX_DEPTH_TBL24 = 24;

    private Lpm(String name, int socketId, int maxRules, int numberTbl8s) {
        super("LPM", name, socketId, maxRules, numberTbl8s, MAX_TBL8_NUM_GROUPS);
    }

    /**
     * {@code rte_lpm_create}: an empty table for at most {@code maxRules} rules with
     * {@code numberTbl8s} tbl8 groups (each holds the routes longer than /24 of one /24), in EAL
     * memory on {@code socketId} ({@link Memzone#SOCKET_ID_ANY} for any). Throws
     * IllegalArgumentException for a bad argument and IllegalStateException when the name is taken
     * or memory is short.
     */
    public static Lpm create(String name, int socketId, int maxRules, int numberTbl8s) {
        return new Lpm(name, socketId, maxRules, numberTbl8s);
    }

    // ---------------------------------------------------------------- lookups (any thread)

    /**
     * {@code rte_lpm_lookup}: the next hop of the longest prefix matching {@code ip} (host order,
     * 10.0.0.1 is 0x0A000001), or {@link #MISS}. Allocates nothing.
     */
    public int lookup(int ip) {
        int e = (int) ENTRY.get(tbl, 0L, (long) (ip >>> 8));
        if ((e & VALID_EXT) == VALID_EXT) e = resolveExt(ip);
        return result(e, MISS);
    }

    /**
     * The ordered lookup, for an address whose tbl24 entry was seen extended: reuseGen (A0), tbl24
     * with acquire (A1, pairs with R1), the tbl8 entry, then reuseGen again behind a LoadLoad
     * fence (A2, pairs with R2); again from the top if a group was refilled meanwhile. The plain
     * tbl24 read of the fast path only chose this path; its value is not trusted here.
     */
    private int resolveExt(int ip) {
        for (; ; ) {
            int gen = reuseGenAcquire();                                                 // A0
            int e = (int) ENTRY.getAcquire(tbl, 0L, (long) (ip >>> 8));                 // A1
            if ((e & VALID_EXT) != VALID_EXT) return e;
            long i = TBL24_NUM_ENTRIES + (long) (e & NEXT_HOP_MASK) * TBL8_GROUP_NUM_ENTRIES + (ip & 0xFF);
            int t = (int) ENTRY.get(tbl, 0L, i);
            if (reuseGenUnchanged(gen)) return t;                                        // A2
        }
    }

    /** Next hop of a non-extended entry, or {@code miss} when it is invalid, without a branch. */
    private static int result(int e, int miss) {
        int valid = (e << 7) >> 31; // all ones when VALID (bit 24) is set
        return miss ^ ((miss ^ (e & NEXT_HOP_MASK)) & valid);
    }

    /**
     * The tbl24 entry of {@code ip}, a plain read. The index is below 2^24, so its byte offset
     * needs none of the overflow checks the indexed var handle makes: lookupX4 went from 37 to
     * 28 ns a lookup with this read in place of {@code ENTRY.get} (an interleaved harness).
     */
    private static int tbl24(MemorySegment t, int ip) {
        return t.get(ValueLayout.JAVA_INT, (long) (ip >>> 8) << 2);
    }

    /**
     * {@code rte_lpm_lookup_bulk}: for each of {@code ips[0..n)}, {@code nextHops[i]} is
     * {@link #LOOKUP_SUCCESS} | next hop, or 0 when no rule matches. Allocates nothing.
     */
    public void lookupBulk(int[] ips, int[] nextHops, int n) {
        lookupBulk(ips, 0, nextHops, n);
    }

    /**
     * As {@link #lookupBulk(int[], int[], int)} for the addresses {@code ips[off..off+n)}. Two
     * passes, so the first (all the tbl24 reads, independent misses the CPU overlaps) is a tight
     * loop without branches; the second resolves the rare extended entries.
     */
    public void lookupBulk(int[] ips, int off, int[] nextHops, int n) {
        Objects.checkFromIndexSize(off, n, ips.length);
        Objects.checkFromIndexSize(0, n, nextHops.length);
        MemorySegment t = tbl;
        int any = 0;
        for (int i = 0; i < n; i++) {
            int e = tbl24(t, ips[off + i]);
            nextHops[i] = e;
            any |= e;
        }
        if ((any & EXT) == 0) {
            for (int i = 0; i < n; i++) nextHops[i] &= BULK_MASK;
            return;
        }
        for (int i = 0; i < n; i++) {
            int e = nextHops[i];
            if ((e & VALID_EXT) == VALID_EXT) e = resolveExt(ips[off + i]);
            nextHops[i] = e & BULK_MASK;
        }
    }

    /**
     * {@code rte_lpm_lookupx4}: looks up {@code ips[off..off+4)} into {@code hops[hopsOff..+4)},
     * writing {@code defv} for an address no rule matches. Allocates nothing.
     */
    public void lookupX4(int[] ips, int off, int[] hops, int hopsOff, int defv) {
        Objects.checkFromIndexSize(off, 4, ips.length);
        Objects.checkFromIndexSize(hopsOff, 4, hops.length);
        MemorySegment t = tbl;
        int ip0 = ips[off], ip1 = ips[off + 1], ip2 = ips[off + 2], ip3 = ips[off + 3];
        int e0 = tbl24(t, ip0);
        int e1 = tbl24(t, ip1);
        int e2 = tbl24(t, ip2);
        int e3 = tbl24(t, ip3);
        if (((e0 | e1 | e2 | e3) & EXT) != 0) {
            if ((e0 & VALID_EXT) == VALID_EXT) e0 = resolveExt(ip0);
            if ((e1 & VALID_EXT) == VALID_EXT) e1 = resolveExt(ip1);
            if ((e2 & VALID_EXT) == VALID_EXT) e2 = resolveExt(ip2);
            if ((e3 & VALID_EXT) == VALID_EXT) e3 = resolveExt(ip3);
        }
        hops[hopsOff] = result(e0, defv);
        hops[hopsOff + 1] = result(e1, defv);
        hops[hopsOff + 2] = result(e2, defv);
        hops[hopsOff + 3] = result(e3, defv);
    }

    // ---------------------------------------------------------------- rules (the one writer)

    /**
     * {@code rte_lpm_add}: routes {@code ip/depth} (the address is masked to the depth) to
     * {@code nextHop}, or changes the next hop of that rule if it exists. Returns 0, or
     * {@code -ENOSPC} with nothing changed when the rule table is full or no tbl8 group is free.
     */
    public int add(int ip, int depth, int nextHop) {
        checkDepth("add", ip, depth);
        if (nextHop < 0 || nextHop > MAX_NEXT_HOP) {
            throw new IllegalArgumentException("lpm add(" + name + ", " + prefix(ip, depth) + "): nextHop=" + nextHop
                    + ": must be 0.." + MAX_NEXT_HOP + " (24 bits)");
        }
        int masked = ip & depthMask(depth);
        int old = rules.put(0, masked, depth, nextHop);
        if (old == -2) return -Errno.ENOSPC;
        if (depth <= MAX_DEPTH_TBL24) {
            addDepthSmall(masked, depth, nextHop);
        } else if (!addDepthBig(masked, depth, nextHop)) {
            if (old == -1) rules.remove(0, masked, depth);
            else rules.put(0, masked, depth, old);
            return -Errno.ENOSPC;
        }
        return 0;
    }

    /** Every tbl24 entry the rule covers takes it, unless a more specific rule holds it (and so in tbl8). */
    private void addDepthSmall(int ip, int depth, int nextHop) {
        int start = ip >>> 8, end = start + (1 << (MAX_DEPTH_TBL24 - depth));
        int entry = routeEntry(nextHop, depth);
        for (int i = start; i < end; i++) {
            int e = get(i);
            if ((e & VALID_EXT) == VALID_EXT) {
                long base = groupBase(e & NEXT_HOP_MASK);
                overwrite(base, base + TBL8_GROUP_NUM_ENTRIES, entry, depth);
            } else if ((e & VALID) == 0 || depthOf(e) <= depth) {
                ENTRY.setRelease(tbl, 0L, (long) i, entry);
            }
        }
    }

    /** The rule's /24 gets a tbl8 group (filled, then published: R1) if it has none. False: none free. */
    private boolean addDepthBig(int ip, int depth, int nextHop) {
        int i24 = ip >>> 8, first = ip & 0xFF, end = first + (1 << (MAX_DEPTH - depth));
        int entry = routeEntry(nextHop, depth);
        int e = get(i24);
        if ((e & VALID_EXT) == VALID_EXT) {
            long base = groupBase(e & NEXT_HOP_MASK);
            overwrite(base + first, base + end, entry, depth);
            return true;
        }
        int g = tbl8Alloc();
        if (g < 0) return false;
        long base = groupBase(g);
        int cover = (e & VALID) != 0 ? e : 0; // the /<=24 route the rest of the /24 keeps
        for (int j = 0; j < TBL8_GROUP_NUM_ENTRIES; j++) {
            ENTRY.set(tbl, 0L, base + j, j >= first && j < end ? entry : cover);
        }
        ENTRY.setRelease(tbl, 0L, (long) i24, VALID_EXT | g);                           // R1
        return true;
    }

    /**
     * {@code rte_lpm_delete}: removes rule {@code ip/depth}; the addresses it covered go to the next
     * less specific rule, or become misses. Returns 0, or {@code -ENOENT} if there is no such rule.
     */
    public int delete(int ip, int depth) {
        checkDepth("delete", ip, depth);
        int masked = ip & depthMask(depth);
        if (rules.remove(0, masked, depth) < 0) return -Errno.ENOENT;
        int replacement = 0;
        for (int d = depth - 1; d >= 1; d--) {
            int nh = rules.find(0, ip & depthMask(d), d);
            if (nh >= 0) {
                replacement = routeEntry(nh, d);
                break;
            }
        }
        if (depth <= MAX_DEPTH_TBL24) deleteDepthSmall(masked, depth, replacement);
        else deleteDepthBig(masked, depth, replacement);
        return 0;
    }

    private void deleteDepthSmall(int ip, int depth, int replacement) {
        int start = ip >>> 8, end = start + (1 << (MAX_DEPTH_TBL24 - depth));
        for (int i = start; i < end; i++) {
            int e = get(i);
            if ((e & VALID_EXT) == VALID_EXT) {
                long base = groupBase(e & NEXT_HOP_MASK);
                replace(base, base + TBL8_GROUP_NUM_ENTRIES, replacement, depth);
                recycle(i, e);
            } else if ((e & VALID) != 0 && depthOf(e) <= depth) {
                ENTRY.setRelease(tbl, 0L, (long) i, replacement);
            }
        }
    }

    private void deleteDepthBig(int ip, int depth, int replacement) {
        int i24 = ip >>> 8, first = ip & 0xFF, end = first + (1 << (MAX_DEPTH - depth));
        int e = get(i24);
        if ((e & VALID_EXT) != VALID_EXT) return; // cannot happen while the rule table and tables agree
        long base = groupBase(e & NEXT_HOP_MASK);
        replace(base + first, base + end, replacement, depth);
        recycle(i24, e);
    }

    /** Entries in [from, to) that are invalid or hold a rule no longer than {@code depth} take {@code entry}. */
    private void overwrite(long from, long to, int entry, int depth) {
        for (long j = from; j < to; j++) {
            int t = get(j);
            if ((t & VALID) == 0 || depthOf(t) <= depth) ENTRY.setRelease(tbl, 0L, j, entry);
        }
    }

    /** Entries in [from, to) holding a rule no longer than {@code depth} (the deleted one) take {@code replacement}. */
    private void replace(long from, long to, int replacement, int depth) {
        for (long j = from; j < to; j++) {
            int t = get(j);
            if ((t & VALID) != 0 && depthOf(t) <= depth) ENTRY.setRelease(tbl, 0L, j, replacement);
        }
    }

    /**
     * {@code tbl8_recycle_check}: a group whose entries are all one /<=24 route, or all invalid,
     * folds back into its tbl24 entry (published before the group is freed) and is freed.
     */
    private void recycle(int i24, int e24) {
        long base = groupBase(e24 & NEXT_HOP_MASK);
        int first = get(base);
        if (first != 0 && depthOf(first) > MAX_DEPTH_TBL24) return;
        for (long j = base + 1; j < base + TBL8_GROUP_NUM_ENTRIES; j++) {
            if (get(j) != first) return;
        }
        ENTRY.setRelease(tbl, 0L, (long) i24, first);
        tbl8Free(e24 & NEXT_HOP_MASK);
    }

    /** {@code rte_lpm_delete_all}: removes every rule; lookups miss from then on. */
    public void deleteAll() {
        clear();
    }

    /** {@code rte_lpm_is_rule_present}: whether rule {@code ip/depth} exists. */
    public boolean isRulePresent(int ip, int depth) {
        return ruleNextHop(ip, depth) >= 0;
    }

    /** The next hop of rule {@code ip/depth}, or {@link #MISS} if there is no such rule. */
    public int ruleNextHop(int ip, int depth) {
        checkDepth("isRulePresent", ip, depth);
        return rules.find(0, ip & depthMask(depth), depth);
    }

    static int routeEntry(int nextHop, int depth) {
        return nextHop | VALID | depth << DEPTH_SHIFT;
    }

    static int depthOf(int e) {
        return e >>> DEPTH_SHIFT;
    }

    static int depthMask(int depth) {
        return depth == 0 ? 0 : -1 << (MAX_DEPTH - depth);
    }

    private void checkDepth(String op, int ip, int depth) {
        if (depth < 1 || depth > MAX_DEPTH) {
            throw new IllegalArgumentException("lpm " + op + "(" + name + ", " + Lpm.toString(ip) + "): depth=" + depth
                    + ": must be 1.." + MAX_DEPTH);
        }
    }

    private static String prefix(int ip, int depth) {
        return toString(ip) + "/" + depth;
    }

    /** Dotted quad of a host-order address. */
    public static String toString(int ip) {
        return (ip >>> 24) + "." + (ip >>> 16 & 0xFF) + "." + (ip >>> 8 & 0xFF) + "." + (ip & 0xFF);
    }

    /**
     * A dotted quad ("10.1.2.3") as a host-order int; throws IllegalArgumentException naming the
     * text otherwise.
     */
    public static int parse(String dotted) {
        String[] p = dotted == null ? new String[0] : dotted.split("\\.", -1);
        if (p.length != 4) throw new IllegalArgumentException("IPv4 address '" + dotted + "': want four dotted numbers 0..255");
        int ip = 0;
        for (String s : p) {
            int v;
            try {
                v = s.isEmpty() || s.length() > 3 ? -1 : Integer.parseInt(s);
            } catch (NumberFormatException e) {
                v = -1;
            }
            if (v < 0 || v > 255) throw new IllegalArgumentException("IPv4 address '" + dotted + "': '" + s + "' is not 0..255");
            ip = ip << 8 | v;
        }
        return ip;
    }
}
