package org.jpdk.eal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The malloc heap on 4 KiB pages: split, merge, realloc, stats, misuse, bounds, threads. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MallocTest {
    @BeforeEach
    void init() {
        EalMemory.shutdown();
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
    }

    @AfterEach
    void shutdown() {
        EalMemory.shutdown();
    }

    private static void assertArithmetic(MallocSocketStats s) {
        assertEquals(s.heapTotalBytes(), s.heapFreeBytes() + s.heapAllocBytes(), s.toString());
        assertTrue(s.greatestFreeBytes() <= s.heapFreeBytes(), s.toString());
    }

    @Test
    void allocationSplitsTheFreeElement() {
        MemorySegment a = Malloc.malloc("t", 1000, 0);
        MallocSocketStats s = Malloc.socketStats(0);
        assertEquals(EalMemory.GROW_QUANTUM, s.heapTotalBytes(), "the heap grew by one 2 MiB chunk");
        assertEquals(1, s.allocCount());
        assertEquals(1, s.freeCount(), "the rest of the chunk is one free element");
        assertEquals(1024, s.heapAllocBytes(), "1000 rounded up to whole cache lines");
        assertEquals(s.heapTotalBytes() - 1024, s.greatestFreeBytes());
        assertArithmetic(s);
        MemorySegment b = Malloc.malloc("t", 64, 0);
        assertEquals(a.address() + 1024, b.address(), "the next element is split off right after the first");
        Malloc.validate();
    }

    @Test
    void freeMergesWithFreeNeighbours() {
        MemorySegment a = Malloc.malloc("t", 4096, 0);
        MemorySegment b = Malloc.malloc("t", 4096, 0);
        MemorySegment c = Malloc.malloc("t", 4096, 0);
        long total = Malloc.socketStats(0).heapTotalBytes();
        Malloc.free(b);
        assertEquals(2, Malloc.socketStats(0).freeCount(), "hole at b plus the tail");
        Malloc.free(a);
        assertEquals(2, Malloc.socketStats(0).freeCount(), "a merged with the hole at b");
        MemorySegment ab = Malloc.malloc("t", 8192, 0);
        assertEquals(a.address(), ab.address(), "a+b is one free element again");
        Malloc.free(ab);
        Malloc.free(c);
        MallocSocketStats s = Malloc.socketStats(0);
        assertEquals(1, s.freeCount(), "everything merged back into one element");
        assertEquals(0, s.allocCount());
        assertEquals(total, s.heapFreeBytes());
        assertEquals(total, s.greatestFreeBytes());
        Malloc.validate();
    }

    @Test
    void alignmentAndZeroing() {
        MemorySegment dirty = Malloc.malloc("t", 4096, 0);
        dirty.fill((byte) -1);
        Malloc.free(dirty);
        MemorySegment z = Malloc.zmalloc("t", 4096, 4096);
        assertEquals(0, z.address() % 4096);
        for (long i = 0; i < 4096; i++) assertEquals(0, z.get(ValueLayout.JAVA_BYTE, i));
        MemorySegment c = Malloc.calloc("t", 10, 100, 256);
        assertEquals(1000, c.byteSize());
        assertEquals(0, c.address() % 256);
        var e = assertThrows(IllegalArgumentException.class, () -> Malloc.malloc("t", 64, 3));
        assertTrue(e.getMessage().contains("align=3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Malloc.malloc("t", 0, 0));
        assertTrue(e.getMessage().contains("size=0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Malloc.calloc("t", Long.MAX_VALUE, 2, 0));
    }

    @Test
    void reallocKeepsContents() {
        MemorySegment s = Malloc.malloc("t", 100, 0);
        for (int i = 0; i < 100; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) i);
        Malloc.malloc("t", 64, 0); // a busy neighbour forces growing to move
        MemorySegment grown = Malloc.realloc(s, 10_000, 0);
        assertEquals(10_000, grown.byteSize());
        for (int i = 0; i < 100; i++) assertEquals((byte) i, grown.get(ValueLayout.JAVA_BYTE, i));
        assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0), "old segment closed");
        MemorySegment shrunk = Malloc.realloc(grown, 50, 0);
        assertEquals(grown.address(), shrunk.address(), "shrinking stays in place");
        assertEquals(50, shrunk.byteSize());
        for (int i = 0; i < 50; i++) assertEquals((byte) i, shrunk.get(ValueLayout.JAVA_BYTE, i));
        assertThrows(IllegalStateException.class, () -> grown.get(ValueLayout.JAVA_BYTE, 0));
        Malloc.free(shrunk);
        Malloc.validate();
    }

    @Test
    void doubleFreeForeignAndSliceAreRefusedWithoutHarm() {
        MemorySegment s = Malloc.malloc("t", 256, 0);
        MallocSocketStats before = Malloc.socketStats(0);
        String hex = Long.toHexString(s.address());
        var slice = assertThrows(IllegalArgumentException.class, () -> Malloc.free(s.asSlice(0, 128)));
        assertTrue(slice.getMessage().contains(hex) && slice.getMessage().contains("slice"), slice.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Malloc.free(s.asSlice(64)));
        var fake = MemorySegment.ofAddress(s.address()).reinterpret(256); // bounded: s's own 256 bytes, never accessed
        assertThrows(IllegalArgumentException.class, () -> Malloc.free(fake), "same address, not the segment handed out");
        try (Arena arena = Arena.ofConfined()) {
            var foreign = assertThrows(IllegalArgumentException.class, () -> Malloc.free(arena.allocate(64)));
            assertTrue(foreign.getMessage().contains("foreign"), foreign.getMessage());
        }
        Memzone z = Memzone.reserve("ml_zone", 64, 0, 64);
        var zone = assertThrows(IllegalArgumentException.class, () -> Malloc.free(z.segment()));
        assertTrue(zone.getMessage().contains("Memzone.free"), zone.getMessage());
        z.free();
        assertEquals(before, Malloc.socketStats(0), "refused frees changed nothing");
        Malloc.free(s);
        var twice = assertThrows(IllegalStateException.class, () -> Malloc.free(s));
        assertTrue(twice.getMessage().contains(hex) && twice.getMessage().contains("double free"), twice.getMessage());
        Malloc.validate();
        Malloc.free(null);
    }

    @Test
    void segmentsAreBoundedToTheRequestedSize() {
        MemorySegment s = Malloc.malloc("t", 100, 0); // the element is 128 bytes; the segment is 100
        s.set(ValueLayout.JAVA_BYTE, 99, (byte) 1);
        assertThrows(IndexOutOfBoundsException.class, () -> s.set(ValueLayout.JAVA_BYTE, 100, (byte) 1));
        assertThrows(IndexOutOfBoundsException.class, () -> s.set(ValueLayout.JAVA_INT, 98, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> s.asSlice(50, 51));
    }

    @Test
    void heapGrowsWhenFullAndGivesBigChunksBack() {
        Malloc.malloc("t", 64, 0);
        long total = Malloc.socketStats(0).heapTotalBytes();
        MemorySegment big = Malloc.malloc("t", 5 << 20, 0);
        assertTrue(Malloc.socketStats(0).heapTotalBytes() >= total + (5 << 20));
        assertEquals(2, EalMemory.memsegLists().get(0).memsegs().size());
        Malloc.free(big);
        assertEquals(total, Malloc.socketStats(0).heapTotalBytes());
        assertEquals(1, EalMemory.memsegLists().get(0).memsegs().size());
    }

    @Test
    void memoryLimitIsEnforcedWithAClearMessage() {
        EalMemory.shutdown();
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true).withMemoryBytes(8 << 20));
        MemorySegment a = Malloc.malloc("t", 5 << 20, 0);
        var e = assertThrows(MemoryException.class, () -> Malloc.malloc("t", 4 << 20, 0));
        assertTrue(e.getMessage().contains("-m limit is " + (8 << 20)), e.getMessage());
        Malloc.free(a);
        Malloc.free(Malloc.malloc("t", 4 << 20, 0)); // fits once the first is given back
        Malloc.validate();

        EalMemory.shutdown();
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true).withSocketMemBytes(4 << 20));
        Malloc.malloc("t", 3 << 20, 0);
        e = assertThrows(MemoryException.class, () -> Malloc.mallocSocket("t", 3 << 20, 0, 0));
        assertTrue(e.getMessage().contains("--socket-mem limit of socket 0 is " + (4 << 20)), e.getMessage());
    }

    @Test
    void concurrentMallocAndFreeStayConsistent() throws Exception {
        int threads = 4;
        int ops = 3000;
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            byte tag = (byte) (t + 1);
            Thread th = new Thread(() -> {
                SplittableRandom rnd = new SplittableRandom(tag);
                List<MemorySegment> mine = new ArrayList<>();
                try {
                    go.await();
                    for (int i = 0; i < ops; i++) {
                        if (mine.isEmpty() || rnd.nextInt(3) > 0 && mine.size() < 64) {
                            MemorySegment s = Malloc.malloc("mt", 1 + rnd.nextInt(20_000), 64L << rnd.nextInt(4));
                            s.fill(tag);
                            mine.add(s);
                        } else {
                            MemorySegment s = mine.remove(rnd.nextInt(mine.size()));
                            checkTag(s, tag);
                            Malloc.free(s);
                        }
                    }
                    for (MemorySegment s : mine) {
                        checkTag(s, tag);
                        Malloc.free(s);
                    }
                } catch (Throwable x) {
                    failure.compareAndSet(null, x);
                }
            });
            ts.add(th);
            th.start();
        }
        go.countDown();
        for (Thread th : ts) th.join();
        if (failure.get() != null) throw new AssertionError(failure.get());
        Malloc.validate();
        MallocSocketStats s = Malloc.socketStats(0);
        assertEquals(0, s.allocCount());
        assertEquals(s.heapTotalBytes(), s.heapFreeBytes());
    }

    /** Another thread's block overlapping this one would have overwritten some of the tag bytes. */
    private static void checkTag(MemorySegment s, byte tag) {
        for (long i = 0; i < s.byteSize(); i += 61) {
            if (s.get(ValueLayout.JAVA_BYTE, i) != tag) throw new AssertionError("overlap at 0x" + Long.toHexString(s.address() + i));
        }
        if (s.get(ValueLayout.JAVA_BYTE, s.byteSize() - 1) != tag) throw new AssertionError("overlap at the end");
    }

    @Test
    void dumpShowsElements() {
        Malloc.malloc("mytype", 100, 0);
        var out = new java.io.ByteArrayOutputStream();
        Malloc.dump(new java.io.PrintStream(out, true));
        assertTrue(out.toString().contains("BUSY requested:100 type:mytype"), out.toString());
    }
}
