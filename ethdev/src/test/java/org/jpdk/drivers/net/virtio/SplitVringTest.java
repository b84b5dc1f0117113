package org.jpdk.drivers.net.virtio;

import org.jpdk.eal.Eal;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.virtio.SplitRing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The driver's side of a split ring, with the test as the device: descriptors go round the table
 * in turn (so that with IN_ORDER frame k takes descriptor k mod size, and the available ring
 * holds the same numbers lap after lap), chains of several segments included, in order or not.
 */
class SplitVringTest {
    private static final int SIZE = 16;
    private Eal eal;
    private Mempool<Mbuf> pool;
    private final Arena arena = Arena.ofConfined();

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64");
        pool = Mbuf.createPool("splitvring_test", 127, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
    }

    @AfterEach
    void cleanup() {
        try {
            pool.close();
            arena.close();
        } finally {
            eal.cleanup();
        }
    }

    private SplitVring ring(boolean inOrder) {
        MemorySegment mem = arena.allocate(SplitVring.bytes(SIZE, true), 4096);
        var all = new VhostBackend.MemRegion(0, Long.MAX_VALUE, 0, 0, -1);
        return SplitVring.in(mem, SIZE, -1, true, inOrder, new VhostBackend.MemRegion[]{all});
    }

    private Mbuf frame(int segs) {
        Mbuf m = Mbuf.alloc(pool);
        m.append(60);
        for (int s = 1; s < segs; s++) {
            Mbuf seg = Mbuf.alloc(pool);
            seg.append(100);
            assertTrue(m.chain(seg));
        }
        return m;
    }

    /** Adds {@code n} frames of {@code segs} segments (header pushed into the headroom) and publishes them. */
    private List<Integer> add(SplitVring r, int n, int segs) {
        List<Integer> heads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int before = (r.ring.availIdx()) & 0xffff;
            Mbuf m = frame(segs);
            m.prepend(VirtioUserDevice.NET_HDR_SIZE);
            r.addTx(m, true, segs);
            heads.add(r.ring.availRing(before + i));
        }
        r.publish();
        return heads;
    }

    /** The device returns {@code heads} as used, in that order, and the driver reaps them all. */
    private void useAndReap(SplitVring r, List<Integer> heads) {
        int u = r.ring.usedIdx();
        for (int h : heads) r.ring.usedElem(u++, h, 0);
        r.ring.usedIdx(u & 0xffff);
        for (int h : heads) {
            int id = r.nextUsedTx();
            assertEquals(h, id, r.why);
            r.mbufs[id].free();
            r.mbufs[id] = null;
        }
        assertEquals(Vring.NONE, r.nextUsedTx());
    }

    @Test
    void inOrderFramesTakeDescriptorsInTurnLapAfterLap() {
        SplitVring r = ring(true);
        int frame = 0;
        for (int lap = 0; lap < 5; lap++) {
            for (int burst = 0; burst < SIZE / 4; burst++) {
                List<Integer> heads = add(r, 4, 1);
                for (int h : heads) assertEquals(frame++ % SIZE, h, "frame " + (frame - 1) + " takes descriptor frame mod size");
                useAndReap(r, heads);
            }
        }
        for (int i = 0; i < SIZE; i++) assertEquals(i, r.ring.availRing(i), "available entry " + i);
        assertEquals(SIZE, r.numFree);
        assertEquals(0, r.inFlight);
    }

    @Test
    void chainsAlsoTakeDescriptorsInTurn() {
        SplitVring r = ring(true);
        int next = 0;
        for (int round = 0; round < 12; round++) {
            List<Integer> heads = add(r, 2, 3);
            for (int h : heads) {
                assertEquals(next, h);
                // the chain is three descriptors in a row, linked by next
                int d = h;
                for (int k = 0; k < 2; k++) {
                    assertNotEquals(0, r.ring.descFlags(d) & SplitRing.DESC_F_NEXT);
                    assertEquals((d + 1) % SIZE, r.ring.descNext(d));
                    d = r.ring.descNext(d);
                }
                assertEquals(0, r.ring.descFlags(d) & SplitRing.DESC_F_NEXT);
                next = (h + 3) % SIZE;
            }
            useAndReap(r, heads);
        }
        assertEquals(SIZE, r.numFree);
    }

    @Test
    void outOfOrderReturnsKeepEveryDescriptorOnce() {
        SplitVring r = ring(false);
        for (int round = 0; round < 20; round++) {
            List<Integer> heads = add(r, 6, round % 2 + 1);
            List<Integer> back = new ArrayList<>(heads);
            java.util.Collections.reverse(back);
            useAndReap(r, back);
            assertEquals(SIZE, r.numFree, "round " + round);
        }
        // a full ring still fills: every descriptor is free exactly once
        List<Integer> heads = add(r, SIZE, 1);
        assertEquals(SIZE, heads.stream().distinct().count());
        assertEquals(0, r.numFree);
        useAndReap(r, heads);
    }
}
