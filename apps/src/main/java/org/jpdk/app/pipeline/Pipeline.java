package org.jpdk.app.pipeline;

import org.jpdk.app.App;
import org.jpdk.app.AppMain;
import org.jpdk.app.AppOptions;
import org.jpdk.eal.Eal;
import org.jpdk.eal.LcoreCounters;
import org.jpdk.eal.LcoreException;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.ethdev.TxBuffer;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.ring.Ring;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.Locale;

/**
 * The two ways to spread packet work over cores, side by side, with the same work:
 * {@code ./jpdk pipeline [EAL args] -- --mode=rtc|pipeline|both [--run-seconds=S]}.
 *
 * <pre>
 *   rtc       lcore k:  rx(port) -> work -> tx(pair port)          one lcore per rx port
 *
 *   pipeline  rx lcore:  rx(all ports) ──Ring "pl_rx"──▶ worker lcores: work ──Ring "pl_tx"──▶ tx lcore: tx(pair ports)
 *             (with two lcores the rx and tx stages share one I/O lcore and the other is the worker)
 * </pre>
 *
 * The work is a router's per-packet minimum: swap the MACs, and for IPv4 decrement the TTL and
 * patch the header checksum incrementally (RFC 1624); a packet whose TTL would reach 0 is dropped
 * and counted. Ports are paired as in l2fwd (0↔1, 2↔3; an odd last port sends to itself). Every
 * stage is an Agent-style {@link Stage#doWork()} returning the packets it moved; each lcore runs
 * its stages in turn until stopped, the main lcore included (it also watches the clock and the
 * signals). Rings carry bursts ({@code enqueueBurst}/{@code dequeueBurst}); what a full ring or
 * port refuses is freed and counted. At the end the rx stage stops first and the rings drain, so
 * every packet received is accounted for: forwarded, dropped by a ring or a port, or TTL-expired.
 * Nothing in a stage allocates.
 *
 * <p>Where each wins: run-to-completion touches each packet on one core, with no ring between
 * stages, so with cheap work and enough rx queues it is the faster; it needs the work to fit in
 * one core's budget per port. A pipeline pays two ring passes and cross-core cache misses per
 * packet, but it can put several cores on one port's traffic (heavy work behind one rx queue, no
 * RSS) and keeps each stage's code and data hot in its own core's cache; its rings also absorb
 * bursts, and their drop counters show which stage is the bottleneck.
 */
public final class Pipeline {
    static final int MAX_BURST = 512;
    static final int RX_DESC = 1024, TX_DESC = 1024;
    /** Work results. */
    static final int FORWARD_IP = 0, FORWARD_OTHER = 1, DROP_TTL = 2;

    /** The command line after {@code --}. */
    static final class Options {
        String mode = "both";
        double runSeconds = 5;
        int burst = 32;
        int ringSize = 1024;
        boolean work = true;
        long portmask;
        boolean help;

        static Options parse(List<String> args) {
            Options o = new Options();
            Set<String> withValue = Set.of("--mode", "--work", "--run-seconds", "--burst", "--ring-size", "-p", "--portmask");
            AppOptions.walk(args, withValue, (name, value) -> {
                if (name.equals("-h") || name.equals("--help")) o.help = true;
                else if (withValue.contains(name)) o.set(name, value);
                else throw AppOptions.unknown(name);
            });
            return o;
        }

        private void set(String name, String v) {
            String what = name + "=" + v;
            switch (name) {
                case "--mode" -> {
                    if (!List.of("rtc", "pipeline", "both").contains(v)) throw new IllegalArgumentException(what + ": allowed rtc, pipeline, both");
                    mode = v;
                }
                case "--work" -> {
                    if (!List.of("router", "none").contains(v)) throw new IllegalArgumentException(what + ": allowed router, none");
                    work = v.equals("router");
                }
                case "--run-seconds" -> {
                    double d;
                    try {
                        d = Double.parseDouble(v);
                    } catch (NumberFormatException e) {
                        d = Double.NaN;
                    }
                    if (!(d > 0 && d <= 86_400 * 365)) throw new IllegalArgumentException(what + ": allowed a number of seconds > 0");
                    runSeconds = d;
                }
                case "--burst" -> burst = (int) AppOptions.number(what, v, 1, MAX_BURST);
                case "--ring-size" -> {
                    ringSize = (int) AppOptions.number(what, v, 2, Ring.MAX_SIZE);
                    if (Integer.bitCount(ringSize) != 1) throw new IllegalArgumentException(what + ": allowed a power of two, 2.." + Ring.MAX_SIZE);
                }
                default -> {
                    String hex = v.startsWith("0x") || v.startsWith("0X") ? v.substring(2) : v;
                    try {
                        portmask = Long.parseUnsignedLong(hex, 16);
                    } catch (NumberFormatException e) {
                        portmask = 0;
                    }
                    if (portmask == 0 || (portmask >>> EthDev.MAX_PORTS) != 0) {
                        throw new IllegalArgumentException(what + ": allowed a non-zero hexadecimal mask of ports 0.." + (EthDev.MAX_PORTS - 1));
                    }
                }
            }
        }

