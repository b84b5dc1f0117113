package org.jpdk.drivers.net.vhost;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.virtio.SplitRing;
import org.jpdk.virtio.VhostUserMessage;
import org.jpdk.virtio.VirtioFeatures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.jpdk.virtio.VhostUserMessage.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A front end that breaks the rules, once per rule: each is disconnected with its reason logged
 * and counted in vhost_protocol_errors, within bounded time, and the port serves the next front
 * end as if nothing happened; the other port of the process forwards throughout.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class VhostHostileFrontEndTest {
    @TempDir
    Path dir;
    private Eal eal;
    private Mempool<Mbuf> pool;
    private EthDev port, other;
    private final Mbuf[] burst = new Mbuf[32];
    private int errors;

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0-1", "--no-huge", "-m", "256", "--vdev", "net_vhost0,iface=" + dir.resolve("vh.sock"), "--vdev", "net_null0");
        pool = Mbuf.createPool("vhost_hostile", 4095, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        port = EthDev.byName("net_vhost0");
        other = EthDev.byName("net_null0");
        for (EthDev p : new EthDev[]{port, other}) {
            p.configure(1, 1, PortConf.defaults());
            p.rxQueueSetup(0, 0, pool);
            p.txQueueSetup(0, 0);
            p.start();
        }
    }

    @AfterEach
    void cleanup() {
        try {
            EthDev.closeAll();
            assertEquals(pool.size(), pool.availCount(), "every mbuf is back after close");
            pool.close();
        } finally {
            eal.cleanup();
        }
    }

    private TestFrontEnd frontEnd() {
        return new TestFrontEnd(dir.resolve("vh.sock"), 256, false);
    }

    /** One poll of both ports as an lcore would: the vhost rx and tx queues, and the null port's loop. */
    private void poll() {
        int n = port.rxBurst(0, burst, 32);
        Mbuf.freeBulk(burst, 0, n);
        if (Mbuf.allocBulk(pool, burst, 0, 4)) {
            for (int i = 0; i < 4; i++) burst[i].append(60);
            int sent = port.txBurst(0, burst, 4);
            Mbuf.freeBulk(burst, sent, 4 - sent);
        }
        n = other.rxBurst(0, burst, 32);
        int sent = other.txBurst(0, burst, n);
        Mbuf.freeBulk(burst, sent, n - sent);
    }

    /** The front end does {@code wrong}; the back end must drop it with a reason containing {@code reason}. */
    private void expectDisconnect(boolean handshake, String reason, Consumer<TestFrontEnd> wrong) {
        long otherBefore = other.stats().ipackets;
        try (TestFrontEnd fe = frontEnd()) {
            if (handshake) {
                fe.handshake(VhostDriverTest.ALL);
                assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
            }
            wrong.accept(fe);
            long end = System.nanoTime() + 10_000_000_000L;
            boolean closed = false;
            while (!closed && System.nanoTime() < end) {
                poll();
                closed = fe.closedWithin(5);
            }
            assertTrue(closed, "the back end dropped a front end that should fail with: " + reason);
        }
        errors++;
        long end = System.nanoTime() + 5_000_000_000L;
        while (port.xstat("vhost_protocol_errors") < errors && System.nanoTime() < end) TestFrontEnd.sleep(5);
        assertEquals(errors, port.xstat("vhost_protocol_errors"), reason);
        VhostDevice dev = (VhostDevice) port.ops();
        assertTrue(dev.lastDisconnectReason.contains(reason), "reason: " + dev.lastDisconnectReason + "; expected " + reason);
        assertFalse(port.link().up());
        assertTrue(other.stats().ipackets > otherBefore, "the other port forwarded meanwhile");
    }

    @Test
    void malformedMessagesDisconnect() {
        expectDisconnect(false, "SET_VRING_NUM: payload of 4 bytes; expected 8", fe -> {
            fe.request(SET_VRING_NUM);
            fe.msg.size(4);
            fe.send();
        });
        expectDisconnect(false, "vring 99; this port offers 2 vrings", fe -> {
            fe.request(SET_VRING_NUM);
            fe.msg.state(99, 256);
            fe.send();
        });
        expectDisconnect(false, "size 0; 1 to 32768", fe -> {
            fe.request(SET_VRING_NUM);
            fe.msg.state(0, 0);
            fe.send();
        });
        expectDisconnect(false, "0 descriptors; expected 1", fe -> {
            fe.request(SET_VRING_KICK);
            fe.msg.u64(1L);
            fe.send();
        });
        expectDisconnect(false, "2 regions but 1 descriptors", fe -> {
            fe.request(SET_MEM_TABLE);
            fe.msg.memTable(2).region(0, 0, 4096, 0x1000, 0).region(1, 0x100000, 4096, 0x200000, 0).addFd(fe.memfd);
            fe.send();
        });
        expectDisconnect(false, "were never offered", fe -> {
            fe.request(SET_FEATURES);
            fe.msg.u64(1L << 63);
            fe.send();
        });
        expectDisconnect(false, "payload of 4096 bytes; at most 512", fe -> {
            MemorySegment raw = fe.arena.allocate(12);
            raw.set(JAVA_INT_UNALIGNED, 0, SET_MEM_TABLE);
            raw.set(JAVA_INT_UNALIGNED, 4, VERSION);
            raw.set(JAVA_INT_UNALIGNED, 8, 4096);
            fe.ch.socket().send(raw, -1);
        });
        expectDisconnect(false, "stopped after 0 of 40 bytes", fe -> {
            MemorySegment raw = fe.arena.allocate(12);
            raw.set(JAVA_INT_UNALIGNED, 0, SET_VRING_ADDR);
            raw.set(JAVA_INT_UNALIGNED, 4, VERSION);
            raw.set(JAVA_INT_UNALIGNED, 8, 40);
            fe.ch.socket().send(raw, -1);
        });
        expectDisconnect(false, "unknown request", fe -> {
            fe.request(200);
            fe.send();
        });
        expectDisconnect(false, "is not inside one region", fe -> {
            fe.handshake(VhostDriverTest.ALL);
            fe.request(SET_VRING_ADDR);
            fe.msg.vringAddr(1, 0, TestFrontEnd.uva(TestFrontEnd.MEM - 64), TestFrontEnd.uva(0x10000), TestFrontEnd.uva(0x11000), 0);
            fe.send();
        });
        assertWorksAfterwards();
    }

    /** Open descriptors of this process. */
    private static long openFds() {
        try (var s = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Descriptors that come with a message the back end refuses (or does not use) are closed
     * with the session: found by the vhost fuzz target, whose back end ran out of descriptors
     * (accept4: EMFILE) after some 30,000 sessions that ended on such a message.
     */
    @Test
    void descriptorsOfARefusedMessageAreClosed() {
        expectDisconnect(false, "payload of 16 bytes; expected 8", fe -> {
            fe.request(SET_LOG_FD);
            fe.msg.size(16).addFd(fe.memfd).addFd(fe.kick[0].fd());
            fe.send();
        });
        long before = openFds();
        for (int i = 0; i < 20; i++) {
            expectDisconnect(false, "payload of 16 bytes; expected 8", fe -> {
                fe.request(SET_LOG_FD);
                fe.msg.size(16).addFd(fe.memfd).addFd(fe.kick[0].fd());
                fe.send();
            });
        }
        long after = openFds();
        assertTrue(after - before < 5, "descriptors left open by 20 refused sessions: " + before + " before, " + after + " after");
        assertWorksAfterwards();
    }

    @Test
    void hostileDescriptorsDisconnect() {
        // a descriptor pointing outside guest memory
        expectDisconnect(true, "outside guest memory", fe -> publishTx(fe, 0, TestFrontEnd.gpa(TestFrontEnd.MEM - 16), 64, 0, 0));
        // a chain that loops back on itself
        expectDisconnect(true, "loops", fe -> publishTx(fe, 0, TestFrontEnd.gpa(fe.txBuf(0)), 64, SplitRing.DESC_F_NEXT, 0));
        // a next index beyond the table
        expectDisconnect(true, "beyond a table of 256", fe -> publishTx(fe, 0, TestFrontEnd.gpa(fe.txBuf(0)), 64, SplitRing.DESC_F_NEXT, 999));
        // a head index beyond the ring
        expectDisconnect(true, "head descriptor 300", fe -> {
            fe.tx.availRing(0, 300);
            fe.tx.availIdx(1);
        });
        // an avail idx far ahead of the back end's
        expectDisconnect(true, "entries past ours", fe -> fe.tx.availIdx(5000));
        // an indirect table whose length is not a multiple of 16
        expectDisconnect(true, "indirect table of 20 bytes", fe -> publishTx(fe, 0, TestFrontEnd.gpa(fe.txBuf(0)), 20, SplitRing.DESC_F_INDIRECT, 0));
        // a device-readable buffer offered for receive
        expectDisconnect(true, "device-readable buffer in a receive chain", fe -> {
            fe.rx.desc(0, TestFrontEnd.gpa(fe.rxBuf(0)), 2048, 0, 0);
            fe.rx.availRing(0, 0);
            fe.rx.availIdx(1);
        });
        assertWorksAfterwards();
    }

    private static void publishTx(TestFrontEnd fe, int d, long addr, int len, int flags, int next) {
        fe.tx.desc(d, addr, len, flags, next);
        fe.tx.availRing(0, d);
        fe.tx.availIdx(1);
    }

    @Test
    void nestedIndirectTablesAndIndirectChainsDisconnect() {
        expectDisconnect(true, "indirect descriptor with NEXT set", fe ->
                publishTx(fe, 0, TestFrontEnd.gpa(fe.txBuf(0)), 32, SplitRing.DESC_F_INDIRECT | SplitRing.DESC_F_NEXT, 1));
        expectDisconnect(true, "indirect descriptor not at the head", fe -> {
            long table = fe.txBuf(0);
            // the indirect table's own entry is indirect again
            SplitRing.writeDesc(fe.mem.asSlice(table, 32), 0, TestFrontEnd.gpa(table), 32, SplitRing.DESC_F_INDIRECT, 0);
            publishTx(fe, 0, TestFrontEnd.gpa(table), 32, SplitRing.DESC_F_INDIRECT, 0);
        });
        assertWorksAfterwards();
    }

    /** After every fault, a well-behaved front end gets the port's service. */
    private void assertWorksAfterwards() {
        try (TestFrontEnd fe = frontEnd().handshake(VhostDriverTest.ALL)) {
            assertTrue(port.waitLinkUp(Duration.ofSeconds(10)).up());
            assertTrue(fe.transmit(VhostDriverTest.frame(200, 1)));
            long end = System.nanoTime() + 5_000_000_000L;
            int got = 0;
            while (got == 0 && System.nanoTime() < end) {
                got = port.rxBurst(0, burst, 32);
                for (int i = 0; i < got; i++) {
                    assertArrayEquals(VhostDriverTest.frame(200, 1), burst[i].data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                    burst[i].free();
                }
            }
            assertEquals(1, got);
        }
        assertTrue(VirtioFeatures.has(VhostSession.BASE_FEATURES, VirtioFeatures.F_INDIRECT_DESC));
    }
}
