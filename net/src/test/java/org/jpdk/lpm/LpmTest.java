package org.jpdk.lpm;

import org.jpdk.sys.Errno;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** IPv4 LPM against a reference that tries every depth from 32 down in a map of the rules. */
class LpmTest {
    private Lpm lpm;

    @AfterEach
    void free() {
        if (lpm != null) lpm.close();
    }

    /** The reference: rules by (masked ip, depth); lookup tries /32 down to /1. */
    static final class Reference {
        final Map<Long, Integer> rules = new HashMap<>();

        static long key(int ip, int depth) {
            return (long) (ip & Lpm.depthMask(depth)) << 8 | depth;
        }

        void add(int ip, int depth, int nh) {
            rules.put(key(ip, depth), nh);
        }

        boolean delete(int ip, int depth) {
            return rules.remove(key(ip, depth)) != null;
        }

        int lookup(int ip) {
            for (int d = 32; d >= 1; d--) {
                Integer nh = rules.get(key(ip, d));
                if (nh != null) return nh;
            }
            return Lpm.MISS;
        }
    }

    record Route(int ip, int depth, int nh) {
    }

    @Test
    void nestedPrefixesAndDeletesHandOverToLessSpecificRules() {
        lpm = Lpm.create("t_nested", -1, 64, 4);
        int net = Lpm.parse("10.1.1.0");
        assertEquals(0, lpm.add(Lpm.parse("10.0.0.0"), 8, 1));
        assertEquals(0, lpm.add(Lpm.parse("10.1.0.0"), 16, 2));
        assertEquals(0, lpm.add(net, 24, 3));
        assertEquals(0, lpm.add(net + 128, 25, 4));
        assertEquals(0, lpm.add(net + 129, 32, 5));
        assertEquals(1, lpm.tbl8GroupsInUse());
        assertEquals(1, lpm.lookup(Lpm.parse("10.200.0.1")));
        assertEquals(2, lpm.lookup(Lpm.parse("10.1.2.1")));
        assertEquals(3, lpm.lookup(net + 5));
        assertEquals(4, lpm.lookup(net + 130));
        assertEquals(5, lpm.lookup(net + 129));
        assertEquals(Lpm.MISS, lpm.lookup(Lpm.parse("11.0.0.0")));

        assertEquals(0, lpm.delete(net, 24)); // the /16 takes the /24's addresses, in tbl8 too
        assertEquals(2, lpm.lookup(net + 5));
        assertEquals(4, lpm.lookup(net + 130));
        assertEquals(0, lpm.delete(net + 128, 25));
        assertEquals(2, lpm.lookup(net + 130));
        assertEquals(5, lpm.lookup(net + 129));
        assertEquals(1, lpm.tbl8GroupsInUse());
        assertEquals(0, lpm.delete(net + 129, 32)); // the group is all the /16 again: folded back, freed
        assertEquals(0, lpm.tbl8GroupsInUse());
        assertEquals(2, lpm.lookup(net + 129));
        assertEquals(-Errno.ENOENT, lpm.delete(net + 129, 32));
        assertEquals(2, lpm.ruleCount());
        assertTrue(lpm.isRulePresent(Lpm.parse("10.1.77.77"), 16)); // masked to the depth, as DPDK
        assertFalse(lpm.isRulePresent(Lpm.parse("10.1.0.0"), 17));
        assertEquals(1, lpm.ruleNextHop(Lpm.parse("10.0.0.0"), 8));
    }

    @Test
    void addingAnExistingRuleChangesItsNextHop() {
        lpm = Lpm.create("t_update", -1, 8, 2);
        assertEquals(0, lpm.add(Lpm.parse("192.168.0.0"), 16, 7));
        assertEquals(0, lpm.add(Lpm.parse("192.168.1.1"), 32, 8));
        assertEquals(0, lpm.add(Lpm.parse("192.168.0.0"), 16, 9));
        assertEquals(0, lpm.add(Lpm.parse("192.168.1.1"), 32, 10));
        assertEquals(2, lpm.ruleCount());
        assertEquals(9, lpm.lookup(Lpm.parse("192.168.1.2")));
        assertEquals(10, lpm.lookup(Lpm.parse("192.168.1.1")));
    }