        static String usage() {
            return """
                    usage: jpdk pipeline [EAL options] -- [--mode=rtc|pipeline|both] [--work=router|none] [--run-seconds=S] [--burst=N] [--ring-size=N] [-p 0xM]
                      --mode=M          rtc: each lcore rx -> work -> tx; pipeline: rx lcore -> ring -> workers -> ring -> tx lcore;
                                        both (default): rtc, then pipeline, then the comparison
                      --work=W          router (default): MACs swapped, IPv4 TTL and checksum; none: the workers pass
                                        packets on untouched (the pipeline's own cost, rings and cross-core handoff)
                      --run-seconds=S   how long each mode runs (default 5)
                      --burst=N         packets per rx, ring and tx burst, 1..%d (default 32)
                      --ring-size=N     slots of each ring, a power of two (default 1024)
                      -p, --portmask    the ports to use (default all), paired 0-1, 2-3, ...
                      -h, --help        this text
                    """.formatted(MAX_BURST);
        }
    }

    /**
     * The work on one packet: MACs swapped; for IPv4, TTL decremented and the header checksum
     * patched (RFC 1624: HC' = ~(~HC + ~m + m'), m the TTL/protocol word). Returns
     * {@link #FORWARD_IP}, {@link #FORWARD_OTHER} (not IPv4, or too short: forwarded, MACs swapped
     * if they fit) or {@link #DROP_TTL}. Allocates nothing.
     */
    static int work(Mbuf m) {
        if (m.dataLen() < Ether.HDR_LEN) {
            if (m.dataLen() >= 2 * Ether.ADDR_LEN) Ether.swapMacs(m);
            return FORWARD_OTHER;
        }
        Ether.swapMacs(m);
        if (m.readShort(Ether.TYPE_OFF) != Ether.TYPE_IPV4 || Ipv4.headerLen(m, Ether.HDR_LEN) < 0) return FORWARD_OTHER;
        int at = Ether.HDR_LEN + Ipv4.TTL_OFF;
        int old = m.readShort(at);
        if (old >>> 8 <= 1) return DROP_TTL;
        int now = old - 0x100;
        int sum = (~m.readShort(Ether.HDR_LEN + Ipv4.CHECKSUM_OFF) & 0xffff) + (~old & 0xffff) + now;
        sum = (sum >>> 16) + (sum & 0xffff);
        sum += sum >>> 16;
        m.writeShort(at, now);
        m.writeShort(Ether.HDR_LEN + Ipv4.CHECKSUM_OFF, ~sum & 0xffff);
        return FORWARD_IP;
    }

    // ------------------------------------------------------------------ stages

    /** One step of an lcore's loop; returns the packets it moved (0: idle). */
    abstract static class Stage {
        static final int RX = 0, TX = 1, TX_DROPPED = 2, RING_DROPPED = 3, TTL = 4, NON_IP = 5, N = 6;
        /** Written by the stage's lcore only. */
        final LcoreCounters c = new LcoreCounters(N);
        final Mbuf[] pkts;
        final int burst;

        Stage(int burst) {
            this.burst = burst;
            this.pkts = new Mbuf[burst];
        }

        abstract int doWork();

        final void add(int k, long n) {
            c.add(k, n);
        }

        final long get(int k) {
            return c.get(k);
        }

