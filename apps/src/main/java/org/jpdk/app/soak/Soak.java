package org.jpdk.app.soak;

import org.jpdk.app.App;
import org.jpdk.eal.CallMain;
import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthStats;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Netns;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./jpdk soak [minutes]}: a long run that must show flat lines. In a network namespace of
 * its own with a veth pair (va, vb), one lcore runs three jobs in turn: a packet generator (as
 * pktgen: a rate-limited stream of 64-byte frames out of port 0, net_af_packet on va), testpmd's io
 * forwarding (port 1, net_af_packet on vb, to port 2, net_ring0) and a sink (port 3, net_ring1,
 * the ring's other end) that counts what arrives. Every interval (10 s) the main lcore samples
 * the mbufs in use per pool, RSS, heap after a GC, the collections other than the sampler's own,
 * open fds and threads ({@link Sampler}). At the end the generator stops, the path drains, and
 * the run fails if a resource grew beyond its tolerance or a packet is unaccounted for: every
 * frame the generator sent is received by the sink or counted as a drop on the way (port 1's
 * imissed, rx_nombuf and ierrors, the forwarder's and the generator's unsent frames).
 */
public final class Soak {
    static final int BURST = 32, FRAME = 64;
    /** Frames of the generator carry this EtherType, so the sink tells them from the kernel's own (IPv6 ND). */
    static final int ETHERTYPE = 0x88b5;

    private Soak() {
    }

    /** The {@code ./jpdk soak} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "soak";
        }

        @Override
        public String summary() {
            return "a long forwarding run (af_packet on a veth pair, net_ring) that fails if memory, fds, threads grow or packets go missing";
        }

        @Override
        public void main(String[] args) {
            System.exit(run(args, System.out, System.err));
        }
    }

    record Options(double minutes, int intervalSeconds, int rate) {
        static final String USAGE = """
                usage: jpdk soak [MINUTES] [--interval SECONDS] [--rate PPS]
                  MINUTES              how long to run (default 10; a fraction such as 0.5 is fine)
                  --interval SECONDS   sampling period (default 10)
                  --rate PPS           frames per second the generator sends (default 20000)
                needs root (it makes a network namespace and a veth pair, and removes them)
                """;

        static Options parse(String[] args) {
            double minutes = 10;
            int interval = 10, rate = 20_000;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--interval" -> interval = positive(a, value(args, ++i, a), 3600);
                    case "--rate" -> rate = positive(a, value(args, ++i, a), 10_000_000);
                    case "-h", "--help" -> throw new HelpRequested();
                    default -> {
                        try {
                            minutes = Double.parseDouble(a);
                        } catch (NumberFormatException e) {
                            throw new IllegalArgumentException("unknown argument '" + a + "'; want MINUTES, --interval or --rate");
                        }
                        if (!(minutes > 0 && minutes <= 7 * 24 * 60)) throw new IllegalArgumentException("minutes '" + a + "': want more than 0, at most a week");
                    }
                }
            }
            return new Options(minutes, interval, rate);
        }

        private static String value(String[] args, int i, String opt) {
            if (i >= args.length) throw new IllegalArgumentException(opt + " needs a value");
            return args[i];
        }

        private static int positive(String opt, String v, int max) {
            try {
                int n = Integer.parseInt(v);
                if (n >= 1 && n <= max) return n;
            } catch (NumberFormatException e) {
                // below
            }
            throw new IllegalArgumentException(opt + " '" + v + "': want 1.." + max);
        }
    }

    static final class HelpRequested extends RuntimeException {
        private static final long serialVersionUID = 1L;

        HelpRequested() {
            super(null, null, false, false);
        }
    }

    /** Runs the soak; returns the exit code (0: flat and every packet accounted for). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (HelpRequested e) {
            out.print(Options.USAGE);
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("soak: " + e.getMessage());
            return 1;
        }
        String ns = "jpdk-soak-" + ProcessHandle.current().pid();
        try {
            Veth.create(ns);
        } catch (IllegalStateException e) {
            err.println("soak: " + e.getMessage());
            return 1;
        }
        Thread cleanup = new Thread(() -> Veth.delete(ns), "soak-netns-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            return soak(o, ns, out, err);
        } finally {
            Veth.delete(ns);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException e) {
                // already shutting down: the hook runs
            }
        }
    }

    private static int soak(Options o, String ns, PrintStream out, PrintStream err) {
        Eal eal;
        // the af_packet sockets bind in the namespace of the thread that makes them
        try (Netns n = Netns.enter(ns)) {
            eal = Eal.init("-l", "0-1", "--no-huge", "--in-memory", "-m", "256", "--file-prefix", ns,
                    "--vdev", "net_af_packet0,iface=va", "--vdev", "net_af_packet1,iface=vb",
                    "--vdev", "net_ring0,rx_ring=soak_ba,tx_ring=soak_ab", "--vdev", "net_ring1,rx_ring=soak_ab,tx_ring=soak_ba");
        }
        try (eal) {
            Mempool<Mbuf> genPool = Mbuf.createPool("soak_gen", 4095, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
            Mempool<Mbuf> rxPool = Mbuf.createPool("soak_rx", 8191, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
            List<Mempool<Mbuf>> pools = List.of(genPool, rxPool);
            for (int p = 0; p < 4; p++) {
                EthDev d = EthDev.get(p);
                d.configure(1, 1, PortConf.defaults());
                d.rxQueueSetup(0, 0, rxPool);
                d.txQueueSetup(0, 0);
                d.start();
            }
            for (int p = 0; p < 2; p++) {
                if (!EthDev.get(p).waitLinkUp(Duration.ofSeconds(10)).up()) {
                    err.println("soak: port " + p + " link stays down");
                    return 1;
                }
            }
            Path path = new Path(genPool, o.rate());
            Sampler sampler = new Sampler(pools);
            sampler.sample(0); // the baseline, before any traffic
            eal.remoteLaunch(lcore -> path.run(eal), 1);
            long start = System.nanoTime(), end = start + (long) (o.minutes() * 60e9);
            long next = start + o.intervalSeconds() * 1_000_000_000L;
            while (System.nanoTime() < end && !eal.stopRequested()) {
                long now = System.nanoTime();
                if (now >= next) {
                    sampler.sample((now - start) / 1_000_000_000L);
                    next += o.intervalSeconds() * 1_000_000_000L;
                }
                sleepMillis(Math.max(1, Math.min(200, (Math.min(next, end) - now) / 1_000_000L)));
            }
            path.stopGenerating();
            sleepMillis(1000); // what is on the wire and in the rings arrives
            path.stop();
            eal.mpWaitLcore();
            sampler.sample((System.nanoTime() - start) / 1_000_000_000L);
            EthStats s0 = EthDev.get(0).stats(), s1 = EthDev.get(1).stats();
            out.println(sampler.table());
            Accounting acc = new Accounting(path.generated, s0.opackets, path.genUnsent + s0.oerrors, s1.imissed, s1.rxNombuf, s1.ierrors,
                    path.fwdDropped, path.received, path.foreign);
            out.println(acc.report());
            List<String> problems = new ArrayList<>(sampler.verdict());
            problems.addAll(acc.problems());
            for (int p = 0; p < 4; p++) EthDev.get(p).close();
            for (Mempool<Mbuf> pool : pools) {
                if (pool.availCount() != pool.size()) problems.add("pool " + pool.name() + ": " + (pool.size() - pool.availCount()) + " mbufs not back after close");
                pool.close();
            }
            if (problems.isEmpty()) {
                out.printf(Locale.ROOT, "soak: PASS: %.1f minutes, %d frames, every one accounted for; nothing grew beyond its tolerance%n",
                        o.minutes(), path.generated);
                return 0;
            }
            for (String p : problems) out.println("soak: FAIL: " + p);
            return 1;
        }
    }

    static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sent = received + counted drops, for the generator's frames. */
    record Accounting(long generated, long wire, long genUnsent, long imissed, long rxNombuf, long ierrors, long fwdDropped,
                      long received, long foreign) {
        long drops() {
            return imissed + rxNombuf + ierrors + fwdDropped;
        }

        String report() {
            return String.format(Locale.ROOT, "packets: generated %d, not sent by port 0 %d, sent %d = received %d + drops %d"
                            + " (port 1 imissed %d, rx_nombuf %d, ierrors %d; forwarder unsent %d); kernel frames forwarded beside them %d",
                    generated, genUnsent, wire, received, drops(), imissed, rxNombuf, ierrors, fwdDropped, foreign);
        }

        List<String> problems() {
            List<String> p = new ArrayList<>();
            if (generated != wire + genUnsent) p.add("generated " + generated + " but port 0 sent " + wire + " and refused " + genUnsent);
            if (wire != received + drops()) p.add("unaccounted packets: sent " + wire + " != received " + received + " + drops " + drops());
            if (received == 0) p.add("no packet arrived");
            return p;
        }
    }

    /** The lcore's three jobs; counters are written by the lcore only and read after it stopped. */
    static final class Path {
        private final Mempool<Mbuf> genPool;
        private final long periodNanos;
        private final Mbuf[] gen = new Mbuf[BURST], fwd = new Mbuf[BURST], sink = new Mbuf[BURST];
        private volatile boolean generating = true, running = true;
        long generated, genUnsent, fwdDropped, received, foreign;

        Path(Mempool<Mbuf> genPool, int rate) {
            this.genPool = genPool;
            this.periodNanos = 1_000_000_000L * BURST / rate;
        }

        void stopGenerating() {
            generating = false;
        }

        void stop() {
            running = false;
        }

        int run(Eal eal) {
            EthDev out = EthDev.get(0), in = EthDev.get(1), ring = EthDev.get(2), back = EthDev.get(3);
            long next = System.nanoTime();
            long seq = 0;
            while (running) {
                long now = System.nanoTime();
                if (generating && now - next >= 0 && Mbuf.allocBulk(genPool, gen, 0, BURST)) {
                    for (int i = 0; i < BURST; i++) {
                        Mbuf m = gen[i];
                        m.appendOffset(FRAME);
                        m.writeLong(0, 0x0200_0000_0002L << 16 | 0x0200); // dst 02:00:00:00:00:02, src 02:00:...
                        m.writeInt(8, 0x0000_0001);
                        m.writeShort(12, ETHERTYPE);
                        m.writeLong(14, seq++);
                    }
                    int n = out.txBurst(0, gen, BURST);
                    Mbuf.freeBulk(gen, n, BURST - n);
                    generated += BURST;
                    genUnsent += BURST - n;
                    next += periodNanos;
                    if (now - next > 1_000_000_000L) next = now; // fell behind a second (a busy machine): do not burst to catch up
                }
                // testpmd's io forwarding: rx burst, tx burst, free what did not go
                int n = in.rxBurst(0, fwd, BURST);
                if (n > 0) {
                    int sent = ring.txBurst(0, fwd, n);
                    for (int i = sent; i < n; i++) if (ours(fwd[i])) fwdDropped++;
                    Mbuf.freeBulk(fwd, sent, n - sent);
                }
                int k = back.rxBurst(0, sink, BURST);
                for (int i = 0; i < k; i++) {
                    if (ours(sink[i])) received++;
                    else foreign++;
                }
                Mbuf.freeBulk(sink, 0, k);
            }
            return 0;
        }

        private static boolean ours(Mbuf m) {
            return m.dataLen() >= 14 && (m.readShort(12) & 0xffff) == ETHERTYPE;
        }
    }
}
