package org.jpdk.mbuf;

import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** External buffers (rte_pktmbuf_attach_extbuf): memory someone else owns, carried by mbufs and given back on the last free. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ExtbufTest {
    /** A stand-in for a peer's shared region, with buffers of 2048 bytes. */
    private static final MemorySegment REGION = Arena.ofAuto().allocate(16 * 2048, 64);

    @Test
    void theMbufCarriesABoundedSliceOfTheBufferAndTheCallbackRunsOnTheLastFree() {
        Mempool<Mbuf> mp = MbufTest.pool(8);
        List<Object> returned = new ArrayList<>();
        ExtSharedInfo shinfo = new ExtSharedInfo((buf, opaque) -> returned.add(opaque), "slot 3");
        MemorySegment buf = REGION.asSlice(3 * 2048, 2048);
        buf.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 128, 0x01020304);

        Mbuf m = Mbuf.alloc(mp);
        MemorySegment own = m.buffer();
        m.attachExtbuf(buf, 0x1000, shinfo);
        assertTrue(m.hasExtbuf());
        assertSame(shinfo, m.shinfo());
        assertTrue((m.olFlags & Mbuf.F_EXTERNAL) != 0);
        assertEquals(2048, m.bufLen());
        assertEquals(0x1000, m.bufIova());
        assertEquals(Mbuf.DEFAULT_HEADROOM, m.headroom());
        assertEquals(0, m.appendOffset(64));
        assertEquals(0x04030201, m.readInt(0), "the bytes written into the buffer (little-endian) read in network order");
        assertEquals(buf.address() + 128, m.data().address(), "the data is the peer's bytes, not a copy");
        assertEquals(-1, m.appendOffset(2048), "bounded to the external buffer");
        assertThrows(IndexOutOfBoundsException.class, () -> m.buffer().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 2048));

        m.free();
        assertEquals(List.of("slot 3"), returned);
        assertEquals(0, shinfo.refcnt());
        assertEquals(mp.size(), mp.availCount(), "the mbuf went back to its pool");
        assertFalse(m.hasExtbuf());
        assertEquals(own, m.buffer(), "with its own buffer again");
        assertEquals(0, m.olFlags & Mbuf.F_EXTERNAL);
    }

    @Test
    void clonesShareTheExternalBufferThroughItsCount() {
        Mempool<Mbuf> mp = MbufTest.pool(8);
        int[] frees = {0};
        ExtSharedInfo shinfo = new ExtSharedInfo((buf, opaque) -> frees[0]++, null);
        Mbuf m = Mbuf.alloc(mp);
        m.attachExtbuf(REGION.asSlice(0, 2048), 0, shinfo);
        m.appendOffset(100);
        assertTrue(m.isWritable());
        Mbuf c = m.clone(mp);
        assertNotSame(m, c);
        assertTrue(c.hasExtbuf());
        assertFalse(c.isIndirect(), "a clone of an external buffer refers to the buffer, not to the mbuf");
        assertEquals(m.data().address(), c.data().address());
        assertEquals(2, shinfo.refcnt());
        assertFalse(m.isWritable(), "shared: not writable in place");
        assertEquals(1, m.refcnt());
        m.free();
        assertEquals(0, frees[0], "the clone still holds the buffer");
        c.free();
        assertEquals(1, frees[0]);
        assertEquals(mp.size(), mp.availCount());
    }

    @Test
    void misuseIsRefused() {
        Mempool<Mbuf> mp = MbufTest.pool(8);
        ExtSharedInfo shinfo = new ExtSharedInfo((buf, opaque) -> { }, null);
        Mbuf m = Mbuf.alloc(mp);
        assertThrows(IllegalArgumentException.class,
                () -> m.attachExtbuf(Arena.ofAuto().allocate(Mbuf.MAX_BUF_SIZE + 1), 0, shinfo));
        m.attachExtbuf(REGION.asSlice(0, 2048), 0, shinfo);
        assertThrows(IllegalStateException.class, () -> m.attachExtbuf(REGION.asSlice(2048, 2048), 0, shinfo),
                "one external buffer at a time");
        Mbuf c = m.clone(mp);
        assertThrows(IllegalStateException.class, () -> c.attachExtbuf(REGION.asSlice(2048, 2048), 0, shinfo));
        c.free();
        m.free();
        assertThrows(IllegalStateException.class, () -> shinfo.release(REGION), "freed more often than attached");
        assertEquals(0, shinfo.refcnt());
    }

    @Test
    void attachAndFreeAllocateNothing() {
        Mempool<Mbuf> mp = MbufTest.pool(64);
        MemorySegment[] slots = new MemorySegment[16];
        ExtSharedInfo[] infos = new ExtSharedInfo[16];
        int[] back = {0};
        for (int i = 0; i < 16; i++) {
            slots[i] = REGION.asSlice(i * 2048L, 2048);
            infos[i] = new ExtSharedInfo((buf, opaque) -> back[0]++, i);
        }
        int[] k = {0};
        AllocationMeter.assertNoAllocation("attach, append and free of an external buffer", 50_000, 20_000, () -> {
            int i = k[0]++ & 15;
            infos[i].setRefcnt(1);
            Mbuf m = Mbuf.alloc(mp);
            m.attachExtbuf(slots[i], 0, infos[i]);
            m.appendOffset(60);
            m.free();
        });
        assertEquals(k[0], back[0], "every buffer given back");
    }
}
