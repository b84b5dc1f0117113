package org.jpdk.drivers.net.afxdp;

import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.EthStats;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Libc;
import org.jpdk.sys.Netns;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * net_af_xdp beyond the data path's happy case: the copy path of tx, drops, the interrupt fd,
 * no allocation, no leaks, and the one-line errors for missing privileges and memory limits.
 */
class AfXdpPortTest extends AfXdpTestBase {
    @Test
    void foreignChainedAndOversizedMbufsAreCopiedOrCounted() {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = ready(nsA, "net_af_xdp0,iface=va");
        EthDev b = ready(nsB, "net_af_xdp1,iface=vb");
        Mempool<Mbuf> other = Mbuf.createPool("afx_foreign", 255, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        try {
            Mbuf foreign = Mbuf.alloc(other);
            foreign.appendOffset(100);
            byte[] want = expected(1, 100);
            MemorySegment.copy(want, 0, foreign.buffer(), ValueLayout.JAVA_BYTE, foreign.dataOff(), 100);
            Mbuf head = frame(2, 1000), tail = Mbuf.alloc(other);
            tail.appendOffset(500);
            byte[] whole = expected(2, 1500);
            MemorySegment.copy(whole, 1000, tail.buffer(), ValueLayout.JAVA_BYTE, tail.dataOff(), 500);
            assertTrue(head.chain(tail));
            Mbuf big = frame(3, 1500);
            Mbuf bigTail = Mbuf.alloc(pool);
            bigTail.appendOffset(600);
            assertTrue(big.chain(bigTail));                                  // 2100 bytes: over MTU 1500 + 18
            Mbuf orig = frame(4, 80), clone = orig.clone(pool);
            Mbuf liar = frame(6, 100);
            liar.setPktLen(200);                                              // a single segment claiming more than it holds
            Mbuf[] pkts = {foreign, head, big, frame(0, 60), clone, liar};
            assertEquals(6, a.txBurst(0, pkts, 6), "oversized and inconsistent frames are taken (dropped), not left to the caller");
            List<Mbuf> got = receive(b, 0, 4, 2000);
            try {
                assertEquals(4, got.size());
                assertArrayEquals(want, bytes(got.get(0)), "another pool's mbuf is copied into the UMEM");
                assertArrayEquals(whole, bytes(got.get(1)), "a chain goes out as one frame");
                assertArrayEquals(expected(0, 60), bytes(got.get(2)));
                assertArrayEquals(expected(4, 80), bytes(got.get(3)), "a clone (indirect) is copied");
            } finally {
                freeAll(got);
                orig.free();
            }
            EthStats s = a.stats();
            assertEquals(4, s.opackets);
            assertEquals(2, s.oerrors);
            sendAll(a, 0, new Mbuf[]{frame(5, 60)}, 1);                     // reclaims the completions of the first burst
            freeAll(receive(b, 0, 1, 2000));
            assertEquals(other.size(), other.availCount(), "the foreign mbufs were freed once copied");
        } finally {
            EthDev.closeAll();
            other.close();
        }
    }

    @Test
    void theSocketIsTheInterruptFd() {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = ready(nsA, "net_af_xdp0,iface=va");
        EthDev b = ready(nsB, "net_af_xdp1,iface=vb");
        int fd = ((AfXdpDriver.Device) b.ops()).socketFd(0);
        assertEquals(fd, b.rxIntrFd(0));
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment pfd = ar.allocate(8, 4);
            pfd.set(ValueLayout.JAVA_INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, (short) Libc.POLLIN);
            assertEquals(0, Libc.poll(pfd, 1, 0), "nothing to read yet");
            sendAll(a, 0, new Mbuf[]{frame(1, 60)}, 1);
            assertEquals(1, Libc.poll(pfd, 1, 2000), "readable once a frame is in the RX ring");
            freeAll(receive(b, 0, 1, 1000));
            pfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
            assertEquals(0, Libc.poll(pfd, 1, 0), "not readable once the ring is drained");
        }
    }

