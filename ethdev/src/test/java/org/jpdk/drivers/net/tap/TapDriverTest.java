package org.jpdk.drivers.net.tap;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.Netns;
import org.jpdk.testing.AllocationMeter;
import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * net_tap against the real kernel, inside network namespaces of its own: the interface's life
 * (probe, start, stop, close, persist), control calls reaching the interface, frames both ways
 * (the kernel answers pings written to the tap; a UDP datagram the kernel sends arrives), multiple
 * queues, scatter, errors, fd leaks and zero allocation.
 */
class TapDriverTest {
    private static final int KERNEL_IP = 0x0a4d0001, APP_IP = 0x0a4d0002; // 10.77.0.1 (kernel), 10.77.0.2 (app)
    private NetnsFixture nf;
    private String ns;
    private Eal eal;
    private Mempool<Mbuf> pool;

    @BeforeEach
    void init() {
        nf = NetnsFixture.create();
        ns = nf.namespace();
        eal = Eal.init("-l", "0", "--no-huge", "-m", "128");
        pool = Mbuf.createPool("tap_test", 4095, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
    }

    @AfterEach
    void cleanup() {
        try {
            if (eal != null) {
                EthDev.closeAll();
                if (pool != null) {
                    assertEquals(pool.size(), pool.availCount(), "every mbuf is back in the pool after close");
                    pool.close();
                }
                eal.cleanup();
            }
        } finally {
            if (nf != null) nf.close();
        }
    }

    private EthDev tap(String extra) {
        return EthDev.create("net_tap0,netns=" + ns + (extra.isEmpty() ? "" : "," + extra));
    }

    private void start(EthDev p, int queues, PortConf conf) {
        p.configure(queues, queues, conf);
        for (int q = 0; q < queues; q++) {
            p.rxQueueSetup(q, 0, pool);
            p.txQueueSetup(q, 0);
        }
        p.start();
    }

    private String link(String ifName) {
        return nf.ip(ns, "link", "show", "dev", ifName);
    }

    private boolean exists(String ifName) {
        return NetnsFixture.runQuietly(10, "ip", "-n", ns, "link", "show", "dev", ifName).exit() == 0;
    }

    /** The kernel side: 10.77.0.1/24 on the tap, 10.77.0.2 (the app) known at the port's MAC. */
    private void kernelAddress(EthDev p, String ifName) {
        nf.ip(ns, "addr", "add", "10.77.0.1/24", "dev", ifName);
        nf.ip(ns, "neigh", "replace", "10.77.0.2", "lladdr", p.macAddr().toString().toLowerCase(), "dev", ifName, "nud", "permanent");
    }

    /** A link down flushes the neighbour table, permanent entries included. */
    private void kernelAddressAgain(EthDev p, String ifName) {
        nf.ip(ns, "neigh", "replace", "10.77.0.2", "lladdr", p.macAddr().toString().toLowerCase(), "dev", ifName, "nud", "permanent");
    }

    private static String ifName(EthDev p) {
        return ((TapDriver.Device) p.ops()).ifName();
    }

    // ------------------------------------------------------------------ life of the interface

    @Test
    void interfaceIsCreatedAtProbeUpAtStartDownAtStopRemovedAtClose() {
        EthDev p = tap("iface=jtap0,mac=02:11:22:33:44:55");
        assertEquals("jtap0", ifName(p));
        assertEquals(MacAddr.parse("02:11:22:33:44:55"), p.macAddr());
        String l = link("jtap0");
        assertTrue(l.contains("02:11:22:33:44:55"), l);
        assertFalse(l.contains("UP"), l);
        assertFalse(p.link().up());
        start(p, 1, PortConf.defaults());
        assertTrue(link("jtap0").contains(",UP"), link("jtap0"));
        assertTrue(p.waitLinkUp(java.time.Duration.ofSeconds(2)).up(), "up with carrier once a queue is attached");
        assertEquals("Link Up - speed 10 Gbps - full-duplex", p.link().toString());
        assertEquals("jtap0", p.info().ifName());
        p.stop();
        assertFalse(link("jtap0").contains(",UP"), link("jtap0"));
        assertFalse(p.link().up());
        p.close();
        assertFalse(exists("jtap0"), "the interface is removed at close");
    }

    @Test
    void defaultNameIsNumberedByTheKernelAndFixedMacIsDpdks() {
        EthDev a = tap("mac=fixed");
        EthDev b = EthDev.create("net_tap1,netns=" + ns + ",mac=fixed");
        assertTrue(ifName(a).matches("dtap\\d+"), ifName(a));
        assertTrue(ifName(b).matches("dtap\\d+"), ifName(b));
        assertNotEquals(ifName(a), ifName(b));
        long ma = a.macAddr().value(), mb = b.macAddr().value();
        assertEquals(0x00_64_74_61_70_00L, ma & ~0xffL, "00:64:74:61:70:xx (\"\\0dtap\")");
        assertEquals((ma & 0xff) + 1, mb & 0xff, "the last byte counts fixed ports");
        MacAddr random = EthDev.create("eth_tap2,netns=" + ns).macAddr();
        assertFalse(random.isMulticast());
        assertEquals(0x02L << 40, random.value() & (0x02L << 40), "a random address is locally administered");
    }

    @Test
    void persistKeepsTheInterfaceAndAnExistingOneIsLeftAsFound() {
        EthDev p = tap("iface=jtapp,persist=1");
        start(p, 2, PortConf.defaults());
        p.close();
        assertTrue(exists("jtapp"), "persist=1 keeps the interface");
        assertTrue(nf.ip(ns, "-d", "link", "show", "dev", "jtapp").contains("persist on"));
        EthDev again = EthDev.create("net_tap1,netns=" + ns + ",iface=jtapp");
        start(again, 1, PortConf.defaults());
        again.close();
        assertTrue(exists("jtapp"), "a persistent tap that existed before the probe is left as found");
        nf.ip(ns, "link", "del", "jtapp");
        // a multi-queue tap made by ip is attached to as well
        nf.ip(ns, "tuntap", "add", "mode", "tap", "multi_queue", "name", "jtapm");
        EthDev m = EthDev.create("net_tap2,netns=" + ns + ",iface=jtapm");
        start(m, 2, PortConf.defaults());
        m.close();
        assertTrue(exists("jtapm"));
    }

    @Test
    void controlCallsChangeTheInterface() {
        EthDev p = tap("iface=jtapc");
        start(p, 1, PortConf.defaults().withMtu(2000));
        assertTrue(link("jtapc").contains("mtu 2000"), link("jtapc"));
        p.setMtu(9000);
        assertTrue(link("jtapc").contains("mtu 9000"), link("jtapc"));
        assertTrue(link("jtapc").contains("PROMISC"), "the port starts promiscuous, as EthDev reports");
        p.setPromiscuous(false);
        assertFalse(link("jtapc").contains("PROMISC"), link("jtapc"));
        p.setAllMulticast(true);
        assertTrue(link("jtapc").contains("ALLMULTI"), link("jtapc"));
        p.setAllMulticast(false);
        assertFalse(link("jtapc").contains("ALLMULTI"), link("jtapc"));
        p.setMacAddr(MacAddr.parse("02:aa:bb:cc:dd:ee"));
        assertTrue(link("jtapc").contains("02:aa:bb:cc:dd:ee"), link("jtapc"));
        EthDevException e = assertThrows(EthDevException.class, () -> p.setMtu(70000));
        assertTrue(e.getMessage().contains("mtu 70000: allowed 68..65521"), e.getMessage());
    }

    // ------------------------------------------------------------------ frames

    @Test
    void aUdpDatagramTheKernelSendsArrivesWithItsPayload() throws Exception {
        EthDev p = tap("iface=jtapu");
        start(p, 1, PortConf.defaults());
        kernelAddress(p, "jtapu");
        byte[] payload = "hello from the kernel".getBytes(StandardCharsets.US_ASCII);
        try (DatagramSocket s = inNs(ns, DatagramSocket::new)) {
            s.send(new DatagramPacket(payload, payload.length, InetAddress.getByName("10.77.0.2"), 9999));
        }
        Mbuf m = receive(p, 0, 9999, 5);
        assertNotNull(m, "the datagram reaches rxBurst");
        try {
            assertEquals(p.id(), m.port);
            assertEquals(p.macAddr().value(), readMac(m, 0));
            assertEquals(0x0800, m.readShort(12));
            assertEquals(KERNEL_IP, m.readInt(14 + 12));
            assertEquals(APP_IP, m.readInt(14 + 16));
            assertEquals(14 + 20 + 8 + payload.length, m.pktLen());
            byte[] got = m.data(14 + 28, payload.length).toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(payload, got);
        } finally {
            m.free();
        }
        assertTrue(p.stats().ipackets >= 1);
    }

    @Test
    void theKernelAnswersAPingWrittenToTheTapAndTheFdPollsReadable() {
        EthDev p = tap("iface=jtapi");
        start(p, 1, PortConf.defaults());
        kernelAddress(p, "jtapi");
        MacAddr kernelMac = MacAddr.parse(link("jtapi").replaceAll("(?s).*link/ether ([0-9a-f:]{17}).*", "$1"));
        Mbuf[] one = {echoRequest(pool, kernelMac, p.macAddr(), 7)};
        assertEquals(1, p.txBurst(0, one, 1));
        assertEquals(1, p.stats().opackets);
        int fd = ((TapDriver.Device) p.ops()).queueFd(0);
        assertTrue(pollIn(fd, 2000), "the queue fd polls readable once the reply waits");
        Mbuf r = receiveEchoReply(p, 0, 7, 5);
        assertNotNull(r, "the kernel's echo reply comes back");
        assertEquals(KERNEL_IP, r.readInt(14 + 12));
        r.free();
    }

    @Test
    void twoQueuesTheKernelSpreadsFlowsAndEachQueueTransmits() throws Exception {
        EthDev p = tap("iface=jtapq");
        start(p, 2, PortConf.defaults());
        kernelAddress(p, "jtapq");
        int flows = 64;
        try (DatagramSocket s = inNs(ns, DatagramSocket::new)) {
            for (int i = 0; i < flows; i++) {
                byte[] b = {(byte) i};
                s.send(new DatagramPacket(b, 1, InetAddress.getByName("10.77.0.2"), 20000 + i));
            }
        }
        int[] perQueue = new int[2];
        Mbuf[] pkts = new Mbuf[32];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (perQueue[0] + perQueue[1] < flows && System.nanoTime() < deadline) {
            for (int q = 0; q < 2; q++) {
                int n = p.rxBurst(q, pkts, 32);
                for (int i = 0; i < n; i++) {
                    if (isUdpTo(pkts[i], 20000, 20000 + flows)) perQueue[q]++;
                }
                Mbuf.freeBulk(pkts, 0, n);
            }
        }
        assertEquals(flows, perQueue[0] + perQueue[1], "every datagram arrives once");
        assertTrue(perQueue[0] > 0 && perQueue[1] > 0, "the kernel spreads flows over both queues: " + perQueue[0] + "/" + perQueue[1]);
        assertTrue(p.stats().qIpackets[0] > 0 && p.stats().qIpackets[1] > 0);
        MacAddr kernelMac = MacAddr.parse(link("jtapq").replaceAll("(?s).*link/ether ([0-9a-f:]{17}).*", "$1"));
        for (int q = 0; q < 2; q++) {
            Mbuf[] one = {echoRequest(pool, kernelMac, p.macAddr(), 100 + q)};
            assertEquals(1, p.txBurst(q, one, 1));
            Mbuf r = null;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (r == null && System.nanoTime() < end) {
                for (int rq = 0; rq < 2 && r == null; rq++) r = receiveEchoReply(p, rq, 100 + q, 0);
            }
            assertNotNull(r, "a ping sent on queue " + q + " is answered");
            r.free();
        }
        assertEquals(1, p.stats().qOpackets[0]);
        assertEquals(1, p.stats().qOpackets[1]);
    }

    @Test
    void aFrameLongerThanTheDataRoomIsChainedWithScatterAndCountedWithout() throws Exception {
        Mempool<Mbuf> small = Mbuf.createPool("tap_small", 511, 0, 1024 + Mbuf.DEFAULT_HEADROOM, -1);
        try {
            EthDev p = tap("iface=jtaps");
            p.configure(1, 1, PortConf.defaults().withMtu(3000).withRxOffloads(Offloads.RX_SCATTER));
            p.rxQueueSetup(0, 0, small);
            p.txQueueSetup(0, 0);
            p.start();
            kernelAddress(p, "jtaps");
            byte[] payload = new byte[2500];
            for (int i = 0; i < payload.length; i++) payload[i] = (byte) (i * 7);
            try (DatagramSocket s = inNs(ns, DatagramSocket::new)) {
                s.send(new DatagramPacket(payload, payload.length, InetAddress.getByName("10.77.0.2"), 9998));
                Mbuf m = receive(p, 0, 9998, 5);
                assertNotNull(m);
                assertEquals(14 + 28 + 2500, m.pktLen());
                assertEquals(3, m.nbSegs(), "1024 + 1024 + the rest");
                byte[] got = new byte[m.pktLen()];
                int at = 0;
                for (Mbuf s2 = m; s2 != null; s2 = s2.next()) {
                    MemorySegment.copy(s2.data(), ValueLayout.JAVA_BYTE, 0, got, at, s2.dataLen());
                    at += s2.dataLen();
                }
                assertArrayEquals(payload, java.util.Arrays.copyOfRange(got, 42, got.length));
                m.free();

                p.stop();
                p.configure(1, 1, PortConf.defaults().withMtu(3000));
                p.rxQueueSetup(0, 0, small);
                p.txQueueSetup(0, 0);
                p.start();
                kernelAddressAgain(p, "jtaps");
                long errorsBefore = p.stats().ierrors;
                s.send(new DatagramPacket(payload, payload.length, InetAddress.getByName("10.77.0.2"), 9998));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                Mbuf[] pkts = new Mbuf[8];
                while (p.stats().ierrors == errorsBefore && System.nanoTime() < deadline) {
                    Mbuf.freeBulk(pkts, 0, p.rxBurst(0, pkts, 8));
                }
                assertEquals(errorsBefore + 1, p.stats().ierrors, "without RX_SCATTER the long frame is an ierror");
            }
            p.close();
        } finally {
            EthDev.closeAll();
            assertEquals(small.size(), small.availCount());
            small.close();
        }
    }

    /** A chain whose pktLen disagrees with its segments is dropped and counted; before, writev sent the segments and counted pktLen bytes. */
    @Test
    void anInconsistentChainIsDroppedAndCounted() {
        EthDev p = tap("iface=jtapc");
        start(p, 1, PortConf.defaults());
        Mbuf head = Mbuf.alloc(pool), tail = Mbuf.alloc(pool);
        head.appendOffset(60);
        tail.appendOffset(40);
        assertTrue(head.chain(tail));
        tail.appendOffset(500);                       // grown through the tail: the head's pktLen misses it
        Mbuf[] one = {head};
        assertEquals(1, p.txBurst(0, one, 1), "taken and dropped");
        assertEquals(0, p.stats().opackets);
        assertEquals(1, p.stats().oerrors);
    }

    /**
     * An lcore that transmits on a queue after its port closed (held inside txBurst by a tx
     * callback while the port closes) gets IllegalStateException from the queue's released
     * iovec memory before any writev on a closed (or reused) descriptor.
     */
    @Test
    void anLcoreStillTransmittingWhenThePortClosesGetsAnException() throws Exception {
        EthDev p = tap("iface=jtapl");
        start(p, 1, PortConf.defaults());
        java.util.concurrent.CountDownLatch inBurst = new java.util.concurrent.CountDownLatch(1), closed = new java.util.concurrent.CountDownLatch(1);
        p.addTxCallback(0, (port, queue, pkts, off, n) -> {
            inBurst.countDown();
            try {
                closed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return n;
        });
        Mbuf m = Mbuf.alloc(pool);
        m.appendOffset(60);
        Mbuf[] one = {m};
        java.util.concurrent.atomic.AtomicReference<Throwable> end = new java.util.concurrent.atomic.AtomicReference<>();
        Thread lcore = new Thread(() -> {
            try {
                p.txBurst(0, one, 1);
            } catch (Throwable t) {
                end.set(t);
            }
        }, "late-tx");
        lcore.start();
        assertTrue(inBurst.await(5, TimeUnit.SECONDS));
        p.close();
        closed.countDown();
        lcore.join(5000);
        assertFalse(lcore.isAlive());
        assertInstanceOf(IllegalStateException.class, end.get(), () -> String.valueOf(end.get()));
        m.free();
    }

    /**
     * A tap deleted under the port takes the link down and says so once: one log line, then
     * LINK_STATE_CHANGE and DEVICE_REMOVED; rx stops counting an error per poll, tx drops and counts,
     * and the port still stops and closes. Before, every empty poll counted an ierror (readv:
     * EBADFD), nothing said why, and stop failed on the missing interface.
     */
    @Tag("faults")
    @Test
    void aDeletedTapTakesTheLinkDownAndSaysSoOnce() throws Exception {
        EthDev p = tap("iface=jtapg");
        start(p, 2, PortConf.defaults());
        java.util.List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.CountDownLatch removed = new java.util.concurrent.CountDownLatch(1);
        p.addEventCallback(org.jpdk.ethdev.EthEvent.LINK_STATE_CHANGE, (port, e) -> events.add(e + " up=" + port.link().up()));
        p.addEventCallback(org.jpdk.ethdev.EthEvent.DEVICE_REMOVED, (port, e) -> {
            events.add(e.toString());
            removed.countDown();
        });
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        org.jpdk.eal.Log.setOutput(new java.io.PrintStream(log, true, StandardCharsets.UTF_8));
        Mbuf[] burst = new Mbuf[32];
        try {
            nf.ip(ns, "link", "del", "jtapg");
            for (int i = 0; i < 1000; i++) {
                assertEquals(0, p.rxBurst(0, burst, 32));
                assertEquals(0, p.rxBurst(1, burst, 32));
            }
            for (int i = 0; i < 4; i++) {
                burst[i] = Mbuf.alloc(pool);
                burst[i].appendOffset(60);
            }
            assertEquals(4, p.txBurst(1, burst, 4), "taken, dropped and counted");
            assertTrue(removed.await(5, TimeUnit.SECONDS), () -> "events: " + events + "; log: " + log);
            assertFalse(p.link().up());
            assertEquals(0, p.stats().ierrors, "an empty poll of a deleted tap is not an error");
            assertEquals(4, p.stats().oerrors);
            p.stop();
            p.close();
        } finally {
            org.jpdk.eal.Log.setOutput(System.err);
        }
        assertEquals(java.util.List.of("LINK_STATE_CHANGE up=false", "DEVICE_REMOVED"), events);
        java.util.List<String> lines = log.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("is gone")).toList();
        assertEquals(1, lines.size(), log::toString);
        assertTrue(lines.get(0).contains("port " + p.id() + " (net_tap0): tap jtapg is gone: readv: EBADFD; link down"), lines.get(0));
    }

    @Test
    void rxAndTxAllocateNothing() {
        EthDev p = tap("iface=jtapa");
        start(p, 1, PortConf.defaults());
        kernelAddress(p, "jtapa");
        MacAddr kernelMac = MacAddr.parse(link("jtapa").replaceAll("(?s).*link/ether ([0-9a-f:]{17}).*", "$1"));
        Mbuf template = echoRequest(pool, kernelMac, p.macAddr(), 1);
        Mbuf[] tx = new Mbuf[1];
        Mbuf[] rx = new Mbuf[32];
        long[] received = new long[1];
        AllocationMeter.assertNoAllocation("rounds of tx+rx bursts", 50_000, 5_000, () -> { // warm-up: until C2 has compiled the downcalls
            Mbuf m = Mbuf.alloc(pool);
            m.appendOffset(template.dataLen());
            MemorySegment.copy(template.buffer(), template.dataOff(), m.buffer(), m.dataOff(), template.dataLen());
            tx[0] = m;
            if (p.txBurst(0, tx, 1) == 0) m.free();
            int n = p.rxBurst(0, rx, 32);
            received[0] += n;
            Mbuf.freeBulk(rx, 0, n);
        });
        template.free();
        assertTrue(received[0] > 0, "the kernel's replies were received");
    }

    // ------------------------------------------------------------------ errors and leaks

    @Test
    void badDevargsAreOneLineErrors() {
        assertEquals("--vdev net_tap0: iface=abcdefghijklmnop: not an interface name; 1 to 15 bytes, no '/', ':' or space",
                assertThrows(EalArgumentException.class, () -> tap("iface=abcdefghijklmnop")).getMessage());
        assertTrue(assertThrows(EalArgumentException.class, () -> tap("iface=a/b")).getMessage().contains("iface=a/b: not an interface name"));
        assertTrue(assertThrows(EalArgumentException.class, () -> tap("iface=")).getMessage().contains("iface=: not an interface name"));
        assertEquals("--vdev net_tap0: mac=02:00:00:00:00: expected fixed or xx:xx:xx:xx:xx:xx",
                assertThrows(EalArgumentException.class, () -> tap("mac=02:00:00:00:00")).getMessage());
        assertTrue(assertThrows(EalArgumentException.class, () -> tap("mac=01:00:00:00:00:01")).getMessage().contains("not a unicast address"));
        assertTrue(assertThrows(EalArgumentException.class, () -> tap("persist=maybe")).getMessage().contains("persist=maybe: not a flag"));
        assertTrue(assertThrows(EalArgumentException.class, () -> tap("remote=eth0")).getMessage()
                .startsWith("--vdev net_tap0: remote=eth0: not supported"));
        assertTrue(assertThrows(EalArgumentException.class, () -> EthDev.create("net_tap0,netns=jpdk-no-such-ns")).getMessage()
                .contains("netns=jpdk-no-such-ns: no such network namespace"));
        assertTrue(assertThrows(EalArgumentException.class, () -> tap("queues=2")).getMessage().contains("unknown argument"));
        assertEquals(0, EthDev.count(), "no port is made by a refused probe");
    }

    @Test
    void systemFailuresNameTheCallTheErrnoAndTheRemedy() {
        Devargs a = Devargs.parse("net_tap9,netns=" + ns);
        EthDevException e = assertThrows(EthDevException.class, () -> TapDriver.probe(null, a, "/nonexistent/net/tun"));
        assertEquals("--vdev net_tap9: open(/nonexistent/net/tun): ENOENT; this kernel has no tun/tap device"
                + " (modprobe tun, or a container without /dev/net/tun)", e.getMessage());
        assertEquals("creating or attaching a tap needs CAP_NET_ADMIN (run as root)", Tun.setIffHint(Errno.EPERM, false));
        assertTrue(Tun.openHint(Errno.EACCES, "/dev/net/tun").contains("run as root"));

        nf.ip(ns, "link", "add", "jdummy", "type", "veth", "peer", "name", "jdummy2");
        e = assertThrows(EthDevException.class, () -> tap("iface=jdummy"));
        assertEquals("--vdev net_tap0: ioctl(TUNSETIFF, iface=jdummy): EINVAL; an interface of this name exists and is not"
                + " a multi-queue tap (a veth, a tun, or a tap made without multi_queue); choose another iface", e.getMessage());
        nf.ip(ns, "tuntap", "add", "mode", "tap", "name", "jtap1q");
        e = assertThrows(EthDevException.class, () -> tap("iface=jtap1q"));
        assertTrue(e.getMessage().contains("ioctl(TUNSETIFF, iface=jtap1q): EINVAL; an interface of this name exists"), e.getMessage());
        assertTrue(exists("jdummy") && exists("jtap1q"), "refused interfaces are left alone");

        EthDev p = tap("iface=jtapx");
        e = assertThrows(EthDevException.class, () -> p.configure(TapDriver.MAX_QUEUES + 1, 1, PortConf.defaults()));
        assertEquals("port 0 (net_tap0): nb_rx_queues=17: allowed 0..16", e.getMessage());
    }

    @Test
    void hundredCreateCloseCyclesLeakNoFd() {
        block(); // warm-up: classes, arenas, the first EAL's lazy files
        int before = openFds();
        for (int b = 0; b < 4; b++) block();
        assertEquals(before, openFds(), "open fds after 100 create/start/close cycles");
        assertFalse(exists("jtapl"));
    }

    /** 25 cycles, then a fresh EAL (port ids are not reused and an EAL has at most 32 ports). */
    private void block() {
        for (int i = 0; i < 25; i++) {
            EthDev p = EthDev.create("net_tap" + i + ",netns=" + ns + ",iface=jtapl");
            start(p, 2, PortConf.defaults());
            p.stop();
            p.close();
        }
        EthDev.closeAll();
        assertEquals(pool.size(), pool.availCount());
        pool.close();
        eal.cleanup();
        eal = Eal.init("-l", "0", "--no-huge", "-m", "128");
        pool = Mbuf.createPool("tap_test", 4095, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
    }

    // ------------------------------------------------------------------ helpers

    private static int openFds() {
        String[] l = new File("/proc/self/fd").list();
        return l == null ? -1 : l.length;
    }

    /** Runs {@code c} on a fresh thread inside namespace {@code ns}: sockets it opens belong there. */
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

    private static boolean pollIn(int fd, int millis) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(8, 4);
            pfd.set(ValueLayout.JAVA_INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, (short) Libc.POLLIN);
            return Libc.poll(pfd, 1, millis) == 1 && (pfd.get(ValueLayout.JAVA_SHORT, 6) & Libc.POLLIN) != 0;
        }
    }

