package org.jpdk.app.testpmd;

import org.jpdk.app.App;
import org.jpdk.eal.BackoffIdleStrategy;
import org.jpdk.eal.Eal;
import org.jpdk.eal.IdleStrategy;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.eal.LcoreException;
import org.jpdk.eal.MemoryException;
import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.EthDev;
import org.jpdk.telemetry.Telemetry;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.EthStats;
import org.jpdk.ethdev.LinkStatus;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.PortConf;
import org.jpdk.ethdev.RxInterruptIdleStrategy;
import org.jpdk.ethdev.StatsPrinter;
import org.jpdk.ethdev.Xstat;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.LinuxException;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * dpdk-testpmd on jpdk: {@code ./jpdk testpmd [EAL args] -- [testpmd args]}. Sets up one mbuf pool
 * and every port, splits the forwarding ports' queues into streams and the streams over the
 * forwarding lcores as DPDK's {@code fwd_config_setup} does, and forwards with the chosen engine
 * until stopped: by Enter, SIGINT/SIGTERM, {@code --run-seconds}, or {@code stop}/{@code quit} at the
 * {@code testpmd> } prompt ({@code -i}). Statistics and summaries keep dpdk-testpmd's layout.
 * Without any argument it forwards between two net_null ports for 10 seconds and prints the rate.
 */
public final class TestPmd {
    static final String NO_FWD_LCORE = "no forwarding lcore: give at least two lcores, e.g. -l 0-1";
    private static final int MAX_DESC_FOR_POOL = 2048;

    final Eal eal;
    final TestPmdOptions opt;
    final InputStream in;
    final PrintStream out, err;
    final FwdConfig cfg = new FwdConfig();
    final int[] workers;
    Mempool<Mbuf> pool;
    /** The forwarding ports (testpmd's fwd_ports_ids). */
    final List<EthDev> fwdPorts = new ArrayList<>();
    FwdEngine engine;
    int nbFwdLcores;
    /** What forwarding lcores do when their streams had nothing to do (--rx-idle, set rx-idle). */
    String rxIdle = "busy";

    // the current forwarding configuration; replaced at each start
    FwdStream[] streams = new FwdStream[0];
    FwdLcore[] lcores = new FwdLcore[0];
    boolean running;
    private final EthStats[] portBase = new EthStats[EthDev.MAX_PORTS];
    private long fwdStartNanos, fwdNanos;
    /** The accumulated forward statistics of the last stop, for the closing Throughput line. */
    private FwdTotals lastTotals = new FwdTotals(0, 0, 0, 0);

    /** The "Accumulated forward statistics for all ports" numbers: what came in and what left. */
    record FwdTotals(long rx, long rxDropped, long tx, long txDropped) {
    }
    private boolean oddPortsWarned;

    // "Throughput (since last show)" state per port, as nic_stats_display's statics
    private final StatsPrinter printer = new StatsPrinter();

    private TestPmd(Eal eal, TestPmdOptions opt, InputStream in, PrintStream out, PrintStream err) {
        this.eal = eal;
        this.opt = opt;
        this.in = in;
        this.out = out;
        this.err = err;
        this.workers = eal.workerLcores();
    }

