package org.jpdk.mempool;

import org.jpdk.eal.EalMemory;
import org.jpdk.eal.FileRange;
import org.jpdk.eal.Hugepages;
import org.jpdk.eal.MemoryOptions;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Where a pool's objects sit: IOVAs per page in PA mode, and pools with memory of their own. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MempoolMemoryTest {
    record Obj(int index, java.lang.foreign.MemorySegment seg, long iova) {
    }

    @AfterEach
    void shutdown() {
        EalMemory.shutdown();
    }

    private static void precondition(boolean ok, String why) {
        if (ok) return;
        if ("true".equals(System.getProperty("jpdk.ci"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
    }

    @Test
    void objectAndBufferIovasAreTranslatedPageByPageInPaMode() {
        precondition("root".equals(System.getProperty("user.name")), "PA mode needs root for /proc/self/pagemap PFNs");
        precondition(Hugepages.size(Hugepages.SIZE_2M).map(z -> z.free() >= 8).orElse(false), "needs 8 free 2 MiB hugepages");
        EalMemory.shutdown();
        EalMemory.init(MemoryOptions.defaults());
        assertEquals(EalMemory.IovaMode.PA, EalMemory.iovaMode());
        int n = 3000, elt = 2176 + 64; // 3000 objects of 37 lines: over three 2 MiB pages
        try (Mempool<Obj> mp = Mempool.create("mp_pa", n, elt, 0, Mempool.F_DEDICATED_MEMORY, Memzone.SOCKET_ID_ANY,
                Obj.class, (p, i, seg, iova) -> new Obj(i, seg, iova));
             Mempool<Mbuf> mbufs = Mbuf.createPool("mp_pa_mbufs", 3000, 0, 64, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY,
                     Mempool.F_DEDICATED_MEMORY)) {
            Memzone z = mp.memzone();
            long page = z.hugepageSize(), base = z.segment().address();
            int otherPages = 0, wrongUnderOldRule = 0;
            for (int i = 0; i < n; i++) {
                Obj o = mp.object(i);
                long va = o.seg().address();
                assertEquals(base + i * mp.stride(), va, "a uniform stride");
                assertEquals(EalMemory.virt2iova(va), o.iova(), "object " + i + "'s IOVA is its page's physical address");
                if (va / page != base / page) otherPages++;
                if (o.iova() != z.iova() + (va - base)) wrongUnderOldRule++;
            }
            assertTrue(otherPages > 0, "the pool spans several pages");
            // the old rule (zone IOVA + offset) is right only where the pages happen to be physically adjacent
            assertEquals(z.memseg().iovaContiguous(), wrongUnderOldRule == 0, "discontiguous pages: " + wrongUnderOldRule
                    + " objects would have had a wrong IOVA");
            System.out.printf("# PA mode: pool pages physically contiguous: %s; objects the old rule got wrong: %d of %d%n",
                    z.memseg().iovaContiguous(), wrongUnderOldRule, n);
            for (int i = 0; i < mbufs.size(); i++) {
                Mbuf m = mbufs.object(i);
                assertEquals(EalMemory.virt2iova(m.buffer().address()), m.bufIova(), "mbuf " + i + "'s buffer, after a private area");
            }
        }
    }

    @Test
    void aDedicatedMbufPoolShowsAPeerItsBuffersOnly() {
        EalMemory.shutdown();
        EalMemory.init(MemoryOptions.defaults().withNoHuge(true));
        Memzone other = Memzone.reserve("mp_other", 4096, 0, 64);
        Mempool<Mbuf> pool = Mbuf.createPool("mp_shown", 511, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY,
                Mempool.F_DEDICATED_MEMORY);
        try {
            Memzone z = pool.memzone();
            assertTrue(z.dedicated());
            FileRange r = z.fileRange();
            assertEquals(0, r.offset());
            assertNotEquals(other.memseg().fd(), r.fd());
            assertEquals(z.memseg().len(), r.length());
            assertTrue(r.length() - z.len() < 4096, "only page rounding beyond the pool");
            Mbuf m = Mbuf.alloc(pool);
            long first = m.buffer().address() - z.segment().address();
            assertTrue(first >= 0 && first + m.bufLen() <= r.length(), "the buffer lies in the range a peer maps");
            m.free();
        } finally {
            pool.close();
        }
        assertFalse(Memzone.lookup("MP_mp_shown") != null, "closing the pool freed its zone");
    }
}