        /** Works on pkts[0..n), frees and counts the TTL-expired, counts the rest; returns how many are left, packed at the front. */
        final int workOn(int n) {
            int kept = 0, nonIp = 0, ttl = 0;
            for (int i = 0; i < n; i++) {
                Mbuf m = pkts[i];
                int r = work(m);
                if (r == DROP_TTL) {
                    m.free();
                    ttl++;
                    continue;
                }
                if (r == FORWARD_OTHER) nonIp++;
                pkts[kept++] = m;
            }
            if (ttl > 0) add(TTL, ttl);
            if (nonIp > 0) add(NON_IP, nonIp);
            return kept;
        }

        /** Enqueues pkts[0..n) to {@code r}; frees and counts what does not fit. */
        final void enqueue(Ring<Mbuf> r, int n) {
            int k = r.enqueueBurst(pkts, 0, n);
            if (k < n) {
                Mbuf.freeBulk(pkts, k, n - k);
                add(RING_DROPPED, n - k);
            }
        }
    }

    /** Run to completion: one port's rx, the work, its pair's tx. */
    static final class RtcStage extends Stage {
        final EthDev in, out;
        final boolean work;

        RtcStage(EthDev in, EthDev out, int burst, boolean work) {
            super(burst);
            this.in = in;
            this.out = out;
            this.work = work;
        }

        @Override
        int doWork() {
            int n = in.rxBurst(0, pkts, 0, burst);
            if (n == 0) return 0;
            add(RX, n);
            int k = work ? workOn(n) : n;
            int sent = out.txBurst(0, pkts, 0, k);
            add(TX, sent);
            if (sent < k) {
                Mbuf.freeBulk(pkts, sent, k - sent);
                add(TX_DROPPED, k - sent);
            }
            return n;
        }
    }

    /** Pipeline stage 1: every port's rx into the workers' ring. */
    static final class RxStage extends Stage {
        final EthDev[] in;
        final Ring<Mbuf> toWorkers;
        volatile boolean stopped;
        /** The port each pass starts with, turning, so that a nearly full ring is not always offered to the same port first. */
        private int first;

        RxStage(EthDev[] in, Ring<Mbuf> toWorkers, int burst) {
            super(burst);
            this.in = in;
            this.toWorkers = toWorkers;
        }

        @Override
        int doWork() {
            if (stopped) return 0;
            int moved = 0, np = in.length, start = first;
            first = start + 1 == np ? 0 : start + 1;
            for (int k = 0; k < np; k++) {
                int room = Math.min(burst, toWorkers.freeCount());
                if (room == 0) break;
                int i = start + k;
                EthDev p = in[i < np ? i : i - np];
                int n = p.rxBurst(0, pkts, 0, room);
                if (n == 0) continue;
                add(RX, n);
                enqueue(toWorkers, n);
                moved += n;
            }
            return moved;
        }
    }

    /** Pipeline stage 2: the work, between the two rings. */
    static final class WorkerStage extends Stage {
        final Ring<Mbuf> in, out;
        final boolean work;

        WorkerStage(Ring<Mbuf> in, Ring<Mbuf> out, int burst, boolean work) {
            super(burst);
            this.in = in;
            this.out = out;
            this.work = work;
        }

        @Override
        int doWork() {
            int room = Math.min(burst, out.freeCount());
            if (room == 0) return 0;
            int n = in.dequeueBurst(pkts, 0, room);
            if (n == 0) return 0;
            int k = work ? workOn(n) : n;
            if (k > 0) enqueue(out, k);
            return n;
        }
    }

    /** Pipeline stage 3: from the tx ring to each packet's pair port, a tx buffer per port flushed after each burst. */
    static final class TxStage extends Stage {
        final Ring<Mbuf> in;
        final EthDev[] outByInPort;
        /** By out port id: its tx buffer, or null. */
        final TxBuffer[] tx = new TxBuffer[EthDev.MAX_PORTS];

        TxStage(Ring<Mbuf> in, EthDev[] outByInPort, int burst) {
            super(burst);
            this.in = in;
            this.outByInPort = outByInPort;
            for (EthDev d : outByInPort) if (d != null && tx[d.id()] == null) tx[d.id()] = new TxBuffer(d, 0, burst);
        }

