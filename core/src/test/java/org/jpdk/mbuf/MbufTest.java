package org.jpdk.mbuf;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jpdk.eal.Memzone;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class MbufTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    static Mempool<Mbuf> pool(int n, int privSize, int dataRoom) {
        return Mbuf.createPool("mbtest" + SEQ.incrementAndGet(), n, 0, privSize, dataRoom, Memzone.SOCKET_ID_ANY);
    }

    static Mempool<Mbuf> pool(int n) {
        return pool(n, 0, Mbuf.DEFAULT_BUF_SIZE);
    }

    /** A packet of {@code len} bytes 0, 1, 2, ... */
    static Mbuf packet(Mempool<Mbuf> mp, int len, int first) {
        Mbuf m = Mbuf.alloc(mp);
        int off = m.appendOffset(len);
        assertEquals(0, off);
        for (int i = 0; i < len; i++) m.writeByte(i, first + i);
        return m;
    }

    static byte[] bytes(Mbuf m) {
        byte[] out = new byte[m.pktLen()];
        int k = 0;
        for (Mbuf s = m; s != null; s = s.next()) {
            MemorySegment.copy(s.data(), ValueLayout.JAVA_BYTE, 0, out, k, s.dataLen());
            k += s.dataLen();
        }
        assertEquals(out.length, k, "pktLen equals the sum of dataLen");
        return out;
    }

    @Test
    void allocGivesAFreshPacketWithDefaultHeadroom() {
        Mempool<Mbuf> mp = pool(8, 16, Mbuf.DEFAULT_BUF_SIZE);
        Mbuf m = Mbuf.alloc(mp);
        assertEquals(Mbuf.DEFAULT_HEADROOM, m.headroom());
        assertEquals(Mbuf.DEFAULT_DATAROOM, m.tailroom());
        assertEquals(0, m.dataLen());
        assertEquals(0, m.pktLen());
        assertEquals(1, m.nbSegs());
        assertEquals(1, m.refcnt());
        assertEquals(Mbuf.PORT_INVALID, m.port);
        assertEquals(16, m.priv().byteSize());
        assertEquals(Mbuf.DEFAULT_BUF_SIZE, m.bufLen());
        assertEquals(m.buffer().address() - m.priv().address(), 16);
        assertEquals(m.bufIova() + Mbuf.DEFAULT_HEADROOM, m.dataIova());
        assertSame(mp, m.pool());
        m.port = 3;
        m.olFlags = Mbuf.F_RX_VLAN | Mbuf.F_RX_RSS_HASH;
        m.userData = 42;
        m.free();
        assertEquals(0, m.refcnt());
        Mbuf again = null;
        for (int i = 0; i < 8 && again != m; i++) {
            again = Mbuf.alloc(mp);
            if (again != m) again.free();
        }
        assertSame(m, again, "every mbuf comes round again off an lcore (FIFO ring)");
        assertEquals(0, again.olFlags);
        assertEquals(0, again.userData);
        assertEquals(Mbuf.PORT_INVALID, again.port);
        again.free();
        assertEquals(8, mp.availCount());
    }

    @Test
    void smallDataRoomLimitsHeadroom() {
        Mempool<Mbuf> mp = pool(4, 0, 64);
        Mbuf m = Mbuf.alloc(mp);
        assertEquals(64, m.headroom());
        assertEquals(0, m.tailroom());
        assertEquals(-1, m.appendOffset(1));
        m.free();
    }

    @Test
    void allocBulkIsAllOrNothingAndFreeBulkReturnsEverything() {
        Mempool<Mbuf> mp = pool(40);
        Mbuf[] burst = new Mbuf[64];
        assertTrue(Mbuf.allocBulk(mp, burst, 0, 32));
        assertFalse(Mbuf.allocBulk(mp, burst, 32, 9));
        assertNull(burst[32]);
        assertEquals(8, mp.availCount());
        for (int i = 0; i < 32; i++) assertEquals(1, burst[i].refcnt());
        burst[5].appendOffset(100);
        Mbuf tail = Mbuf.alloc(mp);
        assertTrue(burst[7].chain(tail));
        burst[9] = null;
        Mbuf.freeBulk(burst, 0, 32);
        assertEquals(40 - 1, mp.availCount(), "burst[9] was not freed: its slot was null");
        mp.audit();
    }

    @Test
    void freeBulkAcrossPoolsReturnsEachToItsOwn() {
        Mempool<Mbuf> a = pool(8), b = pool(8);
        Mbuf[] arr = {Mbuf.alloc(a), Mbuf.alloc(b), Mbuf.alloc(a), Mbuf.alloc(a), Mbuf.alloc(b)};
        Mbuf.freeBulk(arr, 0, arr.length);
        assertEquals(8, a.availCount());
        assertEquals(8, b.availCount());
    }

    @Test
    void prependAndAppendStopAtHeadroomAndTailroomLeavingTheMbufUnmodified() {
        Mempool<Mbuf> mp = pool(4);
        Mbuf m = Mbuf.alloc(mp);
        assertEquals(0, m.appendOffset(100));
        assertEquals(100, m.appendOffset(20));
        assertEquals(120, m.pktLen());
        assertEquals(-1, m.appendOffset(Mbuf.DEFAULT_DATAROOM - 120 + 1));
        assertNull(m.append(Mbuf.DEFAULT_DATAROOM - 120 + 1));
        assertEquals(-1, m.appendOffset(-1));
        assertEquals(120, m.dataLen());
        MemorySegment tailBytes = m.append(Mbuf.DEFAULT_DATAROOM - 120);
        assertEquals(Mbuf.DEFAULT_DATAROOM - 120, tailBytes.byteSize());
        assertEquals(0, m.tailroom());
        assertThrows(IndexOutOfBoundsException.class, () -> tailBytes.get(ValueLayout.JAVA_BYTE, tailBytes.byteSize()));

        assertEquals(-1, m.prependOffset(Mbuf.DEFAULT_HEADROOM + 1));
        assertNull(m.prepend(Mbuf.DEFAULT_HEADROOM + 1));
        assertEquals(Mbuf.DEFAULT_HEADROOM, m.headroom());
        assertEquals(0, m.prependOffset(14));
        m.writeShort(12, 0x0800);
        assertEquals(0x0800, m.readShort(12));
        assertEquals(0x08, m.readByte(12));
        MemorySegment hdr = m.prepend(Mbuf.DEFAULT_HEADROOM - 14);
        assertEquals(Mbuf.DEFAULT_HEADROOM - 14, hdr.byteSize());
        assertEquals(0, m.headroom());
        assertEquals(Mbuf.DEFAULT_BUF_SIZE, m.pktLen());
        assertEquals(m.data().address(), hdr.address());
        m.free();
    }

    @Test
    void adjAndTrimRefuseMoreThanTheSegmentHolds() {
        Mempool<Mbuf> mp = pool(4);
        Mbuf m = packet(mp, 60, 0);
        assertFalse(m.adj(61));
        assertFalse(m.trim(61));
        assertFalse(m.adj(-1));
        assertEquals(60, m.pktLen());
        assertTrue(m.adj(14));
        assertEquals(14, m.readByte(0));
        assertEquals(Mbuf.DEFAULT_HEADROOM + 14, m.headroom());
        assertTrue(m.trim(6));
        assertEquals(40, m.dataLen());
        assertEquals(40, m.pktLen());
        assertEquals(53, m.readByte(39));
        assertTrue(m.trim(40));
        assertEquals(0, m.pktLen());
        m.free();
    }

    @Test
    void dataAccessOutsideTheDataThrowsIndexOutOfBounds() {
        Mempool<Mbuf> mp = pool(4);
        Mbuf m = packet(mp, 10, 0);
        assertThrows(IndexOutOfBoundsException.class, () -> m.data(5, 6));
        assertThrows(IndexOutOfBoundsException.class, () -> m.data(-1, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> m.readByte(10));
        assertThrows(IndexOutOfBoundsException.class, () -> m.readShort(9));
        assertThrows(IndexOutOfBoundsException.class, () -> m.readInt(7));
        assertThrows(IndexOutOfBoundsException.class, () -> m.writeInt(8, 1));
        MemorySegment d = m.data();
        assertEquals(10, d.byteSize());
        assertThrows(IndexOutOfBoundsException.class, () -> d.get(ValueLayout.JAVA_BYTE, 10));
        assertThrows(IndexOutOfBoundsException.class, () -> d.get(ValueLayout.JAVA_BYTE, -1));
        MemorySegment whole = m.buffer();
        assertThrows(IndexOutOfBoundsException.class, () -> whole.get(ValueLayout.JAVA_BYTE, Mbuf.DEFAULT_BUF_SIZE));
        assertThrows(IllegalArgumentException.class, () -> m.setData(Mbuf.DEFAULT_BUF_SIZE - 5, 6));
        m.writeInt(0, 0x01020304);
        assertEquals(0x01020304, m.readInt(0));
        assertEquals(1, d.get(ValueLayout.JAVA_BYTE, 0), "network byte order");
        m.free();
    }

    @Test
    void chainsAddUpAndRespectTheSegmentLimit() {
        Mempool<Mbuf> mp = pool(8);
        Mbuf a = packet(mp, 100, 0), b = packet(mp, 50, 100), c = packet(mp, 30, 150);
        assertTrue(b.chain(c));
        assertEquals(2, b.nbSegs());
        assertTrue(a.chain(b));
        assertEquals(3, a.nbSegs());
        assertEquals(180, a.pktLen());
        assertSame(c, a.lastSeg());
        byte[] all = bytes(a);
        for (int i = 0; i < 180; i++) assertEquals((byte) i, all[i]);
        assertEquals(30, a.appendOffset(10), "append goes to the last segment");
        assertEquals(40, c.dataLen());
        assertTrue(a.trim(15));
        assertEquals(25, c.dataLen());
        assertEquals(175, a.pktLen());

        Mbuf d = packet(mp, 1, 0);
        a.setNbSegs(Mbuf.MAX_NB_SEGS);
        assertFalse(a.chain(d), "65535 + 1 segments");
        assertNull(c.next());
        assertEquals(175, a.pktLen());
        a.setNbSegs(3);
        a.free();
        d.free();
        assertEquals(8, mp.availCount());
    }

    @Test
    void lengthsConsistentSeesPktLenDisagreeWithTheSegments() {
        Mempool<Mbuf> mp = pool(8);
        Mbuf a = packet(mp, 100, 0), b = packet(mp, 50, 100);
        assertTrue(a.lengthsConsistent());
        assertTrue(a.chain(b));
        assertTrue(a.lengthsConsistent());
        b.appendOffset(20);                       // grown through the second segment: the head's pktLen misses it
        assertFalse(a.lengthsConsistent());
        a.setPktLen(170);
        assertTrue(a.lengthsConsistent());
        a.setPktLen(60);                          // shorter than the segments hold
        assertFalse(a.lengthsConsistent());
        a.setPktLen(170);
        b.setData(b.dataOff(), 10);               // a segment shrunk by hand
        assertFalse(a.lengthsConsistent());
        Mbuf c = packet(mp, 10, 0);
        c.setPktLen(11);
        assertFalse(c.lengthsConsistent(), "single segment");
        a.free();
        c.free();
        assertEquals(8, mp.availCount());
    }

    @Test
    void cloneSharesTheBufferAndTheDirectReturnsWhenTheLastReferenceGoes() {
        Mempool<Mbuf> mp = pool(8), clones = pool(8, 0, 0);
        for (boolean directFirst : new boolean[] {true, false}) {
            Mbuf md = packet(mp, 64, 7);
            md.port = 2;
            Mbuf mi = md.clone(clones);
            assertNotNull(mi);
            assertTrue(mi.isIndirect());
            assertTrue((mi.olFlags & Mbuf.F_INDIRECT) != 0);
            assertEquals(2, md.refcnt());
            assertFalse(md.isWritable());
            assertEquals(md.data().address(), mi.data().address());
            assertEquals(64, mi.pktLen());
            assertEquals(2, mi.port);
            assertEquals(7, mi.readByte(0));
            assertEquals(7, mp.availCount());
            if (directFirst) {
                md.free();
                assertEquals(1, md.refcnt());
                assertEquals(7, mp.availCount(), "the clone still holds the buffer");
                assertEquals(7, mi.readByte(0));
                mi.free();
            } else {
                mi.free();
                assertEquals(1, md.refcnt());
                assertTrue(md.isWritable());
                md.free();
            }
            assertEquals(8, mp.availCount());
            assertEquals(8, clones.availCount());
            assertEquals(0, md.refcnt());
            assertFalse(mi.isIndirect());
            assertEquals(0, mi.bufLen(), "the clone went back to its own (empty) buffer");
        }
    }

    @Test
    void cloneOfAChainAndACloneOfAClone() {
        Mempool<Mbuf> mp = pool(8), clones = pool(8, 0, 0);
        Mbuf a = packet(mp, 10, 0), b = packet(mp, 20, 10);
        a.chain(b);
        Mbuf c1 = a.clone(clones);
        assertEquals(2, c1.nbSegs());
        assertEquals(30, c1.pktLen());
        assertArrayEquals(bytes(a), bytes(c1));
        Mbuf c2 = c1.clone(clones);
        assertEquals(3, a.refcnt(), "a clone of a clone references the direct mbuf");
        assertEquals(3, b.refcnt());
        a.free();
        c1.free();
        assertEquals(6, mp.availCount());
        assertArrayEquals(new byte[] {0, 1, 2}, java.util.Arrays.copyOf(bytes(c2), 3));
        c2.free();
        assertEquals(8, mp.availCount());
        assertEquals(8, clones.availCount());
    }

    @Test
    void cloneFailsCleanlyWhenTheClonePoolRunsOut() {
        Mempool<Mbuf> mp = pool(8), clones = pool(1, 0, 0);
        Mbuf a = packet(mp, 10, 0), b = packet(mp, 20, 10);
        a.chain(b);
        assertNull(a.clone(clones));
        assertEquals(1, a.refcnt());
        assertEquals(1, b.refcnt());
        assertEquals(1, clones.availCount());
        a.free();
        assertEquals(8, mp.availCount());
    }

    @Test
    void deepCopyOfAChainWithOffsetAndLength() {
        Mempool<Mbuf> mp = pool(16), small = pool(16, 0, Mbuf.DEFAULT_HEADROOM + 16);
        Mbuf a = packet(mp, 10, 0), b = packet(mp, 20, 10), c = packet(mp, 30, 30);
        a.chain(b);
        a.chain(c);
        a.port = 4;
        a.rssHash = 0x1234;
        a.olFlags = Mbuf.F_RX_RSS_HASH;
        Mbuf whole = a.copy(mp, 0, Integer.MAX_VALUE);
        assertEquals(1, whole.nbSegs());
        assertArrayEquals(bytes(a), bytes(whole));
        assertEquals(4, whole.port);
        assertEquals(0x1234, whole.rssHash);
        assertTrue(whole.isWritable());
        Mbuf part = a.copy(small, 5, 40);
        assertEquals(40, part.pktLen());
        assertEquals(3, part.nbSegs(), "16-byte segments");
        byte[] p = bytes(part);
        for (int i = 0; i < 40; i++) assertEquals((byte) (5 + i), p[i]);
        assertNull(a.copy(mp, 61, 1));
        Mempool<Mbuf> tiny = pool(2, 0, Mbuf.DEFAULT_HEADROOM + 16);
        assertNull(a.copy(tiny, 0, 60), "needs 4 segments of 16 bytes");
        assertEquals(2, tiny.availCount());
        whole.free();
        part.free();
        a.free();
        assertEquals(16, mp.availCount());
        assertEquals(16, small.availCount());
    }

    @Test
    void linearizePullsTheChainIntoTheFirstSegmentIfItFits() {
        Mempool<Mbuf> mp = pool(8);
        Mbuf a = packet(mp, 10, 0), b = packet(mp, 20, 10), c = packet(mp, 30, 30);
        a.chain(b);
        a.chain(c);
        byte[] before = bytes(a);
        assertTrue(a.linearize());
        assertEquals(1, a.nbSegs());
        assertNull(a.next());
        assertEquals(60, a.dataLen());
        assertArrayEquals(before, bytes(a));
        assertEquals(7, mp.availCount());
        assertTrue(a.linearize(), "a single segment is already linear");

        Mbuf big = packet(mp, Mbuf.DEFAULT_DATAROOM - 5, 0), more = packet(mp, 10, 0);
        big.chain(more);
        assertFalse(big.linearize(), "10 bytes do not fit in 5 of tailroom");
        assertEquals(2, big.nbSegs());
        Mbuf shared = packet(mp, 4, 0), t = packet(mp, 4, 4);
        shared.chain(t);
        Mbuf cl = shared.clone(mp);
        assertFalse(shared.linearize(), "a shared buffer is not written in place");
        cl.free();
        shared.free();
        big.free();
        a.free();
        assertEquals(8, mp.availCount());
    }

    @Test
    void doubleFreeThrowsNamingThePoolAndTheIndex() {
        assertTrue(Mbuf.DEBUG, "tests run with assertions, so debug is on");
        Mempool<Mbuf> mp = pool(4);
        Mbuf m = Mbuf.alloc(mp);
        m.free();
        IllegalStateException e = assertThrows(IllegalStateException.class, m::free);
        assertTrue(e.getMessage().contains(mp.name()) && e.getMessage().contains("#" + m.index()) && e.getMessage().contains("twice"),
                e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> Mbuf.freeBulk(new Mbuf[] {m}, 0, 1));
        assertTrue(e.getMessage().contains("twice"));
        assertEquals(4, mp.availCount());
        mp.audit();
    }

    @Test
    void freeSegFreesOneSegmentOnly() {
        Mempool<Mbuf> mp = pool(4);
        Mbuf a = packet(mp, 10, 0), b = packet(mp, 10, 0);
        a.chain(b);
        a.freeSeg();
        assertEquals(3, mp.availCount());
        assertEquals(1, b.refcnt());
        b.freeSeg();
        assertEquals(4, mp.availCount());
    }

    @Test
    void badPoolArgumentsNameTheArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool(8, 12, 2048));
        assertTrue(e.getMessage().contains("privSize=12"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> pool(8, 0, 70000));
        assertTrue(e.getMessage().contains("dataRoomSize=70000"), e.getMessage());
    }

    @Test
    void mbufsAreStaggeredInTheRegion() {
        Mempool<Mbuf> mp = pool(64, 0, 4096);
        for (int i = 1; i < 64; i++) {
            assertNotEquals(mp.object(i - 1).buffer().address() % 4096, mp.object(i).buffer().address() % 4096);
        }
    }

    @Test
    void dumpPrintsHeaderAndHexdump() {
        Mempool<Mbuf> mp = pool(4);
        Mbuf m = packet(mp, 20, 0xa0);
        m.port = 1;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        m.dump(new PrintStream(out, true), 18);
        String s = out.toString();
        assertTrue(s.contains("pkt_len=20") && s.contains("port=1") && s.contains("nb_segs=1") && s.contains("data_len=20"), s);
        assertTrue(s.contains("00000000: a0 a1 a2") && s.contains("00000010: b0 b1\n"), s);
        m.free();
    }
}
