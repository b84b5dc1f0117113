package org.jpdk.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * {@code ./jpdk bench memif}: net_memif between two testpmds, ours and DPDK's (Debian's
 * dpdk-testpmd 22.11, its own net_memif), in every pairing in one run: a client in txonly mode
 * floods 64-byte frames into a server in rxonly mode, copy mode, jpdk→jpdk, jpdk→DPDK, DPDK→jpdk
 * and DPDK→DPDK, and jpdk→jpdk with the client in zero-copy mode. The figure is the receiver's
 * median per-second Rx-pps over {@value #ROUNDS} rounds in which the pairings take turns, after
 * {@value #WARMUP_PERIODS} seconds of warm-up in each run: cross-process rates on a
 * machine of two CPUs shared with other jobs come in two modes (the two lcores on separate CPUs,
 * or not), so one short run says little and interleaving spreads a change of load over all.
 *
 * <p>Same settings on both sides of every pair: one queue pair, memif's defaults (rings of 1024
 * slots, 2048-byte buffers), burst 32, 8192 mbufs, a socket file in a temporary directory, and
 * each side's memory as it runs by default: hugepages (DPDK {@code --in-memory -m 128}; jpdk's
 * EAL default). Zero-copy needs them: the server reads each frame where the client's mbuf is, in
 * a pool of 17 MiB, which on 4 KiB pages costs a TLB miss a frame. Both copy modes keep their own
 * region where their design puts it: DPDK's in a memfd of 4 KiB pages whatever its EAL uses,
 * jpdk's in a dedicated memzone of EAL memory (hugepages). Cores: the sender forwards on CPU 0 ({@code -l 0,1
 * --main-lcore 1}), the receiver on CPU 1 ({@code -l 0,1}); main lcores only print statistics.
 * The server starts first (DPDK's client connects once and never retries); each testpmd waits for
 * its link before it forwards. It prints {@code BENCH memif_<from>_<to>_mpps} for each pairing
 * ({@code memif_jpdk_jpdk_zc_mpps} for zero-copy) and the ratios of those with jpdk in them to
 * DPDK→DPDK, and of zero-copy to copy.
 */
public final class MemifBench {
    static final int SECONDS = 10;
    static final int ROUNDS = 3;
    /** Seconds left out after the first with traffic: a JVM sender is still compiling its loop then. */
    static final int WARMUP_PERIODS = 3;
    private static final String FORWARDING = "forwards packets on";
    private static final Pattern RX = Pattern.compile("^\\s*Rx-pps:\\s+(\\d+)", Pattern.MULTILINE);
    private static final Pattern TX = Pattern.compile("^\\s*Tx-pps:\\s+(\\d+)", Pattern.MULTILINE);
    private static final List<String> SENDER_LCORES = List.of("-l", "0,1", "--main-lcore", "1");
    private static final List<String> RECEIVER_LCORES = List.of("-l", "0,1");

    private MemifBench() {
    }

    enum Side { JPDK, DPDK }

    /** One pairing: the sender (client, txonly) and the receiver (server, rxonly). */
    record Pair(String name, Side tx, Side rx, boolean zeroCopy) {
    }

    /** The {@code ./jpdk bench memif} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "memif";
        }

        @Override
        public String summary() {
            return "net_memif txonly to rxonly, every pairing of jpdk and dpdk-testpmd, copy and zero-copy";
        }

        @Override
        public void main(String[] args) throws Exception {
            MemifBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            System.err.println("jpdk bench memif: takes no arguments, not " + String.join(" ", args));
            System.exit(1);
        }
        Path dpdk = Bench.findProgram("dpdk-testpmd");
        if (dpdk == null) System.out.println("# dpdk-testpmd not found (apt-get install dpdk-dev): DPDK's figures are missing");
        List<Pair> pairs = new ArrayList<>(List.of(new Pair("jpdk_jpdk", Side.JPDK, Side.JPDK, false)));
        if (dpdk != null) {
            pairs.add(new Pair("jpdk_dpdk", Side.JPDK, Side.DPDK, false));
            pairs.add(new Pair("dpdk_jpdk", Side.DPDK, Side.JPDK, false));
            pairs.add(new Pair("dpdk_dpdk", Side.DPDK, Side.DPDK, false));
        }
        pairs.add(new Pair("jpdk_jpdk_zc", Side.JPDK, Side.JPDK, true));
        Path dir = Files.createTempDirectory("jpdkbench-memif");
        Thread cleanup = new Thread(() -> AfPacketBench.removeAll(dir), "memif-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        Map<String, List<Double>> rates = new LinkedHashMap<>();
        try {
            int run = 0;
            for (int round = 0; round < ROUNDS; round++) {
                for (Pair p : pairs) rates.computeIfAbsent(p.name, k -> new ArrayList<>()).addAll(run(p, dir, dpdk, ++run));
            }
        } finally {
            AfPacketBench.removeAll(dir);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        Map<String, Double> med = new LinkedHashMap<>();
        for (var e : rates.entrySet()) {
            med.put(e.getKey(), AfPacketBench.median(e.getValue()));
            Bench.line("memif_" + e.getKey() + "_mpps", med.get(e.getKey()), "Mpps");
        }
        double base = med.getOrDefault("dpdk_dpdk", Double.NaN);
        for (String p : List.of("jpdk_jpdk", "jpdk_dpdk", "dpdk_jpdk", "jpdk_jpdk_zc")) {
            Bench.ratio("memif_" + p + "_vs_dpdk_dpdk", med.getOrDefault(p, Double.NaN), base);
        }
        Bench.ratio("memif_jpdk_jpdk_zc_vs_copy", med.getOrDefault("jpdk_jpdk_zc", Double.NaN), med.getOrDefault("jpdk_jpdk", Double.NaN));
    }

    /** One run of a pairing; the receiver's steady per-second rates in Mpps (none if a side failed). */
    static List<Double> run(Pair p, Path dir, Path dpdk, int n) throws InterruptedException {
        Path sock = dir.resolve("memif" + n + ".sock");
        String what = p.name + (p.zeroCopy ? "" : " copy") + ": " + name(p.tx) + " client txonly -> " + name(p.rx) + " server rxonly";
        AfPacketBench.Peer receiver = AfPacketBench.Peer.start(command(p.rx, "server", sock, false, RECEIVER_LCORES, "rxonly", dpdk,
                "rx" + n), name(p.rx) + " receiver");
        AfPacketBench.Peer sender = null;
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(sock) && System.nanoTime() < end) Thread.sleep(20);
            if (!Files.exists(sock)) return AfPacketBench.failed(what, receiver);
            sender = AfPacketBench.Peer.start(command(p.tx, "client", sock, p.zeroCopy, SENDER_LCORES, "txonly", dpdk, "tx" + n),
                    name(p.tx) + " sender");
            if (!receiver.await(FORWARDING, 30)) return AfPacketBench.failed(what, receiver);
            if (!sender.await(FORWARDING, 30)) return AfPacketBench.failed(what, sender);
            Thread.sleep(TimeUnit.SECONDS.toMillis(SECONDS));
            // the sender first (DPDK 22.11's memif client may crash when its server goes first); the
            // receiver's last, partly idle, second is left out of its figure
            String txOut = stop(sender, what);
            Thread.sleep(1500);
            String rxOut = stop(receiver, what);
            if (rxOut == null) return AfPacketBench.failed(what, receiver);
            if (txOut == null) return AfPacketBench.failed(what, sender);
            List<Double> rx = receiver.steadyRates(RX, WARMUP_PERIODS);
            System.out.printf("# %s: sender %.3f Mpps, receiver %.3f Mpps (median per second after %d s warm-up)%n",
                    what, AfPacketBench.median(sender.steadyRates(TX, WARMUP_PERIODS)), AfPacketBench.median(rx), WARMUP_PERIODS);
            return rx;
        } finally {
            if (sender != null) sender.close();
            receiver.close();
            try {
                Files.deleteIfExists(sock);
            } catch (IOException e) {
                // the directory goes at the end
            }
            Bench.removeDpdkRuntimeDir(prefix("rx" + n));
            Bench.removeDpdkRuntimeDir(prefix("tx" + n));
        }
    }

    /**
     * Stops {@code p} and returns its output. DPDK 22.11's memif unmaps a connection's memory while
     * its polling lcore may still read it, so a dpdk-testpmd whose peer goes first sometimes dies
     * of SIGSEGV on the way out, after its last statistics: then its per-second figures, all
     * printed before, are used (and said so); null only if it never printed a rate.
     */
    private static String stop(AfPacketBench.Peer p, String what) throws InterruptedException {
        String out = p.interruptAndWait(20);
        if (out != null) return out;
        out = p.output();
        if (!RX.matcher(out).find()) return null;
        System.out.println("# " + what + ": " + p.who + " did not end cleanly (DPDK's memif after its peer left); its per-second figures stand");
        return out;
    }

    private static String name(Side s) {
        return s == Side.JPDK ? "jpdk" : "dpdk";
    }

    static List<String> command(Side side, String role, Path sock, boolean zeroCopy, List<String> lcores, String mode, Path dpdk,
                                String run) {
        String vdev = "net_memif0,role=" + role + ",socket=" + sock + ",socket-abstract=no" + (zeroCopy ? ",zero-copy=yes" : "");
        return AfPacketBench.testpmd(side == Side.JPDK, List.of(), lcores, List.of(),
                List.of("--in-memory", "-m", "128", "--file-prefix=" + prefix(run)), vdev, mode, dpdk);
    }

    private static String prefix(String run) {
        return "jpdkbench" + ProcessHandle.current().pid() + "m" + run;
    }
}