    @Test
    void shortPrefixesAndHostRoutes() {
        lpm = Lpm.create("t_short", -1, 16, 4);
        assertEquals(0, lpm.add(0, 1, 11));               // 0.0.0.0/1
        assertEquals(0, lpm.add(0x80000000, 1, 12));      // 128.0.0.0/1: with it, every address has a route
        assertEquals(0, lpm.add(-1, 32, 13));             // 255.255.255.255/32
        assertEquals(0, lpm.add(0, 32, 14));              // 0.0.0.0/32
        assertEquals(11, lpm.lookup(0x7FFFFFFF));
        assertEquals(12, lpm.lookup(0xFFFFFFFE));
        assertEquals(13, lpm.lookup(-1));
        assertEquals(14, lpm.lookup(0));
        assertEquals(11, lpm.lookup(1));
        assertEquals(0, lpm.add(0, 2, (1 << 24) - 1));  // 24-bit next hop, the largest
        assertEquals(Lpm.MAX_NEXT_HOP, lpm.lookup(0x3FFFFFFF));
        lpm.deleteAll();
        assertEquals(0, lpm.ruleCount());
        assertEquals(0, lpm.tbl8GroupsInUse());
        assertEquals(Lpm.MISS, lpm.lookup(-1));
        assertEquals(Lpm.MISS, lpm.lookup(0));
        assertEquals(0, lpm.add(0, 32, 1));
        assertEquals(1, lpm.lookup(0));
    }

    @Test
    void randomRouteSetsMatchTheReferenceThroughAddsAndDeletes() {
        for (long seed : new long[] {1, 2, 3}) {
            SplittableRandom rnd = new SplittableRandom(seed);
            lpm = Lpm.create("t_random" + seed, -1, 10_000, 4096);
            Reference ref = new Reference();
            List<Route> routes = randomRoutes(rnd, 6000);
            for (Route r : routes) {
                assertEquals(0, lpm.add(r.ip, r.depth, r.nh), () -> "add " + r);
                ref.add(r.ip, r.depth, r.nh);
            }
            assertEquals(ref.rules.size(), lpm.ruleCount());
            check(ref, routes, rnd, "seed " + seed + " after adds");
            List<Route> order = new ArrayList<>(routes);
            Collections.shuffle(order, new java.util.Random(seed));
            int i = 0;
            for (Route r : order) {
                boolean present = ref.delete(r.ip, r.depth);
                assertEquals(present ? 0 : -Errno.ENOENT, lpm.delete(r.ip, r.depth), () -> "delete " + r);
                if (++i % 1000 == 0) check(ref, routes, rnd, "seed " + seed + " after " + i + " deletes");
            }
            check(ref, routes, rnd, "seed " + seed + " after all deletes");
            assertEquals(0, lpm.ruleCount());
            assertEquals(0, lpm.tbl8GroupsInUse(), "every tbl8 group recycled");
            lpm.close();
            lpm = null;
        }
    }

    @Test
    void interleavedAddsAndDeletesMatchTheReference() {
        SplittableRandom rnd = new SplittableRandom(42);
        lpm = Lpm.create("t_mixed", -1, 4000, 2048);
        Reference ref = new Reference();
        List<Route> live = new ArrayList<>();
        List<Route> all = new ArrayList<>();
        for (int step = 0; step < 10_000; step++) {
            if (live.isEmpty() || rnd.nextInt(3) != 0) {
                Route r = randomRoutes(rnd, 1).getFirst();
                int rc = lpm.add(r.ip, r.depth, r.nh);
                if (rc == 0) {
                    ref.add(r.ip, r.depth, r.nh);
                    live.add(r);
                    all.add(r);
                } else {
                    assertEquals(-Errno.ENOSPC, rc);
                }
            } else {
                Route r = live.remove(rnd.nextInt(live.size()));
                assertEquals(ref.delete(r.ip, r.depth) ? 0 : -Errno.ENOENT, lpm.delete(r.ip, r.depth));
            }
            if (step % 2500 == 0) check(ref, all, rnd, "step " + step);
        }
        check(ref, all, rnd, "end");
    }

