package org.jpdk.app.exceptionpath;

import org.jpdk.app.App;
import org.jpdk.app.AppOptions;
import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.eal.LcoreCounters;
import org.jpdk.eal.LcoreException;
import org.jpdk.eal.MemoryException;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Arp;
import org.jpdk.net.Ether;
import org.jpdk.net.Icmp;
import org.jpdk.net.Ipv4;
import org.jpdk.sys.LinuxException;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The exception path to the kernel's own stack, as DPDK's KNI and exception_path examples were:
 * {@code ./jpdk exception_path [EAL options] -- --ip=A.B.C.D [options]}. Of two ports, the
 * physical side (any driver) carries the wire and the exception port is a net_tap whose kernel
 * interface owns the app's IPv4 address and MAC. On one worker lcore, run to completion:
 * <ul>
 * <li>the fast path answers, in place, ARP requests for the app's address and ICMP echo requests
 * to it (well-formed, unfragmented, untagged IPv4 only), back out the physical port;
 * <li>every other frame from the physical port goes to the kernel through the tap;
 * <li>everything the kernel writes to the tap goes out the physical port.
 * </ul>
 * At start the exception port takes the app's MAC ({@code --mac}, else the physical port's), so
 * the kernel answers from the address the wire already knows, as a KNI interface did. Statistics
 * every {@code --stats-period} seconds and at the end; stops on SIGINT/SIGTERM or after
 * {@code --run-seconds}. The loop allocates nothing: its counters are plain fields of the lcore
 * written with opaque stores and only read by the main thread.
 */
public final class ExceptionPath {
    static final String USAGE = """
            usage: jpdk exception_path [EAL options] -- --ip=A.B.C.D [options]
              --ip=A.B.C.D          the IPv4 address the app answers ARP and ping for (required)
              --port=N              the physical-side port (default 0)
              --tap-port=N          the exception port, normally a net_tap (default 1)
              --mac=XX:XX:XX:XX:XX:XX  the app's MAC (default: the physical port's)
              --burst=N             packets per burst, 1..512 (default 32)
              --stats-period=SECS   statistics every SECS seconds, 0 for none (default 10)
              --run-seconds=SECS    stop after SECS seconds, 0 to run until SIGINT/SIGTERM (default 0)
            """;
    private static final int NB_MBUF = 8191, DESC = 1024;

    /** The options after {@code --}. */
    record Options(int ip, int port, int tapPort, MacAddr mac, int burst, double statsPeriod, double runSeconds) {
        static Options parse(List<String> args) {
            var o = new Object() {
                Integer ip;
                int port, tapPort = 1, burst = 32;
                MacAddr mac;
                double stats = 10, run;
            };
            AppOptions.walk(args, VALUED, (key, v) -> {
                String what = key + "=" + v;
                switch (key) {
                    case "--ip" -> o.ip = parseIp(v);
                    case "--port" -> o.port = (int) AppOptions.number(what, v, 0, EthDev.MAX_PORTS - 1);
                    case "--tap-port" -> o.tapPort = (int) AppOptions.number(what, v, 0, EthDev.MAX_PORTS - 1);
                    case "--burst" -> o.burst = (int) AppOptions.number(what, v, 1, 512);
                    case "--mac" -> {
                        try {
                            o.mac = MacAddr.parse(v);
                        } catch (IllegalArgumentException e) {
                            throw new Bad(what + ": expected 6 hex bytes like 02:00:00:00:00:01");
                        }
                        if (o.mac.isMulticast() || o.mac.isZero()) throw new Bad(what + ": not a unicast address");
                    }
                    case "--stats-period" -> o.stats = AppOptions.seconds(what, v, 0, 31_536_000, "expected seconds, 0 or more");
                    case "--run-seconds" -> o.run = AppOptions.seconds(what, v, 0, 31_536_000, "expected seconds, 0 or more");
                    case "-h", "--help" -> throw new Bad(null);
                    default -> throw AppOptions.unknown(key);
                }
            });
            if (o.ip == null) throw new Bad("--ip=A.B.C.D is required: the address the app answers for");
            if (o.port == o.tapPort) throw new Bad("--port=" + o.port + " and --tap-port=" + o.tapPort + ": need two different ports");
            return new Options(o.ip, o.port, o.tapPort, o.mac, o.burst, o.stats, o.run);
        }

        private static final java.util.Set<String> VALUED = java.util.Set.of("--ip", "--port", "--tap-port", "--burst", "--mac",
                "--stats-period", "--run-seconds");

