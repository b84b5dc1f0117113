package org.jpdk.app.l3fwd;

import org.jpdk.app.App;
import org.jpdk.app.AppMain;
import org.jpdk.app.AppOptions;
import org.jpdk.app.ForwardLoop;
import org.jpdk.eal.Eal;
import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.EthDev;
import org.jpdk.telemetry.Telemetry;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.PortConf;
import org.jpdk.ethdev.StatsPrinter;
import org.jpdk.ethdev.TxBuffer;
import org.jpdk.hash.FlowKey;
import org.jpdk.hash.Hash;
import org.jpdk.lpm.Lpm;
import org.jpdk.lpm.Lpm6;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * DPDK's examples/l3fwd on jpdk: {@code ./jpdk l3fwd [EAL args] -- -p PORTMASK [-P] [-E|-L|--lookup=em|lpm]
 * [--config (port,queue,lcore)[,...]] [--eth-dest=X,MM:MM:MM:MM:MM:MM] [--rule_ipv4=FILE] [--rule_ipv6=FILE]
 * [--parse-ptype] [--max-pkt-len N] [-b BURST] [-T PERIOD] [--run-seconds S]}.
 *
 * <p>Every IPv4 and IPv6 packet is routed by its destination: in LPM mode by longest prefix
 * ({@link Lpm}, {@link Lpm6}), in exact-match mode by its 5-tuple ({@link Hash} over
 * {@link FlowKey} keys). A packet no rule matches leaves by the port it came in on, as DPDK's
 * l3fwd does; so does one whose rule names a port not in the portmask. On the way out the
 * destination MAC becomes the out port's {@code --eth-dest} (default 02:00:00:00:00:&lt;port&gt;),
 * the source MAC the out port's address, and the TTL (hop limit) is decremented, the IPv4 header
 * checksum updated incrementally (RFC 1624). Dropped and counted (RFC 1812 5.2.2/5.3.1): packets
 * that are not IP, IPv4 headers that are malformed, announce a length beyond the packet or carry
 * a wrong checksum, IPv6 headers whose payload length exceeds the packet, packets whose TTL or
 * hop limit is 0 or 1, and packets longer than {@code --max-pkt-len}.
 *
 * <p>Each lcore of {@code --config} polls its (port, queue) pairs and has its own tx queue on
 * every enabled port (queue number = its rank among the lcores in use), so no tx queue is shared.
 * The files: this one sets up ports, tables and lcores and prints the statistics (as l2fwd: every
 * {@code -T} seconds and at the end, with the forwarding rate); {@link L3fwdLcore} is the
 * forwarding loop; {@link L3fwdOptions} the command line; {@link Routes} the rule files and DPDK's
 * default routes.
 */
public final class L3fwd {
    static final int MAX_RX_QUEUE_PER_LCORE = 16;
    static final int MEMPOOL_CACHE_SIZE = 256;
    static final int NB_MBUF_MIN = 8192;
    /** Ethernet header and CRC: MTU = max-pkt-len - this. */
    static final int ETHER_OVERHEAD = 18;
    /** DPDK's default destination MAC, the out port's number in the last byte. */
    static final long DST_MAC_BASE = 0x02_00_00_00_00_00L;

    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final Eal eal;
    private final L3fwdOptions opt;
    private final PrintStream out;
    private List<EthDev> ports = new ArrayList<>();
    private final List<L3fwdLcore> lcores = new ArrayList<>();
    private final EthDev[] txPorts = new EthDev[EthDev.MAX_PORTS];
    private final long[] dstMac = new long[EthDev.MAX_PORTS];
    private List<L3fwdOptions.LcoreParams> config;
    private Mempool<Mbuf> pool;
    private Lpm lpm;
    private Lpm6 lpm6;
    private Hash em4, em6;
    private Arena arena;
    private long elapsedNanos;

    private L3fwd(Eal eal, L3fwdOptions opt, PrintStream out) {
        this.eal = eal;
        this.opt = opt;
        this.out = out;
    }