    /** The {@code ./jpdk testpmd} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "testpmd";
        }

        @Override
        public String summary() {
            return "dpdk-testpmd: forwarding modes, interactive prompt, port statistics";
        }

        @Override
        public void main(String[] args) {
            TestPmd.main(args);
        }
    }

    public static void main(String[] args) {
        int rc = run(args, System.in, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /** Runs testpmd; returns the process exit code. A user mistake is one line on {@code err} and 1. */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        int dd = Arrays.asList(args).indexOf("--");
        List<String> appArgs = dd < 0 ? List.of() : Arrays.asList(args).subList(dd + 1, args.length);
        TestPmdOptions opt;
        try {
            opt = TestPmdOptions.parse(appArgs);
        } catch (IllegalArgumentException e) { // TestPmdOptions.Bad and AppOptions' refusals
            err.println("testpmd: " + e.getMessage());
            return 1;
        }
        if (opt.help) {
            out.print(TestPmdOptions.usage());
            return 0;
        }
        if (args.length == 0) { // the README's first command: a short benchmark that needs no setup
            opt.runSeconds = 10;
            opt.statsPeriod = 1;
        }
        // The JVM runs shutdown hooks on SIGINT/SIGTERM and then halts: hold it until the summary is out.
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            try {
                finished.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "testpmd-exit");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return runWithEal(args, opt, in, out, err);
        } finally {
            out.flush();
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already: the hook is running and has just been released
            }
        }
    }

    private static int runWithEal(String[] args, TestPmdOptions opt, InputStream in, PrintStream out, PrintStream err) {
        Eal eal;
        try {
            eal = Eal.init(args);
        } catch (EalArgumentException e) {
            if (e.helpRequested()) {
                out.print(TestPmdOptions.usage() + "EAL options:\n" + e.getMessage());
                return 0;
            }
            err.println("EAL: error: " + e.getMessage());
            return 1;
        } catch (MemoryException | LinuxException | EthDevException | IllegalStateException e) {
            err.println("EAL: error: " + e.getMessage());
            return 1;
        }
        int rc;
        try {
            rc = new TestPmd(eal, opt, in, out, err).runApp();
        } catch (TestPmdOptions.Bad | EalArgumentException | EthDevException | MemoryException | LinuxException e) {
            err.println("testpmd: " + e.getMessage());
            rc = 1;
        } catch (LcoreException e) {
            err.println("testpmd: " + e.getMessage());
            rc = 1;
        } catch (IllegalArgumentException e) { // a mempool or mbuf size the library refused
            err.println("testpmd: " + e.getMessage());
            rc = 1;
        } finally {
            out.flush();
        }
        try {
            eal.close();
        } catch (RuntimeException e) {
            err.println("EAL: error: " + e.getMessage());
            rc = 1;
        }
        return rc;
    }

    // ------------------------------------------------------------------ setup

    static final String TELEMETRY_FWD = "/testpmd/fwd_mode", TELEMETRY_STREAMS = "/testpmd/streams";

    /**
     * testpmd's own telemetry commands: the forwarding mode (and whether it runs) and each stream's
     * counts. They run on the telemetry thread and read what the control thread last set up (a
     * reference read; the counts are opaque loads), so a reply may lag a reconfiguration by a request.
     */
    private void registerTelemetry() {
        Telemetry.register(TELEMETRY_FWD, "Returns the forwarding mode, lcores and streams. Takes no parameters", (c, p) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("fwd_mode", engine.name());
            m.put("running", running);
            m.put("nb_fwd_lcores", lcores.length);
            m.put("nb_fwd_streams", streams.length);
            return m;
        });
        Telemetry.register(TELEMETRY_STREAMS, "Returns each forwarding stream's ports, queues and counts. Takes no parameters", (c, p) -> {
            List<Map<String, Object>> all = new ArrayList<>();
            for (FwdStream fs : streams) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("rx_port", fs.rxPort.id());
                m.put("rx_queue", fs.rxQueue);
                m.put("tx_port", fs.txPort.id());
                m.put("tx_queue", fs.txQueue);
                m.put("rx_packets", fs.rxPackets());
                m.put("tx_packets", fs.txPackets());
                m.put("fwd_dropped", fs.fwdDropped());
                all.add(m);
            }
            return all;
        });
    }

    private int runApp() {
        if (opt.interactive) out.println("Interactive-mode selected");
        selectPorts();
        if (workers.length == 0) throw new TestPmdOptions.Bad(NO_FWD_LCORE);
        if (opt.nbCores > workers.length) {
            throw new TestPmdOptions.Bad("--nb-cores", Integer.toString(opt.nbCores), "allowed 1.." + workers.length
                    + " (the EAL's worker lcores: " + joinInts(workers) + "; the main lcore runs the prompt)");
        }
        nbFwdLcores = opt.nbCores;
        rxIdle = opt.rxIdle;
        engine = FwdEngines.byName(opt.forwardMode);
        if (!opt.forwardMode.equals("io") || !opt.interactive) {
            out.println("Set " + engine.name() + " packet forwarding mode");
        }
        createPool();
        registerTelemetry();
        cfg.burst = opt.burst;
        cfg.txPktSegLengths = opt.txPkts.clone();
        cfg.txPool = pool;
        for (TestPmdOptions.PeerOption p : opt.ethPeers) cfg.peerAddrs[p.port()] = p.mac();
        try {
            for (EthDev port : EthDev.all()) configurePort(port);
            out.println("Checking link statuses...");
            awaitLinks();
            out.println("Done");
            if (opt.interactive) {
                if (opt.autoStart) {
                    out.println("Start automatic packet forwarding");
                    startForwarding(false);
                }
                new TestPmdPrompt(this).run();
                exit();
                return 0;
            }
            out.println("No commandline core given, start packet forwarding");
            if (!startForwarding(opt.txFirst)) {
                exit();
                return 1;
            }
            out.println("Press enter to exit");
            out.flush();
            waitForEnd();
            exit();
            printThroughput();
            return 0;
        } finally {
            Telemetry.unregister(TELEMETRY_FWD);
            Telemetry.unregister(TELEMETRY_STREAMS);
            closePool();
        }
    }

    /** The forwarding ports: every port, or those in --portmask, at most --nb-ports of them. */
    private void selectPorts() {
        if (EthDev.all().isEmpty() && eal.config().vdevs().isEmpty()) {
            out.println("testpmd: no ports and no --vdev given: using two net_null ports (as --vdev net_null0 --vdev net_null1)");
            EthDev.create("net_null0");
            EthDev.create("net_null1");
        }
        List<EthDev> all = EthDev.all();
        if (all.isEmpty()) throw new TestPmdOptions.Bad("no ports: add one with --vdev, e.g. --vdev net_null0");
        for (EthDev p : all) {
            if (opt.portmask == 0 || (opt.portmask & (1L << p.id())) != 0) fwdPorts.add(p);
        }
        if (opt.portmask != 0) {
            long unknown = opt.portmask;
            for (EthDev p : all) unknown &= ~(1L << p.id());
            if (unknown != 0) {
                throw new TestPmdOptions.Bad("--portmask", "0x" + Long.toHexString(opt.portmask), "port "
                        + Long.numberOfTrailingZeros(unknown) + " does not exist; ports are " + portIds(all));
            }
        }
        if (opt.nbPorts > 0) {
            if (opt.nbPorts > fwdPorts.size()) {
                throw new TestPmdOptions.Bad("--nb-ports", Integer.toString(opt.nbPorts), "allowed 1.." + fwdPorts.size()
                        + " (ports " + portIds(fwdPorts) + ")");
            }
            fwdPorts.subList(opt.nbPorts, fwdPorts.size()).clear();
        }
    }

    /**
     * Waits up to 9 s for every port's link, as dpdk-testpmd's check_all_ports_link_status does,
     * so that a port whose link comes up a little after start (memif, which must first connect)
     * gets the tx-first burst and the first packets.
     */
    private void awaitLinks() {
        long deadline = System.nanoTime() + 9_000_000_000L;
        for (EthDev port : EthDev.all()) {
            while (!port.link().up() && System.nanoTime() - deadline < 0) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void createPool() {
        int n = opt.totalNumMbufs;
        if (n == 0) {
            // enough for every queue's descriptors, a burst in flight per port, and a full cache plus a
            // burst per lcore; testpmd sizes for 32 ports, which costs 300 MiB for nothing here
            int rxd = opt.rxd == 0 ? MAX_DESC_FOR_POOL : opt.rxd, txd = opt.txd == 0 ? MAX_DESC_FOR_POOL : opt.txd;
            long per = EthDev.all().size() * ((long) opt.rxq * rxd + (long) opt.txq * txd + FwdConfig.MAX_PKT_BURST)
                    + (long) eal.lcoreCount() * (opt.mbcache * 3L / 2 + FwdConfig.MAX_PKT_BURST);
            n = (int) Math.min(Integer.MAX_VALUE, Math.max(8191, per));
        }
        int socket = eal.socketId();
        out.printf("testpmd: create a new mbuf pool <mb_pool_0>: n=%d, size=%d, socket=%d%n", n, opt.mbufSize, socket);
        // memory of its own: a memif zero-copy port shows its peer this pool, and nothing else of the process
        pool = Mbuf.createPool("mb_pool_0", n, Math.min(opt.mbcache, n / 2), 0, opt.mbufSize, socket, Mempool.F_DEDICATED_MEMORY);
    }

    private void closePool() {
        if (pool != null) {
            try {
                pool.close();
            } catch (RuntimeException e) {
                err.println("testpmd: mempool mb_pool_0: " + e.getMessage());
            }
            pool = null;
        }
    }

    private void configurePort(EthDev port) {
        out.printf("Configuring Port %d (socket %d)%n", port.id(), socketOf(port));
        DevInfo info = port.info();
        PortConf conf = PortConf.defaults();
        if (opt.rxq > 1 && !opt.disableRss && info.flowTypeRssOffloads() != 0) {
            conf = conf.withRss(opt.rssHf & info.flowTypeRssOffloads(), null);
        }
        if (opt.maxPktLen > 0) conf = conf.withMtu(opt.maxPktLen - 18);
        port.configure(opt.rxq, opt.txq, conf);
        for (int q = 0; q < opt.rxq; q++) port.rxQueueSetup(q, opt.rxd, socketOf(port), pool);
        for (int q = 0; q < opt.txq; q++) port.txQueueSetup(q, opt.txd, socketOf(port));
        port.start();
        out.printf("Port %d: %s%n", port.id(), port.macAddr());
    }

    int socketOf(EthDev port) {
        int s = port.socketId();
        return s < 0 ? eal.socketId() : s;
    }

    // ------------------------------------------------------------------ forwarding configuration

    /** fwd_config_setup: streams for the forwarding ports' queues, then their split over the lcores. */
    private void fwdConfigSetup() {
        int nbPorts = fwdPorts.size();
        List<FwdStream> fs = new ArrayList<>();
        int nbLc = nbFwdLcores;
        if (opt.rxq > 1 && opt.txq > 1) {
            // rss_fwd_config_setup: all ports' queue 0, then all ports' queue 1, ...
            int nbQ = Math.min(opt.rxq, opt.txq);
            for (int q = 0; q < nbQ; q++) {
                for (int p = 0; p < nbPorts; p++) {
                    fs.add(new FwdStream(fwdPorts.get(p), q, fwdPorts.get(txPortIndex(p, nbPorts)), q, cfg));
                }
            }
        } else {
            // simple_fwd_config_setup: one stream per port, no more lcores than ports
            for (int p = 0; p < nbPorts; p++) fs.add(new FwdStream(fwdPorts.get(p), 0, fwdPorts.get(txPortIndex(p, nbPorts)), 0, cfg));
        }
        nbLc = Math.min(nbLc, fs.size());
        streams = fs.toArray(new FwdStream[0]);
        // setup_fwd_config_of_each_lcore: equal contiguous shares, the last lcores take one more
        int perLcore = streams.length <= nbLc ? 1 : streams.length / nbLc;
        int extra = streams.length <= nbLc ? 0 : streams.length % nbLc;
        lcores = new FwdLcore[nbLc];
        int sm = 0;
        for (int lc = 0; lc < nbLc; lc++) {
            int n = lc < nbLc - extra ? perLcore : perLcore + 1;
            lcores[lc] = new FwdLcore(workers[lc], Arrays.copyOfRange(streams, sm, sm + n), engine);
            sm += n;
        }
    }

    /** fwd_topology_tx_port_get for the paired topology: 0↔1, 2↔3, an odd last port with itself. */
    private int txPortIndex(int rxp, int nbPorts) {
        if ((rxp & 1) == 0) {
            if (rxp + 1 < nbPorts) return rxp + 1;
            if (!oddPortsWarned) {
                err.println("\nWarning! port-topology=paired and odd forward ports number, the last port will pair with itself.\n");
                oddPortsWarned = true;
            }
            return rxp;
        }
        return rxp - 1;
    }

    // ------------------------------------------------------------------ start and stop

    /** start_packet_forwarding; returns false when it did not start. */
    boolean startForwarding(boolean txFirst) {
        if (running) {
            err.println("Packet forwarding already started");
            return false;
        }
        for (EthDev p : fwdPorts) {
            if (!p.isStarted()) {
                err.println("Not all ports were started");
                return false;
            }
        }
        fwdConfigSetup();
        printFwdConfig();
        try {
            for (int i = 0; i < lcores.length; i++) lcores[i] = withIdleStrategy(lcores[i]);
        } catch (RuntimeException e) {
            for (FwdLcore lc : lcores) lc.close();
            throw e;
        }
        for (FwdStream fs : streams) engine.streamBegin(fs);
        for (EthDev p : fwdPorts) engine.portBegin(p, cfg);
        printRxTxConfig();
        for (EthDev p : fwdPorts) portBase[p.id()] = p.stats();
        fwdStartNanos = System.nanoTime();
        if (txFirst) sendFirstBursts();
        for (FwdLcore lc : lcores) eal.remoteLaunch(l -> lc.run(), lc.lcoreId);
        running = true;
        return true;
    }

    /** The lcore with the --rx-idle strategy: none (busy), back-off, or a sleep on its streams' rx interrupts. */
    private FwdLcore withIdleStrategy(FwdLcore lc) {
        IdleStrategy idle = switch (rxIdle) {
            case "backoff" -> new BackoffIdleStrategy();
            case "interrupt" -> {
                List<RxInterruptIdleStrategy.Queue> qs = new ArrayList<>();
                for (FwdStream fs : lc.streams) {
                    RxInterruptIdleStrategy.Queue q = new RxInterruptIdleStrategy.Queue(fs.rxPort, fs.rxQueue);
                    if (!qs.contains(q)) qs.add(q);
                }
                yield new RxInterruptIdleStrategy(qs);
            }
            default -> null;
        };
        return new FwdLcore(lc.lcoreId, lc.streams, lc.engine, idle);
    }

    /** For --rx-idle other than busy: each forwarding lcore's CPU use over the run, as measured. */
    private void printLcoreCpu() {
        StringBuilder sb = new StringBuilder(String.format("%n  rx-idle=%s: CPU use of the forwarding lcores (thread CPU time / wall time)%n", rxIdle));
        for (FwdLcore lc : lcores) {
            if (lc.cpuNanos() < 0) continue;
            double pct = lc.wallNanos() > 0 ? 100.0 * lc.cpuNanos() / lc.wallNanos() : 0;
            sb.append(String.format(Locale.ROOT, "  Lcore %d: CPU %.2f%% of a core (%.1f ms CPU in %.2f s)", lc.lcoreId, pct,
                    lc.cpuNanos() / 1e6, lc.wallNanos() / 1e9));
            if (lc.idle instanceof RxInterruptIdleStrategy r) sb.append(String.format(", %d sleeps, %d woken by rx", r.sleeps(), r.rxWakeups()));
            sb.append('\n');
        }
        out.print(sb);
    }

    /** --tx-first / start tx_first: one txonly pass over every stream, on the streams' lcores. */
    private void sendFirstBursts() {
        FwdEngine txonly = FwdEngines.byName("txonly");
        if (txonly == null) {
            err.println("testpmd: warning: tx_first needs the txonly engine, which this build does not have; forwarding without the first burst");
            return;
        }
        Object[] state = new Object[streams.length];
        for (int i = 0; i < streams.length; i++) state[i] = streams[i].engineState;
        for (EthDev p : fwdPorts) txonly.portBegin(p, cfg);
        for (FwdStream fs : streams) txonly.streamBegin(fs);
        for (FwdLcore lc : lcores) eal.remoteLaunch(l -> lc.runOnce(txonly), lc.lcoreId);
        for (FwdLcore lc : lcores) eal.waitLcore(lc.lcoreId);
        for (int i = 0; i < streams.length; i++) streams[i].engineState = state[i];
    }

    /** stop_packet_forwarding: stops the lcores, then prints the forward statistics. */
    void stopForwarding() {
        if (!running) {
            err.println("Packet forwarding not started");
            return;
        }
        out.print("Telling cores to stop...");
        for (FwdLcore lc : lcores) lc.stop();
        out.println();
        out.println("Waiting for lcores to finish...");
        LcoreException failed = null;
        for (FwdLcore lc : lcores) {
            try {
                eal.waitLcore(lc.lcoreId);
            } catch (LcoreException e) {
                if (failed == null) failed = e;
            }
        }
        fwdNanos += System.nanoTime() - fwdStartNanos;
        running = false;
        if (failed != null) err.println("testpmd: " + failed.getMessage());
        lastTotals = printFwdStats();
        if (!rxIdle.equals("busy")) printLcoreCpu();
        for (FwdLcore lc : lcores) lc.close();
        out.println();
        out.println("Done.");
    }

    /** pmd_test_exit: stop forwarding, stop and close every port. */
    void exit() {
        if (running) stopForwarding();
        List<EthDev> ports = EthDev.all();
        for (EthDev p : ports) {
            out.printf("%nStopping port %d...%n", p.id());
            stopPort(p);
        }
        for (EthDev p : ports) {
            out.printf("%nShutting down port %d...%n", p.id());
            closePort(p);
        }
        out.println();
        out.println("Bye...");
    }

    void stopPort(EthDev p) {
        out.println("Stopping ports...");
        p.stop();
        out.println("Done");
    }

    void closePort(EthDev p) {
        out.println("Closing ports...");
        p.close();
        fwdPorts.remove(p);
        out.printf("Port %d is closed%n", p.id());
        out.println("Done");
    }

    /** Non-interactive: until Enter, a signal or --run-seconds; statistics every --stats-period. */
    private void waitForEnd() {
        EnterWatcher enter = new EnterWatcher(in);
        long start = System.nanoTime();
        long period = (long) (opt.statsPeriod * 1e9), runFor = (long) (opt.runSeconds * 1e9);
        long nextStats = start + period;
        while (true) {
            long now = System.nanoTime();
            if (period > 0 && now - nextStats >= 0) {
                printPeriodicStats();
                while (now - nextStats >= 0) nextStats += period;
            }
            if (eal.stopRequested()) {
                err.println("\nSignal received, preparing to exit...");
                return;
            }
            if (enter.pressed) return;
            if (runFor > 0 && now - start >= runFor) return;
            long sleep = 50_000_000L;
            if (period > 0) sleep = Math.min(sleep, nextStats - now);
            if (runFor > 0) sleep = Math.min(sleep, start + runFor - now);
            if (sleep > 0) {
                try {
                    Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Reads stdin on a daemon thread; a newline ends the run, end of file does not (nohup, </dev/null). */
    private static final class EnterWatcher implements Runnable {
        private final InputStream in;
        volatile boolean pressed;

        EnterWatcher(InputStream in) {
            this.in = in;
            Thread t = new Thread(this, "testpmd-stdin");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void run() {
            try {
                int c;
                while ((c = in.read()) >= 0) {
                    if (c == '\n') {
                        pressed = true;
                        return;
                    }
                }
            } catch (IOException e) {
                // no usable stdin: only a signal or --run-seconds ends the run
            }
        }
    }

    // ------------------------------------------------------------------ displays

    void printFwdConfig() {
        out.printf("%s packet forwarding - ports=%d - cores=%d - streams=%d - NUMA support enabled, MP allocation mode: native%n",
                engine.name(), fwdPorts.size(), lcores.length, streams.length);
        for (FwdLcore lc : lcores) {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format("Logical Core %d (socket %d) forwards packets on %d streams:", lc.lcoreId,
                    eal.socketId(lc.lcoreId), lc.streams.length));
            for (FwdStream fs : lc.streams) {
                sb.append(String.format("%n  RX P=%d/Q=%d (socket %d) -> TX P=%d/Q=%d (socket %d) peer=%s", fs.rxPort.id(),
                        fs.rxQueue, socketOf(fs.rxPort), fs.txPort.id(), fs.txQueue, socketOf(fs.txPort),
                        cfg.peerAddrs[fs.txPort.id()]));
            }
            out.println(sb);
        }
        out.println();
    }

    /** "show config fwd": the configuration the next start would use (as testpmd, which sets it up). */
    void showConfigFwd() {
        if (!running) fwdConfigSetup();
        printFwdConfig();
    }

    void printRxTxConfig() {
        out.printf("  %s packet forwarding packets/burst=%d%n", engine.name(), cfg.burst);
        if (engine.name().equals("txonly") || engine.name().equals("flowgen")) {
            out.printf("  packet len=%d - nb packet segments=%d%n", cfg.txPktLength(), cfg.txPktSegLengths.length);
        }
        out.printf("  nb forwarding cores=%d - nb forwarding ports=%d%n", nbFwdLcores, fwdPorts.size());
        for (EthDev p : EthDev.all()) {
            PortConf c = p.conf();
            out.printf("  port %d: RX queue number: %d Tx queue number: %d%n", p.id(), p.nbRxQueues(), p.nbTxQueues());
            out.printf("    Rx offloads=0x%x Tx offloads=0x%x%n", c.rxOffloads(), c.txOffloads());
            out.println("    RX queue: 0");
            out.printf("      RX desc=%d - RX free threshold=0%n", opt.rxd);
            out.println("      RX threshold registers: pthresh=0 hthresh=0  wthresh=0");
            out.println("      RX Offloads=0x0");
            out.println("    TX queue: 0");
            out.printf("      TX desc=%d - TX free threshold=0%n", opt.txd);
            out.println("      TX threshold registers: pthresh=0 hthresh=0  wthresh=0");
            out.println("      TX offloads=0x0 - TX RS bit threshold=0");
        }
    }

    /** print_stats: the forwarding ports' NIC statistics, the screen cleared first on a terminal. */
    private void printPeriodicStats() {
        StringBuilder sb = new StringBuilder();
        if (isTerminal()) sb.append(StatsPrinter.CLEAR_SCREEN);
        sb.append("\nPort statistics ====================================");
        for (EthDev p : fwdPorts) sb.append(nicStats(p));
        out.print(sb);
        out.flush();
    }

    boolean isTerminal() {
        return StatsPrinter.isTerminal(out);
    }

    /** nic_stats_display. */
    String nicStats(EthDev p) {
        return printer.nicStats(p);
    }

    void clearPortStats(EthDev p) {
        p.statsReset();
        int id = p.id();
        printer.forget(id);
        portBase[id] = null;
        out.printf("%n  NIC statistics for port %d cleared%n", id);
    }

    /** fwd_stats_display: per stream (when streams outnumber ports), per port, then the sum, which it returns. */
    FwdTotals printFwdStats() {
        boolean csum = engine.name().equals("csum");
        long[] txDropped = new long[EthDev.MAX_PORTS], badIp = new long[EthDev.MAX_PORTS], badL4 = new long[EthDev.MAX_PORTS];
        StringBuilder sb = new StringBuilder();
        for (FwdStream fs : streams) {
            if (streams.length > fwdPorts.size()) appendStreamStats(sb, fs, csum);
            txDropped[fs.txPort.id()] += fs.fwdDropped();
            badIp[fs.rxPort.id()] += fs.rxBadIpCsum();
            badL4[fs.rxPort.id()] += fs.rxBadL4Csum();
        }
        long totRx = 0, totTx = 0, totRxDropped = 0, totTxDropped = 0, totNombuf = 0;
        String border = "----------------------";
        for (EthDev p : fwdPorts) {
            int id = p.id();
            if (p.state() == EthDev.State.CLOSED) continue;
            EthStats s = p.stats();
            EthStats b = portBase[id];
            if (b != null) s.subtract(b);
            long rx = s.ipackets, tx = s.opackets, missed = s.imissed, oerr = s.oerrors, nombuf = s.rxNombuf, ierr = s.ierrors;
            totRx += rx;
            totTx += tx;
            totRxDropped += missed;
            totTxDropped += txDropped[id] + oerr;
            totNombuf += nombuf;
            sb.append(String.format("%n  %s Forward statistics for port %-2d %s%n", border, id, border));
            sb.append(String.format("  RX-packets: %-14d RX-dropped: %-14dRX-total: %d%n", rx, missed, rx + missed));
            if (csum) {
                sb.append(String.format("  Bad-ipcsum: %-14d Bad-l4csum: %-14dBad-outer-l4csum: %-14d%n", badIp[id], badL4[id], 0));
                sb.append(String.format("  Bad-outer-ipcsum: %-14d%n", 0));
            }
            if (ierr + nombuf > 0) {
                sb.append(String.format("  RX-error: %d%n", ierr));
                sb.append(String.format("  RX-nombufs: %-14d%n", nombuf));
            }
            sb.append(String.format("  TX-packets: %-14d TX-dropped: %-14dTX-total: %d%n", tx, txDropped[id], tx + txDropped[id]));
            sb.append("  ").append(border).append("--------------------------------").append(border).append('\n');
        }
        String acc = "+++++++++++++++";
        sb.append(String.format("%n  %s Accumulated forward statistics for all ports%s%n", acc, acc));
        sb.append(String.format("  RX-packets: %-14d RX-dropped: %-14dRX-total: %d%n", totRx, totRxDropped, totRx + totRxDropped));
        sb.append(String.format("  TX-packets: %-14d TX-dropped: %-14dTX-total: %d%n", totTx, totTxDropped, totTx + totTxDropped));
        if (totNombuf > 0) sb.append(String.format("  RX-nombufs: %-14d%n", totNombuf));
        sb.append("  ").append(acc).append("++++++++++++++++++++++++++++++++++++++++++++++").append(acc).append('\n');
        out.print(sb);
        return new FwdTotals(totRx, totRxDropped, totTx, totTxDropped);
    }

    private static void appendStreamStats(StringBuilder sb, FwdStream fs, boolean csum) {
        if (fs.rxPackets() == 0 && fs.txPackets() == 0 && fs.fwdDropped() == 0) return;
        sb.append(String.format("%n  ------- Forward Stats for RX Port=%2d/Queue=%2d -> TX Port=%2d/Queue=%2d -------%n",
                fs.rxPort.id(), fs.rxQueue, fs.txPort.id(), fs.txQueue));
        sb.append(String.format("  RX-packets: %-14d TX-packets: %-14d TX-dropped: %-14d", fs.rxPackets(), fs.txPackets(), fs.fwdDropped()));
        if (csum) {
            sb.append(String.format("  RX- bad IP checksum: %-14d  Rx- bad L4 checksum: %-14d Rx- bad outer L4 checksum: %-14d%n",
                    fs.rxBadIpCsum(), fs.rxBadL4Csum(), 0));
            sb.append(String.format(" RX- bad outer IP checksum: %-14d%n", 0));
        } else {
            sb.append('\n');
        }
    }

    /**
     * The final line of a non-interactive run, rates over the forwarding time: the packets that
     * left the ports (the summary's accumulated TX-packets: what the drivers sent, not what they
     * took) and beside them those dropped (its TX-dropped: refused by a port, or taken and counted
     * as an error, as a port whose interface is gone does). rxonly reports what it received.
     */
    private void printThroughput() {
        FwdTotals t = lastTotals;
        double secs = fwdNanos / 1e9;
        if (engine.name().equals("rxonly")) {
            out.printf(Locale.ROOT, "Throughput: %.2f Mpps received (%d packets in %.2f s)%n", mpps(t.rx(), secs), t.rx(), secs);
            return;
        }
        String verb = engine.name().equals("txonly") || engine.name().equals("flowgen") ? "sent" : "forwarded";
        out.printf(Locale.ROOT, "Throughput: %.2f Mpps %s, %.2f Mpps dropped (%d packets %s, %d dropped in %.2f s)%n",
                mpps(t.tx(), secs), verb, mpps(t.txDropped(), secs), t.tx(), verb, t.txDropped(), secs);
    }

    private static double mpps(long packets, double secs) {
        return secs > 0 ? packets / secs / 1e6 : 0.0;
    }

    /** show port info: port_infos_display's layout, for what jpdk ports have. */
    void showPortInfo(EthDev p) {
        DevInfo info = p.info();
        LinkStatus link = p.link();
        StringBuilder sb = new StringBuilder();
        String border = "*********************";
        sb.append(String.format("%n%s Infos for port %-2d %s%n", border, p.id(), border));
        sb.append("MAC address: ").append(p.macAddr()).append('\n');
        sb.append("Device name: ").append(p.name()).append('\n');
        sb.append("Driver name: ").append(info.driverName()).append('\n');
        sb.append("Firmware-version: not available\n");
        String devargs = p.devargs().toString();
        int comma = devargs.indexOf(',');
        sb.append("Devargs: ").append(comma < 0 ? "" : devargs.substring(comma + 1)).append('\n');
        sb.append("Connect to socket: ").append(socketOf(p)).append('\n');
        sb.append("memory allocation on the socket: ").append(socketOf(p)).append('\n');
        sb.append("Link status: ").append(link.up() ? "up" : "down").append('\n');
        sb.append("Link speed: ").append(link.speedMbps() == LinkStatus.SPEED_UNKNOWN ? "Unknown"
                : link.speedMbps() % 1000 == 0 ? link.speedMbps() / 1000 + " Gbps" : link.speedMbps() + " Mbps").append('\n');
        sb.append("Link duplex: ").append(link.fullDuplex() ? "full-duplex" : "half-duplex").append('\n');
        sb.append("Autoneg status: ").append(link.autoneg() ? "On" : "Off").append('\n');
        sb.append("MTU: ").append(p.mtu()).append('\n');
        sb.append("Promiscuous mode: ").append(p.promiscuous() ? "enabled" : "disabled").append('\n');
        sb.append("Allmulticast mode: ").append(p.allMulticast() ? "enabled" : "disabled").append('\n');
        sb.append("Maximum number of MAC addresses: 1\n");
        if (info.hashKeySize() > 0) sb.append("Hash key size in bytes: ").append(info.hashKeySize()).append('\n');
        if (info.retaSize() > 0) sb.append("Redirection table size: ").append(info.retaSize()).append('\n');
        if (info.flowTypeRssOffloads() == 0) {
            sb.append("No RSS offload flow type is supported.\n");
        } else {
            sb.append("Supported RSS offload flow types:\n  ").append(Offloads.rssNames(info.flowTypeRssOffloads())).append('\n');
            sb.append("RSS hash functions in use: ").append(p.rssHashFunctions() == 0 ? "none" : Offloads.rssNames(p.rssHashFunctions())).append('\n');
        }
        sb.append("Minimum size of RX buffer: ").append(info.minRxBufSize()).append('\n');
        sb.append("Maximum configurable length of RX packet: ").append(info.maxRxPktLen()).append('\n');
        sb.append("Current number of RX queues: ").append(p.nbRxQueues()).append('\n');
        sb.append("Max possible RX queues: ").append(info.maxRxQueues()).append('\n');
        sb.append("Max possible number of RXDs per queue: ").append(info.maxDesc()).append('\n');
        sb.append("Min possible number of RXDs per queue: ").append(info.minDesc()).append('\n');
        sb.append("Current number of TX queues: ").append(p.nbTxQueues()).append('\n');
        sb.append("Max possible TX queues: ").append(info.maxTxQueues()).append('\n');
        sb.append("Max possible number of TXDs per queue: ").append(info.maxDesc()).append('\n');
        sb.append("Min possible number of TXDs per queue: ").append(info.minDesc()).append('\n');
        sb.append("Rx offload capabilities: ").append(info.rxOffloadCapa() == 0 ? "none" : Offloads.rxNames(info.rxOffloadCapa())).append('\n');
        sb.append("Tx offload capabilities: ").append(info.txOffloadCapa() == 0 ? "none" : Offloads.txNames(info.txOffloadCapa())).append('\n');
        out.print(sb);
    }

    void showPortXstats(EthDev p) {
        StringBuilder sb = new StringBuilder(String.format("###### NIC extended statistics for port %-2d%n", p.id()));
        for (Xstat x : p.xstats()) sb.append(x.name()).append(": ").append(x.value()).append('\n');
        out.print(sb);
    }

    static String portIds(List<EthDev> ports) {
        return String.join(",", ports.stream().map(p -> Integer.toString(p.id())).toList());
    }

    static String joinInts(int[] a) {
        return String.join(",", Arrays.stream(a).mapToObj(Integer::toString).toList());
    }

    MacAddr peer(int port) {
        return cfg.peerAddrs[port];
    }
}
