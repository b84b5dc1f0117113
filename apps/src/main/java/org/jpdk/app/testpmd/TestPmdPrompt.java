package org.jpdk.app.testpmd;

import org.jpdk.bpf.BpfException;
import org.jpdk.bpf.BpfProgram;
import org.jpdk.bpf.ElfLoader;
import org.jpdk.ethdev.BpfEth;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.MacAddr;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;

/**
 * The {@code testpmd> } prompt: reads a command, runs it, prints the prompt again; {@code quit},
 * end of input, Ctrl-C or SIGINT/SIGTERM end it. Lines come from JLine (editing, history) when
 * stdin is a terminal, else plain lines, echoed after the prompt as dpdk-testpmd's cmdline does.
 * A reader thread hands each line over and waits until the command has run, so output and prompt
 * never interleave, while this thread keeps watching for a signal.
 */
final class TestPmdPrompt {
    static final String PROMPT = "testpmd> ";
    private static final String QUIT = "\u0000quit";

    private final TestPmd t;
    private final SynchronousQueue<String> lines = new SynchronousQueue<>();
    private final SynchronousQueue<Boolean> next = new SynchronousQueue<>();

    TestPmdPrompt(TestPmd t) {
        this.t = t;
    }

    /** A source of command lines. */
    interface LineSource extends AutoCloseable {
        /** The next line, or null at end of input or on Ctrl-C. */
        String readLine() throws IOException;

        @Override
        default void close() {
        }
    }