        private static int parseIp(String v) {
            String[] p = v.split("\\.", -1);
            if (p.length != 4) throw new Bad("--ip=" + v + ": expected an IPv4 address like 10.9.0.2");
            int ip = 0;
            for (String b : p) {
                int x;
                try {
                    x = Integer.parseInt(b);
                } catch (NumberFormatException e) {
                    throw new Bad("--ip=" + v + ": expected an IPv4 address like 10.9.0.2");
                }
                if (x < 0 || x > 255 || b.length() > 3) throw new Bad("--ip=" + v + ": expected an IPv4 address like 10.9.0.2");
                ip = ip << 8 | x;
            }
            if (ip == 0 || Ipv4.isMulticast(ip) || ip == -1) throw new Bad("--ip=" + v + ": not a unicast address");
            return ip;
        }
    }

    /** A bad option: one line for the user (a null message asks for the usage). */
    static final class Bad extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        Bad(String message) {
            super(message);
        }
    }

    /** The loop's counters: written by the lcore alone, read by the main thread. */
    static final class Counters {
        static final int ARP = 0, ICMP = 1, TO_KERNEL = 2, FROM_KERNEL = 3, DROPPED = 4, N = 5;
        private final LcoreCounters c = new LcoreCounters(N);

        void add(long nArp, long nIcmp, long nTo, long nFrom, long nDropped) {
            if (nArp != 0) c.add(ARP, nArp);
            if (nIcmp != 0) c.add(ICMP, nIcmp);
            if (nTo != 0) c.add(TO_KERNEL, nTo);
            if (nFrom != 0) c.add(FROM_KERNEL, nFrom);
            if (nDropped != 0) c.add(DROPPED, nDropped);
        }

        long[] snapshot() {
            long[] v = new long[N];
            for (int i = 0; i < N; i++) v[i] = c.get(i);
            return v;
        }
    }

    private final EthDev phys, tap;
    private final int ip, burst;
    private final long mac;
    private final Counters counters = new Counters();
    private volatile boolean running = true;

    ExceptionPath(EthDev phys, EthDev tap, int ip, long mac, int burst) {
        this.phys = phys;
        this.tap = tap;
        this.ip = ip;
        this.mac = mac;
        this.burst = burst;
    }

    /** The {@code ./jpdk exception_path} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "exception_path";
        }

        @Override
        public String summary() {
            return "the kernel exception path (KNI's successor): ARP and ping answered, the rest through a tap";
        }

        @Override
        public void main(String[] args) {
            ExceptionPath.main(args);
        }
    }

    public static void main(String[] args) {
        // The JVM runs shutdown hooks on SIGINT/SIGTERM and then halts: hold it until the final statistics are out.
        CountDownLatch finished = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                finished.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "exception_path-exit"));
        int rc;
        try {
            rc = run(args, System.out, System.err);
        } finally {
            System.out.flush();
            finished.countDown();
        }
        System.exit(rc);
    }

    /** Runs the app; returns the exit code. A user mistake is one line on {@code err} and 1. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        int dd = Arrays.asList(args).indexOf("--");
        Options opt;
        try {
            opt = Options.parse(dd < 0 ? List.of() : Arrays.asList(args).subList(dd + 1, args.length));
        } catch (IllegalArgumentException e) {
            if (e.getMessage() == null) {
                out.print(USAGE);
                return 0;
            }
            err.println("exception_path: " + e.getMessage());
            return 1;
        }
        Eal eal;
        try {
            eal = Eal.init(dd < 0 ? args : Arrays.copyOf(args, dd));
        } catch (EalArgumentException e) {
            if (e.helpRequested()) {
                out.print(USAGE + "EAL options:\n" + e.getMessage());
                return 0;
            }
            err.println("EAL: error: " + e.getMessage());
            return 1;
        } catch (MemoryException | LinuxException | EthDevException | IllegalStateException e) {
            err.println("EAL: error: " + e.getMessage());
            return 1;
        }
        int rc = 0;
        try {
            runWithEal(eal, opt, out);
        } catch (EthDevException | LinuxException | MemoryException | LcoreException | IllegalArgumentException e) { // Bad too
            err.println("exception_path: " + e.getMessage());
            rc = 1;
        } finally {
            try {
                eal.close();
            } catch (RuntimeException e) {
                err.println("EAL: error: " + e.getMessage());
                rc = 1;
            }
        }
        return rc;
    }

    private static void runWithEal(Eal eal, Options opt, PrintStream out) {
        int[] workers = eal.workerLcores();
        if (workers.length == 0) throw new Bad("needs a worker lcore for the loop: give two lcores, e.g. -l 0-1");
        int n = EthDev.count();
        for (int p : new int[]{opt.port(), opt.tapPort()}) {
            if (p >= n) {
                throw new Bad("port " + p + ": no such port; " + (n == 0 ? "there are none: add them with --vdev" : "ports are 0.." + (n - 1))
                        + " (the physical side with --port, the exception tap with --tap-port)");
            }
        }
        EthDev phys = EthDev.get(opt.port()), tap = EthDev.get(opt.tapPort());
        if (!tap.driverName().equals("net_tap")) {
            out.println("warning: exception port " + tap.id() + " is a " + tap.driverName() + ", not a net_tap: the kernel will not see its frames");
        }
        Mempool<Mbuf> pool = Mbuf.createPool("exception_path_pool", NB_MBUF, 256, Mbuf.DEFAULT_BUF_SIZE, eal.socketId());
        try {
            MacAddr mac = opt.mac() != null ? opt.mac() : phys.macAddr();
            for (EthDev p : List.of(phys, tap)) {
                p.configure(1, 1, PortConf.defaults());
                p.rxQueueSetup(0, DESC, pool);
                p.txQueueSetup(0, DESC);
            }
            tap.setMacAddr(mac);
            phys.start();
            tap.start();
            out.printf("exception_path: %s answers ARP and ping on port %d (%s); everything else goes to the kernel through port %d (%s)%n",
                    ipString(opt.ip()), phys.id(), phys.name(), tap.id(), tap.name() + ifSuffix(tap));
            out.printf("exception_path: MAC %s; lcore %d polls both ports%n", mac, workers[0]);
            ExceptionPath app = new ExceptionPath(phys, tap, opt.ip(), mac.value(), opt.burst());
            eal.remoteLaunch(lcore -> app.loop(), workers[0]);
            try {
                app.waitForEnd(eal, opt, out);
            } finally {
                app.running = false;
                eal.waitLcore(workers[0]);
            }
            app.printStats(out, "Final statistics");
            phys.stop();
            tap.stop();
        } finally {
            EthDev.closeAll(); // before the pool goes: queues hold mbufs
            pool.close();
        }
    }

    private static String ifSuffix(EthDev p) {
        String ifName = p.info().ifName();
        return ifName == null ? "" : ", interface " + ifName;
    }

    private void waitForEnd(Eal eal, Options opt, PrintStream out) {
        long start = System.nanoTime(), period = (long) (opt.statsPeriod() * 1e9), runFor = (long) (opt.runSeconds() * 1e9);
        long nextStats = start + period;
        while (!eal.stopRequested()) {
            long now = System.nanoTime();
            if (runFor > 0 && now - start >= runFor) return;
            if (period > 0 && now - nextStats >= 0) {
                printStats(out, "Statistics");
                nextStats += period;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        out.println("\nSignal received, preparing to exit...");
    }

    void printStats(PrintStream out, String title) {
        long[] c = counters.snapshot();
        out.printf("%n  %s ================================%n", title);
        out.printf("  ARP answered:   %-12d ICMP answered: %d%n", c[0], c[1]);
        out.printf("  To kernel:      %-12d From kernel:   %d%n", c[2], c[3]);
        out.printf("  Dropped:        %d%n", c[4]);
        out.println("  ================================================");
        out.flush();
    }

    /** The lcore loop: until stopped, one burst from each side. */
    private int loop() {
        Mbuf[] rx = new Mbuf[burst], back = new Mbuf[burst], up = new Mbuf[burst];
        while (running) {
            int work = fromWire(rx, back, up);
            work += fromKernel(rx);
            if (work == 0) Thread.onSpinWait();
        }
        return 0;
    }

    /** Answers what is ours, hands the rest to the kernel; returns the frames received. */
    int fromWire(Mbuf[] rx, Mbuf[] back, Mbuf[] up) {
        int n = phys.rxBurst(0, rx, 0, burst);
        if (n == 0) return 0;
        int nBack = 0, nUp = 0, arp = 0, icmp = 0;
        for (int i = 0; i < n; i++) {
            Mbuf m = rx[i];
            int answered = answer(m);
            if (answered == 0) {
                up[nUp++] = m;
            } else {
                back[nBack++] = m;
                if (answered == Ether.TYPE_ARP) arp++;
                else icmp++;
            }
        }
        int sentBack = nBack == 0 ? 0 : phys.txBurst(0, back, 0, nBack);
        int sentUp = nUp == 0 ? 0 : tap.txBurst(0, up, 0, nUp);
        int dropped = (nBack - sentBack) + (nUp - sentUp);
        if (sentBack < nBack) Mbuf.freeBulk(back, sentBack, nBack - sentBack);
        if (sentUp < nUp) Mbuf.freeBulk(up, sentUp, nUp - sentUp);
        counters.add(arp, icmp, sentUp, 0, dropped);
        return n;
    }

    /** Sends what the kernel wrote to the tap out of the physical port; returns the frames received. */
    int fromKernel(Mbuf[] rx) {
        int n = tap.rxBurst(0, rx, 0, burst);
        if (n == 0) return 0;
        int sent = phys.txBurst(0, rx, 0, n);
        if (sent < n) Mbuf.freeBulk(rx, sent, n - sent);
        counters.add(0, 0, 0, sent, n - sent);
        return n;
    }

    /**
     * Turns an ARP request for our address or an ICMP echo request to it into its reply, in
     * place; returns {@link Ether#TYPE_ARP} or {@link Ether#TYPE_IPV4} for an answer, 0 for a
     * frame that is the kernel's business (anything else, or anything malformed).
     */
    int answer(Mbuf m) {
        int len = m.dataLen();
        if (len < Ether.HDR_LEN) return 0;
        int type = Ether.etherType(m);
        if (type == Ether.TYPE_ARP) return arpReply(m, len) ? Ether.TYPE_ARP : 0;
        if (type == Ether.TYPE_IPV4) return echoReply(m, len) ? Ether.TYPE_IPV4 : 0;
        return 0;
    }

    private boolean arpReply(Mbuf m, int len) {
        int a = Ether.HDR_LEN;
        if (len < a + Arp.HDR_LEN || !Arp.isEtherIpv4(m, a) || Arp.op(m, a) != Arp.OP_REQUEST || Arp.tip(m, a) != ip) return false;
        long requester = Arp.sha(m, a);
        int requesterIp = Arp.sip(m, a);
        Ether.setAddrs(m, Ether.src(m), mac);
        Arp.setOp(m, a, Arp.OP_REPLY);
        Arp.setSha(m, a, mac);
        Arp.setSip(m, a, ip);
        Arp.setTha(m, a, requester);
        Arp.setTip(m, a, requesterIp);
        return true;
    }

    private boolean echoReply(Mbuf m, int len) {
        int l3 = Ether.HDR_LEN;
        int hl = Ipv4.headerLen(m, l3);
        if (hl < 0 || m.nbSegs() != 1 || Ipv4.proto(m, l3) != Ipv4.PROTO_ICMP || Ipv4.dst(m, l3) != ip || Ipv4.isFragment(m, l3)) {
            return false; // not ours, a chain, or a fragment: the kernel's business
        }
        int total = Ipv4.totalLength(m, l3), l4 = l3 + hl, icmpLen = total - hl;
        if (icmpLen < Icmp.HDR_LEN || l3 + total > len || Icmp.type(m, l4) != Icmp.ECHO_REQUEST || Icmp.code(m, l4) != 0
                || !Ipv4.cksumVerify(m, l3)) {
            return false;
        }
        int requester = Ipv4.src(m, l3);
        if (Ipv4.isMulticast(requester) || requester == 0 || requester == -1) return false;
        Ether.setAddrs(m, Ether.src(m), mac);
        Ipv4.setSrc(m, l3, ip);
        Ipv4.setDst(m, l3, requester);
        Ipv4.setTtl(m, l3, 64);
        Ipv4.setChecksum(m, l3);
        Icmp.setTypeCode(m, l4, Icmp.ECHO_REPLY, 0);
        Icmp.setChecksum(m, l4, Icmp.cksum(m, l4, icmpLen)); // recomputed: the request's checksum is not trusted
        m.trim(len - (l3 + total)); // drop Ethernet padding beyond the datagram
        return true;
    }

    private static String ipString(int ip) {
        return (ip >>> 24) + "." + (ip >>> 16 & 0xff) + "." + (ip >>> 8 & 0xff) + "." + (ip & 0xff);
    }
}
