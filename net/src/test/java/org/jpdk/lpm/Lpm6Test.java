package org.jpdk.lpm;

import org.jpdk.sys.Errno;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.jpdk.lpm.LpmTest.assertOneLine;
import static org.junit.jupiter.api.Assertions.*;

/** IPv6 LPM against a reference that tries every depth from 128 down in a map of the rules. */
class Lpm6Test {
    private Lpm6 lpm;

    @AfterEach
    void free() {
        if (lpm != null) lpm.close();
    }

    record Route(long hi, long lo, int depth, int nh) {
    }

    record Key(long hi, long lo, int depth) {
        static Key of(long hi, long lo, int depth) {
            return new Key(hi & Lpm6.maskHi(depth), lo & Lpm6.maskLo(depth), depth);
        }
    }

    static final class Reference {
        final Map<Key, Integer> rules = new HashMap<>();

        int lookup(long hi, long lo) {
            for (int d = 128; d >= 1; d--) {
                Integer nh = rules.get(Key.of(hi, lo, d));
                if (nh != null) return nh;
            }
            return Lpm6.MISS;
        }
    }

    static byte[] addr(String text) {
        try {
            byte[] b = InetAddress.getByName(text).getAddress();
            assertEquals(16, b.length, text);
            return b;
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void nestedPrefixesAcrossLevels() {
        lpm = Lpm6.create("t6_nested", -1, 64, 64);
        assertEquals(0, lpm.add(addr("2001:db8::"), 32, 1));
        assertEquals(0, lpm.add(addr("2001:db8:1::"), 48, 2));
        assertEquals(0, lpm.add(addr("2001:db8:1:2::"), 64, 3));
        assertEquals(0, lpm.add(addr("2001:db8:1:2::1"), 128, 4));
        assertEquals(0, lpm.add(addr("2001::"), 16, 5));
        assertEquals(1, lpm.lookup(addr("2001:db8:ffff::1"), 0));
        assertEquals(2, lpm.lookup(addr("2001:db8:1:ffff::1"), 0));
        assertEquals(3, lpm.lookup(addr("2001:db8:1:2::2"), 0));
        assertEquals(4, lpm.lookup(addr("2001:db8:1:2::1"), 0));
        assertEquals(5, lpm.lookup(addr("2001:1::1"), 0));
        assertEquals(Lpm6.MISS, lpm.lookup(addr("2002::1"), 0));
        int used = lpm.tbl8GroupsInUse();
        assertEquals(13, used, "a /128 needs a group for each of bytes 3..15");

        assertEquals(0, lpm.delete(addr("2001:db8:1:2::1"), 128));
        assertEquals(3, lpm.lookup(addr("2001:db8:1:2::1"), 0));
        assertEquals(0, lpm.delete(addr("2001:db8:1::"), 48));
        assertEquals(3, lpm.lookup(addr("2001:db8:1:2::1"), 0));
        assertEquals(1, lpm.lookup(addr("2001:db8:1:3::1"), 0));
        assertEquals(0, lpm.delete(addr("2001:db8:1:2::"), 64));
        assertEquals(1, lpm.lookup(addr("2001:db8:1:2::1"), 0));
        assertEquals(1, lpm.tbl8GroupsInUse(), "only the /32's group for byte 3 is left");
        assertEquals(0, lpm.delete(addr("2001:db8::"), 32));
        assertEquals(0, lpm.tbl8GroupsInUse());
        assertEquals(5, lpm.lookup(addr("2001:db8:1:2::1"), 0));
        assertEquals(-Errno.ENOENT, lpm.delete(addr("2001:db8::"), 32));
        assertTrue(lpm.isRulePresent(addr("2001:ffff::"), 16));
        assertEquals(1, lpm.ruleCount());
    }

    @Test
    void randomRouteSetsMatchTheReference() {
        for (long seed : new long[] {11}) {
            SplittableRandom rnd = new SplittableRandom(seed);
            lpm = Lpm6.create("t6_random" + seed, -1, 5000, 60_000);
            Reference ref = new Reference();
            List<Route> routes = randomRoutes(rnd, 3000);
            for (Route r : routes) {
                assertEquals(0, lpm.add(r.hi, r.lo, r.depth, r.nh), () -> "add " + r);
                ref.rules.put(Key.of(r.hi, r.lo, r.depth), r.nh);
            }
            assertEquals(ref.rules.size(), lpm.ruleCount());
            check(ref, routes, rnd, "seed " + seed + " after adds");
            List<Route> order = new ArrayList<>(routes);
            Collections.shuffle(order, new java.util.Random(seed));
            int i = 0;
            for (Route r : order) {
                boolean present = ref.rules.remove(Key.of(r.hi, r.lo, r.depth)) != null;
                assertEquals(present ? 0 : -Errno.ENOENT, lpm.delete(r.hi, r.lo, r.depth), () -> "delete " + r);
                if (++i % 1000 == 0) check(ref, routes, rnd, "seed " + seed + " after " + i + " deletes");
            }
            check(ref, routes, rnd, "seed " + seed + " after all deletes");
            assertEquals(0, lpm.ruleCount());
            assertEquals(0, lpm.tbl8GroupsInUse(), "every tbl8 group recycled");
            lpm.close();
            lpm = null;
        }
    }

    /** Clustered under a few /32s and /48s so prefixes overlap at every level; depths 1..128. */
    static List<Route> randomRoutes(SplittableRandom rnd, int n) {
        long[] bases = {0x20010db800000000L, 0x20010db800010000L, 0x2a00145000000000L, 0xfe80000000000000L, 0x2001000000000000L};
        List<Route> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int depth = switch (rnd.nextInt(16)) {
                case 0 -> 1 + rnd.nextInt(128);
                case 1, 2 -> 128;
                case 3, 4, 5 -> 48;
                case 6, 7, 8 -> 64;
                default -> 17 + rnd.nextInt(112);
            };
            long hi = rnd.nextInt(8) == 0 ? rnd.nextLong() : bases[rnd.nextInt(bases.length)] | (rnd.nextLong() & 0xFFFFFFFFL);
            long lo = rnd.nextBoolean() ? rnd.nextLong() : rnd.nextLong() & 0xFF;
            out.add(new Route(hi & Lpm6.maskHi(depth), lo & Lpm6.maskLo(depth), depth, rnd.nextInt(Lpm6.MAX_NEXT_HOP + 1)));
        }
        return out;
    }

    private void check(Reference ref, List<Route> routes, SplittableRandom rnd, String when) {
        int n = 3 * routes.size() + 2000;
        byte[] ips = new byte[16 * n];
        ByteBuffer bb = ByteBuffer.wrap(ips);
        for (Route r : routes) {
            bb.putLong(r.hi).putLong(r.lo);
            bb.putLong(r.hi | ~Lpm6.maskHi(r.depth)).putLong(r.lo | ~Lpm6.maskLo(r.depth));
            long lo1 = r.lo - 1, hi1 = r.lo == 0 ? r.hi - 1 : r.hi;
            bb.putLong(hi1).putLong(lo1);
        }
        while (bb.hasRemaining()) {
            Route r = routes.get(rnd.nextInt(routes.size()));
            bb.putLong(r.hi ^ (rnd.nextLong() & 0xFFFFF)).putLong(rnd.nextLong());
        }
        int[] bulk = new int[n];
        lpm.lookupBulk(ips, bulk, n);
        bb.flip();
        for (int i = 0; i < n; i++) {
            long hi = bb.getLong(), lo = bb.getLong();
            int want = ref.lookup(hi, lo);
            int got = lpm.lookup(hi, lo);
            if (want != got) fail(when + ": lookup " + Lpm6.toString(hi, lo) + ": got " + got + ", want " + want);
            assertEquals(want, bulk[i], when + ": bulk");
            assertEquals(want, lpm.lookup(ips, 16 * i), when + ": byte[]");
        }
    }

    @Test
    void tbl8ExhaustionReturnsEnospcAndChangesNothing() {
        lpm = Lpm6.create("t6_tbl8", -1, 100, 6);
        assertEquals(0, lpm.add(addr("2001:db8::"), 32, 1));
        assertEquals(0, lpm.add(addr("2001:db8:1::"), 48, 2)); // groups for bytes 3, 4, 5
        assertEquals(3, lpm.tbl8GroupsInUse());
        assertEquals(0, lpm.add(addr("2001:db8:1:2::"), 64, 3)); // bytes 6, 7: 2 more
        assertEquals(5, lpm.tbl8GroupsInUse());
        // A /128 under another /48 needs 12 new groups (bytes 4..15); one is free.
        assertEquals(-Errno.ENOSPC, lpm.add(addr("2001:db8:2::1"), 128, 4));
        assertFalse(lpm.isRulePresent(addr("2001:db8:2::1"), 128));
        assertEquals(5, lpm.tbl8GroupsInUse());
        assertEquals(1, lpm.lookup(addr("2001:db8:2::1"), 0));
        assertEquals(3, lpm.lookup(addr("2001:db8:1:2::1"), 0));
        assertEquals(0, lpm.add(addr("2001:db8:2::"), 56, 5)); // a group for byte 6 under it: the last one
        assertEquals(6, lpm.tbl8GroupsInUse());
        assertEquals(-Errno.ENOSPC, lpm.add(addr("2001:db8:3::"), 56, 6));
        assertEquals(0, lpm.delete(addr("2001:db8:1:2::"), 64)); // its groups for bytes 7 and 6 fold away
        assertEquals(4, lpm.tbl8GroupsInUse());
        assertEquals(0, lpm.add(addr("2001:db8:3::"), 56, 6));
        assertEquals(5, lpm.tbl8GroupsInUse());
        assertEquals(6, lpm.lookup(addr("2001:db8:3::1"), 0));
        assertEquals(2, lpm.lookup(addr("2001:db8:1:2::1"), 0));
    }

    @Test
    void badArgumentsThrowOneLineNamingTheArgument() {
        lpm = Lpm6.create("t6_bad", -1, 8, 2);
        byte[] a = addr("2001:db8::");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.add(a, 0, 1)), "depth=0", "1..128");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.add(a, 129, 1)), "depth=129", "1..128");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.add(a, 32, 1 << 21)), "nextHop=2097152", "21 bits");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.add(new byte[4], 32, 1)), "4 bytes", "16 bytes");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> lpm.delete(a, 200)), "depth=200", "delete");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> Lpm6.create("t6_bad2", -1, 1, (1 << 21) + 1)),
                "numberTbl8s=2097153", "1..2097152");
        assertThrows(IndexOutOfBoundsException.class, () -> lpm.lookup(new byte[20], 8));
        assertThrows(IndexOutOfBoundsException.class, () -> lpm.lookupBulk(new byte[16], new int[2], 2));
    }

    @Test
    void lookupsAllocateNothing() {
        lpm = Lpm6.create("t6_alloc", -1, 100, 40);
        lpm.add(addr("2001:db8::"), 32, 1);
        lpm.add(addr("2001:db8:1:2::1"), 128, 2);
        byte[] ips = new byte[16 * 32];
        for (int i = 0; i < 32; i++) System.arraycopy(addr(i % 2 == 0 ? "2001:db8:1:2::1" : "2001:db8::" + i), 0, ips, 16 * i, 16);
        int[] hops = new int[32];
        long[] sink = new long[1];
        AllocationMeter.assertNoAllocation("lookup", 20_000, 10_000, () -> {
            for (int i = 0; i < 32; i++) sink[0] += lpm.lookup(ips, 16 * i);
        });
        AllocationMeter.assertNoAllocation("lookupBulk", 20_000, 10_000, () -> lpm.lookupBulk(ips, hops, 32));
        assertTrue(sink[0] != 0);
    }

    /** As LpmTest's: a writer toggles /40, /64 and /128 routes under a permanent /32 with few groups; a reader checks. */
    @Test
    void concurrentReaderSeesOldOrNewRouteNeverGarbage() throws Exception {
        lpm = Lpm6.create("t6_conc", -1, 1000, 24);
        long base = 0x20010db800000000L;
        lpm.add(base, 0, 32, 1);
        ReaderWriterRun.run(1500, rnd -> {
            int t = rnd.nextInt(32), kind = rnd.nextInt(3);
            long hi = base | (long) t << 24;
            int depth = kind == 0 ? 40 : kind == 1 ? 64 : 128;
            long lo = kind == 2 ? 1 : 0;
            if (lpm.ruleNextHop(hi, lo, depth) >= 0) lpm.delete(hi, lo, depth);
            else lpm.add(hi, lo, depth, (kind + 1) * 1000 + t);
            return null;
        }, rnd -> {
            int t = rnd.nextInt(32);
            long hi = base | (long) t << 24 | (rnd.nextBoolean() ? 0 : rnd.nextInt(2));
            long lo = rnd.nextBoolean() ? 1 : rnd.nextInt(4);
            int nh = lpm.lookup(hi, lo);
            boolean exact64 = (hi & 0xFFFFFF) == 0, exact128 = exact64 && lo == 1;
            boolean ok = nh == 1 || nh == 1000 + t || (nh == 2000 + t && exact64) || (nh == 3000 + t && exact128);
            return ok ? null : Lpm6.toString(hi, lo) + " -> " + nh;
        });
    }
}
