package org.jpdk.ethdev;

import org.jpdk.bpf.BpfProgram;
import org.jpdk.bpf.PcapFilter;
import org.jpdk.eal.Eal;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** BPF programs as rx/tx callbacks: drop and count, mark, unload, replace, and no allocation per burst. */
class BpfEthTest {
    private Eal eal;
    private Mempool<Mbuf> pool;

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0", "--vdev", "net_null1,size=128");
        pool = Mbuf.createPool("bpf_eth_test", 4095, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
    }

    @AfterEach
    void cleanup() {
        try {
            EthDev.closeAll();
            if (pool != null) pool.close();
        } finally {
            eal.cleanup();
        }
    }

    private EthDev ready(int id) {
        EthDev p = EthDev.get(id);
        p.configure(1, 1, PortConf.defaults());
        p.rxQueueSetup(0, 512, pool);
        p.txQueueSetup(0, 512);
        p.start();
        return p;
    }

    @Test
    void rxProgramsDropOrMarkWhatTheyReject() {
        EthDev small = ready(0), big = ready(1);
        BpfProgram greater = PcapFilter.compile("greater 100").toProgram();
        Mbuf[] pkts = new Mbuf[32];
        for (int flags : new int[]{0, BpfEth.F_JIT}) {
            BpfEth.Filter a = BpfEth.rxLoad(small, 0, greater, flags), b = BpfEth.rxLoad(big, 0, greater, flags);
            assertEquals(0, small.rxBurst(0, pkts, 32), "64-byte frames are dropped");
            assertEquals(32, a.dropped());
            int n = big.rxBurst(0, pkts, 32);
            assertEquals(32, n, "128-byte frames pass");
            assertEquals(32, b.passed());
            Mbuf.freeBulk(pkts, 0, n);
            assertSame(a, BpfEth.installed(small, 0, true));
            assertTrue(BpfEth.rxUnload(small, 0));
            assertFalse(BpfEth.rxUnload(small, 0));
            n = small.rxBurst(0, pkts, 32);
            assertEquals(32, n, "unloaded: everything passes again");
            Mbuf.freeBulk(pkts, 0, n);
            BpfEth.rxUnload(big, 0);
        }
        BpfEth.Filter marked = BpfEth.rxLoad(small, 0, greater, BpfEth.F_MARK | BpfEth.F_JIT);
        int n = small.rxBurst(0, pkts, 32);
        assertEquals(32, n, "F_MARK keeps the rejected packets");
        assertEquals(32, marked.dropped());
        Mbuf.freeBulk(pkts, 0, n);
        BpfEth.Filter replaced = BpfEth.rxLoad(small, 0, PcapFilter.compile("less 100").toProgram(), 0);
        assertNotSame(marked, BpfEth.installed(small, 0, true));
        n = small.rxBurst(0, pkts, 32);
        assertEquals(32, n);
        assertEquals(32, replaced.passed());
        Mbuf.freeBulk(pkts, 0, n);
        assertThrows(IllegalArgumentException.class, () -> BpfEth.rxLoad(small, 0, greater, 8));
    }

    @Test
    void txProgramsDropBeforeTheDriver() {
        EthDev p = ready(0);
        BpfEth.Filter f = BpfEth.txLoad(p, 0, PcapFilter.compile("greater 100").toProgram(), BpfEth.F_JIT);
        Mbuf[] pkts = new Mbuf[32];
        int n = p.rxBurst(0, pkts, 32);
        assertEquals(0, p.txBurst(0, pkts, n), "tx sends none of the 64-byte frames; the program freed them");
        assertEquals(32, f.dropped());
        assertTrue(BpfEth.txUnload(p, 0));
    }

    @Test
    void filteringAllocatesNothing() {
        EthDev p0 = ready(0), p1 = ready(1);
        BpfEth.rxLoad(p0, 0, PcapFilter.compile("less 100 and not ip").toProgram(), BpfEth.F_JIT);
        Mbuf[] pkts = new Mbuf[32];
        AllocationMeter.assertNoAllocation("rx with a bpf filter and tx", 20_000, 100_000, () -> {
            int n = p0.rxBurst(0, pkts, 32);
            int sent = p1.txBurst(0, pkts, n);
            if (sent < n) Mbuf.freeBulk(pkts, sent, n - sent);
        });
    }
}
