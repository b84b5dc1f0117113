package org.jpdk.eal;

import org.jpdk.sys.Mman;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Init and shutdown, the 4 KiB fall-back warning, IOVA modes, NUMA sockets, memseg walk and dump. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class EalMemoryTest {
    @AfterEach
    void shutdown() {
        EalMemory.shutdown();
    }

    @AfterAll
    static void restoreHugepages() throws IOException {
        HugepageTest.restore(); // only puts back a count that requireFree2M raised
    }

    private static String stderrOf(Runnable r) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try {
            r.run();
        } finally {
            System.setErr(old);
        }
        return buf.toString();
    }

    @Test
    void noHugeFallsBackTo4kWithOneWarningLine() {
        EalMemory.shutdown();
        String err = stderrOf(() -> {
            EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
            Malloc.free(Malloc.malloc("t", 64, 0));
            Memzone.reserve("em_4k", 64, 0, 64);
        });
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("EAL: WARNING:") && err.contains("4 KiB pages"), err);
        assertFalse(EalMemory.hugepages());
        assertEquals(EalMemory.IovaMode.VA, EalMemory.iovaMode(), "no physical addresses without hugepages");
        Memzone z = Memzone.lookup("em_4k");
        assertEquals(z.segment().address(), z.iova());
    }

    @Test
    void noFreeHugepagesWarningSaysWhatToDo() {
        String w = EalMemory.noHugepagesWarning(List.of(
                new Hugepages.Size(Hugepages.SIZE_2M, 0, 0, new long[]{0}),
                new Hugepages.Size(Hugepages.SIZE_1G, 0, 0, new long[]{0})));
        assertEquals("EAL: WARNING: no free hugepages (2048 kB: 0 reserved, 0 free, 1048576 kB: 0 reserved, 0 free); "
                + "using 4 KiB pages: slower (more TLB misses); to fix: "
                + "echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", w);
        assertEquals(1, w.lines().count());
    }

    @Test
    void initTwiceIsRefusedUntilShutdown() {
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
        var e = assertThrows(IllegalStateException.class, () -> EalMemory.init(MemoryOptions.defaults()));
        assertTrue(e.getMessage().contains("shutdown"), e.getMessage());
        EalMemory.shutdown();
        EalMemory.shutdown(); // idempotent
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
        assertTrue(EalMemory.initialised());
    }

    @Test
    void iovaAsPhysicalAddressWhenPagemapShowsPfns() {
        HugepageTest.requireFree2M(4);
        HugepageTest.precondition(HugepageTest.root(), "PA mode needs root (CAP_SYS_ADMIN) for /proc/self/pagemap PFNs");
        EalMemory.init(MemoryOptions.defaults());
        assertEquals(EalMemory.IovaMode.PA, EalMemory.iovaMode());
        Memzone z = Memzone.reserve("em_pa", 3 << 20, 0, 4096);
        long va = z.segment().address();
        long pa = EalMemory.virt2iova(va);
        assertNotEquals(va, pa);
        assertEquals(z.iova(), pa);
        assertEquals(va % Hugepages.SIZE_2M, pa % Hugepages.SIZE_2M, "offset within the hugepage is kept");
        assertEquals(pa + 100, EalMemory.virt2iova(va + 100));
        assertThrows(IllegalArgumentException.class, () -> EalMemory.virt2iova(16));
        EalMemory.shutdown();

        EalMemory.init(MemoryOptions.defaults().withIovaMode(EalMemory.IovaMode.VA));
        Memzone v = Memzone.reserve("em_va", 4096, 0, 64);
        assertEquals(v.segment().address(), v.iova());
        assertEquals(v.segment().address() + 8, EalMemory.virt2iova(v.segment().address() + 8));
    }

    @Test
    void paModeIsRefusedWithoutHugepages() {
        var e = assertThrows(IllegalArgumentException.class, () -> EalMemory.init(
                MemoryOptions.defaults().withNoHuge(true).withIovaMode(EalMemory.IovaMode.PA)));
        assertTrue(e.getMessage().contains("iovaMode=PA"), e.getMessage());
        assertFalse(EalMemory.initialised());
    }

    @Test
    void memsegsKnowTheirNumaSocket() {
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
        Memzone z = Memzone.reserve("em_numa", 4096, 0, 64);
        Memseg m = EalMemory.virt2memseg(z.segment().address());
        int node;
        try {
            node = Mman.nodeOfAddress(z.segment().address());
        } catch (RuntimeException e) {
            node = 0; // no get_mempolicy here: single-node fall-back
        }
        assertEquals(node, m.socketId());
        assertEquals(m.socketId(), z.socketId());
        assertTrue(m.socketId() < EalMemory.socketCount());
    }

    @Test
    void walkMemsegListsAndDump() {
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
        Memzone.reserve("em_w1", 64, 0, 64);
        Memzone.reserve("em_w2", 5 << 20, 0, 64);
        List<Memseg> all = new ArrayList<>();
        EalMemory.walk(all::add);
        assertEquals(2, all.size());
        assertTrue(all.get(0).address() < all.get(1).address());
        List<MemsegList> lists = EalMemory.memsegLists();
        assertEquals(1, lists.size());
        assertEquals(Hugepages.SIZE_4K, lists.get(0).pageSize());
        assertEquals(EalMemory.mappedBytes(-1), lists.get(0).len());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        EalMemory.dump(new PrintStream(out, true));
        String d = out.toString();
        assertTrue(d.startsWith("IOVA mode: VA"), d);
        assertTrue(d.contains("Segment 0: IOVA:0x") && d.contains("hugepage_sz:4096"), d);
    }

    @Test
    void shutdownUnmapsEverythingAndMemoryCanBeInitialisedAgain() throws IOException {
        HugepageTest.requireFree2M(4);
        for (int round = 0; round < 2; round++) {
            EalMemory.init(MemoryOptions.defaults());
            Memzone z = Memzone.reserve("em_round", 3 << 20, 0, 64);
            MemorySegment m = Malloc.malloc("t", 100, 0);
            List<String> starts = new ArrayList<>();
            EalMemory.walk(s -> starts.add(Long.toHexString(s.address()) + "-"));
            String maps = HugepageTest.maps();
            for (String st : starts) assertTrue(maps.startsWith(st) || maps.contains("\n" + st), "mapped: " + st);
            EalMemory.shutdown();
            maps = HugepageTest.maps();
            for (String st : starts) assertFalse(maps.startsWith(st) || maps.contains("\n" + st), "still mapped: " + st);
            assertThrows(IllegalStateException.class, () -> z.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            assertThrows(IllegalStateException.class, () -> m.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            assertFalse(EalMemory.initialised());
        }
    }

    @Test
    void racingFirstUsersGetOneInit() throws Exception {
        EalMemory.shutdown();
        int n = 8;
        CountDownLatch go = new CountDownLatch(1);
        ConcurrentLinkedQueue<Object> results = new ConcurrentLinkedQueue<>();
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = "em_race" + i;
            Thread t = new Thread(() -> {
                try {
                    go.await();
                    results.add(Memzone.reserve(name, 64, Memzone.SOCKET_ID_ANY, 64));
                } catch (Throwable e) {
                    results.add(e);
                }
            });
            ts.add(t);
            t.start();
        }
        go.countDown();
        for (Thread t : ts) t.join();
        for (Object r : results) assertTrue(r instanceof Memzone, String.valueOf(r));
        List<String> names = new ArrayList<>();
        Memzone.walk(z -> names.add(z.name()));
        assertEquals(n, names.size(), "every zone is in the one registry: " + names);
        assertEquals(1, EalMemory.memsegLists().stream().mapToInt(l -> l.memsegs().size()).sum(),
                "one init, one heap chunk for eight small zones");
    }
}