    /** The {@code ./jpdk l3fwd} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "l3fwd";
        }

        @Override
        public String summary() {
            return "DPDK's l3fwd: IPv4/IPv6 routing by longest prefix or exact 5-tuple match";
        }

        @Override
        public void main(String[] args) {
            L3fwd.main(args);
        }
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /** Runs l3fwd; returns the exit code. A user mistake is one line on {@code err} and 1. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return AppMain.run("l3fwd", args, out, err, L3fwdOptions::parse, o -> o.help, L3fwdOptions::usage,
                (eal, opt) -> new L3fwd(eal, opt, out).runApp());
    }

    private int runApp() {
        ports = AppOptions.enabledPorts(opt.portmask);
        for (EthDev p : ports) {
            txPorts[p.id()] = p;
            dstMac[p.id()] = opt.ethDestSet[p.id()] ? opt.ethDest[p.id()] : DST_MAC_BASE | p.id();
        }
        config = opt.config != null ? opt.config : defaultConfig();
        checkConfig();
        boolean em = opt.exactMatch != null && opt.exactMatch;
        out.println((em ? "EM" : "LPM") + " lookup, " + (em ? "exact match on the 5-tuple" : "longest prefix match"));
        try {
            arena = Arena.ofShared();
            if (em) setupHash();
            else setupLpm();
            createPool();
            TreeMap<Integer, List<L3fwdOptions.LcoreParams>> byLcore = new TreeMap<>();
            for (L3fwdOptions.LcoreParams lp : config) byLcore.computeIfAbsent(lp.lcore(), k -> new ArrayList<>()).add(lp);
            int nbTx = byLcore.size();
            for (EthDev p : ports) initPort(p, nbTx);
            int txq = 0;
            L3fwdLcore.Tables tables = new L3fwdLcore.Tables(lpm, lpm6, em4, em6);
            for (var e : byLcore.entrySet()) {
                List<EthDev> rx = new ArrayList<>();
                List<Integer> q = new ArrayList<>();
                for (L3fwdOptions.LcoreParams lp : e.getValue()) {
                    rx.add(EthDev.get(lp.port()));
                    q.add(lp.queue());
                    out.printf("Lcore %d: RX port %d queue %d, TX queue %d on every port%n", e.getKey(), lp.port(), lp.queue(), txq);
                }
                lcores.add(new L3fwdLcore(e.getKey(), rx, q, txq++, txPorts, dstMac, tables, opt.burst, opt.maxPktLen, arena));
            }
            for (int id : allLcores()) if (!byLcore.containsKey(id)) out.printf("lcore %d has nothing to do%n", id);
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
            if (lpm != null) lpm.close();
            if (lpm6 != null) lpm6.close();
            if (em4 != null) em4.close();
            if (em6 != null) em6.close();
            if (arena != null) arena.close();
        }
    }

    private int[] allLcores() {
        int[] ids = new int[eal.lcoreCount()];
        ids[0] = eal.mainLcore();
        System.arraycopy(eal.workerLcores(), 0, ids, 1, ids.length - 1);
        Arrays.sort(ids);
        return ids;
    }

    /** Without --config: queue 0 of each enabled port, the ports dealt to the EAL lcores in id order. */
    private List<L3fwdOptions.LcoreParams> defaultConfig() {
        int[] ids = allLcores();
        List<L3fwdOptions.LcoreParams> l = new ArrayList<>();
        for (int i = 0; i < ports.size(); i++) l.add(new L3fwdOptions.LcoreParams(ports.get(i).id(), 0, ids[i % ids.length]));
        return l;
    }