    @Test
    void aSleepingLcoreWakesWhenAFrameArrives() throws Exception {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = ready(nsA, "net_af_xdp0,iface=va");
        EthDev b = ready(nsB, "net_af_xdp1,iface=vb");
        try (org.jpdk.ethdev.RxWaitSet ws = new org.jpdk.ethdev.RxWaitSet(1)) {
            ws.add(b, 0);
            b.rxIntrEnable(0);
            assertEquals(0, ws.await(50), "no frame: the wait times out");
            Thread sender = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
                sendAll(a, 0, new Mbuf[]{frame(9, 60)}, 1);
            });
            long t0 = System.nanoTime();
            int n = ws.await(5000);
            long waited = (System.nanoTime() - t0) / 1_000_000;
            sender.join();
            assertEquals(1, n, "woken by the frame");
            assertTrue(waited >= 150 && waited < 4000, "slept until the frame came: " + waited + " ms");
            b.rxIntrDisable(0);
            List<Mbuf> got = receive(b, 0, 1, 1000);
            assertEquals(1, got.size());
            freeAll(got);
        }
    }

    @Test
    void anLcoreStillPollingWhenThePortClosesGetsAnExceptionNotACrash() throws Exception {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = ready(nsA, "net_af_xdp0,iface=va");
        AfXdpDriver.Device dev = (AfXdpDriver.Device) a.ops();
        AfXdpRxQueue rxq = dev.rxQueue(0);
        AfXdpTxQueue txq = dev.txQueue(0);
        AtomicReference<Throwable> rxEnd = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicLong polls = new java.util.concurrent.atomic.AtomicLong();
        Thread rxLcore = new Thread(() -> {                              // polls the queue object itself, past ethdev's state check
            Mbuf[] burst = new Mbuf[32];
            try {
                while (true) {
                    Mbuf.freeBulk(burst, 0, rxq.rxBurst(burst, 0, 32));
                    polls.lazySet(polls.get() + 1);
                }
            } catch (Throwable t) {
                rxEnd.set(t);
            }
        }, "late-rx");
        rxLcore.start();
        while (polls.get() < 1000) Thread.onSpinWait();
        a.close();
        rxLcore.join(5000);
        assertFalse(rxLcore.isAlive());
        assertInstanceOf(IllegalStateException.class, rxEnd.get(), () -> String.valueOf(rxEnd.get()));
        Mbuf[] one = {frame(1, 60)};
        assertThrows(IllegalStateException.class, () -> txq.txBurst(one, 0, 1), "a late tx burst meets the closed rings");
        one[0].free();                                                    // not taken: the caller's to free
        assertEquals(pool.size(), pool.availCount(), "every mbuf the kernel held is back");
    }

    @Test
    void rxAndTxBurstsAllocateNothing() {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = ready(nsA, "net_af_xdp0,iface=va");
        EthDev b = ready(nsB, "net_af_xdp1,iface=vb");
        Mbuf[] tx = new Mbuf[32], rx = new Mbuf[32];
        Runnable body = () -> {
            assertTrue(Mbuf.allocBulk(pool, tx, 0, 32));
            for (int i = 0; i < 32; i++) {
                tx[i].appendOffset(60);
                tx[i].writeShort(12, ETHERTYPE);
            }
            int sent = 0, got = 0;
            for (int spin = 0; sent < 32; spin++) {
                sent += a.txBurst(0, tx, sent, 32 - sent);
                if (spin > 10_000_000) fail("tx stuck");
            }
            for (int spin = 0; got < 32; spin++) {
                got += b.rxBurst(0, rx, got, 32 - got);
                if (spin > 10_000_000) fail("rx stuck at " + got);
            }
            Mbuf.freeBulk(rx, 0, got);
        };
        AllocationMeter.assertNoAllocation("bursts of 32 each way", 3000, 1000, body);
        assertEquals(0, b.stats().imissed);
    }

    /**
     * A deleted interface takes the link down and the port says so once: one log line naming the
     * interface and what showed it, LINK_STATE_CHANGE and DEVICE_REMOVED. Port a learns it from a
     * failed transmit kick, port b, which only receives, from its periodic look at the socket.
     */
    @Test
    void anInterfaceThatDisappearsTakesTheLinkDownAndSaysSoOnce() throws InterruptedException {
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = ready(nsA, "net_af_xdp0,iface=va");
        EthDev b = ready(nsB, "net_af_xdp1,iface=vb,busy_budget=0");
        a.waitLinkUp(java.time.Duration.ofSeconds(3));
        b.waitLinkUp(java.time.Duration.ofSeconds(3));
        Mbuf[] burst = new Mbuf[32];
        for (int i = 0; i < 32; i++) burst[i] = frame(i, 60);
        sendAll(a, 0, burst, 32);
        freeAll(receive(b, 0, 32, 2000));
        assertTrue(a.link().up());
        List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.CountDownLatch removed = new java.util.concurrent.CountDownLatch(2);
        for (EthDev p : List.of(a, b)) {
            p.addEventCallback(org.jpdk.ethdev.EthEvent.LINK_STATE_CHANGE, (port, e) -> events.add(port.name() + " " + e + " up=" + port.link().up()));
            p.addEventCallback(org.jpdk.ethdev.EthEvent.DEVICE_REMOVED, (port, e) -> {
                events.add(port.name() + " " + e);
                removed.countDown();
            });
        }
        int indexA = ((AfXdpDriver.Device) a.ops()).ifindex(), indexB = ((AfXdpDriver.Device) b.ops()).ifindex();
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        org.jpdk.eal.Log.setOutput(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
        int taken = 0;
        try {
            nf.ip(nsB, "link", "del", "vb");                              // takes va with it
            assertFalse(a.link().up(), "link down once the interface is gone");
            assertFalse(b.link().up());
            for (int k = 0; k < 2 * AfXdpRxQueue.ERROR_CHECK_INTERVAL; k++) {
                assertEquals(0, b.rxBurst(0, burst, 32), "rx receives nothing, and does not throw");
            }
            for (int round = 0; round < 40; round++) {                   // more than a ring's worth
                for (int i = 0; i < 32; i++) burst[i] = frame(i, 60);
                int k = a.txBurst(0, burst, 32);
                taken += k;
                Mbuf.freeBulk(burst, k, 32 - k);
            }
            assertTrue(removed.await(5, java.util.concurrent.TimeUnit.SECONDS), () -> "events: " + events + "; log: " + log);
        } finally {
            org.jpdk.eal.Log.setOutput(System.err);
        }
        assertTrue(taken > 0, "tx takes packets and does not throw");
        assertEquals(List.of("net_af_xdp0 LINK_STATE_CHANGE up=false", "net_af_xdp0 DEVICE_REMOVED"),
                events.stream().filter(e -> e.startsWith("net_af_xdp0")).toList());
        assertEquals(List.of("net_af_xdp1 LINK_STATE_CHANGE up=false", "net_af_xdp1 DEVICE_REMOVED"),
                events.stream().filter(e -> e.startsWith("net_af_xdp1")).toList());
        List<String> lines = log.toString(java.nio.charset.StandardCharsets.UTF_8).lines().filter(l -> l.contains("is gone")).toList();
        assertEquals(2, lines.size(), () -> "one line per port: " + log);
        assertTrue(lines.stream().anyMatch(l -> l.contains("port " + a.id() + " (net_af_xdp0): interface va (ifindex " + indexA
                + ") is gone: sendto: ENXIO; link down")), lines::toString);
        assertTrue(lines.stream().anyMatch(l -> l.contains("port " + b.id() + " (net_af_xdp1): interface vb (ifindex " + indexB
                + ") is gone: recvfrom: ENXIO; link down")), lines::toString);
        assertEquals(0, b.stats().ierrors, "nothing counted on rx");
        a.close();
        b.close();
        assertEquals(pool.size(), pool.availCount(), "every mbuf the kernel held is back");
    }

    private static long count(Path dir) throws IOException {
        try (var l = Files.list(dir)) {
            return l.count();
        }
    }

    private static long xskMappings() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(x -> x.contains("XDP") || x.contains("xdp")).count();
    }

    @Test
    void createAndCloseFiftyTimesLeaksNoFdMappingOrProgram() throws IOException {
        nf.veth(nsA, "va", nsB, "vb");
        Path fds = Path.of("/proc/self/fd");
        ready(nsA, "net_af_xdp0,iface=va");
        EthDev.closeAll();
        XdpProgramTest.awaitNoXdp(nf, nsA, "va");
        long fdsBefore = count(fds), mapsBefore = xskMappings();
        for (int i = 0; i < 50; i++) {
            ready(nsA, "net_af_xdp0,iface=va");
            EthDev.closeAll();
        }
        long fdsAfter = count(fds);
        assertTrue(fdsAfter <= fdsBefore, "fd count is flat (50 ports opened sockets, maps, programs and links): " + fdsBefore + " -> " + fdsAfter);
        assertEquals(mapsBefore, xskMappings(), "ring mappings are gone");
        XdpProgramTest.awaitNoXdp(nf, nsA, "va");
        assertEquals(pool.size(), pool.availCount());
    }

    /** Runs {@code body} on a fresh thread inside {@code ns} without {@code caps}; returns what it threw. */
    private static Throwable withoutCaps(String ns, Runnable body, int... caps) throws InterruptedException {
        AtomicReference<Throwable> out = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try (Netns n = Netns.enter(ns)) {
                Capabilities.dropEffective(caps);                           // this thread only; it ends below
                body.run();
            } catch (Throwable e) {
                out.set(e);
            }
        });
        t.start();
        t.join(20_000);
        assertFalse(t.isAlive());
        return out.get();
    }

    @Test
    void withoutCapNetRawTheErrorSaysSo() throws InterruptedException {
        nf.veth(nsA, "va", nsB, "vb");
        Throwable e = withoutCaps(nsA, () -> EthDev.create("net_af_xdp0,iface=va"), Capabilities.CAP_NET_RAW);
        assertInstanceOf(EthDevException.class, e, () -> String.valueOf(e));
        assertEquals("--vdev net_af_xdp0: socket(AF_XDP, iface=va): EPERM: AF_XDP sockets need CAP_NET_RAW (or root)", e.getMessage());
        assertEquals(0, EthDev.all().size(), "no port was made");
    }

    @Test
    void withoutCapBpfTheErrorSaysSo() throws InterruptedException {
        nf.veth(nsA, "va", nsB, "vb");
        Throwable e = withoutCaps(nsA, () -> EthDev.create("net_af_xdp0,iface=va"),
                Capabilities.CAP_BPF, Capabilities.CAP_SYS_ADMIN, Capabilities.CAP_NET_ADMIN, Capabilities.CAP_PERFMON);
        assertInstanceOf(EthDevException.class, e, () -> String.valueOf(e));
        assertTrue(e.getMessage().startsWith("--vdev net_af_xdp0: bpf(BPF_MAP_CREATE, XSKMAP jpdk_xsks, 1 entries): EPERM"), e.getMessage());
        assertTrue(e.getMessage().endsWith(": XDP programs and maps need CAP_BPF and CAP_NET_ADMIN (or root)"), e.getMessage());
        assertFalse(nf.ip(nsA, "link", "show", "va").contains("xdp"));
    }

    @Test
    void aMemlockLimitTooLowIsNamedWithTheRemedy() throws Throwable {
        long[] saved = Rlimit.memlock();
        long umemBytes = pool.region().byteSize();
        // the soft limit is lowered and put back; the hard one cannot be raised again without CAP_SYS_RESOURCE
        org.junit.jupiter.api.Assumptions.assumeTrue(saved[1] != Rlimit.RLIM_INFINITY && saved[1] < umemBytes,
                "needs a hard RLIMIT_MEMLOCK below the pool's " + umemBytes + " bytes, not " + saved[1]);
        nf.veth(nsA, "va", nsB, "vb");
        EthDev a = createIn(nsA, "net_af_xdp0,iface=va");
        a.configure(1, 1, PortConf.defaults());
        AtomicReference<Throwable> out = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                Capabilities.dropEffective(Capabilities.CAP_IPC_LOCK);      // this thread only: the UMEM is charged to RLIMIT_MEMLOCK
                assertTrue(Rlimit.set(64 * 1024, saved[1]));
                try {
                    a.rxQueueSetup(0, 512, pool);
                } finally {
                    Rlimit.set(saved[0], saved[1]);
                }
            } catch (Throwable e) {
                out.set(e);
            }
        });
        t.start();
        t.join(20_000);
        Throwable e = out.get();
        assertInstanceOf(EthDevException.class, e, () -> String.valueOf(e));
        assertTrue(e.getMessage().startsWith("port " + a.id() + " (net_af_xdp0): rx queue 0: setsockopt(XDP_UMEM_REG, AF_XDP, iface=va, queue 0,"
                + " mempool afx_test, "), e.getMessage());
        assertTrue(e.getMessage().contains(": RLIMIT_MEMLOCK (soft " + saved[1] + " bytes, hard " + saved[1] + " bytes) is below the "),
                "the soft limit was raised to the hard one first: " + e.getMessage());
        assertTrue(e.getMessage().endsWith("; raise it (ulimit -l unlimited, or LimitMEMLOCK=infinity) or run with CAP_IPC_LOCK"), e.getMessage());
        assertArrayEquals(saved, Rlimit.memlock(), "limits restored");
        assertEquals(pool.size(), pool.availCount());
    }
}
