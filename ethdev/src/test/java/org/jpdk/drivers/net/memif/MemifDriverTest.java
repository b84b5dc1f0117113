package org.jpdk.drivers.net.memif;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.EthEvent;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** net_memif between two jpdk ports of one process: both roles, copy and zero-copy, chains, link state, devargs. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MemifDriverTest {
    private Eal eal;
    private final List<Mempool<Mbuf>> pools = new ArrayList<>();

    static String socketName() {
        return "jpdk-memif-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    }

    private void init(String... vdevs) {
        List<String> a = new ArrayList<>(List.of("-l", "0-1", "--no-huge", "-m", "256"));
        for (String v : vdevs) {
            a.add("--vdev");
            a.add(v);
        }
        eal = Eal.init(a.toArray(String[]::new));
    }

    private Mempool<Mbuf> pool(String name, int n, int flags) {
        Mempool<Mbuf> p = Mbuf.createPool(name, n, 0, 0, Mbuf.DEFAULT_BUF_SIZE, -1, flags);
        pools.add(p);
        return p;
    }

    @AfterEach
    void cleanup() {
        if (eal == null) return;
        try {
            EthDev.closeAll();
            for (Mempool<Mbuf> p : pools) {
                assertEquals(p.size(), p.availCount(), "every mbuf of " + p.name() + " is back after close");
                p.close();
            }
        } finally {
            eal.cleanup();
        }
    }

    static void start(EthDev p, Mempool<Mbuf> pool, int queues) {
        p.configure(queues, queues, PortConf.defaults());
        for (int q = 0; q < queues; q++) {
            p.rxQueueSetup(q, 0, pool);
            p.txQueueSetup(q, 0);
        }
        p.start();
    }

    static void awaitUp(EthDev... ports) {
        for (EthDev p : ports) assertTrue(p.waitLinkUp(Duration.ofSeconds(10)).up(), p.name() + " link up: " + p.link());
    }

    /** A frame of {@code len} bytes whose first 4 are {@code tag} and the rest a pattern of it. */
    static Mbuf frame(Mempool<Mbuf> pool, int tag, int len) {
        Mbuf head = Mbuf.alloc(pool);
        Mbuf last = head;
        int left = len, at = 0;
        while (left > 0) {
            if (last.tailroom() == 0) {
                Mbuf seg = Mbuf.alloc(pool);
                seg.setData(0, 0);
                head.chain(seg);
                last = seg;
            }
            int k = Math.min(left, last.tailroom());
            int off = head.appendOffset(k);
            for (int i = 0; i < k; i++) last.writeByte(off + i, (byte) (tag * 31 + at + i));
            at += k;
            left -= k;
        }
        head.writeInt(0, tag);
        return head;
    }

    static byte[] bytes(Mbuf m) {
        byte[] out = new byte[m.pktLen()];
        int k = 0;
        for (Mbuf s = m; s != null; s = s.next()) {
            for (int i = 0; i < s.dataLen(); i++) out[k++] = s.readByte(i);
        }
        assertEquals(out.length, k);
        return out;
    }

    /** Sends {@code frames} on {@code tx} and receives them on {@code rx}, checking every byte and the order. */
    static void sendAndCheck(EthDev tx, EthDev rx, int queue, Mempool<Mbuf> pool, int[] lengths) {
        List<byte[]> sent = new ArrayList<>();
        Mbuf[] burst = new Mbuf[32];
        Mbuf[] got = new Mbuf[64];
        int next = 0, received = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (received < lengths.length) {
            assertTrue(System.nanoTime() < deadline, "received " + received + " of " + lengths.length);
            int n = 0;
            while (n < burst.length && next + n < lengths.length) {
                burst[n] = frame(pool, next + n, lengths[next + n]);
                sent.add(bytes(burst[n]));
                n++;
            }
            int k = tx.txBurst(queue, burst, n);
            for (int i = k; i < n; i++) {
                burst[i].free();
                sent.removeLast();
            }
            next += k;
            int r = rx.rxBurst(queue, got, got.length);
            for (int i = 0; i < r; i++) {
                assertArrayEquals(sent.get(received), bytes(got[i]), "frame " + received);
                assertEquals(rx.id(), got[i].port);
                received++;
            }
            Mbuf.freeBulk(got, 0, r);
        }
    }

    @Test
    void clientAndServerInOneProcessCopyModeBothWaysWithChains() {
        String sock = socketName();
        init("net_memif0,role=server,id=7,socket=" + sock, "net_memif1,role=client,id=7,bsize=256,socket=" + sock);
        EthDev server = EthDev.get(0), client = EthDev.get(1);
        Mempool<Mbuf> pool = pool("memif_t1", 4095, 0);
        List<EthEvent> events = new CopyOnWriteArrayList<>();
        client.addEventCallback(EthEvent.LINK_STATE_CHANGE, (p, e) -> events.add(e));
        start(server, pool, 1);
        start(client, pool, 1);
        awaitUp(server, client);
        int[] lengths = new int[500];
        for (int i = 0; i < lengths.length; i++) lengths[i] = i % 5 == 4 ? 60 + (i * 97) % 3000 : 60 + i % 200;
        sendAndCheck(client, server, 0, pool, lengths);   // C2S, chained past bsize=256
        sendAndCheck(server, client, 0, pool, lengths);   // S2C
        assertEquals(lengths.length, server.stats().ipackets);
        assertEquals(lengths.length, client.stats().ipackets);
        assertEquals(0, server.stats().ierrors + client.stats().ierrors);
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (events.isEmpty() && System.nanoTime() < deadline) Thread.onSpinWait();
        assertEquals(List.of(EthEvent.LINK_STATE_CHANGE), events, "the link-state callback fired when the link came up");
    }

    @Test
    void severalInterfacesShareOneSocketEachWithItsOwnQueues() {
        String sock = socketName();
        init("net_memif0,role=server,id=1,socket=" + sock, "net_memif1,role=server,id=2,socket=" + sock,
                "net_memif2,role=client,id=2,socket=" + sock, "net_memif3,role=client,id=1,socket=" + sock);
        Mempool<Mbuf> pool = pool("memif_ids", 8191, 0);
        for (int p = 0; p < 4; p++) start(EthDev.get(p), pool, 3);
        awaitUp(EthDev.get(0), EthDev.get(1), EthDev.get(2), EthDev.get(3));
        int[] lengths = {60, 100, 1500, 64, 9000};
        for (int q = 0; q < 3; q++) {
            sendAndCheck(EthDev.get(3), EthDev.get(0), q, pool, lengths); // id 1
            sendAndCheck(EthDev.get(2), EthDev.get(1), q, pool, lengths); // id 2
            sendAndCheck(EthDev.get(1), EthDev.get(2), q, pool, lengths);
        }
        assertEquals(0, EthDev.get(0).stats().ipackets - 3 * lengths.length, "nothing of id 2 reached id 1's server");
    }

    @Test
    void zeroCopyClientShowsItsOwnPoolAndSendsAndReceivesWithoutCopies() {
        String sock = socketName();
        init("net_memif0,role=server,socket=" + sock, "net_memif1,role=client,zero-copy=yes,socket=" + sock);
        EthDev server = EthDev.get(0), client = EthDev.get(1);
        Mempool<Mbuf> serverPool = pool("memif_zs", 4095, 0), clientPool = pool("memif_zc", 4095, Mempool.F_DEDICATED_MEMORY);
        start(server, serverPool, 2);
        start(client, clientPool, 2);
        awaitUp(server, client);
        int[] lengths = new int[400];
        for (int i = 0; i < lengths.length; i++) lengths[i] = i % 7 == 6 ? 3000 + i : 60 + (i * 13) % 1400;
        for (int q = 0; q < 2; q++) {
            sendAndCheck(client, server, q, clientPool, lengths); // zero-copy tx (chains fall back to a copy)
            sendAndCheck(server, client, q, serverPool, lengths); // zero-copy rx into the client's posted mbufs
        }
        // received frames are the client's own mbufs, written in place by the server
        Mbuf[] one = {frame(serverPool, 1, 100)};
        assertEquals(1, server.txBurst(0, one, 1));
        Mbuf[] got = new Mbuf[4];
        int n = 0;
        for (long end = System.nanoTime() + 5_000_000_000L; n == 0 && System.nanoTime() < end; ) n = client.rxBurst(0, got, 4);
        assertEquals(1, n);
        assertEquals(clientPool, got[0].pool());
        got[0].free();
        assertTrue(clientPool.inUseCount() > 0, "the client's rx rings hold posted mbufs while connected");
    }

    /** rx on {@code rx} sleeps on its interrupt; a frame sent by {@code tx} from another thread wakes it. */
    private static void wakesOnThePeersTx(EthDev tx, EthDev rx, Mempool<Mbuf> pool) {
        Mbuf[] got = new Mbuf[4];
        rx.rxBurst(0, got, 4); // a client offers its rx buffers when it polls; the server can send only then
        try (org.jpdk.ethdev.RxWaitSet set = new org.jpdk.ethdev.RxWaitSet(1)) {
            set.add(rx, 0);
            rx.rxIntrEnable(0);
            assertEquals(0, set.await(0), "nothing sent yet");
            Thread sender = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                Mbuf[] one = {frame(pool, 7, 60)};
                if (tx.txBurst(0, one, 1) != 1) one[0].free();
            });
            assertEquals(1, set.await(5_000), tx.name() + "'s tx woke " + rx.name() + "'s rx through the ring's eventfd");
            rx.rxIntrDisable(0);
            assertEquals(1, rx.rxBurst(0, got, 4));
            assertEquals(7, got[0].readInt(0));
            got[0].free();
            assertDoesNotThrow(() -> sender.join(2_000));
            // not armed: the ring is masked again, a tx does not signal and the next wait sleeps
            Mbuf[] one = {frame(pool, 8, 60)};
            assertEquals(1, tx.txBurst(0, one, 1));
            assertEquals(0, set.await(0));
            // enabling with a frame already waiting fires at once (unmask, then look)
            rx.rxIntrEnable(0);
            assertEquals(1, set.await(0));
            rx.rxIntrDisable(0);
            assertEquals(1, rx.rxBurst(0, got, 4));
            got[0].free();
        }
    }

    @Test
    void rxInterruptsWakeBothRolesThroughTheRingEventfds() {
        for (boolean zc : new boolean[]{false, true}) {
            String sock = socketName();
            init("net_memif0,role=server,socket=" + sock, "net_memif1,role=client,socket=" + sock + (zc ? ",zero-copy=yes" : ""));
            EthDev server = EthDev.get(0), client = EthDev.get(1);
            Mempool<Mbuf> pool = pool("memif_intr" + zc, 4095, Mempool.F_DEDICATED_MEMORY);
            start(server, pool, 1);
            start(client, pool, 1);
            awaitUp(server, client);
            wakesOnThePeersTx(client, server, pool);
            wakesOnThePeersTx(server, client, pool);
            cleanup();
            pools.clear();
            eal = null;
        }
    }

    @Test
    void burstsAllocateNothingInEitherRoleOrMode() {
        for (boolean zc : new boolean[]{false, true}) {
            String sock = socketName();
            init("net_memif0,role=server,socket=" + sock, "net_memif1,role=client,socket=" + sock + (zc ? ",zero-copy=yes" : ""));
            EthDev server = EthDev.get(0), client = EthDev.get(1);
            Mempool<Mbuf> pool = pool("memif_alloc" + zc, 8191, Mempool.F_DEDICATED_MEMORY);
            start(server, pool, 1);
            start(client, pool, 1);
            awaitUp(server, client);
            Mbuf[] tx = new Mbuf[32], rx = new Mbuf[32];
            for (EthDev[] pair : new EthDev[][]{{client, server}, {server, client}}) {
                EthDev a = pair[0], b = pair[1];
                Runnable body = () -> {
                    assertTrue(Mbuf.allocBulk(pool, tx, 0, 32));
                    for (int i = 0; i < 32; i++) tx[i].appendOffset(60);
                    int sent = 0, got = 0;
                    for (int spin = 0; sent < 32; spin++) {
                        b.rxBurst(0, rx, 0, 0); // a client offers buffers as it polls
                        sent += a.txBurst(0, tx, sent, 32 - sent);
                        if (spin > 10_000_000) throw new AssertionError("tx stuck");
                    }
                    for (int spin = 0; got < 32; spin++) {
                        got += b.rxBurst(0, rx, got, 32 - got);
                        if (spin > 10_000_000) throw new AssertionError("rx stuck at " + got);
                    }
                    Mbuf.freeBulk(rx, 0, got);
                };
                org.jpdk.testing.AllocationMeter.assertNoAllocation(a.name() + " to " + b.name() + (zc ? ", zero-copy" : "")
                        + ": bursts of 32", 20_000, 2_000, body);
            }
            cleanup();
            pools.clear();
            eal = null;
        }
    }

    @Test
    void aDryPoolLeavesFramesInTheRingCountedAsRxNombufUntilMbufsComeBack() {
        String sock = socketName();
        init("net_memif0,role=server,socket=" + sock, "net_memif1,role=client,socket=" + sock);
        EthDev server = EthDev.get(0), client = EthDev.get(1);
        Mempool<Mbuf> big = pool("memif_big", 2047, 0), tiny = pool("memif_tiny", 16, 0);
        start(client, big, 1);
        server.configure(1, 1, PortConf.defaults());
        server.rxQueueSetup(0, 0, tiny);
        server.txQueueSetup(0, 0);
        server.start();
        awaitUp(server, client);
        Mbuf[] burst = new Mbuf[24];
        for (int i = 0; i < 24; i++) burst[i] = frame(big, i, 60 + i);
        assertEquals(24, client.txBurst(0, burst, 24));
        Mbuf[] got = new Mbuf[32];
        int n = server.rxBurst(0, got, 32);
        assertEquals(16, n, "as many as the pool holds");
        assertTrue(server.stats().rxNombuf > 0);
        assertEquals(0, server.rxBurst(0, new Mbuf[32], 32), "the pool is dry: the rest waits in the ring");
        Mbuf.freeBulk(got, 0, n);
        int m = server.rxBurst(0, got, 32);
        assertEquals(8, m, "the rest, once mbufs came back");
        for (int i = 0; i < m; i++) assertEquals(16 + i, got[i].readInt(0), "in order, none lost");
        Mbuf.freeBulk(got, 0, m);
        assertEquals(24, server.stats().ipackets);
    }

    @Test
    void zeroCopyRefusesAPoolThatSharesTheHeap() {
        init("net_memif1,role=client,zero-copy=yes,socket=" + socketName());
        EthDev client = EthDev.get(0);
        Mempool<Mbuf> plain = pool("memif_plain", 1023, 0);
        client.configure(1, 1, PortConf.defaults());
        var e = assertThrows(EthDevException.class, () -> client.rxQueueSetup(0, 0, plain));
        assertTrue(e.getMessage().contains("Mempool.F_DEDICATED_MEMORY"), e.getMessage());
    }

    @Test
    void badDevargsNameKeyValueAndWhatIsAllowed(@TempDir Path dir) {
        init();
        assertEquals("--vdev net_memif0: role=master2: allowed: server, client",
                assertThrows(EalArgumentException.class, () -> EthDev.create("net_memif0,role=master2")).getMessage());
        assertEquals("--vdev net_memif0: rsize=15: out of range; allowed 1..14",
                assertThrows(EalArgumentException.class, () -> EthDev.create("net_memif0,rsize=15")).getMessage());
        assertEquals("--vdev net_memif0: bsize=0: out of range; allowed 1..65535",
                assertThrows(EalArgumentException.class, () -> EthDev.create("net_memif0,bsize=0")).getMessage());
        assertEquals("--vdev net_memif0: socket-abstract=maybe: allowed: yes, no",
                assertThrows(EalArgumentException.class, () -> EthDev.create("net_memif0,socket-abstract=maybe")).getMessage());
        assertEquals("--vdev net_memif0: mac=zz: not a MAC address; expected xx:xx:xx:xx:xx:xx",
                assertThrows(EalArgumentException.class, () -> EthDev.create("net_memif0,mac=zz")).getMessage());
        assertEquals("--vdev net_memif0: id=-1: out of range; allowed 0..4294967295",
                assertThrows(EalArgumentException.class, () -> EthDev.create("net_memif0,id=-1")).getMessage());
        assertTrue(assertThrows(EalArgumentException.class,
                () -> EthDev.create("net_memif0,socket-abstract=no,socket=" + dir.resolve("nodir/x.sock"))).getMessage()
                .contains("does not exist"));
        String sock = socketName();
        EthDev.create("net_memif0,role=server,socket=" + sock);
        var dup = assertThrows(EthDevException.class, () -> EthDev.create("net_memif1,role=server,socket=" + sock));
        assertTrue(dup.getMessage().contains("id=0") && dup.getMessage().contains("already"), dup.getMessage());
        EthDev.create("net_memif1,role=server,id=1,socket=" + sock); // another id on the same socket is fine
        Path file = dir.resolve("s.sock");
        EthDev.create("net_memif2,role=server,socket-abstract=no,socket=" + file);
        assertTrue(Files.exists(file));
        EthDev.closeAll();
        assertFalse(Files.exists(file), "closing the last server removes the socket file");
    }
}
