package org.jpdk.app.l2fwd;

import org.jpdk.app.AppMain;
import org.jpdk.eal.Eal;
import org.jpdk.eal.LcoreException;
import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Ether;

import java.io.PrintStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * DPDK's examples/l2fwd on jpdk: {@code ./jpdk l2fwd [EAL args] -- -p PORTMASK [-q NQ] [-T PERIOD]
 * [-P] [--[no-]mac-updating] [--run-seconds S]}. The enabled ports are paired in order (0↔1,
 * 2↔3, ...; an odd last port forwards to itself); every packet received on a port leaves by its
 * pair with, unless {@code --no-mac-updating}, the source MAC set to the out port's address and
 * the destination to {@code 02:00:00:00:00:<out port>}.
 *
 * <p>Each lcore, main included, polls up to {@code -q} rx ports, as DPDK assigns them: in lcore
 * order, filling one lcore before the next. Packets go through a tx buffer per out port
 * (rte_eth_tx_buffer): a full buffer of {@link #MAX_PKT_BURST} is sent at once, and every lcore
 * flushes its buffers when {@link #BURST_TX_DRAIN_NS} (~100 µs) have passed since the last drain,
 * so a trickle of packets is never held back longer than that. What a port refuses is freed and
 * counted as dropped. The loop allocates nothing and takes one {@code System.nanoTime()} per pass.
 *
 * <p>The main lcore also prints the port statistics every {@code -T} seconds (default 10, 0 off) in
 * DPDK's layout and watches for SIGINT/SIGTERM and {@code --run-seconds}; at the end it prints them
 * once more with the forwarding rate, then closes the ports. Counters are written only by the
 * lcore that owns them (opaque stores) and read by the main lcore.
 */
public final class L2fwd {
    static final int MAX_PKT_BURST = 32;
    /** BURST_TX_DRAIN_US: a buffered packet waits at most about this long. */
    static final long BURST_TX_DRAIN_NS = 100_000;
    static final int MAX_RX_QUEUE_PER_LCORE = 16;
    static final int RX_DESC_DEFAULT = 1024, TX_DESC_DEFAULT = 1024;
    static final int MEMPOOL_CACHE_SIZE = 256;
    static final int NB_MBUF_MIN = 8192;
    static final int MAX_TIMER_PERIOD = 86400;
    /** 02:00:00:00:00:00, the out port's number goes in the last byte. */
    static final long DST_MAC_BASE = 0x02_00_00_00_00_00L;

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    /** The command line after {@code --}. */
    static final class Options {
        long portmask;
        int rxPerLcore = 1;
        double timerPeriod = 10;
        boolean macUpdating = true;
        boolean promiscuous;
        double runSeconds;
        boolean help;

        static Options parse(List<String> args) {
            Options o = new Options();
            for (int i = 0; i < args.size(); i++) {
                String a = args.get(i), name = a, value = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                } else if (a.length() > 2 && a.charAt(0) == '-' && a.charAt(1) != '-') { // -p0x3, as getopt
                    name = a.substring(0, 2);
                    value = a.substring(2);
                }
                switch (name) {
                    case "-h", "--help" -> o.help = true;
                    case "-P" -> o.promiscuous = true;
                    case "--mac-updating" -> o.macUpdating = true;
                    case "--no-mac-updating" -> o.macUpdating = false;
                    case "-p", "-q", "-T", "--run-seconds" -> {
                        if (value == null) {
                            if (i + 1 >= args.size()) throw new IllegalArgumentException(name + ": needs a value");
                            value = args.get(++i);
                        }
                        o.set(name, value);
                    }
                    default -> throw new IllegalArgumentException(a.startsWith("-") ? "unknown option " + a + "; see --help"
                            : "unexpected argument '" + a + "'; see --help");
                }
            }
            return o;
        }

        private void set(String name, String v) {
            switch (name) {
                case "-p" -> {
                    String hex = v.startsWith("0x") || v.startsWith("0X") ? v.substring(2) : v;
                    try {
                        portmask = Long.parseUnsignedLong(hex, 16);
                    } catch (NumberFormatException e) {
                        portmask = -1;
                    }
                    if (portmask == 0 || portmask == -1 || (portmask >>> EthDev.MAX_PORTS) != 0) {
                        throw new IllegalArgumentException("-p " + v + ": invalid portmask; allowed a non-zero hexadecimal mask of ports 0.."
                                + (EthDev.MAX_PORTS - 1) + ", e.g. 0x3");
                    }
                }
                case "-q" -> {
                    rxPerLcore = -1;
                    try {
                        rxPerLcore = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        // refused below
                    }
                    if (rxPerLcore < 1 || rxPerLcore > MAX_RX_QUEUE_PER_LCORE) {
                        throw new IllegalArgumentException("-q " + v + ": invalid queue number; allowed 1.." + MAX_RX_QUEUE_PER_LCORE);
                    }
                }
                case "-T" -> timerPeriod = seconds("-T " + v, v, 0, MAX_TIMER_PERIOD, "invalid timer period; allowed 0.." + MAX_TIMER_PERIOD + " seconds (0: off)");
                default -> runSeconds = seconds("--run-seconds=" + v, v, Double.MIN_VALUE, 86_400 * 365, "allowed a number of seconds > 0");
            }
        }

        private static double seconds(String what, String v, double min, double max, String allowed) {
            double d;
            try {
                d = Double.parseDouble(v);
            } catch (NumberFormatException e) {
                d = Double.NaN;
            }
            if (!(d >= min && d <= max)) throw new IllegalArgumentException(what + ": " + allowed);
            return d;
        }

        static String usage() {
            return """
                    usage: jpdk l2fwd [EAL options] -- -p PORTMASK [-P] [-q NQ] [-T PERIOD] [--[no-]mac-updating] [--run-seconds S]
                      -p PORTMASK          hexadecimal bitmask of ports to forward between (pairs 0-1, 2-3, ...)
                      -P                   promiscuous mode on every enabled port
                      -q NQ                rx ports per lcore, 1..%d (default 1)
                      -T PERIOD            statistics every PERIOD seconds, 0..%d (default 10, 0 off)
                      --no-mac-updating    forward packets unchanged
                      --mac-updating       source MAC = out port's, destination 02:00:00:00:00:<out port> (default)
                      --run-seconds S      stop after S seconds (else SIGINT/SIGTERM stops it)
                      -h, --help           this text
                    """.formatted(MAX_RX_QUEUE_PER_LCORE, MAX_TIMER_PERIOD);
        }
    }

    /**
     * One forwarding lcore (lcore_queue_conf): its rx ports and, per rx port, the out port, the MACs
     * to write and a tx buffer. Counters live in one array, each on its own 64-byte line (index
     * {@link #at}), written by this lcore only.
     */
    static final class Lcore {
        static final int RX = 0, TX = 1, DROPPED = 2;
        final int lcoreId;
        final EthDev[] rxPorts, txPorts;
        final long[] dstMac, srcMac;
        final boolean macUpdating;
        final Mbuf[] burst = new Mbuf[MAX_PKT_BURST];
        final Mbuf[][] txBuf;
        final int[] txLen;
        final long[] counters;
        private long prevDrain;
        private volatile boolean quit;

        Lcore(int lcoreId, List<EthDev> rx, int[] dstPorts, boolean macUpdating) {
            this.lcoreId = lcoreId;
            int n = rx.size();
            rxPorts = rx.toArray(new EthDev[0]);
            txPorts = new EthDev[n];
            dstMac = new long[n];
            srcMac = new long[n];
            txBuf = new Mbuf[n][MAX_PKT_BURST];
            txLen = new int[n];
            counters = new long[(3 * n + 2) * 8];
            this.macUpdating = macUpdating;
            for (int i = 0; i < n; i++) {
                int dst = dstPorts[rxPorts[i].id()];
                txPorts[i] = EthDev.get(dst);
                dstMac[i] = DST_MAC_BASE | dst;
                srcMac[i] = txPorts[i].macAddr().value();
            }
        }

        static int at(int slot, int counter) {
            return (1 + 3 * slot + counter) * 8;
        }

        private void count(int slot, int counter, long n) {
            int i = at(slot, counter);
            LONGS.setOpaque(counters, i, counters[i] + n);
        }

        long counter(int slot, int counter) {
            return (long) LONGS.getOpaque(counters, at(slot, counter));
        }

        /** The lcore's loop (l2fwd_main_loop) until {@link #stop()}, then a last drain of its buffers. */
        int run() {
            prevDrain = System.nanoTime();
            while (!quit) poll(System.nanoTime());
            drain();
            return 0;
        }

        /**
         * One pass: drain the tx buffers if {@link #BURST_TX_DRAIN_NS} passed since the last drain,
         * then one rx burst per rx port, each packet rewritten and buffered for its out port.
         * Allocates nothing.
         */
        void poll(long now) {
            if (now - prevDrain > BURST_TX_DRAIN_NS) {
                drain();
                prevDrain = now;
            }
            final Mbuf[] pkts = burst;
            for (int i = 0; i < rxPorts.length; i++) {
                int n = rxPorts[i].rxBurst(0, pkts, 0, MAX_PKT_BURST);
                if (n == 0) continue;
                count(i, RX, n);
                for (int j = 0; j < n; j++) {
                    Mbuf m = pkts[j];
                    if (macUpdating && m.dataLen() >= 2 * Ether.ADDR_LEN) Ether.setAddrs(m, dstMac[i], srcMac[i]);
                    bufferTx(i, m);
                }
            }
        }

        /** rte_eth_tx_buffer: add one packet; a full buffer goes out at once. */
        private void bufferTx(int slot, Mbuf m) {
            Mbuf[] buf = txBuf[slot];
            buf[txLen[slot]++] = m;
            if (txLen[slot] == MAX_PKT_BURST) flush(slot);
        }

        /** rte_eth_tx_buffer_flush with the count callback: send, free and count what was refused. */
        private void flush(int slot) {
            int n = txLen[slot];
            if (n == 0) return;
            txLen[slot] = 0;
            Mbuf[] buf = txBuf[slot];
            int sent = txPorts[slot].txBurst(0, buf, 0, n);
            if (sent > 0) count(slot, TX, sent);
            if (sent < n) {
                Mbuf.freeBulk(buf, sent, n - sent);
                count(slot, DROPPED, n - sent);
            }
        }

        void drain() {
            for (int i = 0; i < rxPorts.length; i++) flush(i);
        }

        void stop() {
            quit = true;
        }
    }

    private final Eal eal;
    private final Options opt;
    private final PrintStream out;
    private final List<EthDev> ports = new ArrayList<>();
    private final int[] dstPorts = new int[EthDev.MAX_PORTS];
    private final List<Lcore> lcores = new ArrayList<>();
    private Mempool<Mbuf> pool;
    private long elapsedNanos;

    private L2fwd(Eal eal, Options opt, PrintStream out) {
        this.eal = eal;
        this.opt = opt;
        this.out = out;
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /** Runs l2fwd; returns the exit code. A user mistake is one line on {@code err} and 1. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return AppMain.run("l2fwd", args, out, err, Options::parse, o -> o.help, Options::usage,
                (eal, opt) -> new L2fwd(eal, opt, out).runApp());
    }

    private int runApp() {
        if (opt.portmask == 0) throw new IllegalArgumentException("all available ports are disabled; give -p PORTMASK, e.g. -p 0x3");
        long unknown = opt.portmask;
        for (EthDev p : EthDev.all()) unknown &= ~(1L << p.id());
        if (unknown != 0) {
            throw new IllegalArgumentException("-p 0x" + Long.toHexString(opt.portmask) + ": port " + Long.numberOfTrailingZeros(unknown)
                    + " does not exist; ports are " + (EthDev.count() == 0 ? "none (add some with --vdev)"
                    : String.join(",", EthDev.all().stream().map(p -> Integer.toString(p.id())).toList())));
        }
        out.println("MAC updating " + (opt.macUpdating ? "enabled" : "disabled"));
        for (EthDev p : EthDev.all()) if ((opt.portmask & (1L << p.id())) != 0) ports.add(p);
        pairPorts();
        assignLcores();
        try {
            createPool();
            for (EthDev p : ports) initPort(p);
            out.println("\nChecking link status...done");
            for (EthDev p : ports) {
                var link = p.link();
                out.println(link.up() ? String.format("Port %d Link up at %s", p.id(), link) : String.format("Port %d Link down", p.id()));
            }
            forward();
            printStats(false);
            for (EthDev p : ports) {
                out.printf("Closing port %d...", p.id());
                p.stop();
                p.close();
                out.println(" Done");
            }
            out.println("Bye...");
            return 0;
        } finally {
            for (EthDev p : ports) if (p.state() != EthDev.State.CLOSED) p.close();
            if (pool != null) pool.close();
        }
    }

    /** l2fwd_dst_ports: consecutive enabled ports are pairs; an odd last one sends to itself. */
    private void pairPorts() {
        for (int i = 0; i + 1 < ports.size(); i += 2) {
            int a = ports.get(i).id(), b = ports.get(i + 1).id();
            dstPorts[a] = b;
            dstPorts[b] = a;
        }
        if (ports.size() % 2 == 1) {
            out.println("Notice: odd number of ports in portmask.");
            int last = ports.get(ports.size() - 1).id();
            dstPorts[last] = last;
        }
    }

    /** Gives each lcore, in id order (main included), up to -q rx ports. */
    private void assignLcores() {
        int[] ids = new int[eal.lcoreCount()];
        ids[0] = eal.mainLcore();
        System.arraycopy(eal.workerLcores(), 0, ids, 1, ids.length - 1);
        Arrays.sort(ids);
        int needed = (ports.size() + opt.rxPerLcore - 1) / opt.rxPerLcore;
        if (needed > ids.length) {
            throw new IllegalArgumentException("not enough cores: " + ports.size() + " ports at -q " + opt.rxPerLcore + " need "
                    + needed + " lcores and the EAL has " + ids.length + " (-l)");
        }
        for (int k = 0; k < needed; k++) {
            List<EthDev> rx = ports.subList(k * opt.rxPerLcore, Math.min(ports.size(), (k + 1) * opt.rxPerLcore));
            for (EthDev p : rx) out.printf("Lcore %d: RX port %d TX port %d%n", ids[k], p.id(), dstPorts[p.id()]);
            lcores.add(new Lcore(ids[k], List.copyOf(rx), dstPorts, opt.macUpdating));
        }
        for (int k = needed; k < ids.length; k++) out.printf("lcore %d has nothing to do%n", ids[k]);
    }

    private void createPool() {
        long n = Math.max(NB_MBUF_MIN, (long) ports.size() * (RX_DESC_DEFAULT + TX_DESC_DEFAULT + MAX_PKT_BURST
                + (long) eal.lcoreCount() * MEMPOOL_CACHE_SIZE));
        pool = Mbuf.createPool("mbuf_pool", (int) n, MEMPOOL_CACHE_SIZE, Mbuf.DEFAULT_BUF_SIZE, eal.socketId());
    }

    private void initPort(EthDev p) {
        out.printf("Initializing port %d... ", p.id());
        DevInfo info = p.info();
        p.configure(1, 1, PortConf.defaults());
        p.rxQueueSetup(0, clamp(RX_DESC_DEFAULT, info), pool);
        p.txQueueSetup(0, clamp(TX_DESC_DEFAULT, info));
        p.start();
        if (opt.promiscuous) p.setPromiscuous(true);
        out.printf("done: %nPort %d, MAC address: %s%n%n", p.id(), p.macAddr());
    }

    /** rte_eth_dev_adjust_nb_rx_tx_desc: the default count within the driver's limits. */
    private static int clamp(int desc, DevInfo info) {
        return Math.max(info.minDesc(), Math.min(info.maxDesc(), desc));
    }

    /**
     * Launches the lcores, runs the main lcore's share (its ports, the statistics timer, the stop
     * conditions) on this thread, then stops and waits for the others.
     */
    private void forward() {
        Lcore main = null;
        for (Lcore lc : lcores) {
            if (lc.lcoreId == eal.mainLcore()) {
                main = lc;
            } else {
                out.printf("L2FWD: entering main loop on lcore %d%n", lc.lcoreId);
                eal.remoteLaunch(l -> lc.run(), lc.lcoreId);
            }
        }
        long start = System.nanoTime();
        long period = (long) (opt.timerPeriod * 1e9), runFor = (long) (opt.runSeconds * 1e9);
        long nextStats = start + period, nextCheck = start;
        if (main != null) out.printf("L2FWD: entering main loop on lcore %d%n", main.lcoreId);
        for (Lcore lc : lcores) {
            for (EthDev p : lc.rxPorts) out.printf("L2FWD:  -- lcoreid=%d portid=%d%n", lc.lcoreId, p.id());
        }
        out.flush();
        while (true) {
            long now = System.nanoTime();
            if (main != null) {
                main.poll(now);
            } else {
                sleepNanos(Math.min(1_000_000, nextCheck - now));
            }
            if (now - nextCheck < 0) continue;
            nextCheck = now + 1_000_000; // the timers are checked once a millisecond
            if (eal.stopRequested()) {
                out.println("\n\nSignal received, preparing to exit...");
                break;
            }
            if (runFor > 0 && now - start >= runFor) break;
            if (period > 0 && now - nextStats >= 0) {
                printStats(true);
                while (now - nextStats >= 0) nextStats += period;
            }
        }
        for (Lcore lc : lcores) lc.stop();
        if (main != null) main.drain();
        LcoreException failed = null;
        for (Lcore lc : lcores) {
            if (lc == main) continue;
            try {
                eal.waitLcore(lc.lcoreId);
            } catch (LcoreException e) {
                if (failed == null) failed = e;
            }
        }
        elapsedNanos = System.nanoTime() - start;
        if (failed != null) throw failed;
    }

    private static void sleepNanos(long ns) {
        if (ns <= 0) return;
        try {
            Thread.sleep(ns / 1_000_000, (int) (ns % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * print_stats: per enabled port the packets sent, received and dropped, then the aggregate,
     * in DPDK's layout (the screen cleared first on a terminal). The last call adds the rate.
     */
    private void printStats(boolean periodic) {
        long[] rx = new long[EthDev.MAX_PORTS], tx = new long[EthDev.MAX_PORTS], dropped = new long[EthDev.MAX_PORTS];
        for (Lcore lc : lcores) {
            for (int i = 0; i < lc.rxPorts.length; i++) {
                rx[lc.rxPorts[i].id()] += lc.counter(i, Lcore.RX);
                tx[lc.txPorts[i].id()] += lc.counter(i, Lcore.TX);
                dropped[lc.txPorts[i].id()] += lc.counter(i, Lcore.DROPPED);
            }
        }
        StringBuilder sb = new StringBuilder();
        java.io.Console console = System.console();
        if (periodic && out == System.out && console != null && console.isTerminal()) sb.append("\033[2J\033[1;1H");
        sb.append("\nPort statistics ====================================");
        long totRx = 0, totTx = 0, totDropped = 0;
        for (EthDev p : ports) {
            int id = p.id();
            sb.append(String.format("%nStatistics for port %d ------------------------------"
                    + "%nPackets sent: %24d%nPackets received: %20d%nPackets dropped: %21d", id, tx[id], rx[id], dropped[id]));
            totRx += rx[id];
            totTx += tx[id];
            totDropped += dropped[id];
        }
        sb.append(String.format("%nAggregate statistics ==============================="
                + "%nTotal packets sent: %18d%nTotal packets received: %14d%nTotal packets dropped: %15d", totTx, totRx, totDropped));
        sb.append("\n====================================================\n");
        if (!periodic) {
            double secs = elapsedNanos / 1e9;
            sb.append(String.format(Locale.ROOT, "L2FWD: %d packets forwarded in %.2f s: %.2f Mpps%n", totTx, secs,
                    secs > 0 ? totTx / secs / 1e6 : 0.0));
        }
        out.print(sb);
        out.flush();
    }
}
