package org.jpdk.ethdev;

import org.jpdk.drivers.net.ring.RingDriver;
import org.jpdk.eal.Eal;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.ring.Ring;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** TxBuffer: sends when full or flushed, frees and counts what the port refuses, allocates nothing. */
class TxBufferTest {
    private Eal eal;
    private Mempool<Mbuf> pool;
    private Ring<Mbuf> ring;
    private EthDev port;

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64");
        pool = Mbuf.createPool("txbuf_test", 1023, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        ring = Ring.create("txbuf_ring", 64, Ring.F_SP_ENQ | Ring.F_SC_DEQ); // holds 63
        port = RingDriver.fromRings("txbuf", List.of(), List.of(ring));
        port.configure(0, 1, PortConf.defaults());
        port.txQueueSetup(0, 512);
        port.start();
    }

    @AfterEach
    void cleanup() {
        try {
            EthDev.closeAll();
            Mbuf[] left = new Mbuf[64];
            int n = ring.dequeueBurst(left, 0, 64);
            Mbuf.freeBulk(left, 0, n);
            ring.close();
            assertEquals(pool.size(), pool.availCount(), "every mbuf back in the pool");
            pool.close();
        } finally {
            eal.cleanup();
        }
    }

    @Test
    void sendsAFullBufferAtOnceAndTheRestOnFlush() {
        TxBuffer b = new TxBuffer(port, 0, 8);
        for (int i = 0; i < 7; i++) assertEquals(0, b.buffer(Mbuf.alloc(pool)));
        assertEquals(7, b.length());
        assertEquals(0, ring.count(), "nothing sent before the buffer is full");
        assertEquals(8, b.buffer(Mbuf.alloc(pool)));
        assertEquals(8, ring.count());
        b.buffer(Mbuf.alloc(pool));
        assertEquals(1, b.flush());
        assertEquals(0, b.flush(), "an empty flush sends nothing");
        assertEquals(9, b.sent());
        assertEquals(0, b.dropped());
    }

    @Test
    void whatThePortRefusesIsFreedAndCounted() {
        TxBuffer b = new TxBuffer(port, 0, 32);
        int before = pool.availCount();
        for (int i = 0; i < 96; i++) b.buffer(Mbuf.alloc(pool));
        b.flush();
        assertEquals(63, b.sent(), "the ring holds 63");
        assertEquals(33, b.dropped());
        assertEquals(before - 63, pool.availCount(), "the refused mbufs went back to the pool");
        assertThrows(IllegalArgumentException.class, () -> new TxBuffer(port, 0, 0));
    }

    @Test
    void bufferingAndFlushingAllocateNothing() {
        TxBuffer b = new TxBuffer(port, 0, 32);
        Mbuf[] burst = new Mbuf[32];
        Mbuf[] out = new Mbuf[64];
        AllocationMeter.assertNoAllocation("buffer and flush", 20_000, 20_000, () -> {
            Mbuf.allocBulk(pool, burst, 0, 20);
            for (int i = 0; i < 20; i++) b.buffer(burst[i]);
            b.flush();
            int n = ring.dequeueBurst(out, 0, 64);
            Mbuf.freeBulk(out, 0, n);
        });
    }
}
