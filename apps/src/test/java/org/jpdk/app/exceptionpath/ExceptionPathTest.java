package org.jpdk.app.exceptionpath;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Arp;
import org.jpdk.net.Checksum;
import org.jpdk.net.Ether;
import org.jpdk.net.Icmp;
import org.jpdk.net.Ipv4;
import org.jpdk.sys.Netns;
import org.jpdk.testing.AllocationMeter;
import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * exception_path: option errors, the fast path on crafted frames without allocation, and the
 * real thing between two namespaces: P is the wire's far end (the kernel at 10.9.0.1 behind the
 * physical-side tap), Q the kernel behind the exception tap, owning the app's 10.9.0.2.
 */
class ExceptionPathTest {
    private static final int APP_IP = 0x0a090002, PEER_IP = 0x0a090001;
    private static final long APP_MAC = 0x02_00_0a_09_00_02L, PEER_MAC = 0x02_00_0a_09_00_01L;

    private static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = ExceptionPath.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[]{Integer.toString(rc), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void badOptionsAreOneLineErrors() {
        String[][] cases = {
                {"exception_path: --ip=A.B.C.D is required: the address the app answers for"},
                {"exception_path: --ip=10.9.0: expected an IPv4 address like 10.9.0.2", "--ip=10.9.0"},
                {"exception_path: --ip=224.0.0.1: not a unicast address", "--ip=224.0.0.1"},
                {"exception_path: --burst=0: allowed 1..512", "--ip=10.9.0.2", "--burst=0"},
                {"exception_path: --port=1 and --tap-port=1: need two different ports", "--ip=10.9.0.2", "--port=1"},
                {"exception_path: --mac=01:00:5e:00:00:01: not a unicast address", "--ip=10.9.0.2", "--mac=01:00:5e:00:00:01"},
                {"exception_path: --stats-period=-1: expected seconds, 0 or more", "--ip=10.9.0.2", "--stats-period=-1"},
                {"exception_path: unknown option --bogus; see --help", "--ip=10.9.0.2", "--bogus"},
        };
        for (String[] c : cases) {
            String[] args = new String[c.length];
            args[0] = "--";
            System.arraycopy(c, 1, args, 1, c.length - 1);
            String[] r = run(args);
            assertEquals("1", r[0], c[0]);
            assertEquals(c[0] + "\n", r[2]);
        }
        String[] r = run("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_ring0", "--", "--ip=10.9.0.2");
        assertEquals("1", r[0]);
        assertEquals("exception_path: needs a worker lcore for the loop: give two lcores, e.g. -l 0-1\n", r[2]);
        r = run("-l", "0-1", "--no-huge", "-m", "64", "--vdev", "net_ring0", "--", "--ip=10.9.0.2");
        assertEquals("1", r[0]);
        assertTrue(r[2].startsWith("exception_path: port 1: no such port; ports are 0..0"), r[2]);
        r = run("--", "--help");
        assertEquals("0", r[0]);
        assertTrue(r[1].contains("--tap-port=N"));
    }

    @Test
    void theFastPathAnswersOursPassesTheRestAndAllocatesNothing() throws Throwable {
        Eal eal = Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_ring0", "--vdev", "net_ring1");
        Mempool<Mbuf> pool = Mbuf.createPool("ep_test", 1023, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        Throwable failure = null;
        try {
            EthDev wire = EthDev.get(0), kernel = EthDev.get(1); // each net_ring loops back to itself
            for (EthDev p : new EthDev[]{wire, kernel}) {
                p.configure(1, 1, PortConf.defaults());
                p.rxQueueSetup(0, 0, pool);
                p.txQueueSetup(0, 0);
                p.start();
            }
            ExceptionPath app = new ExceptionPath(wire, kernel, APP_IP, APP_MAC, 32);
            Mbuf[] rx = new Mbuf[32], back = new Mbuf[32], up = new Mbuf[32], one = new Mbuf[1];

            one[0] = arpRequest(pool, APP_IP);
            wire.txBurst(0, one, 1);
            assertEquals(1, app.fromWire(rx, back, up));
            assertEquals(1, wire.rxBurst(0, rx, 32), "the ARP reply went back out of the wire side");
            Mbuf m = rx[0];
            assertEquals(PEER_MAC, Ether.dst(m));
            assertEquals(APP_MAC, Ether.src(m));
            assertEquals(Arp.OP_REPLY, m.readShort(14 + Arp.OP_OFF));
            assertEquals(APP_MAC, Ether.readAddr(m, 14 + Arp.SHA_OFF));
            assertEquals(APP_IP, m.readInt(14 + Arp.SIP_OFF));
            assertEquals(PEER_MAC, Ether.readAddr(m, 14 + Arp.THA_OFF));
            assertEquals(PEER_IP, m.readInt(14 + Arp.TIP_OFF));
            m.free();

            one[0] = echoRequest(pool, APP_IP);
            wire.txBurst(0, one, 1);
            app.fromWire(rx, back, up);
            assertEquals(1, wire.rxBurst(0, rx, 32));
            m = rx[0];
            assertEquals(Icmp.ECHO_REPLY, m.readByte(34));
            assertEquals(APP_IP, Ipv4.src(m, 14));
            assertEquals(PEER_IP, Ipv4.dst(m, 14));
            assertTrue(Ipv4.cksumVerify(m, 14));
            assertEquals(0xffff, Checksum.raw(m, 34, m.dataLen() - 34), "the ICMP checksum is right");
            m.free();

            for (Mbuf other : new Mbuf[]{arpRequest(pool, APP_IP + 1), echoRequest(pool, APP_IP + 1)}) {
                one[0] = other;
                wire.txBurst(0, one, 1);
                app.fromWire(rx, back, up);
                assertEquals(0, wire.rxBurst(0, rx, 32));
                assertEquals(1, kernel.rxBurst(0, rx, 32), "a frame not for us goes to the kernel side");
                rx[0].free();
            }
            one[0] = echoRequest(pool, APP_IP);
            kernel.txBurst(0, one, 1);
            assertEquals(1, app.fromKernel(rx));
            assertEquals(1, wire.rxBurst(0, rx, 32), "what the kernel writes goes out of the wire side");
            rx[0].free();

            Mbuf arp = arpRequest(pool, APP_IP), ping = echoRequest(pool, APP_IP);
            AllocationMeter.assertNoAllocation("passes of the fast path", 20_000, 2_000, () -> {
                one[0] = copy(pool, arp);
                wire.txBurst(0, one, 1);
                one[0] = copy(pool, ping);
                wire.txBurst(0, one, 1);
                app.fromWire(rx, back, up);
                Mbuf.freeBulk(rx, 0, wire.rxBurst(0, rx, 32));
            });
            arp.free();
            ping.free();
            String stats = printed(app);
            assertTrue(stats.contains("ARP answered:   "), stats);
        } catch (Throwable t) {
            failure = t;
            throw t;
        } finally {
            // the EAL is cleaned up whatever fails (a test thread left pinned to lcore 0's CPU
            // makes every later child process of this JVM fail), and a failure above is not
            // hidden by the pool's complaint about the mbufs it left out
            try {
                EthDev.closeAll();
                pool.close();
            } catch (RuntimeException e) {
                if (failure == null) throw e;
                failure.addSuppressed(e);
            } finally {
                eal.cleanup();
            }
        }
    }

    private static String printed(ExceptionPath app) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        app.printStats(new PrintStream(b, true, StandardCharsets.UTF_8), "Statistics");
        return b.toString(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ against the kernel

    /**
     * The app between namespaces P (physical side, kernel 10.9.0.1) and Q (exception tap, kernel
     * owning 10.9.0.2): the kernel in P pings the app's address and the app answers; a UDP echo and
     * a TCP connection to services of Q's kernel go wire → app → tap → kernel and back.
     */
    @Test
    void theAppAnswersPingAndCarriesTheKernelsTraffic() throws Exception {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String p = nf.namespace(), q = nf.namespace();
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            CompletableFuture<Integer> rc = new CompletableFuture<>();
            Thread app = new Thread(() -> rc.complete(ExceptionPath.run(new String[]{
                    "-l", "0-1", "--no-huge", "-m", "128",
                    "--vdev", "net_tap0,iface=jep0,netns=" + p, "--vdev", "net_tap1,iface=jeq0,netns=" + q,
                    "--", "--ip=10.9.0.2", "--mac=02:00:0a:09:00:02", "--stats-period=1", "--run-seconds=40"},
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))), "exception_path");
            app.start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!out.toString(StandardCharsets.UTF_8).contains("lcore 1 polls") && System.nanoTime() < deadline && app.isAlive()) {
                    Thread.sleep(20);
                }
                assertTrue(out.toString(StandardCharsets.UTF_8).contains("lcore 1 polls"), "the app started: " + out + err);
                nf.ip(p, "addr", "add", "10.9.0.1/24", "dev", "jep0");
                nf.ip(q, "addr", "add", "10.9.0.2/24", "dev", "jeq0");
                assertTrue(nf.ip(q, "link", "show", "dev", "jeq0").contains("02:00:0a:09:00:02"), "the exception tap has the app's MAC");

                // (1) the kernel in P pings the address the app answers
                if (onPath("ping")) {
                    NetnsFixture.Result ping = NetnsFixture.runQuietly(20, "ip", "netns", "exec", p, "ping", "-c", "3", "-W", "1", "10.9.0.2");
                    assertEquals(0, ping.exit(), ping.output());
                    assertTrue(ping.output().contains("3 received"), ping.output());
                } else { // no iputils-ping: the JDK pings with a raw ICMP socket when root
                    for (int i = 0; i < 3; i++) {
                        assertTrue(inNs(p, () -> InetAddress.getByName("10.9.0.2").isReachable(1000)), "echo " + i + " answered");
                    }
                }

                // (3) a UDP echo service of Q's kernel, reached from P through the app and the tap
                try (DatagramSocket server = inNs(q, () -> new DatagramSocket(new InetSocketAddress("10.9.0.2", 7007)));
                     DatagramSocket client = inNs(p, DatagramSocket::new)) {
                    server.setSoTimeout(5000);
                    client.setSoTimeout(5000);
                    Thread echo = Thread.ofPlatform().start(() -> {
                        try {
                            DatagramPacket d = new DatagramPacket(new byte[1500], 1500);
                            server.receive(d);
                            server.send(new DatagramPacket(d.getData(), d.getLength(), d.getSocketAddress()));
                        } catch (Exception e) {
                            // the client's receive times out and fails the test
                        }
                    });
                    byte[] msg = "through the exception path".getBytes(StandardCharsets.US_ASCII);
                    client.send(new DatagramPacket(msg, msg.length, InetAddress.getByName("10.9.0.2"), 7007));
                    DatagramPacket reply = new DatagramPacket(new byte[1500], 1500);
                    client.receive(reply);
                    assertEquals("through the exception path", new String(reply.getData(), 0, reply.getLength(), StandardCharsets.US_ASCII));
                    echo.join(5000);
                }

                // (3') a TCP connection to a listener of Q's kernel
                try (ServerSocket listener = inNs(q, () -> new ServerSocket(7008, 1, InetAddress.getByName("10.9.0.2")));
                     Socket client = inNs(p, () -> { // a Socket gets its fd at connect: connect inside P
                         Socket s = new Socket();
                         s.connect(new InetSocketAddress("10.9.0.2", 7008), 5000);
                         return s;
                     })) {
                    listener.setSoTimeout(5000);
                    client.setSoTimeout(5000);
                    try (Socket accepted = listener.accept()) {
                        accepted.setSoTimeout(5000);
                        client.getOutputStream().write("hello tcp\n".getBytes(StandardCharsets.US_ASCII));
                        byte[] line = new byte[10];
                        InputStream in = accepted.getInputStream();
                        int got = 0;
                        while (got < 10) {
                            int k = in.read(line, got, 10 - got);
                            if (k < 0) break;
                            got += k;
                        }
                        assertEquals("hello tcp\n", new String(line, 0, got, StandardCharsets.US_ASCII));
                        OutputStream o = accepted.getOutputStream();
                        o.write('!');
                        assertEquals('!', client.getInputStream().read());
                    }
                }
            } finally {
                Eal e = currentEal();
                if (e != null) e.requestStop();
                app.join(30_000);
            }
            assertFalse(app.isAlive(), "the app stops on request");
            assertEquals(0, rc.get(1, TimeUnit.SECONDS), err.toString(StandardCharsets.UTF_8));
            String o = out.toString(StandardCharsets.UTF_8);
            assertTrue(o.contains("Final statistics"), o);
            String fin = o.substring(o.lastIndexOf("Final statistics"));
            assertTrue(counter(fin, "ARP answered") >= 1, fin);
            assertTrue(counter(fin, "ICMP answered") >= 3, fin);
            assertTrue(counter(fin, "To kernel") >= 4, "the UDP datagram and the TCP segments went to the kernel: " + fin);
            assertTrue(counter(fin, "From kernel") >= 4, fin);
            assertFalse(nf.ip(q, "link").contains("jeq0"), "the taps are removed when the app ends");
        }
    }

    private static boolean onPath(String cmd) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (new java.io.File(d, cmd).canExecute()) return true;
        }
        return false;
    }

    private static Eal currentEal() {
        try {
            return Eal.current();
        } catch (IllegalStateException e) {
            return null;
        }
    }

    private static long counter(String stats, String name) {
        Matcher m = Pattern.compile(name + ":\\s+(\\d+)").matcher(stats);
        assertTrue(m.find(), name + " in " + stats);
        return Long.parseLong(m.group(1));
    }

    static <T> T inNs(String ns, Callable<T> c) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (Netns n = Netns.enter(ns)) {
                f.complete(c.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        t.start();
        return f.get(10, TimeUnit.SECONDS);
    }

    // ------------------------------------------------------------------ frames

    private static Mbuf copy(Mempool<Mbuf> pool, Mbuf src) {
        Mbuf m = Mbuf.alloc(pool);
        m.appendOffset(src.dataLen());
        java.lang.foreign.MemorySegment.copy(src.buffer(), src.dataOff(), m.buffer(), m.dataOff(), src.dataLen());
        return m;
    }

    private static Mbuf arpRequest(Mempool<Mbuf> pool, int target) {
        Mbuf m = Mbuf.alloc(pool);
        m.appendOffset(60);
        for (int i = 0; i < 60; i++) m.writeByte(i, 0);
        Ether.setAddrs(m, 0xffff_ffff_ffffL, PEER_MAC);
        m.writeShort(12, Ether.TYPE_ARP);
        m.writeShort(14 + Arp.HRD_OFF, Arp.HRD_ETHER);
        m.writeShort(14 + Arp.PRO_OFF, Ether.TYPE_IPV4);
        m.writeByte(14 + Arp.HLEN_OFF, 6);
        m.writeByte(14 + Arp.PLEN_OFF, 4);
        m.writeShort(14 + Arp.OP_OFF, Arp.OP_REQUEST);
        Ether.writeAddr(m, 14 + Arp.SHA_OFF, PEER_MAC);
        m.writeInt(14 + Arp.SIP_OFF, PEER_IP);
        m.writeInt(14 + Arp.TIP_OFF, target);
        return m;
    }

    private static Mbuf echoRequest(Mempool<Mbuf> pool, int dst) {
        Mbuf m = Mbuf.alloc(pool);
        int len = 14 + 20 + 8 + 16;
        m.appendOffset(len);
        for (int i = 0; i < len; i++) m.writeByte(i, i >= 42 ? i : 0);
        Ether.setAddrs(m, APP_MAC, PEER_MAC);
        m.writeShort(12, Ether.TYPE_IPV4);
        m.writeByte(14, 0x45);
        m.writeShort(16, 20 + 8 + 16);
        m.writeByte(14 + Ipv4.TTL_OFF, 64);
        m.writeByte(14 + Ipv4.PROTO_OFF, Ipv4.PROTO_ICMP);
        m.writeInt(14 + Ipv4.SRC_OFF, PEER_IP);
        m.writeInt(14 + Ipv4.DST_OFF, dst);
        Ipv4.setChecksum(m, 14);
        m.writeByte(34, Icmp.ECHO_REQUEST);
        m.writeShort(34 + Icmp.IDENT_OFF, 0x1234);
        m.writeShort(34 + Icmp.CKSUM_OFF, ~Checksum.raw(m, 34, 24) & 0xffff);
        return m;
    }
}