        @Override
        int doWork() {
            int n = in.dequeueBurst(pkts, 0, burst);
            if (n == 0) return 0;
            for (int i = 0; i < n; i++) {
                Mbuf m = pkts[i];
                EthDev out = outByInPort[m.port & (EthDev.MAX_PORTS - 1)];
                if (out == null) { // not from a port of ours: cannot happen with our rx stage, but never crash
                    m.free();
                    add(TX_DROPPED, 1);
                    continue;
                }
                TxBuffer b = tx[out.id()];
                if (b.length() == burst - 1) {
                    count(b.length() + 1, b.buffer(m)); // fills the buffer: sent at once
                } else {
                    b.buffer(m);
                }
            }
            for (TxBuffer b : tx) if (b != null && b.length() > 0) count(b.length(), b.flush());
            return n;
        }

        /** Counts a flush of {@code n} packets of which the port took {@code sent}; the buffer freed the rest. */
        private void count(int n, int sent) {
            add(TX, sent);
            if (sent < n) add(TX_DROPPED, n - sent);
        }
    }

    /** One lcore's loop over its stages. */
    static final class Runner {
        final int lcoreId;
        final Stage[] stages;
        volatile boolean stop;

        Runner(int lcoreId, List<Stage> stages) {
            this.lcoreId = lcoreId;
            this.stages = stages.toArray(new Stage[0]);
        }

        /** One pass over the stages; returns the packets moved. */
        int pass() {
            int moved = 0;
            for (Stage s : stages) moved += s.doWork();
            return moved;
        }

        int run() {
            while (!stop) pass();
            return 0;
        }
    }

    // ------------------------------------------------------------------ the app

    private final Eal eal;
    private final Options opt;
    private final PrintStream out;
    private final List<EthDev> ports = new ArrayList<>();
    private final EthDev[] pair = new EthDev[EthDev.MAX_PORTS];
    private final int[] lcoreIds;
    private Mempool<Mbuf> pool;

    /** What a mode did. */
    record ModeResult(String mode, long rx, long tx, long txDropped, long ringDroppedRx, long ringDroppedTx, long ttl, long nonIp,
                      double seconds) {
        double mpps() {
            return seconds > 0 ? tx / seconds / 1e6 : 0;
        }
    }

    private Pipeline(Eal eal, Options opt, PrintStream out) {
        this.eal = eal;
        this.opt = opt;
        this.out = out;
        int[] ids = new int[eal.lcoreCount()];
        ids[0] = eal.mainLcore();
        System.arraycopy(eal.workerLcores(), 0, ids, 1, ids.length - 1);
        Arrays.sort(ids);
        this.lcoreIds = ids;
    }