    /** Routes clustered in a few /8s and /16s so prefixes overlap, every depth 1..32 present. */
    static List<Route> randomRoutes(SplittableRandom rnd, int n) {
        int[] bases = {0x0A000000, 0x0A010000, 0xC0A80000, 0x64400000, 0x7F000000, 0xAC100000};
        List<Route> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            // Short prefixes each rewrite up to 2^23 tbl24 entries: a few of them are enough.
            int depth = switch (rnd.nextInt(64)) {
                case 0 -> 1 + rnd.nextInt(32);
                case 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 -> 24;
                case 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 -> 25 + rnd.nextInt(8);
                default -> 12 + rnd.nextInt(21);
            };
            int base = bases[rnd.nextInt(bases.length)];
            int ip = rnd.nextInt(4) == 0 ? rnd.nextInt() : base | (rnd.nextInt() & (rnd.nextBoolean() ? 0xFFFF : 0x0FFF));
            out.add(new Route(ip & Lpm.depthMask(depth), depth, rnd.nextInt(Lpm.MAX_NEXT_HOP + 1)));
        }
        return out;
    }

    /** Every route's first, last and neighbouring addresses, plus random ones; single, bulk and x4 agree. */
    private void check(Reference ref, List<Route> routes, SplittableRandom rnd, String when) {
        int[] ips = new int[4 * routes.size() + 4000];
        int n = 0;
        for (Route r : routes) {
            int last = r.ip | ~Lpm.depthMask(r.depth);
            ips[n++] = r.ip;
            ips[n++] = last;
            ips[n++] = r.ip - 1;
            ips[n++] = last + 1;
        }
        while (n < ips.length) ips[n++] = rnd.nextInt(3) == 0 ? rnd.nextInt() : 0x0A000000 | rnd.nextInt() & 0x01FFFFFF;
        int[] bulk = new int[ips.length];
        lpm.lookupBulk(ips, bulk, ips.length);
        int[] x4 = new int[4];
        for (int i = 0; i < ips.length; i++) {
            int want = ref.lookup(ips[i]);
            int got = lpm.lookup(ips[i]);
            if (want != got) fail(when + ": lookup " + Lpm.toString(ips[i]) + ": got " + got + ", want " + want);
            assertEquals(want == Lpm.MISS ? 0 : Lpm.LOOKUP_SUCCESS | want, bulk[i], when + ": bulk");
            if ((i & 3) == 0 && i + 4 <= ips.length) {
                lpm.lookupX4(ips, i, x4, 0, -7);
                for (int k = 0; k < 4; k++) {
                    int w = ref.lookup(ips[i + k]);
                    assertEquals(w == Lpm.MISS ? -7 : w, x4[k], when + ": x4");
                }
            }
        }
    }

    @Test
    void tbl8ExhaustionReturnsEnospcAndChangesNothing() {
        lpm = Lpm.create("t_tbl8", -1, 100, 2);
        int a = Lpm.parse("10.0.1.0"), b = Lpm.parse("10.0.2.0"), c = Lpm.parse("10.0.3.0");
        assertEquals(0, lpm.add(Lpm.parse("10.0.0.0"), 16, 1));
        assertEquals(0, lpm.add(a, 25, 2));
        assertEquals(0, lpm.add(b, 26, 3));
        assertEquals(0, lpm.add(a + 200, 32, 4)); // same /24 as a: no new group
        assertEquals(2, lpm.tbl8GroupsInUse());
        assertEquals(-Errno.ENOSPC, lpm.add(c, 30, 5));
        assertFalse(lpm.isRulePresent(c, 30));
        assertEquals(1, lpm.lookup(c));
        assertEquals(4, lpm.ruleCount());
        assertEquals(0, lpm.add(c, 24, 6)); // /24 needs no group
        assertEquals(0, lpm.delete(b, 26)); // frees b's group
        assertEquals(1, lpm.tbl8GroupsInUse());
        assertEquals(0, lpm.add(c, 30, 5));
        assertEquals(5, lpm.lookup(c + 3));
        assertEquals(6, lpm.lookup(c + 4));
        assertEquals(1, lpm.lookup(b));
    }

    @Test
    void ruleTableFullReturnsEnospc() {
        lpm = Lpm.create("t_rules", -1, 3, 4);
        for (int i = 0; i < 3; i++) assertEquals(0, lpm.add(i << 24, 8, i));
        assertEquals(-Errno.ENOSPC, lpm.add(3 << 24, 8, 3));
        assertEquals(Lpm.MISS, lpm.lookup(3 << 24));
        assertEquals(0, lpm.add(2 << 24, 8, 9)); // an update needs no slot
        assertEquals(0, lpm.delete(0, 8));
        assertEquals(0, lpm.add(3 << 24, 8, 3));
    }

    @Test
    void badArgumentsThrowOneLineNamingTheArgument() {
        lpm = Lpm.create("t_bad", -1, 8, 2);
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.add(0x0A000000, 0, 1)), "depth=0", "1..32");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.add(0x0A000000, 33, 1)), "depth=33", "1..32");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.add(0x0A000000, 8, 1 << 24)),
                "nextHop=16777216", "0..16777215");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.add(0x0A000000, 8, -1)), "nextHop=-1", "24 bits");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.delete(0x0A000000, 33)), "depth=33", "delete");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.isRulePresent(0, -1)), "depth=-1", "10".substring(1));
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> Lpm.create("t_bad2", -1, 0, 2)), "maxRules=0", ">= 1");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> Lpm.create("t_bad3", -1, 1, 0)), "numberTbl8s=0",
                "1..16777216");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> Lpm.create("x".repeat(40), -1, 1, 1)), "name=",
                "characters");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> Lpm.parse("10.0.0.256")), "10.0.0.256", "0..255");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> Lpm.parse("10.0.0")), "10.0.0", "four");
        assertThrows(IllegalStateException.class, () -> Lpm.create("t_bad", -1, 8, 2)); // name taken
        assertThrows(IndexOutOfBoundsException.class, () -> lpm.lookupBulk(new int[4], new int[2], 4));
        assertEquals(0, lpm.ruleCount());
    }

    static void assertOneLine(Exception e, String... parts) {
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        for (String p : parts) assertTrue(m.contains(p), () -> "'" + m + "' lacks '" + p + "'");
    }

    @Test
    void lookupsAllocateNothing() {
        lpm = Lpm.create("t_alloc", -1, 100, 8);
        lpm.add(0x0A000000, 8, 1);
        lpm.add(0x0A000100, 28, 2);
        int[] ips = new int[32], hops = new int[32];
        for (int i = 0; i < 32; i++) ips[i] = 0x0A000100 + i * 3;
        long[] sink = new long[1];
        AllocationMeter.assertNoAllocation("lookup", 20_000, 10_000, () -> {
            for (int ip : ips) sink[0] += lpm.lookup(ip);
        });
        AllocationMeter.assertNoAllocation("lookupBulk", 20_000, 10_000, () -> lpm.lookupBulk(ips, hops, 32));
        AllocationMeter.assertNoAllocation("lookupX4", 20_000, 10_000, () -> lpm.lookupX4(ips, 4, hops, 0, -1));
        assertTrue(sink[0] != 0);
    }

    /**
     * One writer adds and deletes /24, /26 and /32 routes in 64 /24s of 10.0.0.0/8 (with only 6
     * tbl8 groups, so groups are freed and reused all the time) while a reader checks that every
     * result is a next hop some rule for that address has had.
     */
    @Test
    void concurrentReaderSeesOldOrNewRouteNeverGarbage() throws Exception {
        lpm = Lpm.create("t_conc", -1, 1000, 6);
        lpm.add(0x0A000000, 8, 1);
        int[] ips = new int[32], hops = new int[32];
        ReaderWriterRun.run(1500, rnd -> {
            int t = rnd.nextInt(64), kind = rnd.nextInt(3);
            int ip = 0x0A000000 | t << 8 | (kind == 0 ? 0 : kind == 1 ? 64 : 77);
            int depth = kind == 0 ? 24 : kind == 1 ? 26 : 32;
            if (lpm.isRulePresent(ip, depth)) lpm.delete(ip, depth);
            else lpm.add(ip, depth, (kind + 1) * 1000 + t); // -ENOSPC now and then: fine
            return null;
        }, rnd -> {
            for (int i = 0; i < 32; i++) ips[i] = 0x0A000000 | rnd.nextInt(64) << 8 | rnd.nextInt(256);
            lpm.lookupBulk(ips, hops, 32);
            for (int i = 0; i < 32; i++) {
                int single = lpm.lookup(ips[i]);
                if (!allowed(ips[i], single) || (hops[i] & Lpm.LOOKUP_SUCCESS) == 0
                        || !allowed(ips[i], hops[i] & Lpm.MAX_NEXT_HOP)) {
                    return Lpm.toString(ips[i]) + " -> " + single + " / bulk " + Integer.toHexString(hops[i]);
                }
            }
            return null;
        });
    }

    private static boolean allowed(int ip, int nh) {
        int t = ip >>> 8 & 0xFF, x = ip & 0xFF;
        return nh == 1 || nh == 1000 + t || (nh == 2000 + t && x >= 64 && x < 128) || (nh == 3000 + t && x == 77);
    }
}