    /** check_lcore_params, check_port_config and the queue numbering rule of DPDK's l3fwd. */
    private void checkConfig() {
        int[] ids = allLcores();
        int[] perLcore = new int[1024];
        for (L3fwdOptions.LcoreParams lp : config) {
            String t = "--config (" + lp.port() + "," + lp.queue() + "," + lp.lcore() + "): ";
            if (Arrays.binarySearch(ids, lp.lcore()) < 0) {
                throw new IllegalArgumentException(t + "lcore " + lp.lcore() + " is not enabled in the EAL's lcores (-l); they are "
                        + String.join(",", Arrays.stream(ids).mapToObj(Integer::toString).toList()));
            }
            if (txPorts[lp.port()] == null) throw new IllegalArgumentException(t + "port " + lp.port() + " is not enabled in the port mask");
            if (++perLcore[lp.lcore()] > MAX_RX_QUEUE_PER_LCORE) {
                throw new IllegalArgumentException(t + "lcore " + lp.lcore() + " has more than " + MAX_RX_QUEUE_PER_LCORE + " rx queues");
            }
        }
        for (EthDev p : ports) {
            int n = rxQueuesOf(p.id());
            for (int q = 0; q < n; q++) {
                final int qq = q;
                if (config.stream().noneMatch(lp -> lp.port() == p.id() && lp.queue() == qq)) {
                    throw new IllegalArgumentException("--config: queue ids of port " + p.id() + " must be in sequence from 0; queue "
                            + q + " is missing");
                }
            }
        }
    }

    private int rxQueuesOf(int port) {
        int n = 0;
        for (L3fwdOptions.LcoreParams lp : config) if (lp.port() == port) n = Math.max(n, lp.queue() + 1);
        return n;
    }

    /** l3fwd's telemetry command: the routes (or exact-match rules) it loaded. */
    static final String TELEMETRY_ROUTES = "/l3fwd/routes";
    private volatile int routes4, routes6;

    /** setup_lpm: the routes of the files or DPDK's defaults; routes to ports not enabled are skipped, as DPDK. */
    private void setupLpm() {
        List<Routes.Route> r4 = opt.ruleIpv4 != null ? Routes.readLpm(opt.ruleIpv4, false) : Routes.defaultLpm4();
        List<Routes.Route> r6 = opt.ruleIpv6 != null ? Routes.readLpm(opt.ruleIpv6, true) : Routes.defaultLpm6();
        r4 = enabledOnly(r4, Routes.Route::port, "IPv4 route");
        r6 = enabledOnly(r6, Routes.Route::port, "IPv6 route");
        long tbl8 = r4.stream().filter(r -> r.depth() > 24).count();
        lpm = Lpm.create("L3FWD_LPM", eal.socketId(), Math.max(1024, r4.size()), (int) Math.min(Lpm.MAX_TBL8_NUM_GROUPS, Math.max(256, tbl8 + 256)));
        for (Routes.Route r : r4) {
            if (lpm.add((int) r.lo(), r.depth(), r.port()) < 0) {
                throw new IllegalStateException("LPM: cannot add route " + Lpm.toString((int) r.lo()) + "/" + r.depth() + ": table full");
            }
        }
        if (!r6.isEmpty()) {
            long groups = 0;
            for (Routes.Route r : r6) groups += Math.max(0, (r.depth() - 24 + 7) / 8);
            lpm6 = Lpm6.create("L3FWD_LPM6", eal.socketId(), Math.max(1024, r6.size()), (int) Math.min(Lpm6.MAX_TBL8_NUM_GROUPS, groups + 256));
            for (Routes.Route r : r6) {
                if (lpm6.add(r.hi(), r.lo(), r.depth(), r.port()) < 0) {
                    throw new IllegalStateException("LPM6: cannot add route " + Lpm6.toString(r.hi(), r.lo()) + "/" + r.depth() + ": table full");
                }
            }
        }
        out.printf("LPM: %d IPv4 routes, %d IPv6 routes%n", r4.size(), r6.size());
        routes4 = r4.size();
        routes6 = r6.size();
    }

