package org.jpdk.pdump;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.pcapng.Pcapng;
import org.jpdk.sys.Errno;
import org.jpdk.sys.UnixSocket;
import org.jpdk.telemetry.Telemetry;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The capture side of dumpcap in one process: a port captured through the telemetry commands into
 * a socket this test listens on, as {@code ./jpdk dumpcap} does. The blocks that arrive, the
 * filter, the stop with its statistics block, the client that goes away, a client that never
 * reads (drops counted, the lcore not blocked), and garbage requests.
 */
class PdumpTest {
    private Eal eal;
    private Mempool<Mbuf> pool;
    private Path dir;
    private final List<UnixSocket> sockets = new ArrayList<>();

    @BeforeEach
    void init() throws Exception {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64", "--no-telemetry", "--vdev", "net_null0", "--vdev", "net_null1,size=128");
        pool = Mbuf.createPool("pdump_test", 4095, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
        dir = Files.createTempDirectory("dumpcap-pdump");
    }

    @AfterEach
    void cleanup() throws Exception {
        try {
            Pdump.disableAll(5000);
            sockets.forEach(UnixSocket::close);
            EthDev.closeAll();
            if (pool != null) pool.close();
        } finally {
            eal.cleanup();
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
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

    /** Listens, asks for the capture of {@code port}, returns the app's connection. */
    private UnixSocket enable(int port, int ifId, int snaplen, String filter) {
        String path = dir.resolve("p" + port + "-" + sockets.size() + ".sock").toString();
        UnixSocket l = UnixSocket.listen(path, false, 1);
        sockets.add(l);
        String reply = Telemetry.handle("/pdump/enable," + port + "," + ifId + "," + snaplen + "," + path + (filter == null ? "" : "," + filter));
        assertEquals("{\"/pdump/enable\":{\"status\":\"capturing\",\"port\":" + port + "}}", reply);
        UnixSocket s = l.accept();
        assertNotNull(s, "the app connects before it replies");
        sockets.add(s);
        return s;
    }

    private record Block(int type, int ifId, int caplen, int origLen, int flags, int queue, long recv, long drop) {
    }

    /** Reads blocks until the app closes the socket. */
    private static List<Block> readAll(UnixSocket s) {
        List<Block> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256 * 1024, 8);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (true) {
                long r = s.receive(buf, new int[0]);
                if (r == 0) return out;
                if (r == -Errno.EAGAIN) {
                    assertTrue(System.nanoTime() < deadline, "the capture ends within 10 s; blocks so far " + out.size());
                    sleep(2);
                    continue;
                }
                assertTrue(r > 0 && r <= buf.byteSize(), "message " + r);
                for (long at = 0; at < r; ) {
                    int total = Pcapng.checkBlock(buf, at, r);
                    assertTrue(total > 0, "a whole block at " + at);
                    int type = buf.get(JAVA_INT, at);
                    if (type == Pcapng.EPB) {
                        int caplen = buf.get(JAVA_INT, at + 20);
                        long opt = at + 28 + Pcapng.pad4(caplen);
                        out.add(new Block(type, buf.get(JAVA_INT, at + 8), caplen, buf.get(JAVA_INT, at + 24),
                                buf.get(JAVA_INT, opt + 4), buf.get(JAVA_INT, opt + 12), 0, 0));
                    } else {
                        assertEquals(Pcapng.ISB, type);
                        out.add(new Block(type, buf.get(JAVA_INT, at + 8), 0, 0, 0, 0,
                                Pcapng.isbCounter(buf, at, Pcapng.ISB_IFRECV), Pcapng.isbCounter(buf, at, Pcapng.ISB_IFDROP)));
                    }
                    at += total;
                }
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static void await(String what, BooleanSupplier cond) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!cond.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            sleep(5);
        }
    }

    @Test
    void rxAndTxArriveAsBlocksThenStatistics() {
        EthDev p0 = ready(0);
        UnixSocket s = enable(0, 3, 40, null);
        assertEquals(List.of(0), Pdump.list());
        Mbuf[] pkts = new Mbuf[32];
        int n = p0.rxBurst(0, pkts, 32);
        assertEquals(32, n);
        int sent = p0.txBurst(0, pkts, 10);
        Mbuf.freeBulk(pkts, sent, n - sent);
        assertTrue(Telemetry.handle("/pdump/stats,0").contains("\"accepted\":42"), Telemetry.handle("/pdump/stats,0"));
        assertEquals("{\"/pdump/disable\":{\"status\":\"stopping\",\"port\":0}}", Telemetry.handle("/pdump/disable,0"));
        List<Block> blocks = readAll(s);
        assertEquals(43, blocks.size(), blocks.toString());
        assertEquals(32, blocks.stream().filter(b -> b.type == Pcapng.EPB && b.flags == Pcapng.FLAG_INBOUND).count());
        assertEquals(sent, blocks.stream().filter(b -> b.type == Pcapng.EPB && b.flags == Pcapng.FLAG_OUTBOUND).count());
        for (Block b : blocks.subList(0, 42)) {
            assertEquals(3, b.ifId);
            assertEquals(40, b.caplen, "cut at the snaplen");
            assertEquals(64, b.origLen);
            assertEquals(0, b.queue);
        }
        Block isb = blocks.get(42);
        assertEquals(Pcapng.ISB, isb.type, "the statistics block comes last");
        assertEquals(42, isb.recv);
        assertEquals(0, isb.drop);
        await("the capture is gone after the stop", () -> Pdump.list().isEmpty());
        n = p0.rxBurst(0, pkts, 32);
        Mbuf.freeBulk(pkts, 0, n);
        assertEquals("{\"/pdump/stats\":null}", Telemetry.handle("/pdump/stats,0"));
        enable(0, 0, 2176, null); // and the port can be captured again
        assertEquals("{\"/pdump/disable\":{\"status\":\"stopping\",\"port\":0}}", Telemetry.handle("/pdump/disable,0"));
    }

    @Test
    void theFilterKeepsOnlyWhatItAccepts() {
        EthDev small = ready(0), big = ready(1);
        UnixSocket s0 = enable(0, 0, 2176, "greater 100"), s1 = enable(1, 1, 2176, "greater 100");
        Mbuf[] pkts = new Mbuf[32];
        for (EthDev p : List.of(small, big)) {
            int n = p.rxBurst(0, pkts, 32);
            Mbuf.freeBulk(pkts, 0, n);
        }
        Telemetry.handle("/pdump/disable,0");
        Telemetry.handle("/pdump/disable,1");
        List<Block> b0 = readAll(s0), b1 = readAll(s1);
        assertEquals(1, b0.size(), "64-byte frames are filtered out: only the statistics");
        assertEquals(32, b0.get(0).recv, "filtered packets are received, not dropped");
        assertEquals(33, b1.size());
        assertEquals(128, b1.get(0).caplen);
    }

    @Test
    void aClientThatGoesAwayEndsTheCapture() {
        EthDev p0 = ready(0);
        UnixSocket s = enable(0, 0, 2176, null);
        s.close();
        await("the capture ends when its client's socket closes", () -> Pdump.list().isEmpty());
        Mbuf[] pkts = new Mbuf[32];
        int n = p0.rxBurst(0, pkts, 32);
        assertEquals(32, n, "bursts go on without the callback");
        Mbuf.freeBulk(pkts, 0, n);
    }

    @Test
    void aClientThatDoesNotReadCostsDropsNotAStall() {
        EthDev p0 = ready(0);
        UnixSocket s = enable(0, 0, 2176, null);
        Mbuf[] pkts = new Mbuf[32];
        long total = 0;
        for (int i = 0; i < 4000; i++) { // ~128k packets: far more than the ring and the socket buffer hold
            int n = p0.rxBurst(0, pkts, 32);
            total += n;
            Mbuf.freeBulk(pkts, 0, n);
        }
        String stats = Telemetry.handle("/pdump/stats,0");
        long accepted = Long.parseLong(stats.replaceAll(".*\"accepted\":(\\d+).*", "$1"));
        long full = Long.parseLong(stats.replaceAll(".*\"ringfull\":(\\d+).*", "$1"));
        assertTrue(full > 0, stats);
        assertEquals(total, accepted + full, stats);
        s.close();
        await("an unread client that closes ends the capture", () -> Pdump.list().isEmpty());
    }

    @Test
    void capturingBurstsAllocateNothing() {
        EthDev p0 = ready(0), p1 = ready(1);
        UnixSocket s0 = enable(0, 0, 2176, "ether proto 0 or greater 100");
        Mbuf[] pkts = new Mbuf[32];
        Thread reader = Thread.ofPlatform().daemon().start(() -> readAll(s0));
        AllocationMeter.assertNoAllocation("rx and tx with a capture running", 20_000, 100_000, () -> {
            int n = p0.rxBurst(0, pkts, 32);
            int sent = p1.txBurst(0, pkts, n);
            if (sent < n) Mbuf.freeBulk(pkts, sent, n - sent);
        });
        Telemetry.handle("/pdump/disable,0");
        await("the reader sees the end", () -> !reader.isAlive());
    }

    @Test
    void badRequestsGetAnErrorNotACrash() throws Exception {
        ready(0);
        String sock = dir.resolve("x.sock").toString();
        try (UnixSocket l = UnixSocket.listen(sock, false, 1)) {
            enable(1 - 1, 0, 2176, null);
            for (String req : List.of("/pdump/enable", "/pdump/enable,", "/pdump/enable,0", "/pdump/enable,a,b,c,d",
                    "/pdump/enable,0,0,2176," + sock, // port 0 is being captured already
                    "/pdump/enable,9,0,2176," + sock, "/pdump/enable,1,0,0," + sock, "/pdump/enable,1,0,999999," + sock,
                    "/pdump/enable,1,0,2176,relative.sock", "/pdump/enable,1,0,2176,/nonexistent/x.sock",
                    "/pdump/enable,1,0,2176," + sock + ",tcp port", "/pdump/enable,1,0,2176," + sock + ",\u00ff\u0000garbage((",
                    "/pdump/enable,-1,0,2176," + sock, "/pdump/enable,99999999999,0,1," + sock,
                    "/pdump/disable", "/pdump/disable,x", "/pdump/disable,5", "/pdump/stats,zz")) {
                String reply = Telemetry.handle(req);
                assertTrue(reply.contains("\"error\":"), req + " -> " + reply);
            }
            assertTrue(Telemetry.handle("/pdump/enable,0,0,2176," + sock).contains("already being captured"));
            assertTrue(Telemetry.handle("/pdump/enable,1,0,2176," + sock + ",tcp port").contains("filter 'tcp port'"));
            assertEquals(List.of(0), Pdump.list(), "only the good request started a capture");
            assertNull(l.accept(), "no bad request connected");
        }
    }
}
