package org.jpdk.lpm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.BitSet;
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
 * when the EAL has them, as DPDK puts them. Measured on the 2-core development machine (random
 * lookups over a full 64 MiB tbl24, 4096 per batch, interleaved in one process, under load from
 * other builds): hugepage memzone 26-46 ns per lookup, {@code int[]} on the Java heap 44-81 ns,
 * 4 KiB-page off-heap 41-123 ns; the heap array matched the hugepages only with
 * {@code -XX:+UseTransparentHugePages}, a flag a library cannot rely on. A random lookup misses the
 * TLB on 4 KiB pages (16,384 pages against some 1,500 TLB entries) and hits it on 2 MiB pages (32
 * pages). {@code bench/.../lpm/Tbl24MemoryPerf} repeats the measurement under JMH.
 *
 * <p>Threads: one writer ({@code add}, {@code delete}, {@code deleteAll}; callers serialise
 * writers, as with DPDK) and any number of concurrent readers. A lookup returns, for its address,
 * the result before or after each concurrent update, never a next hop no rule gave that address:
 * every entry is one aligned int written whole; a new tbl8 group is filled before its tbl24 entry
 * is published (release store, R1) and a reader reads tbl24 with acquire (A1), so a reader that
 * sees the group sees it filled. A freed group keeps its contents (the route it folded into, or
 * invalid) until it is reused; a reader still inside it then could read the group's new owner's
 * routes, which DPDK prevents only with its optional RCU. Here the writer bumps
 * {@code reuseGen} before it refills a reused group (R2: store, then StoreStore fence) and a
 * lookup that went through tbl8 re-reads {@code reuseGen} after a LoadLoad fence (A2) and retries
 * if it changed, a seqlock on the rare path that costs the common path one load.
 *
 * <p>Lookups allocate nothing. Bad arguments to add/delete throw IllegalArgumentException naming
 * the argument; running out of rule slots or tbl8 groups returns {@code -ENOSPC} with nothing
 * changed, as DPDK does.
 */
public final class Lpm implements AutoCloseable {
    /** RTE_LPM_MAX_DEPTH. */
    public static final int MAX_DEPTH = 32;
    /** RTE_LPM_TBL24_NUM_ENTRIES, RTE_LPM_TBL8_GROUP_NUM_ENTRIES. */
    public static final int TBL24_NUM_ENTRIES = 1 << 24, TBL8_GROUP_NUM_ENTRIES = 256;
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

    private static final VarHandle ENTRY = ValueLayout.JAVA_INT.arrayElementVarHandle();
    private static final VarHandle REUSE_GEN;