    /** setup_hash: the rules of the files or DPDK's defaults in one table per family, value = out port. */
    private void setupHash() {
        List<Routes.Rule> r4 = opt.ruleIpv4 != null ? Routes.readEm(opt.ruleIpv4, false) : Routes.defaultEm4();
        List<Routes.Rule> r6 = opt.ruleIpv6 != null ? Routes.readEm(opt.ruleIpv6, true) : Routes.defaultEm6();
        r4 = enabledOnly(r4, Routes.Rule::port, "IPv4 rule");
        r6 = enabledOnly(r6, Routes.Rule::port, "IPv6 rule");
        routes4 = r4.size();
        routes6 = r6.size();
        MemorySegment key = arena.allocate(FlowKey.IPV6_LEN);
        if (!r4.isEmpty()) {
            em4 = Hash.create("l3fwd_em4", Math.max(1024, r4.size() * 2), FlowKey.IPV4_LEN, org.jpdk.hash.HashFunction.CRC32C, 0, Hash.F_EXT_TABLE);
            for (Routes.Rule r : r4) {
                FlowKey.ipv4(key, 0, (int) r.srcLo(), (int) r.dstLo(), r.srcPort(), r.dstPort(), r.proto());
                if (em4.add(key, 0, r.port()) < 0) throw new IllegalStateException("EM: cannot add IPv4 rule " + r + ": table full");
            }
        }
        if (!r6.isEmpty()) {
            em6 = Hash.create("l3fwd_em6", Math.max(1024, r6.size() * 2), FlowKey.IPV6_LEN, org.jpdk.hash.HashFunction.CRC32C, 0, Hash.F_EXT_TABLE);
            byte[] s = new byte[16], d = new byte[16];
            for (Routes.Rule r : r6) {
                LONG_BE.set(s, 0, r.srcHi());
                LONG_BE.set(s, 8, r.srcLo());
                LONG_BE.set(d, 0, r.dstHi());
                LONG_BE.set(d, 8, r.dstLo());
                FlowKey.ipv6(key, 0, s, d, r.srcPort(), r.dstPort(), r.proto());
                if (em6.add(key, 0, r.port()) < 0) throw new IllegalStateException("EM: cannot add IPv6 rule " + r + ": table full");
            }
        }
        out.printf("EM: %d IPv4 rules, %d IPv6 rules%n", r4.size(), r6.size());
    }

    private <T> List<T> enabledOnly(List<T> rules, java.util.function.ToIntFunction<T> port, String what) {
        List<T> kept = new ArrayList<>(rules.size());
        for (T r : rules) {
            int p = port.applyAsInt(r);
            if (p < EthDev.MAX_PORTS && txPorts[p] != null) kept.add(r);
        }
        if (kept.size() < rules.size()) {
            out.printf("Skipping %d %ss to ports not in the port mask%n", rules.size() - kept.size(), what);
        }
        return kept;
    }

    private void createPool() {
        int nbLcores = (int) config.stream().mapToInt(L3fwdOptions.LcoreParams::lcore).distinct().count();
        long rxq = 0;
        for (EthDev p : ports) rxq += rxQueuesOf(p.id());
        long n = Math.max(NB_MBUF_MIN, rxq * opt.rxDesc + (long) ports.size() * nbLcores * (opt.txDesc + 2L * opt.burst)
                + (long) eal.lcoreCount() * MEMPOOL_CACHE_SIZE);
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("too many mbufs needed (" + n + "); use fewer descriptors");
        pool = Mbuf.createPool("mbuf_pool", (int) n, MEMPOOL_CACHE_SIZE, Mbuf.DEFAULT_BUF_SIZE, eal.socketId());
    }