    void run() {
        LineSource src = t.in == System.in && t.isTerminal() ? TestPmdTerminal.open(t.out) : null;
        if (src == null) src = plain();
        final LineSource source = src;
        Thread reader = new Thread(() -> readLoop(source), "testpmd-prompt");
        reader.setDaemon(true);
        reader.start();
        try {
            while (true) {
                String line;
                line = lines.poll(100, TimeUnit.MILLISECONDS);
                if (t.eal.stopRequested()) {
                    t.err.println("\nSignal received, preparing to exit...");
                    return;
                }
                if (line == null) continue;
                boolean quit = line == QUIT || execute(line.trim());
                t.out.flush();
                if (quit) return;
                next.put(Boolean.TRUE); // the reader is on its way to take(): a plain offer could miss it
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            next.offer(Boolean.FALSE);
            source.close();
        }
    }

    private void readLoop(LineSource src) {
        try {
            while (true) {
                String line;
                try {
                    line = src.readLine();
                } catch (IOException e) {
                    line = null;
                }
                lines.put(line == null ? QUIT : line);
                if (line == null || !next.take()) return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private LineSource plain() {
        BufferedReader r = new BufferedReader(new InputStreamReader(t.in, StandardCharsets.UTF_8));
        return () -> {
            t.out.print(PROMPT);
            t.out.flush();
            String line = r.readLine();
            t.out.println(line == null ? "" : line);
            return line;
        };
    }

    /** Runs one command; returns true for quit. */
    boolean execute(String line) {
        if (line.isEmpty() || line.startsWith("#")) return false;
        String[] w = line.split("\\s+");
        try {
            switch (w[0]) {
                case "quit" -> {
                    return true;
                }
                case "help" -> help();
                case "start" -> start(w);
                case "stop" -> t.stopForwarding();
                case "show" -> show(w);
                case "clear" -> clear(w);
                case "set" -> set(w);
                case "port" -> port(w);
                case "bpf-load" -> bpfLoad(w);
                case "bpf-unload" -> bpfUnload(w);
                default -> t.err.println("Command not found");
            }
        } catch (BadArguments e) {
            t.err.println("Bad arguments" + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        } catch (EthDevException | IllegalArgumentException e) {
            t.err.println("testpmd: " + e.getMessage());
        }
        return false;
    }

    /** A known command with arguments it does not take. */
    private static final class BadArguments extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadArguments(String what) {
            super(what, null, false, false);
        }
    }

    private static void need(String[] w, int n, String usage) {
        if (w.length != n) throw new BadArguments("usage: " + usage);
    }

    private void start(String[] w) {
        if (w.length == 1) {
            t.startForwarding(false);
        } else if (w.length == 2 && w[1].equals("tx_first")) {
            t.startForwarding(true);
        } else {
            throw new BadArguments("usage: start | start tx_first");
        }
    }

    private void show(String[] w) {
        String usage = "show port stats|info|xstats all|<port> | show config fwd | show fwd stats all";
        if (w.length == 3 && w[1].equals("config") && w[2].equals("fwd")) {
            t.showConfigFwd();
        } else if (w.length == 3 && w[1].equals("config") && w[2].equals("rxtx")) {
            t.printRxTxConfig();
        } else if (w.length == 4 && w[1].equals("fwd") && w[2].equals("stats") && w[3].equals("all")) {
            t.printFwdStats();
        } else if (w.length == 4 && w[1].equals("port")) {
            List<EthDev> ports = ports(w[3]);
            if (ports == null) return;
            switch (w[2]) {
                case "stats" -> {
                    StringBuilder sb = new StringBuilder();
                    for (EthDev p : ports) sb.append(t.nicStats(p));
                    t.out.print(sb);
                }
                case "info" -> ports.forEach(t::showPortInfo);
                case "xstats" -> ports.forEach(t::showPortXstats);
                default -> throw new BadArguments("usage: " + usage);
            }
        } else {
            throw new BadArguments("usage: " + usage);
        }
    }

    private void clear(String[] w) {
        need(w, 4, "clear port stats all|<port>");
        if (!w[1].equals("port") || !w[2].equals("stats")) throw new BadArguments("usage: clear port stats all|<port>");
        List<EthDev> ports = ports(w[3]);
        if (ports != null) ports.forEach(t::clearPortStats);
    }

    private void set(String[] w) {
        if (w.length < 2) throw new BadArguments("usage: set fwd|burst|nbcore|eth-peer|txpkts|rx-idle ...");
        switch (w[1]) {
            case "fwd" -> {
                if (w.length < 3 || w.length > 4 || (w.length == 4 && !w[3].equals("retry"))) {
                    throw new BadArguments("usage: set fwd " + String.join("|", FwdEngines.names()));
                }
                if (w.length == 4) throw new BadArguments("set fwd ... retry: tx retry is not supported");
                FwdEngine e = FwdEngines.byName(w[2]);
                if (e == null) {
                    throw new BadArguments("unknown forwarding mode '" + w[2] + "'; modes: " + String.join(" ", FwdEngines.names()));
                }
                // as testpmd: a running configuration keeps its engine until the next start
                t.engine = e;
                t.out.println("Set " + e.name() + " packet forwarding mode");
            }
            case "burst" -> {
                need(w, 3, "set burst N");
                int n = number(w[2]);
                if (n < 1 || n > FwdConfig.MAX_PKT_BURST) {
                    t.err.println("nb pkt per burst must be >= 1 and <= " + FwdConfig.MAX_PKT_BURST);
                    return;
                }
                if (stoppedFirst()) return;
                t.cfg.burst = n;
                t.out.println("Number of packets per burst set to " + n);
            }
            case "rx-idle" -> { // jpdk's
                need(w, 3, "set rx-idle " + String.join("|", TestPmdOptions.RX_IDLE_MODES));
                String mode;
                try {
                    mode = TestPmdOptions.rxIdle("rx-idle", w[2]);
                } catch (TestPmdOptions.Bad e) {
                    throw new BadArguments(e.getMessage());
                }
                if (stoppedFirst()) return;
                t.rxIdle = mode;
                t.out.println("Rx idle mode set to " + mode);
            }
            case "nbcore" -> {
                need(w, 3, "set nbcore N");
                int n = number(w[2]);
                if (stoppedFirst()) return;
                if (n < 1 || n > t.workers.length) {
                    t.err.println("nb cores " + n + " out of configured cores " + t.workers.length);
                    return;
                }
                t.nbFwdLcores = n;
                t.out.println("Number of forwarding cores set to " + n);
            }
            case "eth-peer" -> {
                need(w, 4, "set eth-peer <port> XX:XX:XX:XX:XX:XX");
                int port = number(w[2]);
                if (port < 0 || port >= EthDev.count()) {
                    t.err.println("Error: Invalid port number " + port);
                    return;
                }
                MacAddr mac;
                try {
                    mac = MacAddr.parse(w[3]);
                } catch (IllegalArgumentException e) {
                    t.err.println("Error: Invalid ethernet address: " + w[3]);
                    return;
                }
                if (stoppedFirst()) return;
                t.cfg.peerAddrs[port] = mac;
            }
            case "txpkts" -> {
                need(w, 3, "set txpkts X[,Y]*");
                int[] segs;
                try {
                    segs = TestPmdOptions.txpkts("txpkts", w[2]);
                } catch (TestPmdOptions.Bad e) {
                    t.err.println("Bad arguments: " + e.getMessage());
                    return;
                }
                int room = t.pool.eltSize() - org.jpdk.mbuf.Mbuf.DEFAULT_HEADROOM;
                for (int s : segs) {
                    if (s > room) {
                        t.err.println("Bad arguments: txpkts=" + w[2] + ": a segment of " + s + " bytes does not fit the "
                                + room + " bytes of data room of mb_pool_0");
                        return;
                    }
                }
                if (stoppedFirst()) return;
                t.cfg.txPktSegLengths = segs;
            }
            default -> throw new BadArguments("usage: set fwd|burst|nbcore|eth-peer|txpkts ...");
        }
    }

    private boolean stoppedFirst() {
        if (t.running) {
            t.err.println("Please stop forwarding first");
            return true;
        }
        return false;
    }

    private void port(String[] w) {
        need(w, 3, "port start|stop|close all|<port>");
        List<EthDev> ports = ports(w[2]);
        if (ports == null) return;
        switch (w[1]) {
            case "stop" -> {
                if (t.running) {
                    for (EthDev p : ports) {
                        if (t.fwdPorts.contains(p)) {
                            t.err.println("Please remove port " + p.id() + " from forwarding configuration.");
                            return;
                        }
                    }
                }
                t.out.println("Stopping ports...");
                for (EthDev p : ports) p.stop();
                t.out.println("Done");
            }
            case "start" -> {
                for (EthDev p : ports) {
                    if (p.isStarted()) continue;
                    p.start();
                    t.out.printf("Port %d: %s%n", p.id(), p.macAddr());
                }
                t.out.println("Checking link statuses...");
                t.out.println("Done");
            }
            case "close" -> {
                for (EthDev p : ports) {
                    if (p.isStarted()) {
                        t.err.println("Port " + p.id() + " is now not stopped");
                        t.err.println("Please close port " + p.id() + " after stopping it");
                        return;
                    }
                }
                for (EthDev p : ports) t.closePort(p);
            }
            default -> throw new BadArguments("usage: port start|stop|close all|<port>");
        }
    }

    /**
     * {@code bpf-load rx|tx PORT QUEUE FLAGS FILE}, as dpdk-testpmd's: section .text of an eBPF ELF
     * object as a queue's callback. FLAGS: J runs the compiled class (DPDK's JIT), M passes the mbuf
     * (else the packet's data), - neither. Prints DPDK's "rc:message" line.
     */
    private void bpfLoad(String[] w) {
        String usage = "bpf-load rx|tx <port> <queue> <J|M|-> <file>";
        need(w, 6, usage);
        boolean rx = rxTx(w[1], usage);
        List<EthDev> ports = ports(w[2]);
        if (ports == null || ports.size() != 1) return;
        int flags = 0;
        BpfProgram.Arg arg = BpfProgram.Arg.PTR;
        for (char c : w[4].toCharArray()) {
            switch (c) {
                case 'J' -> flags |= BpfEth.F_JIT;
                case 'M' -> arg = BpfProgram.Arg.MBUF;
                case '-' -> {
                }
                default -> throw new BadArguments("unknown flag '" + c + "'; flags are J (compiled), M (mbuf argument), - (none)");
            }
        }
        try {
            BpfProgram prog = ElfLoader.load(Path.of(w[5]), ".text", arg, List.of());
            int q = number(w[3]);
            if (rx) BpfEth.rxLoad(ports.getFirst(), q, prog, flags);
            else BpfEth.txLoad(ports.getFirst(), q, prog, flags);
            t.out.println("0:Success");
        } catch (BpfException e) {
            t.err.println(e.getMessage());
            t.out.println("-22:Invalid argument");
        }
    }

    /** {@code bpf-unload rx|tx PORT QUEUE}. */
    private void bpfUnload(String[] w) {
        String usage = "bpf-unload rx|tx <port> <queue>";
        need(w, 4, usage);
        boolean rx = rxTx(w[1], usage);
        List<EthDev> ports = ports(w[2]);
        if (ports == null || ports.size() != 1) return;
        int q = number(w[3]);
        if (rx) BpfEth.rxUnload(ports.getFirst(), q);
        else BpfEth.txUnload(ports.getFirst(), q);
    }

    private static boolean rxTx(String s, String usage) {
        if (s.equals("rx")) return true;
        if (s.equals("tx")) return false;
        throw new BadArguments("usage: " + usage);
    }

    /** "all" or one port id; null (after a message) for an invalid port. */
    private List<EthDev> ports(String arg) {
        if (arg.equals("all")) return EthDev.all();
        int id = number(arg);
        List<EthDev> all = EthDev.all();
        for (EthDev p : all) if (p.id() == id) return List.of(p);
        t.err.println("Invalid port " + id);
        t.err.println("Valid ports: " + (all.isEmpty() ? "none" : TestPmd.portIds(all)));
        return null;
    }

    private static int number(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new BadArguments("'" + s + "' is not a number");
        }
    }

    private void help() {
        List<String> l = new ArrayList<>(List.of(
                "",
                "Commands (as dpdk-testpmd's):",
                "",
                "    start                               start forwarding",
                "    start tx_first                      send one txonly burst per stream first, then forward",
                "    stop                                stop forwarding and show the forward statistics",
                "    show port stats|info|xstats all|P   port statistics, information, extended statistics",
                "    show config fwd                     the streams and lcores of the forwarding configuration",
                "    show config rxtx                    queues, descriptors and offloads",
                "    show fwd stats all                  forward statistics since start",
                "    clear port stats all|P              zero the port statistics",
                "    set fwd MODE                        forwarding mode: " + String.join(" ", FwdEngines.names()),
                "    set burst N                         packets per burst, 1.." + FwdConfig.MAX_PKT_BURST,
                "    set nbcore N                        forwarding lcores, 1.." + t.workers.length,
                "    set eth-peer P XX:XX:XX:XX:XX:XX    the peer MAC address of port P",
                "    set txpkts X[,Y]*                   segment lengths of generated packets",
                "    set rx-idle busy|backoff|interrupt  what idle forwarding lcores do (jpdk's; stop shows their CPU use)",
                "    port stop|start|close all|P         stop, start or close ports",
                "    bpf-load rx|tx P Q J|M|- FILE       run section .text of an eBPF ELF object on queue Q (J compiled, M mbuf argument)",
                "    bpf-unload rx|tx P Q                remove it",
                "    quit                                stop everything and exit (also Ctrl-C, Ctrl-D)",
                ""));
        t.out.println(String.join("\n", l));
    }
}
