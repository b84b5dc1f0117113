package org.jpdk.app.l2fwd;

import org.jpdk.app.App;
import org.jpdk.app.AppMain;
import org.jpdk.app.AppOptions;
import org.jpdk.app.ForwardLoop;
import org.jpdk.eal.Eal;
import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.ethdev.StatsPrinter;
import org.jpdk.ethdev.TxBuffer;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.io.PrintStream;
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
 * order, filling one lcore before the next ({@link L2fwdLcore}, the loop; {@link L2fwdOptions},
 * the command line). What a port refuses is freed and counted as dropped.
 *
 * <p>The main lcore also prints the port statistics every {@code -T} seconds (default 10, 0 off) in
 * DPDK's layout and watches for SIGINT/SIGTERM and {@code --run-seconds} ({@link ForwardLoop});
 * at the end it prints them once more with the forwarding rate, then closes the ports.
 */
public final class L2fwd {
    static final int RX_DESC_DEFAULT = 1024, TX_DESC_DEFAULT = 1024;
    static final int MEMPOOL_CACHE_SIZE = 256;
    static final int NB_MBUF_MIN = 8192;

    private final Eal eal;
    private final L2fwdOptions opt;
    private final PrintStream out;
    private List<EthDev> ports = new ArrayList<>();
    private final int[] dstPorts = new int[EthDev.MAX_PORTS];
    private final List<L2fwdLcore> lcores = new ArrayList<>();
    private Mempool<Mbuf> pool;
    private long elapsedNanos;

    private L2fwd(Eal eal, L2fwdOptions opt, PrintStream out) {
        this.eal = eal;
        this.opt = opt;
        this.out = out;
    }

    /** The {@code ./jpdk l2fwd} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "l2fwd";
        }

        @Override
        public String summary() {
            return "DPDK's l2fwd: ports forwarded in pairs, MACs rewritten";
        }

        @Override
        public void main(String[] args) {
            L2fwd.main(args);
        }
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /** Runs l2fwd; returns the exit code. A user mistake is one line on {@code err} and 1. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return AppMain.run("l2fwd", args, out, err, L2fwdOptions::parse, o -> o.help, L2fwdOptions::usage,
                (eal, opt) -> new L2fwd(eal, opt, out).runApp());
    }

    private int runApp() {
        ports = AppOptions.enabledPorts(opt.portmask);
        out.println("MAC updating " + (opt.macUpdating ? "enabled" : "disabled"));
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
            lcores.add(new L2fwdLcore(ids[k], List.copyOf(rx), dstPorts, opt.macUpdating));
        }
        for (int k = needed; k < ids.length; k++) out.printf("lcore %d has nothing to do%n", ids[k]);
    }

    private void createPool() {
        long n = Math.max(NB_MBUF_MIN, (long) ports.size() * (RX_DESC_DEFAULT + TX_DESC_DEFAULT + L2fwdLcore.MAX_PKT_BURST
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

    /** Runs the lcores (the main one included) until a signal or --run-seconds, statistics every -T. */
    private void forward() {
        for (L2fwdLcore lc : lcores) {
            for (EthDev p : lc.rxPorts) out.printf("L2FWD:  -- lcoreid=%d portid=%d%n", lc.lcoreId, p.id());
        }
        elapsedNanos = ForwardLoop.run(eal, out, "L2FWD", lcores, opt.timerPeriod, () -> printStats(true), opt.runSeconds);
    }

    /**
     * print_stats: per enabled port the packets sent, received and dropped, then the aggregate,
     * in DPDK's layout (the screen cleared first on a terminal). The last call adds the rate.
     */
    private void printStats(boolean periodic) {
        long[] rx = new long[EthDev.MAX_PORTS], tx = new long[EthDev.MAX_PORTS], dropped = new long[EthDev.MAX_PORTS];
        for (L2fwdLcore lc : lcores) {
            for (int i = 0; i < lc.rxPorts.length; i++) {
                rx[lc.rxPorts[i].id()] += lc.received.get(i);
                TxBuffer b = lc.tx[i];
                tx[b.port().id()] += b.sent();
                dropped[b.port().id()] += b.dropped();
            }
        }
        StringBuilder sb = new StringBuilder();
        if (periodic && StatsPrinter.isTerminal(out)) sb.append(StatsPrinter.CLEAR_SCREEN);
        sb.append(StatsPrinter.portStatistics(ports, tx, rx, dropped));
        if (!periodic) {
            long totTx = 0;
            for (EthDev p : ports) totTx += tx[p.id()];
            double secs = elapsedNanos / 1e9;
            sb.append(String.format(Locale.ROOT, "L2FWD: %d packets forwarded in %.2f s: %.2f Mpps%n", totTx, secs,
                    secs > 0 ? totTx / secs / 1e6 : 0.0));
        }
        out.print(sb);
        out.flush();
    }
}