    private void initPort(EthDev p, int nbTx) {
        int nbRx = rxQueuesOf(p.id());
        out.printf("Initializing port %d ... Creating queues: nb_rxq=%d nb_txq=%d... ", p.id(), nbRx, nbTx);
        DevInfo info = p.info();
        if (nbTx > info.maxTxQueues()) {
            throw new IllegalArgumentException("port " + p.id() + " (" + info.driverName() + ") has " + info.maxTxQueues()
                    + " tx queue(s) and l3fwd needs one per lcore in --config: " + nbTx);
        }
        if (nbRx > info.maxRxQueues()) {
            throw new IllegalArgumentException("port " + p.id() + " (" + info.driverName() + ") has " + info.maxRxQueues()
                    + " rx queue(s) and --config uses " + nbRx);
        }
        int mtu = opt.maxPktLen - ETHER_OVERHEAD;
        p.configure(nbRx, nbTx, PortConf.defaults().withMtu(Math.max(info.minMtu(), Math.min(info.maxMtu(), mtu))));
        for (int q = 0; q < nbRx; q++) p.rxQueueSetup(q, clamp(opt.rxDesc, info), pool);
        for (int q = 0; q < nbTx; q++) p.txQueueSetup(q, clamp(opt.txDesc, info));
        p.start();
        if (opt.promiscuous) p.setPromiscuous(true);
        out.printf("done: %nPort %d, MAC address: %s, destination MAC %s%n", p.id(), p.macAddr(), new MacAddr(dstMac[p.id()]));
        if (!opt.parsePtype) out.printf("Port %d does not report packet types: parsing them in software (--parse-ptype)%n", p.id());
    }

    /** rte_eth_dev_adjust_nb_rx_tx_desc: the count within the driver's limits. */
    private static int clamp(int desc, DevInfo info) {
        return Math.max(info.minDesc(), Math.min(info.maxDesc(), desc));
    }

    /** Runs the lcores (the main one included) until a signal or --run-seconds, statistics every -T. */
    private void forward() {
        for (L3fwdLcore lc : lcores) {
            for (int q = 0; q < lc.rxPorts.length; q++) {
                out.printf("L3FWD:  -- lcoreid=%d portid=%d rxqueueid=%d%n", lc.lcoreId, lc.rxPorts[q].id(), lc.rxQueues[q]);
            }
        }
        Telemetry.register(TELEMETRY_ROUTES, "Returns the lookup method and its IPv4 and IPv6 route counts. Takes no parameters",
                (c, p) -> {
                    Map<String, Object> m = new java.util.LinkedHashMap<>();
                    m.put("lookup", lpm != null ? "lpm" : "em");
                    m.put("ipv4", routes4);
                    m.put("ipv6", routes6);
                    return m;
                });
        try {
            elapsedNanos = ForwardLoop.run(eal, out, "L3FWD", lcores, opt.timerPeriod, () -> printStats(true), opt.runSeconds);
        } finally {
            Telemetry.unregister(TELEMETRY_ROUTES);
        }
    }

    /**
     * Per enabled port the packets sent, received and dropped (refused by the port's tx queues, or
     * dropped on receive: not IP, bad header, TTL, too long), then the aggregate, in l2fwd's
     * layout. The last call adds the rate and the reasons for the drops on receive.
     */
    private void printStats(boolean periodic) {
        long[] rx = new long[EthDev.MAX_PORTS], tx = new long[EthDev.MAX_PORTS], dropped = new long[EthDev.MAX_PORTS];
        long[] why = new long[L3fwdLcore.RX_COUNTERS];
        for (L3fwdLcore lc : lcores) {
            for (int s = 0; s < lc.rxPorts.length; s++) {
                int id = lc.rxPorts[s].id();
                rx[id] += lc.rxCounter(s, L3fwdLcore.RX);
                for (int c = L3fwdLcore.NOT_IP; c < L3fwdLcore.RX_COUNTERS; c++) {
                    long v = lc.rxCounter(s, c);
                    dropped[id] += v;
                    why[c] += v;
                }
            }
            for (TxBuffer b : lc.tx) {
                if (b == null) continue;
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
            sb.append(String.format(Locale.ROOT, "L3FWD: dropped on receive: %d not IP, %d bad IP header or checksum, %d TTL expired, "
                    + "%d longer than --max-pkt-len%n", why[L3fwdLcore.NOT_IP], why[L3fwdLcore.BAD_HDR], why[L3fwdLcore.TTL],
                    why[L3fwdLcore.TOO_LONG]));
            sb.append(String.format(Locale.ROOT, "L3FWD: %d packets forwarded in %.2f s: %.2f Mpps%n", totTx, secs,
                    secs > 0 ? totTx / secs / 1e6 : 0.0));
        }
        out.print(sb);
        out.flush();
    }
}
