package org.jpdk.drivers.net.memif;

import org.jpdk.eal.Eal;
import org.jpdk.eal.Log;
import org.jpdk.ethdev.EthDev;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Libc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.jpdk.drivers.net.memif.HostilePeer.BSIZE;
import static org.jpdk.drivers.net.memif.HostilePeer.BUFFERS;
import static org.jpdk.drivers.net.memif.HostilePeer.REGION_SIZE;
import static org.jpdk.drivers.net.memif.HostilePeer.RING_BYTES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A jpdk memif server against a client that breaks the rules: every malformed message, field out
 * of range and missing descriptor gets a DISCONNECT that says why (and a log line that says the
 * same), descriptors that point outside their region are counted and dropped, counters beyond the
 * ring disconnect, a client that dies or stalls in the handshake is forgotten; and after each, the
 * server serves the next client, a well-behaved one, whose frames arrive.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MemifHostilePeerTest {
    private Eal eal;
    private Mempool<Mbuf> pool;
    private EthDev server;
    private String sock;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    @BeforeEach
    void init() {
        sock = MemifDriverTest.socketName();
        eal = Eal.init("-l", "0-1", "--no-huge", "-m", "256", "--vdev", "net_memif0,role=server,id=3,secret=open-sesame,socket=" + sock);
        Log.setOutput(new PrintStream(log, true));
        pool = Mbuf.createPool("memif_hostile", 2047, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        server = EthDev.get(0);
        MemifDriverTest.start(server, pool, 1);
    }

    @AfterEach
    void cleanup() {
        Log.setOutput(System.err);
        try {
            EthDev.closeAll();
            assertEquals(pool.size(), pool.availCount(), "every mbuf back");
            pool.close();
        } finally {
            eal.cleanup();
        }
    }

    /** Runs {@code script} as a client and returns the reason of the server's DISCONNECT. */
    private String refused(Consumer<HostilePeer> script) {
        try (HostilePeer p = HostilePeer.connect(sock)) {
            script.accept(p);
            return p.awaitDisconnect();
        }
    }

    /** A well-behaved client (a jpdk port) connects, sends 10 frames, and they arrive. */
    private void servesTheNextClient() {
        EthDev client = EthDev.create("net_memif9,role=client,id=3,secret=open-sesame,socket=" + sock);
        try {
            MemifDriverTest.start(client, pool, 1);
            MemifDriverTest.awaitUp(server, client);
            MemifDriverTest.sendAndCheck(client, server, 0, pool, new int[]{60, 61, 62, 63, 64, 65, 66, 67, 68, 69});
        } finally {
            client.close();
        }
        long end = System.nanoTime() + 5_000_000_000L;
        while (server.link().up() && System.nanoTime() < end) Thread.onSpinWait();
        assertFalse(server.link().up(), "the server saw the client go");
    }

    private void assertLogged(String reason) {
        long end = System.nanoTime() + 2_000_000_000L;
        while (!log.toString().contains(reason) && System.nanoTime() < end) Thread.onSpinWait();
        assertTrue(log.toString().contains(reason), "logged '" + reason + "':\n" + log);
    }

    private void check(String expected, Consumer<HostilePeer> script) {
        String reason = refused(script);
        assertTrue(reason.startsWith(expected), "reason '" + reason + "', want '" + expected + "'");
        assertLogged(reason);
    }

    /**
     * A client that connects before its server port has started (testpmd probes, then configures
     * and starts) is held, not refused: DPDK's client connects only once. It gets its ACK when the
     * port starts; a held client whose port is closed instead is told the server closed.
     */
    @Test
    void aClientEarlierThanItsServerPortIsHeldUntilThePortStarts() throws Exception {
        String sock2 = MemifDriverTest.socketName();
        EthDev late = EthDev.create("net_memif5,role=server,id=7,socket=" + sock2);
        try (HostilePeer p = HostilePeer.connect(sock2)) {
            p.expect(MemifMessage.HELLO);
            p.init(7, null);
            Thread.sleep(300); // the port is not started: the INIT waits
            MemifDriverTest.start(late, pool, 1);
            p.expect(MemifMessage.ACK);
        } finally {
            late.close();
        }
        String sock3 = MemifDriverTest.socketName();
        EthDev never = EthDev.create("net_memif6,role=server,id=8,socket=" + sock3);
        try (HostilePeer p = HostilePeer.connect(sock3)) {
            p.expect(MemifMessage.HELLO);
            p.init(8, null);
            Thread.sleep(300);
            never.close();
            String why = p.awaitDisconnect();
            assertEquals("Server closed", why, "a held client of a port closed (the socket's last) is told why");
        }
        servesTheNextClient();
    }

    @Test
    void malformedMessagesAndFieldsGetADisconnectThatSaysWhy() {
        check("Invalid message size 64", p -> {
            p.expect(MemifMessage.HELLO);
            p.sendRaw(64);
        });
        check("Invalid message size 200", p -> {
            p.expect(MemifMessage.HELLO);
            p.sendRaw(200);
        });
        check("Unexpected message ADD_REGION in phase AWAIT_INIT", p -> {
            p.expect(MemifMessage.HELLO);
            p.addRegion();
        });
        check("Unexpected message type 99", p -> {
            p.expect(MemifMessage.HELLO);
            p.send(m -> MemifMessage.begin(m, 99));
        });
        check("Incompatible memif version 0x100", p -> {
            p.expect(MemifMessage.HELLO);
            p.send(m -> {
                MemifMessage.init(m, 3, "open-sesame", "x");
                MemifMessage.put16(m, MemifMessage.INIT_VERSION, 0x0100);
            });
        });
        check("ID not found", p -> {
            p.expect(MemifMessage.HELLO);
            p.init(4, "open-sesame");
        });
        check("Secret required", p -> {
            p.expect(MemifMessage.HELLO);
            p.init(3, null);
        });
        check("Incorrect secret", p -> {
            p.expect(MemifMessage.HELLO);
            p.init(3, "open-sesam");
        });
        check("Only ethernet mode supported", p -> {
            p.expect(MemifMessage.HELLO);
            p.send(m -> {
                MemifMessage.init(m, 3, "open-sesame", "x");
                MemifMessage.put8(m, MemifMessage.INIT_MODE, 1);
            });
        });
        servesTheNextClient();
    }

    /** Up to INIT accepted. */
    private static void initOk(HostilePeer p) {
        p.expect(MemifMessage.HELLO);
        p.init(3, "open-sesame");
        p.expect(MemifMessage.ACK);
    }

    @Test
    void regionsAndRingsOutOfRangeAreRefused() {
        check("Missing region fd", p -> {
            initOk(p);
            p.send(m -> MemifMessage.addRegion(m, 0, REGION_SIZE));
        });
        check("Invalid region index 1", p -> {
            initOk(p);
            p.send(m -> MemifMessage.addRegion(m, 1, REGION_SIZE), p.regionFd);
        });
        check("Invalid region size 0", p -> {
            initOk(p);
            p.send(m -> MemifMessage.addRegion(m, 0, 0), p.regionFd);
        });
        check("Invalid region size 18446744073709551615", p -> {
            initOk(p);
            p.send(m -> MemifMessage.addRegion(m, 0, -1L), p.regionFd);
        });
        check("Missing interrupt fd", p -> {
            initOk(p);
            p.addRegion();
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.addRing(m, true, 0, 0, 0, 4));
        });
        check("Invalid ring index 1 (1 queues)", p -> {
            initOk(p);
            p.send(m -> MemifMessage.addRing(m, true, 1, 0, 0, 4), p.c2sFd);
        });
        check("Ring 0 added twice", p -> {
            initOk(p);
            p.send(m -> MemifMessage.addRing(m, true, 0, 0, 0, 4), p.c2sFd);
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.addRing(m, true, 0, 0, 0, 4), p.c2sFd);
        });
        check("Invalid ring size 2^15", p -> {
            initOk(p);
            p.send(m -> MemifMessage.addRing(m, false, 0, 0, 0, 15), p.s2cFd);
        });
        check("Private header not supported", p -> {
            initOk(p);
            p.send(m -> {
                MemifMessage.addRing(m, false, 0, 0, 0, 4);
                MemifMessage.put16(m, MemifMessage.RING_PRIVATE_HDR_SIZE, 64);
            }, p.s2cFd);
        });
        check("Region 0 is " + (REGION_SIZE + 4096) + " bytes but its file has " + REGION_SIZE, p -> {
            initOk(p);
            p.send(m -> MemifMessage.addRegion(m, 0, REGION_SIZE + 4096), p.regionFd);
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.connect(m, MemifMessage.CONNECT, "x"));
        });
        check("Wrong ring: C2S ring 0 is in region 1, of 1", p -> {
            initOk(p);
            p.addRegion();
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.addRing(m, true, 0, 1, 0, 4), p.c2sFd);
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.connect(m, MemifMessage.CONNECT, "x"));
        });
        check("Wrong ring: S2C ring 0 at offset " + (REGION_SIZE - 100), p -> {
            initOk(p);
            p.addRegion();
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.addRing(m, false, 0, 0, REGION_SIZE - 100, 4), p.s2cFd);
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.connect(m, MemifMessage.CONNECT, "x"));
        });
        check("Wrong ring: C2S ring 0 has cookie 0x0", p -> {
            initOk(p);
            p.addRegion();
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.addRing(m, true, 0, 0, BUFFERS, 4), p.c2sFd); // a buffer, not a ring
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.connect(m, MemifMessage.CONNECT, "x"));
        });
        servesTheNextClient();
    }

    @Test
    void aClientThatDiesOrStallsInTheHandshakeIsForgotten() throws Exception {
        int fdsBefore = openFds();
        try (HostilePeer p = HostilePeer.connect(sock)) {
            initOk(p);
            p.addRegion();
            p.expect(MemifMessage.ACK);
            p.send(m -> MemifMessage.addRing(m, true, 0, 0, 0, 4), p.c2sFd);
            p.expect(MemifMessage.ACK);
        } // dies here, holding the interface half-connected
        assertLogged("net_memif0: disconnected during the handshake: the peer closed the connection");
        servesTheNextClient();

        try (HostilePeer p = HostilePeer.connect(sock)) {
            initOk(p);
            long t0 = System.nanoTime();
            String reason = p.awaitDisconnect(); // says nothing more: the server gives up after 5 s
            assertEquals("Handshake timed out in phase AWAIT_CONNECT", reason);
            assertTrue(System.nanoTime() - t0 > 4_000_000_000L);
        }
        servesTheNextClient();
        assertEquals(fdsBefore, openFds(), "every descriptor the dead and stalled clients passed was closed");
    }

    private static int openFds() throws Exception {
        try (var s = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            return (int) s.count();
        }
    }

    @Test
    void descriptorsOutsideTheirRegionAreCountedAndDropped() {
        try (HostilePeer p = HostilePeer.connect(sock)) {
            p.expect(MemifMessage.HELLO);
            p.init(3, "open-sesame");
            p.expect(MemifMessage.ACK);
            p.addRegion();
            p.expect(MemifMessage.ACK);
            p.addRings();
            p.send(m -> MemifMessage.connect(m, MemifMessage.CONNECT, "hostile0"));
            p.expect(MemifMessage.CONNECTED);
            MemifDriverTest.awaitUp(server);
            var c2s = p.ring(0);
            p.publishC2s(6, slot -> {
                long good = BUFFERS + (long) slot * BSIZE;
                switch (slot % 6) {
                    case 0 -> HostilePeer.desc(c2s, slot, 0, 7, 64, good);                       // no region 7
                    case 1 -> HostilePeer.desc(c2s, slot, 0, 0, 64, REGION_SIZE - 10);           // runs past the region
                    case 2 -> HostilePeer.desc(c2s, slot, 0, 0, 0xffffffffL, 0);                 // 4 GiB
                    case 3 -> HostilePeer.desc(c2s, slot, 0, 0, 70_000, 0);                      // longer than any frame
                    case 4 -> HostilePeer.desc(c2s, slot, MemifRing.DESC_FLAG_NEXT, 0, 64, good); // chained to a bad one
                    default -> HostilePeer.desc(c2s, slot, 0, 0, 64, REGION_SIZE);               // offset at the very end
                }
            });
            p.publishC2s(1, slot -> HostilePeer.desc(c2s, slot, 0, 0, 60, BUFFERS + (long) slot * BSIZE)); // one good frame
            Mbuf[] got = new Mbuf[8];
            int n = 0;
            for (long end = System.nanoTime() + 5_000_000_000L; n == 0 && System.nanoTime() < end; ) n = server.rxBurst(0, got, 8);
            assertEquals(1, n, "only the good frame arrives");
            assertEquals(60, got[0].pktLen());
            got[0].free();
            assertEquals(5, server.stats().ierrors, "the bad frames (the chained pair is one) are counted");
            assertEquals(1, server.stats().ipackets);
            assertTrue(server.link().up(), "bad descriptors are drops, not a reason to disconnect");
            assertEquals(7, MemifRing.tail(c2s), "every slot was given back");
        }
    }

    /**
     * A peer cut for breaking the protocol shows in a flight recording as a PeerDisconnect with
     * protocolError set and a DriverError with the reason (JFR starts after the EAL here, so this
     * also covers hooks registered late).
     */
    @Test
    void aProtocolErrorIsRecordedAsAPeerDisconnectAndADriverError(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException, InterruptedException {
        java.nio.file.Path file = dir.resolve("memif.jfr");
        try (jdk.jfr.Recording r = new jdk.jfr.Recording()) {
            r.enable("org.jpdk.PeerDisconnect");
            r.enable("org.jpdk.DriverError");
            r.start();
            Mbuf[] got = new Mbuf[8];
            try (HostilePeer p = HostilePeer.connect(sock)) {
                p.handshake(3, "open-sesame");
                MemifDriverTest.awaitUp(server);
                MemifRing.head(p.ring(0), 1000);
                for (long end = System.nanoTime() + 2_000_000_000L; System.nanoTime() < end && server.link().up(); ) server.rxBurst(0, got, 8);
                assertTrue(p.awaitDisconnect().startsWith("Protocol error: C2S ring 0"));
            }
            assertFalse(server.link().up());
            Thread.sleep(200); // the event is committed just after the link goes down
            r.stop();
            r.dump(file);
        }
        List<jdk.jfr.consumer.RecordedEvent> events = jdk.jfr.consumer.RecordingFile.readAllEvents(file);
        assertTrue(events.stream().anyMatch(e -> e.getEventType().getName().equals("org.jpdk.PeerDisconnect")
                && e.getInt("port") == 0 && "net_memif0".equals(e.getString("portName")) && "net_memif".equals(e.getString("driver"))
                && e.getBoolean("protocolError") && e.getString("reason").contains("head is 1000 slots past tail")), events.toString());
        assertTrue(events.stream().anyMatch(e -> e.getEventType().getName().equals("org.jpdk.DriverError")
                && e.getString("message").startsWith("peer broke the protocol: Protocol error: C2S ring 0")), events.toString());
        servesTheNextClient();
    }

    @Test
    void countersBeyondTheRingOrOfferedBuffersOutsideTheRegionsDisconnect() {
        Mbuf[] got = new Mbuf[8];
        try (HostilePeer p = HostilePeer.connect(sock)) {
            p.handshake(3, "open-sesame");
            MemifDriverTest.awaitUp(server);
            MemifRing.head(p.ring(0), 1000); // 1000 slots published in a ring of 16
            for (long end = System.nanoTime() + 2_000_000_000L; System.nanoTime() < end && server.link().up(); ) server.rxBurst(0, got, 8);
            String reason = p.awaitDisconnect();
            assertEquals("Protocol error: C2S ring 0: head is 1000 slots past tail in a ring of 16", reason);
            assertLogged(reason);
        }
        try (HostilePeer p = HostilePeer.connect(sock)) {
            p.handshake(3, "open-sesame");
            MemifDriverTest.awaitUp(server);
            var s2c = p.ring(1);
            HostilePeer.desc(s2c, 0, 0, 0, BSIZE, REGION_SIZE - 100); // a buffer that runs past region 0
            MemifRing.head(s2c, 1);
            Mbuf[] one = {MemifDriverTest.frame(pool, 1, 64)};
            int sent = 0;
            for (long end = System.nanoTime() + 2_000_000_000L; sent == 0 && System.nanoTime() < end && server.link().up(); ) {
                sent = server.txBurst(0, one, 1);
            }
            if (sent == 0) one[0].free();
            String reason = p.awaitDisconnect();
            assertEquals("Protocol error: S2C ring 0: offered buffer region 0 offset " + (REGION_SIZE - 100) + " len " + BSIZE
                    + " out of bounds", reason);
            assertLogged(reason);
            assertEquals(0, MemifRing.tail(s2c), "nothing was written to it");
        }
        assertEquals(2, server.xstat("memif_protocol_errors"));
        servesTheNextClient();
    }

    @Test
    void theServerSealsARegionAgainstShrinkingAndARegionTruncatedUnderItIsAFaultNotACrash() {
        try (HostilePeer p = HostilePeer.connect(sock)) {
            p.handshake(3, "open-sesame");
            MemifDriverTest.awaitUp(server);
            var e = org.junit.jupiter.api.Assertions.assertThrows(org.jpdk.sys.LinuxException.class,
                    () -> Libc.ftruncate(p.regionFd, 0, "hostile region"));
            assertEquals(org.jpdk.sys.Errno.EPERM, e.errno(), "the server sealed the region it mapped");
        }
        // a region that cannot be sealed (as DPDK's zero-copy memory): truncated while frames flow
        try (HostilePeer p = HostilePeer.connectUnsealable(sock)) {
            p.handshake(3, "open-sesame");
            MemifDriverTest.awaitUp(server);
            var c2s = p.ring(0);
            p.publishC2s(4, slot -> HostilePeer.desc(c2s, slot, 0, 0, 60, BUFFERS + (long) slot * BSIZE));
            Libc.ftruncate(p.regionFd, 0, "hostile region"); // every page of it, rings included, is gone
            Mbuf[] got = new Mbuf[8];
            for (long end = System.nanoTime() + 3_000_000_000L; System.nanoTime() < end && server.link().up(); ) {
                Mbuf.freeBulk(got, 0, server.rxBurst(0, got, 8));
            }
            String reason = p.awaitDisconnect();
            assertTrue(reason.startsWith("Protocol error: C2S ring 0: peer memory failed"), reason);
            assertTrue(reason.contains("InternalError"), reason);
        }
        servesTheNextClient();
    }
}