    private static boolean isUdpTo(Mbuf m, int fromPort, int toPort) {
        if (m.dataLen() < 42 || m.readShort(12) != 0x0800 || (m.readByte(14 + 9) & 0xff) != 17) return false;
        int dport = m.readShort(14 + 20 + 2);
        return dport >= fromPort && dport < toPort;
    }

    /** The first UDP frame to {@code port} within {@code seconds}; others are freed. */
    private static Mbuf receive(EthDev p, int q, int port, int seconds) {
        Mbuf[] pkts = new Mbuf[32];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        do {
            int n = p.rxBurst(q, pkts, 32);
            Mbuf found = null;
            for (int i = 0; i < n; i++) {
                if (found == null && isUdpTo(pkts[i], port, port + 1)) found = pkts[i];
                else pkts[i].free();
            }
            if (found != null) return found;
        } while (System.nanoTime() < deadline);
        return null;
    }

    /** An ICMP echo reply with identifier {@code id} within {@code seconds} (0: one burst); others are freed. */
    private static Mbuf receiveEchoReply(EthDev p, int q, int id, int seconds) {
        Mbuf[] pkts = new Mbuf[32];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        do {
            int n = p.rxBurst(q, pkts, 32);
            Mbuf found = null;
            for (int i = 0; i < n; i++) {
                Mbuf m = pkts[i];
                boolean reply = m.dataLen() >= 42 && m.readShort(12) == 0x0800 && m.readByte(14 + 9) == 1
                        && m.readByte(34) == 0 && m.readShort(34 + 4) == id;
                if (found == null && reply) found = m;
                else m.free();
            }
            if (found != null) return found;
        } while (System.nanoTime() < deadline);
        return null;
    }

