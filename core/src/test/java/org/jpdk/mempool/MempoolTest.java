package org.jpdk.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jpdk.eal.LcoreThread;
import org.jpdk.eal.Memzone;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class MempoolTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    /** The handle a test pool hands out: the object's index and bytes. */
    record Obj(int index, MemorySegment seg, long iova) {
    }

    static Mempool<Obj> pool(int n, int elt, int cache) {
        return pool(n, elt, cache, 0);
    }

    static Mempool<Obj> pool(int n, int elt, int cache, int flags) {
        return Mempool.create("mptest" + SEQ.incrementAndGet(), n, elt, cache, flags, Memzone.SOCKET_ID_ANY,
                Obj.class, (p, i, seg, iova) -> new Obj(i, seg, iova));
    }

    @Test
    void singleAndBulkOffLcoreUseTheRing() {
        Mempool<Obj> mp = pool(64, 100, 16);
        Obj a = mp.get();
        assertNotNull(a);
        assertEquals(63, mp.availCount());
        assertEquals(1, mp.inUseCount());
        Obj[] burst = new Obj[40];
        assertTrue(mp.getBulk(burst, 4, 32));
        assertNull(burst[0]);
        assertNull(burst[36]);
        assertEquals(31, mp.availCount());
        mp.put(a);
        mp.putBulk(burst, 4, 32);
        assertTrue(mp.isFull());
        assertEquals(0, mp.defaultCache(0).len(), "a non-lcore thread must not touch lcore caches");
        assertEquals(100, a.seg().byteSize());
        mp.audit();
        mp.close();
    }

    @Test
    void bulkGetIsAllOrNothing() {
        Mempool<Obj> mp = pool(10, 64, 0);
        Obj[] first = new Obj[8];
        assertTrue(mp.getBulk(first, 0, 8));
        Obj[] more = new Obj[4];
        assertFalse(mp.getBulk(more, 0, 4));
        assertArrayEquals(new Obj[4], more, "failed get must leave the array untouched");
        assertEquals(2, mp.availCount());
        Lcores.on(3, () -> {
            Obj[] m = new Obj[4];
            assertFalse(mp.getBulk(m, 0, 3));
            assertArrayEquals(new Obj[4], m);
            assertEquals(2, mp.availCount());
        });
        assertEquals(3, mp.statGetFailObjs());
        mp.putBulk(first, 0, 8);
        mp.close();
    }

    @Test
    void exhaustionReturnsNullAndFalseAtOnceWithAndWithoutCache() {
        Mempool<Obj> mp = pool(48, 64, 32);
        Runnable drain = () -> {
            List<Obj> got = new ArrayList<>();
            for (Obj o; (o = mp.get()) != null; ) got.add(o);
            assertEquals(48, got.size());
            assertNull(mp.get());
            assertFalse(mp.getBulk(new Obj[1], 0, 1));
            assertTrue(mp.getBulk(new Obj[1], 0, 0), "a get of 0 objects succeeds");
            for (Obj o : got) mp.put(o);
        };
        drain.run();
        Lcores.on(1, drain);
        assertEquals(48, mp.availCount());
        mp.audit();
    }

    @Test
    void cachesAreCountedPerLcoreAndInAvail() {
        Mempool<Obj> mp = pool(512, 64, 32);
        Lcores.on(0, () -> {
            Obj[] b = new Obj[8];
            assertTrue(mp.getBulk(b, 0, 8));
            // refill brought the cache to size + n, then 8 left it
            assertEquals(32, mp.defaultCache(0).len());
            mp.putBulk(b, 0, 8);
            assertEquals(40, mp.defaultCache(0).len());
        });
        Lcores.on(1, () -> {
            Obj o = mp.get();
            assertEquals(32, mp.defaultCache(1).len());
            assertEquals(511, mp.availCount());
            mp.put(o);
        });
        assertEquals(40 + 33, mp.defaultCache(0).len() + mp.defaultCache(1).len());
        assertEquals(512, mp.availCount());
        assertEquals(0, mp.inUseCount());
        assertEquals(9, mp.statGetSuccessObjs());
        assertEquals(9, mp.statPutObjs());
        mp.audit();
        assertThrows(IllegalStateException.class, () -> {
            Obj x = mp.get();
            try {
                mp.close();
            } finally {
                mp.put(x);
            }
        });
        mp.cacheFlush(mp.defaultCache(0));
        mp.cacheFlush(mp.defaultCache(1));
        assertEquals(512, mp.availCount());
        mp.close();
        assertNull(Mempool.lookup(mp.name()));
    }

    @Test
    void putFlushesTheColdBottomDownToSizeAboveOneAndAHalfTimesSize() {
        Mempool<Obj> mp = pool(256, 64, 32);
        Lcores.on(2, () -> {
            MempoolCache c = mp.defaultCache(2);
            assertEquals(48, c.flushThreshold());
            Obj[] b = new Obj[32];
            assertTrue(mp.getBulk(b, 0, 32));
            assertEquals(32, c.len());
            Obj bottom = (Obj) c.objs[0];
            mp.putBulk(b, 0, 16);
            assertEquals(48, c.len(), "at the threshold: no flush yet");
            assertEquals(256 - 64, mp.availCount() - c.len(), "the refill took size + n = 64 from the ring");
            int ringBefore = mp.availCount() - c.len();
            mp.put(b[16]);
            assertEquals(32, c.len(), "above the threshold: flushed down to size");
            assertEquals(ringBefore + 17, mp.availCount() - c.len());
            assertNotSame(bottom, c.objs[0], "the bottom (coldest) objects went to the ring");
            assertSame(b[16], c.objs[31], "the hottest object stays on top");
            mp.putBulk(b, 17, 15);
        });
        assertEquals(256, mp.availCount());
        mp.audit();
    }

    @Test
    void requestsLargerThanTheCacheGoToTheRing() {
        Mempool<Obj> mp = pool(256, 64, 16);
        Lcores.on(4, () -> {
            Obj[] b = new Obj[17];
            assertTrue(mp.getBulk(b, 0, 17));
            assertEquals(0, mp.defaultCache(4).len());
            mp.putBulk(b, 0, 17);
            assertEquals(0, mp.defaultCache(4).len());
            assertEquals(256, mp.availCount());
        });
    }

    @Test
    void cacheIsLifo() {
        Mempool<Obj> mp = pool(128, 64, 16);
        Lcores.on(5, () -> {
            Obj a = mp.get(), b = mp.get();
            mp.put(a);
            mp.put(b);
            assertSame(b, mp.get());
            assertSame(a, mp.get());
            mp.put(a);
            mp.put(b);
        });
    }

    @Test
    void explicitCacheWorksFromANonLcoreThread() {
        Mempool<Obj> mp = pool(128, 64, 16);
        MempoolCache c = mp.defaultCache(7);
        assertNull(mp.defaultCache(-1));
        Obj[] b = new Obj[4];
        assertTrue(mp.genericGet(b, 0, 4, c));
        assertEquals(16, c.len());
        mp.genericPut(b, 0, 4, c);
        assertEquals(20, c.len());
        assertEquals(4, c.getSuccessObjs());
        assertEquals(1, c.putBulks());
        assertTrue(mp.genericGet(b, 0, 4, null));
        mp.genericPut(b, 0, 4, null);
        assertEquals(128, mp.availCount());
    }

    @Test
    void auditDetectsADoublePutIntoACache() {
        Mempool<Obj> mp = pool(64, 64, 8);
        Lcores.on(6, () -> {
            Obj x = mp.get();
            mp.put(x);
            mp.put(x);
        });
        IllegalStateException e = assertThrows(IllegalStateException.class, mp::audit);
        assertTrue(e.getMessage().contains("free twice"), e.getMessage());
        assertTrue(e.getMessage().contains(mp.name()), e.getMessage());
    }

    @Test
    void doublePutOverflowingTheRingThrowsInDebug() {
        assertTrue(Mempool.DEBUG, "tests run with assertions, so debug is on");
        Mempool<Obj> mp = pool(16, 64, 0);
        Obj x = mp.get();
        mp.put(x);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> mp.put(x));
        assertTrue(e.getMessage().contains("put twice"), e.getMessage());
        assertEquals(1, mp.overflowCount());
        mp.audit();
    }

    @Test
    void consecutiveObjectsNeverShareA4KiBOffset() {
        for (int elt : new int[] {4096, 8192, 2048, 2176, 1024}) {
            Mempool<Obj> mp = pool(130, elt, 0);
            assertEquals(0, mp.stride() % 64, "cache-line aligned stride");
            assertTrue(mp.stride() >= elt);
            Set<Long> offsets = new java.util.HashSet<>();
            for (int i = 0; i < 64; i++) offsets.add(mp.object(i).seg().address() % 4096);
            assertEquals(elt >= 256 ? 64 : offsets.size(), offsets.size(), "64 consecutive objects of " + elt + " B use 64 line offsets");
            for (int i = 1; i < 130; i++) {
                long a = mp.object(i - 1).seg().address(), b = mp.object(i).seg().address();
                assertEquals(0, a % 64);
                assertNotEquals(a % 4096, b % 4096, "objects " + (i - 1) + "," + i + " of " + elt + " B");
                assertEquals(mp.object(i).iova() - mp.object(i - 1).iova(), b - a);
            }
        }
        Mempool<Obj> dense = pool(4, 4096, 0, Mempool.F_NO_SPREAD);
        assertEquals(4096, dense.stride());
        assertEquals(192, Mempool.stride(130, true), "3 lines is odd already");
        assertEquals(128, Mempool.stride(128, true), "two-line objects are not padded");
        assertEquals(64 * 35, Mempool.stride(2176, true));
    }

    @Test
    void objIterVisitsEveryObjectOnceWhateverItsState() {
        Mempool<Obj> mp = pool(100, 64, 0);
        Obj held = mp.get();
        boolean[] seen = new boolean[100];
        assertEquals(100, mp.objIter((o, i) -> {
            assertEquals(i, o.index());
            assertFalse(seen[i]);
            seen[i] = true;
        }));
        mp.put(held);
    }

    @Test
    void registryLookupAndDuplicateNames() {
        Mempool<Obj> mp = pool(8, 64, 0);
        assertSame(mp, Mempool.lookup(mp.name()));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Mempool.create(mp.name(), 8, 64, 0, 0,
                Memzone.SOCKET_ID_ANY, Obj.class, (p, i, s, iova) -> new Obj(i, s, iova)));
        assertTrue(e.getMessage().contains(mp.name()) && e.getMessage().contains("exists"), e.getMessage());
        mp.close();
        mp.close();
        Mempool<Obj> again = Mempool.create(mp.name(), 8, 64, 0, 0, Memzone.SOCKET_ID_ANY, Obj.class,
                (p, i, s, iova) -> new Obj(i, s, iova));
        assertSame(again, Mempool.lookup(mp.name()));
        again.close();
    }

    @Test
    void badArgumentsNameTheArgumentAndTheLimit() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool(4096, 64, 600));
        assertTrue(e.getMessage().contains("cacheSize=600") && e.getMessage().contains("0..512"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> pool(10, 64, 8));
        assertTrue(e.getMessage().contains("cacheSize=8") && e.getMessage().contains("n=10"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> pool(0, 64, 0));
        assertTrue(e.getMessage().contains("n=0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> pool(8, 64, 0, 0x100));
        assertTrue(e.getMessage().contains("flags=0x100"), e.getMessage());
    }

    @Test
    void dumpShowsGeometryCountsAndPerLcoreCaches() {
        Mempool<Obj> mp = pool(128, 100, 16);
        Lcores.on(9, () -> mp.put(mp.get()));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        mp.dump(new PrintStream(bytes, true));
        String s = bytes.toString();
        for (String want : new String[] {"mempool <" + mp.name() + ">", "size=128", "cache_size=16", "cache_count[9]=17",
                "populated_size=128", "avail=128", "in_use=0", "put_objs=1", "get_success_objs=1", "elt_size=100", "total_obj_size=128"}) {
            assertTrue(s.contains(want), want + " missing in\n" + s);
        }
    }

    @Test
    void concurrentGetPutFromLcoresAndPlainThreadsLosesAndDuplicatesNothing() throws Exception {
        int size = 2048;
        Mempool<Obj> mp = pool(size, 64, 64);
        AtomicReference<Throwable> error = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int seed = t;
            Runnable body = () -> {
                try {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    Obj[] held = new Obj[200];
                    for (int it = 0; it < 20_000; it++) {
                        int n = rnd.nextInt(1, 100);
                        if (mp.getBulk(held, 0, n)) {
                            for (int i = 0; i < n; i++) held[i].seg().set(java.lang.foreign.ValueLayout.JAVA_INT, 0, seed);
                            for (int i = 0; i < n; i++) {
                                if (held[i].seg().get(java.lang.foreign.ValueLayout.JAVA_INT, 0) != seed) throw new AssertionError("object shared by two threads");
                            }
                            mp.putBulk(held, 0, n);
                        }
                        Obj o = mp.get();
                        if (o != null) mp.put(o);
                    }
                } catch (Throwable e) {
                    error.compareAndSet(null, e);
                }
            };
            threads.add(t < 2 ? new LcoreThread(10 + t, "lc" + t, body) : new Thread(body, "plain" + t));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) t.join();
        Lcores.rethrow(error.get());
        assertEquals(size, mp.availCount());
        mp.audit();
        for (int l = 0; l < 128; l++) mp.cacheFlush(mp.defaultCache(l));
        Obj[] all = new Obj[size];
        assertTrue(mp.getBulk(all, 0, size));
        Set<Obj> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
        Collections.addAll(distinct, all);
        assertEquals(size, distinct.size());
        mp.putBulk(all, 0, size);
        mp.close();
    }
}