    static {
        try {
            REUSE_GEN = MethodHandles.lookup().findVarHandle(Lpm.class, "reuseGen", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Memzone zone;
    /** tbl24 (entries 0 .. 2^24) then tbl8 group g at entry 2^24 + 256 g. */
    private final MemorySegment tbl;
    private final int numberTbl8s;
    private final RuleTable rules;
    /** Free tbl8 groups, a stack (the most recently freed is reused first: it is warm in cache). */
    private final int[] freeTbl8;
    private int freeTop;
    /** Groups that have held routes: refilling one needs the reuseGen bump. */
    private final BitSet tbl8EverUsed;
    /** Bumped before a used tbl8 group is refilled; see the class comment (R2/A2). */
    @SuppressWarnings("unused")
    private int reuseGen;

    private Lpm(String name, Memzone zone, int maxRules, int numberTbl8s) {
        this.name = name;
        this.zone = zone;
        this.tbl = zone.segment();
        this.numberTbl8s = numberTbl8s;
        this.rules = new RuleTable(maxRules);
        this.freeTbl8 = new int[numberTbl8s];
        this.tbl8EverUsed = new BitSet(numberTbl8s);
        resetFreeGroups();
    }

    /**
     * {@code rte_lpm_create}: an empty table for at most {@code maxRules} rules with
     * {@code numberTbl8s} tbl8 groups (each holds the routes longer than /24 of one /24), in EAL
     * memory on {@code socketId} ({@link Memzone#SOCKET_ID_ANY} for any). Throws
     * IllegalArgumentException for a bad argument and IllegalStateException when the name is taken
     * or memory is short.
     */
    public static Lpm create(String name, int socketId, int maxRules, int numberTbl8s) {
        checkName("lpm create", name);
        String call = "lpm create(name=" + name + ")";
        if (maxRules < 1) throw new IllegalArgumentException(call + ": maxRules=" + maxRules + ": must be >= 1");
        if (numberTbl8s < 1 || numberTbl8s > MAX_TBL8_NUM_GROUPS) {
            throw new IllegalArgumentException(call + ": numberTbl8s=" + numberTbl8s + ": must be 1.." + MAX_TBL8_NUM_GROUPS);
        }
        long bytes = 4L * (TBL24_NUM_ENTRIES + (long) numberTbl8s * TBL8_GROUP_NUM_ENTRIES);
        Memzone zone = Memzone.reserve("LPM_" + name, bytes, socketId, 64);
        return new Lpm(name, zone, maxRules, numberTbl8s);
    }

    static void checkName(String call, String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_NAME_LEN) {
            throw new IllegalArgumentException(call + ": name=" + (name == null ? "null" : "'" + name + "'")
                    + ": must be 1.." + MAX_NAME_LEN + " characters");
        }
    }

    // ---------------------------------------------------------------- lookups (any thread)

    /**
     * {@code rte_lpm_lookup}: the next hop of the longest prefix matching {@code ip} (host order,
     * 10.0.0.1 is 0x0A000001), or {@link #MISS}. Allocates nothing.
     */
    public int lookup(int ip) {
        int gen = (int) REUSE_GEN.getAcquire(this);
        int e = (int) ENTRY.getAcquire(tbl, 0L, (long) (ip >>> 8));                  // A1
        if ((e & VALID_EXT) == VALID_EXT) return lookupTbl8(ip, e, gen);
        return (e & VALID) != 0 ? e & NEXT_HOP_MASK : MISS;
    }

    private int lookupTbl8(int ip, int e, int gen) {
        for (; ; ) {
            e = tbl8Entry(e, ip);
            VarHandle.loadLoadFence();                                                   // A2
            int now = (int) REUSE_GEN.getOpaque(this);
            if (now == gen) return (e & VALID) != 0 ? e & NEXT_HOP_MASK : MISS;
            gen = (int) REUSE_GEN.getAcquire(this);
            e = (int) ENTRY.getAcquire(tbl, 0L, (long) (ip >>> 8));
            if ((e & VALID_EXT) != VALID_EXT) return (e & VALID) != 0 ? e & NEXT_HOP_MASK : MISS;
        }
    }

    private int tbl8Entry(int e24, int ip) {
        long i = TBL24_NUM_ENTRIES + (long) (e24 & NEXT_HOP_MASK) * TBL8_GROUP_NUM_ENTRIES + (ip & 0xFF);
        return (int) ENTRY.get(tbl, 0L, i);
    }

    /**
     * {@code rte_lpm_lookup_bulk}: for each of {@code ips[0..n)}, {@code nextHops[i]} is
     * {@link #LOOKUP_SUCCESS} | next hop, or 0 when no rule matches. Allocates nothing.
     */
    public void lookupBulk(int[] ips, int[] nextHops, int n) {
        lookupBulk(ips, 0, nextHops, n);
    }

    /** As {@link #lookupBulk(int[], int[], int)} for the addresses {@code ips[off..off+n)}. */
    public void lookupBulk(int[] ips, int off, int[] nextHops, int n) {
        Objects.checkFromIndexSize(off, n, ips.length);
        Objects.checkFromIndexSize(0, n, nextHops.length);
        for (; ; ) {
            int gen = (int) REUSE_GEN.getAcquire(this);
            boolean viaTbl8 = false;
            for (int i = 0; i < n; i++) {
                int ip = ips[off + i];
                int e = (int) ENTRY.getAcquire(tbl, 0L, (long) (ip >>> 8));
                if ((e & VALID_EXT) == VALID_EXT) {
                    e = tbl8Entry(e, ip);
                    viaTbl8 = true;
                }
                nextHops[i] = e & BULK_MASK;
            }
            if (!viaTbl8) return;
            VarHandle.loadLoadFence();
            if ((int) REUSE_GEN.getOpaque(this) == gen) return;
        }
    }

    /**
     * {@code rte_lpm_lookupx4}: looks up {@code ips[off..off+4)} into {@code hops[hopsOff..+4)},
     * writing {@code defv} for an address no rule matches. Allocates nothing.
     */
    public void lookupX4(int[] ips, int off, int[] hops, int hopsOff, int defv) {
        Objects.checkFromIndexSize(off, 4, ips.length);
        Objects.checkFromIndexSize(hopsOff, 4, hops.length);
        for (; ; ) {
            int gen = (int) REUSE_GEN.getAcquire(this);
            int ip0 = ips[off], ip1 = ips[off + 1], ip2 = ips[off + 2], ip3 = ips[off + 3];
            int e0 = (int) ENTRY.getAcquire(tbl, 0L, (long) (ip0 >>> 8));
            int e1 = (int) ENTRY.getAcquire(tbl, 0L, (long) (ip1 >>> 8));
            int e2 = (int) ENTRY.getAcquire(tbl, 0L, (long) (ip2 >>> 8));
            int e3 = (int) ENTRY.getAcquire(tbl, 0L, (long) (ip3 >>> 8));
            boolean x0 = (e0 & VALID_EXT) == VALID_EXT, x1 = (e1 & VALID_EXT) == VALID_EXT;
            boolean x2 = (e2 & VALID_EXT) == VALID_EXT, x3 = (e3 & VALID_EXT) == VALID_EXT;
            if (x0) e0 = tbl8Entry(e0, ip0);
            if (x1) e1 = tbl8Entry(e1, ip1);
            if (x2) e2 = tbl8Entry(e2, ip2);
            if (x3) e3 = tbl8Entry(e3, ip3);
            hops[hopsOff] = (e0 & VALID) != 0 ? e0 & NEXT_HOP_MASK : defv;
            hops[hopsOff + 1] = (e1 & VALID) != 0 ? e1 & NEXT_HOP_MASK : defv;
            hops[hopsOff + 2] = (e2 & VALID) != 0 ? e2 & NEXT_HOP_MASK : defv;
            hops[hopsOff + 3] = (e3 & VALID) != 0 ? e3 & NEXT_HOP_MASK : defv;
            if (!(x0 | x1 | x2 | x3)) return;
            VarHandle.loadLoadFence();
            if ((int) REUSE_GEN.getOpaque(this) == gen) return;
        }
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
                int base = groupBase(e);
                for (int j = base; j < base + TBL8_GROUP_NUM_ENTRIES; j++) {
                    int t = get(j);
                    if ((t & VALID) == 0 || depthOf(t) <= depth) ENTRY.setRelease(tbl, 0L, (long) j, entry);
                }
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
            int base = groupBase(e);
            for (int j = base + first; j < base + end; j++) {
                int t = get(j);
                if ((t & VALID) == 0 || depthOf(t) <= depth) ENTRY.setRelease(tbl, 0L, (long) j, entry);
            }
            return true;
        }
        int g = tbl8Alloc();
        if (g < 0) return false;
        int base = TBL24_NUM_ENTRIES + g * TBL8_GROUP_NUM_ENTRIES;
        int cover = (e & VALID) != 0 ? e : 0; // the /<=24 route the rest of the /24 keeps
        for (int j = 0; j < TBL8_GROUP_NUM_ENTRIES; j++) {
            ENTRY.set(tbl, 0L, (long) (base + j), j >= first && j < end ? entry : cover);
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
                int base = groupBase(e);
                for (int j = base; j < base + TBL8_GROUP_NUM_ENTRIES; j++) {
                    int t = get(j);
                    if ((t & VALID) != 0 && depthOf(t) <= depth) ENTRY.setRelease(tbl, 0L, (long) j, replacement);
                }
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
        int base = groupBase(e);
        for (int j = base + first; j < base + end; j++) {
            int t = get(j);
            if ((t & VALID) != 0 && depthOf(t) <= depth) ENTRY.setRelease(tbl, 0L, (long) j, replacement);
        }
        recycle(i24, e);
    }

    /**
     * {@code tbl8_recycle_check}: a group whose entries are all one /<=24 route, or all invalid,
     * folds back into its tbl24 entry (published before the group is freed) and is freed.
     */
    private void recycle(int i24, int e24) {
        int base = groupBase(e24);
        int first = get(base);
        if (first != 0 && depthOf(first) > MAX_DEPTH_TBL24) return;
        for (int j = base + 1; j < base + TBL8_GROUP_NUM_ENTRIES; j++) {
            if (get(j) != first) return;
        }
        ENTRY.setRelease(tbl, 0L, (long) i24, first);
        tbl8Free(e24 & NEXT_HOP_MASK);
    }

    /** {@code rte_lpm_delete_all}: removes every rule; lookups miss from then on. */
    public void deleteAll() {
        rules.clear();
        // One whole int at a time (a byte-wise fill could show a reader half an entry).
        for (long i = 0; i < TBL24_NUM_ENTRIES; i++) ENTRY.setOpaque(tbl, 0L, i, 0);
        resetFreeGroups();
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

    /** Rules in the table. */
    public int ruleCount() {
        return rules.size();
    }

    /** The {@code maxRules} it was created with. */
    public int maxRules() {
        return rules.maxRules();
    }

    /** The {@code numberTbl8s} it was created with. */
    public int numberTbl8s() {
        return numberTbl8s;
    }

    /** tbl8 groups holding routes now. */
    public int tbl8GroupsInUse() {
        return numberTbl8s - freeTop;
    }

    public String name() {
        return name;
    }

    /** Page size under the tables (2 MiB when on hugepages). */
    public long pageSize() {
        return zone.hugepageSize();
    }

    /** {@code rte_lpm_free}: returns the memory; any later use throws IllegalStateException. */
    @Override
    public void close() {
        zone.free();
    }

    @Override
    public String toString() {
        return "Lpm[" + name + ", rules " + rules.size() + "/" + rules.maxRules() + ", tbl8 groups " + tbl8GroupsInUse()
                + "/" + numberTbl8s + "]";
    }

    // ---------------------------------------------------------------- internals

    private int tbl8Alloc() {
        if (freeTop == 0) return -1;
        int g = freeTbl8[--freeTop];
        if (tbl8EverUsed.get(g)) {
            REUSE_GEN.setOpaque(this, (int) REUSE_GEN.getOpaque(this) + 1);                 // R2
            VarHandle.storeStoreFence();
        }
        tbl8EverUsed.set(g);
        return g;
    }

    private void tbl8Free(int g) {
        freeTbl8[freeTop++] = g;
    }

    private void resetFreeGroups() {
        for (int g = 0; g < numberTbl8s; g++) freeTbl8[g] = numberTbl8s - 1 - g;
        freeTop = numberTbl8s;
    }

    private int get(int i) {
        return (int) ENTRY.get(tbl, 0L, (long) i);
    }

    private static int groupBase(int e24) {
        return TBL24_NUM_ENTRIES + (e24 & NEXT_HOP_MASK) * TBL8_GROUP_NUM_ENTRIES;
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