    private static long readMac(Mbuf m, int off) {
        long v = 0;
        for (int i = 0; i < 6; i++) v = v << 8 | (m.readByte(off + i) & 0xff);
        return v;
    }

    private static void writeMac(Mbuf m, int off, long mac) {
        for (int i = 0; i < 6; i++) m.writeByte(off + i, (int) (mac >>> (40 - 8 * i)));
    }

    /** An ICMP echo request from the app (10.77.0.2) to the kernel (10.77.0.1), 32 bytes of data. */
    static Mbuf echoRequest(Mempool<Mbuf> pool, MacAddr dst, MacAddr src, int id) {
        Mbuf m = Mbuf.alloc(pool);
        int len = 14 + 20 + 8 + 32;
        m.appendOffset(len);
        for (int i = 0; i < len; i++) m.writeByte(i, 0);
        writeMac(m, 0, dst.value());
        writeMac(m, 6, src.value());
        m.writeShort(12, 0x0800);
        m.writeByte(14, 0x45);
        m.writeShort(14 + 2, 20 + 8 + 32);
        m.writeByte(14 + 8, 64);
        m.writeByte(14 + 9, 1);
        m.writeInt(14 + 12, APP_IP);
        m.writeInt(14 + 16, KERNEL_IP);
        m.writeShort(14 + 10, checksum(m, 14, 20));
        m.writeByte(34, 8);
        m.writeShort(34 + 4, id);
        m.writeShort(34 + 6, 1);
        for (int i = 0; i < 32; i++) m.writeByte(42 + i, 'a' + i % 26);
        m.writeShort(34 + 2, checksum(m, 34, 8 + 32));
        return m;
    }

    private static int checksum(Mbuf m, int off, int len) {
        long sum = 0;
        for (int i = 0; i + 1 < len; i += 2) sum += m.readShort(off + i);
        if ((len & 1) != 0) sum += (m.readByte(off + len - 1) & 0xff) << 8;
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return (int) (~sum & 0xffff);
    }
}