    /** The {@code ./jpdk pipeline} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "pipeline";
        }

        @Override
        public String summary() {
            return "the same work run to completion and as an rx/worker/tx pipeline, side by side";
        }

        @Override
        public void main(String[] args) {
            Pipeline.main(args);
        }
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /** Runs the app; returns the exit code. A user mistake is one line on {@code err} and 1. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return AppMain.run("pipeline", args, out, err, Options::parse, o -> o.help, Options::usage,
                (eal, opt) -> new Pipeline(eal, opt, out).runApp());
    }

    private int runApp() {
        if (EthDev.count() == 0) throw new IllegalArgumentException("no ports: add some with --vdev, e.g. --vdev net_null0 --vdev net_null1");
        long unknown = opt.portmask;
        for (EthDev p : EthDev.all()) unknown &= ~(1L << p.id());
        if (unknown != 0) {
            throw new IllegalArgumentException("--portmask=0x" + Long.toHexString(opt.portmask) + ": port " + Long.numberOfTrailingZeros(unknown)
                    + " does not exist; ports are " + String.join(",", EthDev.all().stream().map(p -> Integer.toString(p.id())).toList()));
        }
        for (EthDev p : EthDev.all()) if (opt.portmask == 0 || (opt.portmask & (1L << p.id())) != 0) ports.add(p);
        for (int i = 0; i < ports.size(); i += 2) {
            EthDev a = ports.get(i), b = i + 1 < ports.size() ? ports.get(i + 1) : a;
            pair[a.id()] = b;
            pair[b.id()] = a;
        }
        boolean rtc = !opt.mode.equals("pipeline"), pipe = !opt.mode.equals("rtc");
        if (pipe && lcoreIds.length < 2) {
            throw new IllegalArgumentException("--mode=" + opt.mode + ": the pipeline needs at least two lcores (an I/O lcore and a worker), e.g. -l 0-1");
        }
        long n = Math.max(16383, ports.size() * (long) (RX_DESC + TX_DESC) + 2L * opt.ringSize
                + (long) eal.lcoreCount() * (256 * 3 / 2 + 3L * opt.burst) + (long) EthDev.MAX_PORTS * opt.burst);
        pool = Mbuf.createPool("pipeline_pool", (int) Math.min(Integer.MAX_VALUE, n), 256, Mbuf.DEFAULT_BUF_SIZE, eal.socketId());
        try {
            for (EthDev p : ports) {
                p.configure(1, 1, PortConf.defaults());
                p.rxQueueSetup(0, Math.max(p.info().minDesc(), Math.min(p.info().maxDesc(), RX_DESC)), pool);
                p.txQueueSetup(0, Math.max(p.info().minDesc(), Math.min(p.info().maxDesc(), TX_DESC)));
                p.start();
            }
            ModeResult r = null, q = null;
            if (rtc) r = runMode(rtcRunners(), "rtc", null);
            if (pipe && !eal.stopRequested()) q = runPipeline();
            if (r != null && q != null) {
                out.printf(Locale.ROOT, "pipeline/rtc: %.2f (the pipeline forwarded %.2f Mpps, run-to-completion %.2f Mpps)%n",
                        r.mpps() > 0 ? q.mpps() / r.mpps() : 0.0, q.mpps(), r.mpps());
            }
            for (EthDev p : ports) {
                p.stop();
                p.close();
            }
            return 0;
        } finally {
            for (EthDev p : ports) if (p.state() != EthDev.State.CLOSED) p.close();
            pool.close();
        }
    }

    /** rtc: rx ports spread over the lcores in order, one stage per port. */
    private List<Runner> rtcRunners() {
        int nl = Math.min(lcoreIds.length, ports.size());
        List<List<Stage>> per = new ArrayList<>();
        for (int k = 0; k < nl; k++) per.add(new ArrayList<>());
        for (int i = 0; i < ports.size(); i++) {
            EthDev p = ports.get(i);
            per.get(i % nl).add(new RtcStage(p, pair[p.id()], opt.burst, opt.work));
        }
        List<Runner> runners = new ArrayList<>();
        for (int k = 0; k < nl; k++) runners.add(new Runner(lcoreIds[k], per.get(k)));
        return runners;
    }

    private ModeResult runPipeline() {
        int nl = lcoreIds.length;
        int workers = nl >= 3 ? nl - 2 : 1;
        int consumerFlags = workers > 1 ? 0 : Ring.F_SC_DEQ;
        try (Ring<Mbuf> toWorkers = Ring.create("pl_rx", opt.ringSize, Ring.F_SP_ENQ | consumerFlags, Mbuf.class);
             Ring<Mbuf> toTx = Ring.create("pl_tx", opt.ringSize, (workers > 1 ? 0 : Ring.F_SP_ENQ) | Ring.F_SC_DEQ, Mbuf.class)) {
            RxStage rx = new RxStage(ports.toArray(new EthDev[0]), toWorkers, opt.burst);
            TxStage tx = new TxStage(toTx, pair, opt.burst);
            List<Runner> runners = new ArrayList<>();
            if (nl == 2) {
                runners.add(new Runner(lcoreIds[0], List.of(rx, tx)));
                runners.add(new Runner(lcoreIds[1], List.of(new WorkerStage(toWorkers, toTx, opt.burst, opt.work))));
            } else {
                runners.add(new Runner(lcoreIds[0], List.of(rx)));
                for (int w = 1; w <= workers; w++) runners.add(new Runner(lcoreIds[w], List.of(new WorkerStage(toWorkers, toTx, opt.burst, opt.work))));
                runners.add(new Runner(lcoreIds[nl - 1], List.of(tx)));
            }
            ModeResult r = runMode(runners, "pipeline", rx);
            // a ring empty at the end holds nothing the counts miss
            if (!toWorkers.isEmpty() || !toTx.isEmpty()) {
                out.printf("pipeline: %d packets left in the rings after the drain%n", toWorkers.count() + toTx.count());
            }
            drainRing(toWorkers);
            drainRing(toTx);
            return r;
        }
    }

    private void drainRing(Ring<Mbuf> r) {
        Mbuf[] b = new Mbuf[64];
        int n;
        while ((n = r.dequeueBurst(b, 0, b.length)) > 0) Mbuf.freeBulk(b, 0, n);
    }

