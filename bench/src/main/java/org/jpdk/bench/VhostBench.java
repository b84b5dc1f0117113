package org.jpdk.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * {@code ./jpdk bench vhost}: a virtio-user front end and a vhost-user back end in two testpmds,
 * ours and DPDK's (Debian's dpdk-testpmd 22.11: its net_virtio_user and net_vhost), in every
 * pairing this build has, one run of each per round and {@value #ROUNDS} rounds in which they take
 * turns: the front end's txonly into the back end's rxonly ({@code v2h}), and the back end's txonly
 * into the front end's rxonly ({@code h2v}), 64-byte frames. A run's figure is the receiver's
 * median per-period Rx-pps after {@value #WARMUP_SECONDS} seconds of warm-up (by the clock: see
 * {@code AfPacketBench.Peer#steadyRates}); a pairing's BENCH figure is the median of its runs.
 * Each pairing's ratio to DPDK's own is printed twice: the ratio of the two medians, and (with two
 * rounds or more, as {@code ..._by_round}) the median of the rounds' ratios, each run divided by
 * DPDK's run of the same round, which a change of the host's mode between rounds moves less.
 * jpdk's back end (net_vhost) takes part when the build has it; DPDK's own pairing (its
 * virtio-user to its vhost) is the baseline every other is divided by. {@code --rounds N} sets
 * the rounds; pairing names (or their prefixes: {@code h2v}, {@code v2h_dpdk}) pick pairings.
 *
 * <p>Same settings on both sides: one queue pair, 256-descriptor split rings, mergeable rx
 * buffers, burst 32, 8192 mbufs, hugepages (DPDK {@code --in-memory --single-file-segments -m 128},
 * so that its virtio-user's memory is a few files it can hand over; jpdk's EAL default). The back
 * end listens on a socket file in a temporary directory and starts first (DPDK's virtio-user
 * connects once, at start). Cores: the sender forwards on CPU 0 ({@code -l 0,1 --main-lcore 1}),
 * the receiver on CPU 1 ({@code -l 0,1}). Cross-process rates on a machine of two CPUs shared with
 * other jobs are bimodal: read the medians, and the per-run lines.
 */
public final class VhostBench {
    static final int SECONDS = 10;
    static final int ROUNDS = 3;
    static final int WARMUP_SECONDS = 3;
    private static final String FORWARDING = "forwards packets on";
    private static final Pattern RX = Pattern.compile("^\\s*Rx-pps:\\s+(\\d+)", Pattern.MULTILINE);
    private static final List<String> SENDER_LCORES = List.of("-l", "0,1", "--main-lcore", "1");
    private static final List<String> RECEIVER_LCORES = List.of("-l", "0,1");

    private VhostBench() {
    }

    enum Side { JPDK, DPDK }

    /** One pairing: who runs the front end (virtio-user), who the back end (vhost), and which way frames go. */
    record Pair(Side virtio, Side vhost, boolean toVhost) {
        String name() {
            return (toVhost ? "v2h_" : "h2v_") + side(virtio) + "_" + side(vhost);
        }
    }

    /** The {@code ./jpdk bench vhost} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "vhost";
        }

        @Override
        public String summary() {
            return "virtio-user to vhost-user and back, every pairing of jpdk and dpdk-testpmd, 64-byte frames";
        }

        @Override
        public void main(String[] args) throws Exception {
            VhostBench.main(args);
        }
    }

    /** Whether this build has a driver named {@code name} (jpdk's net_vhost may not be there yet). */
    static boolean hasDriver(String name) {
        for (org.jpdk.ethdev.EthDriver d : ServiceLoader.load(org.jpdk.ethdev.EthDriver.class)) if (d.name().equals(name)) return true;
        return false;
    }

    public static void main(String[] args) throws Exception {
        int rounds = ROUNDS;
        List<String> only = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--rounds") && i + 1 < args.length && args[i + 1].matches("[1-9][0-9]{0,2}")) {
                rounds = Integer.parseInt(args[++i]);
            } else if (args[i].matches("(v2h|h2v)(_(jpdk|dpdk)){0,2}")) {
                only.add(args[i]);
            } else {
                System.err.println("jpdk bench vhost: '" + args[i] + "' is neither --rounds N (1-999) nor a pairing such as v2h, h2v_jpdk or"
                        + " v2h_dpdk_jpdk (direction, front end, back end); usage: bench vhost [--rounds N] [pairing...]");
                System.exit(1);
            }
        }
        Path dpdk = Bench.findProgram("dpdk-testpmd");
        if (dpdk == null) {
            System.out.println("# dpdk-testpmd not found (apt-get install dpdk-dev): no back end to measure against");
            return;
        }
        boolean ourVhost = hasDriver("net_vhost");
        if (!ourVhost) System.out.println("# this build has no net_vhost: only pairings with DPDK's vhost run");
        List<Pair> pairs = new ArrayList<>();
        for (boolean toVhost : new boolean[]{true, false}) {
            for (Side virtio : Side.values()) {
                for (Side vhost : Side.values()) {
                    if (vhost == Side.JPDK && !ourVhost) continue;
                    Pair p = new Pair(virtio, vhost, toVhost);
                    if (only.isEmpty() || only.stream().anyMatch(o -> p.name().startsWith(o))) pairs.add(p);
                }
            }
        }
        Path dir = Files.createTempDirectory("jpdkbench-vhost");
        Thread cleanup = new Thread(() -> AfPacketBench.removeAll(dir), "vhost-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        Map<String, List<Double>> rates = new LinkedHashMap<>();
        Map<String, Double[]> byRound = new LinkedHashMap<>();
        int roundCount = rounds;
        try {
            int run = 0;
            for (int round = 0; round < rounds; round++) {
                for (Pair p : pairs) {
                    List<Double> r = run(p, dir, dpdk, ++run);
                    if (r.isEmpty()) continue;
                    double rate = AfPacketBench.median(r);
                    rates.computeIfAbsent(p.name(), k -> new ArrayList<>()).add(rate);
                    byRound.computeIfAbsent(p.name(), k -> new Double[roundCount])[round] = rate;
                }
            }
        } finally {
            AfPacketBench.removeAll(dir);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        Map<String, Double> med = new LinkedHashMap<>();
        for (var e : rates.entrySet()) {
            med.put(e.getKey(), AfPacketBench.median(e.getValue()));
            Bench.line("vhost_" + e.getKey() + "_mpps", med.get(e.getKey()), "Mpps");
        }
        for (Pair p : pairs) {
            if (p.virtio == Side.DPDK && p.vhost == Side.DPDK) continue;
            String base = (p.toVhost ? "v2h_" : "h2v_") + "dpdk_dpdk";
            Bench.ratio("vhost_" + p.name() + "_vs_" + base, med.getOrDefault(p.name(), Double.NaN), med.getOrDefault(base, Double.NaN));
            List<Double> paired = pairedRatios(byRound.get(p.name()), byRound.get(base));
            if (paired.size() > 1) {
                System.out.printf("BENCH vhost_%s_vs_%s_by_round %.2f ratio%n", p.name(), base, AfPacketBench.median(paired));
                System.out.println("# " + p.name() + " / " + base + " round by round: "
                        + String.join(", ", paired.stream().map(x -> String.format("%.2f", x)).toList()));
            }
        }
    }

    /**
     * Each round's run of a pairing divided by DPDK's own pairing's run of the same round (the two
     * run a minute or two apart, so a change of the host's mode between rounds falls on both);
     * rounds where either side failed are left out.
     */
    static List<Double> pairedRatios(Double[] ours, Double[] theirs) {
        List<Double> out = new ArrayList<>();
        if (ours == null || theirs == null) return out;
        for (int i = 0; i < Math.min(ours.length, theirs.length); i++) {
            if (ours[i] != null && theirs[i] != null && theirs[i] > 0) out.add(ours[i] / theirs[i]);
        }
        return out;
    }

    /** One run of a pairing: the receiver's steady per-second rates in Mpps (none if a side failed). */
    static List<Double> run(Pair p, Path dir, Path dpdk, int n) throws InterruptedException {
        Path sock = dir.resolve("vhost" + n + ".sock");
        String what = p.name() + ": " + side(p.virtio) + " virtio-user " + (p.toVhost ? "txonly -> " : "rxonly <- ")
                + side(p.vhost) + " vhost " + (p.toVhost ? "rxonly" : "txonly");
        boolean vhostSends = !p.toVhost;
        AfPacketBench.Peer back = AfPacketBench.Peer.start(command(p.vhost, "net_vhost0,iface=" + sock + ",queues=1",
                vhostSends ? SENDER_LCORES : RECEIVER_LCORES, vhostSends ? "txonly" : "rxonly", dpdk, "h" + n), side(p.vhost) + " vhost");
        AfPacketBench.Peer front = null;
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(sock) && System.nanoTime() < end) Thread.sleep(20);
            if (!Files.exists(sock)) return AfPacketBench.failed(what, back);
            front = AfPacketBench.Peer.start(command(p.virtio, "net_virtio_user0,path=" + sock + ",queues=1",
                    vhostSends ? RECEIVER_LCORES : SENDER_LCORES, vhostSends ? "rxonly" : "txonly", dpdk, "v" + n), side(p.virtio) + " virtio-user");
            AfPacketBench.Peer sender = vhostSends ? back : front, receiver = vhostSends ? front : back;
            if (!receiver.await(FORWARDING, 30)) return AfPacketBench.failed(what, receiver);
            if (!sender.await(FORWARDING, 30)) return AfPacketBench.failed(what, sender);
            Thread.sleep(TimeUnit.SECONDS.toMillis(SECONDS));
            String txOut = sender.interruptAndWait(20);
            Thread.sleep(1500);
            String rxOut = receiver.interruptAndWait(20);
            if (rxOut == null) rxOut = receiver.output();
            List<Double> rx = receiver.steadyRates(RX, WARMUP_SECONDS);
            if (rx.isEmpty()) {
                var m = RX.matcher(rxOut);
                StringBuilder seen = new StringBuilder();
                while (m.find()) seen.append(' ').append(m.group(1));
                return AfPacketBench.failed(what + " (no steady rate after " + WARMUP_SECONDS + " s of warm-up; its per-second Rx-pps:" + seen + ")", receiver);
            }
            System.out.printf("# %s: receiver %.3f Mpps (median per second after %d s warm-up)%s%n", what, AfPacketBench.median(rx),
                    WARMUP_SECONDS, txOut == null ? "; the sender did not end cleanly" : "");
            return rx;
        } finally {
            if (front != null) front.close();
            back.close();
            try {
                Files.deleteIfExists(sock);
            } catch (IOException e) {
                // the directory goes at the end
            }
            Bench.removeDpdkRuntimeDir(prefix("h" + n));
            Bench.removeDpdkRuntimeDir(prefix("v" + n));
        }
    }

    private static String side(Side s) {
        return s == Side.JPDK ? "jpdk" : "dpdk";
    }

    static List<String> command(Side side, String vdev, List<String> lcores, String mode, Path dpdk, String run) {
        return AfPacketBench.testpmd(side == Side.JPDK, List.of(), lcores, List.of(),
                List.of("--in-memory", "--single-file-segments", "-m", "128", "--file-prefix=" + prefix(run)), vdev, mode, dpdk);
    }

    private static String prefix(String run) {
        return "jpdkbench" + ProcessHandle.current().pid() + "v" + run;
    }
}
