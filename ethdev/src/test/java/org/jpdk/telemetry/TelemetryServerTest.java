package org.jpdk.telemetry;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.ring.Ring;
import org.jpdk.sys.Errno;
import org.jpdk.sys.UnixSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The telemetry server of an EAL in this JVM, spoken to over its socket as DPDK's clients do:
 * the greeting, the built-in and library commands with DPDK's shapes, and clients that misbehave
 * (garbage, oversized, too many, never reading), none of which may stop the others being served.
 */
class TelemetryServerTest {
    private final String prefix = "jpdktel" + ProcessHandle.current().pid();
    private Eal eal;
    private Mempool<Mbuf> pool;
    private Ring<Object> ring;
    private final List<UnixSocket> raw = new ArrayList<>();

    @BeforeEach
    void setUp() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0", "--vdev", "net_null1",
                "--file-prefix", prefix, "--", "app-arg");
        pool = Mbuf.createPool("telemetry_pool", 1023, 32, Mbuf.DEFAULT_BUF_SIZE, 0);
        ring = Ring.create("telemetry_ring", 64, Ring.F_SP_ENQ | Ring.F_SC_DEQ);
        for (EthDev p : EthDev.all()) {
            p.configure(1, 1, PortConf.defaults());
            p.rxQueueSetup(0, 256, pool);
            p.txQueueSetup(0, 256);
            p.start();
        }
    }

    @AfterEach
    void tearDown() {
        raw.forEach(UnixSocket::close);
        ring.close();
        EthDev.closeAll();
        pool.close();
        eal.close();
        assertFalse(Files.exists(socketPath()), "the socket file is removed at cleanup");
    }

    private Path socketPath() {
        return TelemetryServer.runtimeDir(prefix).resolve(TelemetryServer.SOCKET_NAME);
    }

    @Test
    void greetingAndCommandsHaveDpdksShapes() {
        try (TelemetryClient c = TelemetryClient.connect(prefix)) {
            assertEquals(ProcessHandle.current().pid(), c.greeting().get("pid"));
            assertEquals(16384L, c.greeting().get("max_output_len"));
            List<?> cmds = (List<?>) c.request("/");
            for (String want : List.of("/", "/info", "/help", "/eal/params", "/eal/app_params", "/eal/lcore/list",
                    "/eal/lcore/info", "/eal/lcore/usage", "/eal/heap_list", "/eal/heap_info", "/eal/memzone_list",
                    "/eal/memzone_info", "/ethdev/list", "/ethdev/info", "/ethdev/stats", "/ethdev/xstats",
                    "/ethdev/link_status", "/mempool/list", "/mempool/info", "/ring/list", "/ring/info")) {
                assertTrue(cmds.contains(want), want + " in " + cmds);
            }
            assertEquals(cmds.stream().sorted().toList(), cmds, "sorted, as DPDK lists them");
            assertEquals(List.of(0L, 1L), c.request("/ethdev/list"));
            assertEquals("{\"/nonexistent\":null}", c.requestRaw("/nonexistent"));
            assertEquals("{\"/ethdev/stats\":null}", c.requestRaw("/ethdev/stats,7"));
            assertEquals("{\"/ethdev/stats\":null}", c.requestRaw("/ethdev/stats,x"));
            assertEquals("{\"/ethdev/stats\":null}", c.requestRaw("/ethdev/stats"));
            assertInstanceOf(String.class, c.request("/help"));
            Map<?, ?> help = (Map<?, ?>) c.request("/help,/ethdev/stats");
            assertTrue(((String) help.get("/ethdev/stats")).contains("port_id"), help.toString());
            assertNull(c.request("/help,/nonexistent"));

            Map<?, ?> stats = (Map<?, ?>) c.request("/ethdev/stats,0");
            assertEquals(List.of("ipackets", "opackets", "ibytes", "obytes", "imissed", "ierrors", "oerrors", "rx_nombuf",
                    "q_ipackets", "q_opackets", "q_ibytes", "q_obytes", "q_errors"), List.copyOf(stats.keySet()));
            assertEquals(16, ((List<?>) stats.get("q_ipackets")).size());

            Mbuf[] burst = new Mbuf[32];
            int n = EthDev.get(0).rxBurst(0, burst, 32);
            assertTrue(n > 0);
            Mbuf.freeBulk(burst, 0, n);
            assertEquals((long) n, ((Map<?, ?>) c.request("/ethdev/stats,0")).get("ipackets"));
            Map<?, ?> xstats = (Map<?, ?>) c.request("/ethdev/xstats,0");
            assertEquals((long) n, xstats.get("rx_good_packets"), xstats.toString());
            Map<?, ?> hidden = (Map<?, ?>) c.request("/ethdev/xstats,0,hide_zero=true");
            assertTrue(hidden.values().stream().allMatch(v -> (Long) v != 0), hidden.toString());
            assertNull(c.request("/ethdev/xstats,0,hide_zero=maybe"));
            assertEquals("UP", ((Map<?, ?>) c.request("/ethdev/link_status,0")).get("status"));
            Map<?, ?> info = (Map<?, ?>) c.request("/ethdev/info,1");
            assertEquals("net_null1", info.get("name"));
            assertEquals(1L, info.get("dev_started"));

            assertEquals(eal.config().ealArgs(), c.request("/eal/params"));
            assertEquals(List.of("app-arg"), c.request("/eal/app_params"));
            assertEquals(List.of(0L), c.request("/eal/lcore/list"));
            Map<?, ?> lcore = (Map<?, ?>) c.request("/eal/lcore/info,0");
            assertEquals("RTE", lcore.get("role"));
            assertNull(c.request("/eal/lcore/info,99"));
            Map<?, ?> usage = (Map<?, ?>) c.request("/eal/lcore/usage");
            assertEquals(List.of("lcore_ids", "total_cycles", "busy_cycles"), List.copyOf(usage.keySet()));
            List<?> heaps = (List<?>) c.request("/eal/heap_list");
            assertEquals(List.of(0L), heaps);
            Map<?, ?> heap = (Map<?, ?>) c.request("/eal/heap_info,0");
            assertEquals((Long) heap.get("Heap_size"), (Long) heap.get("Free_size") + (Long) heap.get("Alloc_size"));
            List<?> zones = (List<?>) c.request("/eal/memzone_list");
            assertFalse(zones.isEmpty(), "the pool's memzone");
            assertInstanceOf(String.class, ((Map<?, ?>) c.request("/eal/memzone_info,0")).get("Name"));
            assertNull(c.request("/eal/memzone_info," + zones.size()));

            assertTrue(((List<?>) c.request("/mempool/list")).contains("telemetry_pool"));
            Map<?, ?> mp = (Map<?, ?>) c.request("/mempool/info,telemetry_pool");
            assertEquals(1023L, mp.get("size"));
            assertEquals(1023L, (Long) mp.get("avail_count") + (Long) mp.get("used_count"));
            assertNull(c.request("/mempool/info,nope"));
            assertTrue(((List<?>) c.request("/ring/list")).contains("telemetry_ring"));
            Map<?, ?> r = (Map<?, ?>) c.request("/ring/info,telemetry_ring");
            assertEquals("SP", r.get("producer_type"));
            assertEquals("SC", r.get("consumer_type"));
            assertEquals(63L, r.get("capacity"));
        }
    }

    @Test
    void appCommandsRegisterAndBadNamesAreRefused() {
        Telemetry.register("/test/echo", "Echoes its parameters. Parameters: string", (c, p) -> Map.of("echo", p == null ? "" : p));
        try (TelemetryClient c = TelemetryClient.connect(prefix)) {
            assertEquals(Map.of("echo", "a,b"), c.request("/test/echo,a,b"));
            Telemetry.unregister("/test/echo");
            assertNull(c.request("/test/echo"));
        }
        for (String bad : List.of("noslash", "/with space", "/" + "x".repeat(60), "")) {
            try {
                Telemetry.register(bad, "help", (c, p) -> 1);
                fail("registered " + bad);
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage().contains("must start with '/'"), expected.getMessage());
            }
        }
    }

    /** A raw connection: what a hostile client holds. */
    private UnixSocket rawConnect() {
        UnixSocket s = UnixSocket.connect(socketPath().toString(), false);
        raw.add(s);
        return s;
    }

    /** The next message on {@code s}, "" when the server closed it, null when none came within 3 s. */
    private static String next(UnixSocket s) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(20000);
            long deadline = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < deadline) {
                long r = s.receive(buf, new int[0]);
                if (r > 0) return new String(buf.asSlice(0, r).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
                if (r == 0 || r == -Errno.ECONNRESET) return "";
                Thread.sleep(5);
            }
            return null;
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static void send(UnixSocket s, byte[] b) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(1, b.length));
            MemorySegment.copy(b, 0, m, JAVA_BYTE, 0, b.length);
            assertEquals(b.length, s.send(m.asSlice(0, b.length), -1));
        }
    }

    @Test
    void garbageAndOversizedRequestsGetDpdksNullReplyAsValidJson() {
        UnixSocket s = rawConnect();
        assertTrue(next(s).contains("\"max_output_len\":16384"));
        send(s, new byte[]{(byte) 0xff, (byte) 0xfe, '"', '\\', 0x01});
        Object v = Json.parse(next(s));
        assertEquals(1, ((Map<?, ?>) v).size());
        assertNull(((Map<?, ?>) v).values().iterator().next());
        send(s, ",,,".getBytes(StandardCharsets.UTF_8));
        assertEquals("{\"none\":null}", next(s));
        byte[] huge = new byte[100_000];
        java.util.Arrays.fill(huge, (byte) 'a');
        huge[0] = '/';
        send(s, huge);
        String reply = next(s);
        assertTrue(reply.endsWith(":null}") && reply.length() < 100, reply);
        send(s, "/ethdev/list\0garbage".getBytes(StandardCharsets.UTF_8));
        assertEquals("{\"/ethdev/list\":[0,1]}", next(s), "a NUL ends the request, as DPDK's C string");
        send(s, "/ethdev/list".getBytes(StandardCharsets.UTF_8));
        assertEquals("{\"/ethdev/list\":[0,1]}", next(s), "the connection still serves");
    }

    @Test
    void theEleventhClientIsClosedAndASlotFreesWhenOneLeaves() {
        List<UnixSocket> ten = new ArrayList<>();
        for (int i = 0; i < TelemetryServer.MAX_CLIENTS; i++) {
            UnixSocket s = rawConnect();
            assertTrue(next(s).startsWith("{\"version\""));
            ten.add(s);
        }
        UnixSocket eleventh = rawConnect();
        assertEquals("", next(eleventh), "accepted and closed, without a greeting");
        ten.getFirst().close();
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (true) { // the server notices the close on its next poll
            UnixSocket again = rawConnect();
            String g = next(again);
            if (g != null && g.startsWith("{\"version\"")) break;
            if (System.nanoTime() > deadline) fail("no slot freed: " + g);
        }
    }

    @Test
    void aClientThatNeverReadsIsDroppedAndOthersAreStillServed() {
        UnixSocket greedy = rawConnect();
        byte[] req = "/ethdev/xstats,0".getBytes(StandardCharsets.UTF_8);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(req.length);
            MemorySegment.copy(req, 0, m, JAVA_BYTE, 0, req.length);
            long deadline = System.nanoTime() + 5_000_000_000L;
            long r;
            do { // requests pile up replies it never reads, until the server gives up on it
                r = greedy.send(m, -1);
                if (r == -Errno.EAGAIN) Thread.onSpinWait();
            } while (r != -Errno.EPIPE && r != -Errno.ECONNRESET && System.nanoTime() < deadline);
            assertTrue(r == -Errno.EPIPE || r == -Errno.ECONNRESET, "the server closed the client that never reads: " + r);
        }
        try (TelemetryClient c = TelemetryClient.connect(prefix)) {
            assertEquals(List.of(0L, 1L), c.request("/ethdev/list"));
        }
    }

    @Test
    void aSecondServerOnTheSamePrefixTakesTheNextSuffix() {
        try (TelemetryServer second = TelemetryServer.start(TelemetryServer.runtimeDir(prefix), null)) {
            assertEquals(socketPath() + ":1", second.path());
            try (TelemetryClient c = TelemetryClient.connect(Path.of(second.path()))) {
                assertEquals(List.of(0L, 1L), c.request("/ethdev/list"));
            }
        }
    }
}