    /**
     * Runs {@code runners} (the main lcore's on this thread) for --run-seconds or until a signal;
     * then stops the rx stage, if any, lets the rings drain, stops everything and reports.
     */
    private ModeResult runMode(List<Runner> runners, String mode, RxStage rx) {
        StringBuilder sb = new StringBuilder(mode + ":");
        for (Runner r : runners) {
            sb.append(" lcore ").append(r.lcoreId).append(" [");
            for (int i = 0; i < r.stages.length; i++) sb.append(i > 0 ? " " : "").append(describe(r.stages[i]));
            sb.append("]");
        }
        out.println(sb);
        out.flush();
        Runner main = null;
        for (Runner r : runners) {
            if (r.lcoreId == eal.mainLcore()) main = r;
            else eal.remoteLaunch(l -> r.run(), r.lcoreId);
        }
        long start = System.nanoTime(), runFor = (long) (opt.runSeconds * 1e9), drainStart = 0;
        int phase = 0; // 0 run, 1 drain
        for (int k = 0; ; k++) {
            int moved = main != null ? main.pass() : 0;
            if (main == null) AppOptions.sleepNanos(1_000_000);
            if ((k & 63) != 0 && main != null) continue;
            long now = System.nanoTime();
            if (phase == 0 && (now - start >= runFor || eal.stopRequested())) {
                if (eal.stopRequested()) out.println("Signal received, preparing to exit...");
                phase = 1;
                drainStart = now;
                if (rx != null) rx.stopped = true;
                if (main == null) AppOptions.sleepNanos(10_000_000);
            }
            if (phase == 1) {
                boolean idle = rx == null || (moved == 0 && ringsEmpty(runners));
                if (idle || now - drainStart > 1_000_000_000L) break;
            }
        }
        long elapsed = System.nanoTime() - start;
        for (Runner r : runners) r.stop = true;
        LcoreException failed = null;
        for (Runner r : runners) {
            if (r == main) continue;
            try {
                eal.waitLcore(r.lcoreId);
            } catch (LcoreException e) {
                if (failed == null) failed = e;
            }
        }
        if (failed != null) throw failed;
        // the lcores have stopped (waitLcore orders their writes before this): finish what is still in the rings here
        for (int i = 0; i < 100_000 && rx != null && !ringsEmpty(runners); i++) {
            for (Runner r : runners) r.pass();
        }
        long[] t = new long[Stage.N];
        long ringRx = 0, ringTx = 0;
        for (Runner r : runners) {
            for (Stage s : r.stages) {
                for (int i = 0; i < Stage.N; i++) t[i] += s.get(i);
                if (s instanceof RxStage) ringRx += s.get(Stage.RING_DROPPED);
                if (s instanceof WorkerStage) ringTx += s.get(Stage.RING_DROPPED);
            }
        }
        // the forwarding time is the running phase: the drain adds packets but no new ones arrive
        double secs = Math.min(elapsed, runFor) / 1e9;
        ModeResult res = new ModeResult(mode, t[Stage.RX], t[Stage.TX], t[Stage.TX_DROPPED], ringRx, ringTx, t[Stage.TTL], t[Stage.NON_IP], secs);
        out.printf(Locale.ROOT, "%s: forwarded %d packets in %.2f s: %.2f Mpps; rx %d, tx-dropped %d, ring-dropped rx->workers %d"
                        + " workers->tx %d, ttl-expired %d, non-ip %d%n", mode, res.tx, secs, res.mpps(), res.rx, res.txDropped,
                res.ringDroppedRx, res.ringDroppedTx, res.ttl, res.nonIp);
        out.flush();
        return res;
    }

    private static boolean ringsEmpty(List<Runner> runners) {
        for (Runner r : runners) {
            for (Stage s : r.stages) {
                if (s instanceof WorkerStage w && !w.in.isEmpty()) return false;
                if (s instanceof TxStage x && !x.in.isEmpty()) return false;
            }
        }
        return true;
    }

    private static String describe(Stage s) {
        return switch (s) {
            case RtcStage r -> "rx " + r.in.id() + " -> work -> tx " + r.out.id();
            case RxStage r -> "rx " + String.join(",", Arrays.stream(r.in).map(p -> Integer.toString(p.id())).toList()) + " -> pl_rx";
            case WorkerStage w -> "pl_rx -> work -> pl_tx";
            case TxStage x -> "pl_tx -> tx";
            default -> s.getClass().getSimpleName();
        };
    }
}
