package org.jpdk.lpm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.BitSet;
import org.jpdk.eal.Memzone;

/**
 * What {@link Lpm} and {@link Lpm6} share: one memzone holding a 2^24-entry tbl24 followed by the
 * 256-entry tbl8 groups, the stack of free groups, the rule table, and the reuse generation that
 * lets a lookup notice a recycled group (see {@link Lpm}'s class comment, R2/A2). Subclasses hold
 * the entry format and the algorithms. Writer state (free stack, rules) is touched by the one
 * writer only.
 */
abstract sealed class LpmTables implements AutoCloseable permits Lpm, Lpm6 {
    /** RTE_LPM_TBL24_NUM_ENTRIES, RTE_LPM_TBL8_GROUP_NUM_ENTRIES (the same for IPv6). */
    public static final int TBL24_NUM_ENTRIES = 1 << 24, TBL8_GROUP_NUM_ENTRIES = 256;

    static final VarHandle ENTRY = ValueLayout.JAVA_INT.arrayElementVarHandle();
    private static final VarHandle REUSE_GEN;

    static {
        try {
            REUSE_GEN = MethodHandles.lookup().findVarHandle(LpmTables.class, "reuseGen", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final String name;
    private final String kind;
    private final Memzone zone;
    /** tbl24 (entries 0 .. 2^24) then tbl8 group g at entry 2^24 + 256 g. */
    final MemorySegment tbl;
    final RuleTable rules;
    private final int numberTbl8s;
    /** Free tbl8 groups, a stack: the most recently freed, still warm in cache, is reused first. */
    private final int[] freeTbl8;
    private int freeTop;
    /** Groups that have held routes: refilling one needs the reuseGen bump. */
    private final BitSet tbl8EverUsed;
    /** Bumped before a used tbl8 group is refilled (R2). */
    @SuppressWarnings("unused")
    private int reuseGen;

    /** Validates the arguments (one-line errors naming them) and reserves the memzone {@code kind_name}. */
    LpmTables(String kind, String name, int socketId, int maxRules, int numberTbl8s, int maxTbl8s) {
        int maxName = Memzone.NAMESIZE - 2 - kind.length();
        String lower = kind.toLowerCase();
        if (name == null || name.isEmpty() || name.length() > maxName) {
            throw new IllegalArgumentException(lower + " create: name=" + (name == null ? "null" : "'" + name + "'")
                    + ": must be 1.." + maxName + " characters");
        }
        String call = lower + " create(name=" + name + ")";
        if (maxRules < 1) throw new IllegalArgumentException(call + ": maxRules=" + maxRules + ": must be >= 1");
        if (numberTbl8s < 1 || numberTbl8s > maxTbl8s) {
            throw new IllegalArgumentException(call + ": numberTbl8s=" + numberTbl8s + ": must be 1.." + maxTbl8s);
        }
        long bytes = 4L * (TBL24_NUM_ENTRIES + (long) numberTbl8s * TBL8_GROUP_NUM_ENTRIES);
        this.zone = Memzone.reserve(kind + "_" + name, bytes, socketId, 64);
        this.name = name;
        this.kind = kind;
        this.tbl = zone.segment();
        this.numberTbl8s = numberTbl8s;
        this.rules = new RuleTable(maxRules);
        this.freeTbl8 = new int[numberTbl8s];
        this.tbl8EverUsed = new BitSet(numberTbl8s);
        resetFreeGroups();
    }

    // ---------------------------------------------------------------- reader side of the reuse seqlock

    /** A1-side: read before the first table entry of a lookup. */
    final int reuseGenAcquire() {
        return (int) REUSE_GEN.getAcquire(this);
    }

    /** A2: after the lookup's tbl8 reads, whether no group was refilled since {@code gen} was read. */
    final boolean reuseGenUnchanged(int gen) {
        VarHandle.loadLoadFence();
        return (int) REUSE_GEN.getOpaque(this) == gen;
    }

    // ---------------------------------------------------------------- writer side

    /** A free group, or -1 when none is. A group that has held routes bumps reuseGen first (R2). */
    final int tbl8Alloc() {
        if (freeTop == 0) return -1;
        int g = freeTbl8[--freeTop];
        if (tbl8EverUsed.get(g)) {
            REUSE_GEN.setOpaque(this, (int) REUSE_GEN.getOpaque(this) + 1);
            VarHandle.storeStoreFence();
        }
        tbl8EverUsed.set(g);
        return g;
    }

    /** Returns a group no table entry points to any more; its contents stay until it is reused. */
    final void tbl8Free(int g) {
        freeTbl8[freeTop++] = g;
    }

    final int tbl8FreeCount() {
        return freeTop;
    }

    final int get(long i) {
        return (int) ENTRY.get(tbl, 0L, i);
    }

    static long groupBase(int g) {
        return TBL24_NUM_ENTRIES + (long) g * TBL8_GROUP_NUM_ENTRIES;
    }

    /** {@code delete_all}: no rules, tbl24 all invalid (an int at a time: a reader never sees half an entry), all groups free. */
    final void clear() {
        rules.clear();
        for (long i = 0; i < TBL24_NUM_ENTRIES; i++) ENTRY.setOpaque(tbl, 0L, i, 0);
        resetFreeGroups();
    }

    private void resetFreeGroups() {
        for (int g = 0; g < numberTbl8s; g++) freeTbl8[g] = numberTbl8s - 1 - g;
        freeTop = numberTbl8s;
    }

    // ---------------------------------------------------------------- information

    /** Rules in the table. */
    public final int ruleCount() {
        return rules.size();
    }

    /** The {@code maxRules} it was created with. */
    public final int maxRules() {
        return rules.maxRules();
    }

    /** The {@code numberTbl8s} it was created with. */
    public final int numberTbl8s() {
        return numberTbl8s;
    }

    /** tbl8 groups holding routes now. */
    public final int tbl8GroupsInUse() {
        return numberTbl8s - freeTop;
    }

    public final String name() {
        return name;
    }

    /** Page size under the tables (2 MiB when on hugepages). */
    public final long pageSize() {
        return zone.hugepageSize();
    }

    /** {@code rte_lpm_free}/{@code rte_lpm6_free}: returns the memory; any later use throws IllegalStateException. */
    @Override
    public final void close() {
        zone.free();
    }

    @Override
    public final String toString() {
        return kind.charAt(0) + kind.substring(1).toLowerCase() + "[" + name + ", rules " + rules.size() + "/" + rules.maxRules()
                + ", tbl8 groups " + tbl8GroupsInUse() + "/" + numberTbl8s + "]";
    }
}
