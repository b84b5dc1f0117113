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
 * {@code ./jpdk bench vhost}: a vhost-user back end, ours (net_vhost) or DPDK's (Debian's
 * dpdk-testpmd 22.11, its own net_vhost), against DPDK's virtio-user front end, 64-byte frames in
 * both directions: virtio-user txonly into the back end in rxonly mode, and the back end txonly into
 * virtio-user in rxonly mode. The figure is the receiver's median per-second Rx-pps over
 * {@value #ROUNDS} rounds in which the pairings take turns, after {@value #WARMUP_PERIODS} seconds
 * of warm-up in each run (cross-process rates on two shared CPUs are strongly bimodal, so one run
 * says little). It prints {@code BENCH vhost_<from>_<to>_mpps} for each pairing and the ratio of
 * ours to DPDK's own pairing. The pairings with jpdk's virtio-user front end are added by that
 * driver's work.
 *
 * <p>Same settings on both sides: one queue pair, rings of 256 (virtio-user's default), burst 32,
 * 8192 mbufs, a socket file in a temporary directory; the back end listens and starts first. Each
 * side's memory: jpdk's EAL default (hugepages), DPDK's vhost {@code --in-memory -m 128},
 * virtio-user {@code --in-memory --single-file-segments -m 128} (its memory must be in files to
 * be handed over). The sender forwards on CPU 0 ({@code -l 0,1 --main-lcore 1}), the receiver on
 * CPU 1 ({@code -l 0,1}).
 */
public final class VhostBench {
    static final int SECONDS = 8;
    static final int ROUNDS = 3;
    static final int WARMUP_PERIODS = 3;
    private static final String FORWARDING = "forwards packets on";
    private static final Pattern RX = Pattern.compile("^\\s*Rx-pps:\\s+(\\d+)", Pattern.MULTILINE);
    private static final Pattern TX = Pattern.compile("^\\s*Tx-pps:\\s+(\\d+)", Pattern.MULTILINE);
    private static final List<String> SENDER_LCORES = List.of("-l", "0,1", "--main-lcore", "1");
    private static final List<String> RECEIVER_LCORES = List.of("-l", "0,1");

    private VhostBench() {
    }

    /** One pairing: whose vhost back end, and whether it sends (txonly to virtio-user) or receives. */
    record Pair(String name, boolean jpdkBackEnd, boolean backEndSends) {
    }

    /** The {@code ./jpdk bench vhost} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "vhost";
        }

        @Override
        public String summary() {
            return "net_vhost against DPDK's virtio-user, both directions, jpdk's back end beside DPDK's";
        }

        @Override
        public void main(String[] args) throws Exception {
            VhostBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            System.err.println("jpdk bench vhost: takes no arguments, not " + String.join(" ", args));
            System.exit(1);
        }
        Path dpdk = Bench.findProgram("dpdk-testpmd");
        if (dpdk == null) {
            System.out.println("# dpdk-testpmd not found (apt-get install dpdk-dev): its virtio-user is the front end here; nothing to measure");
            return;
        }
        List<Pair> pairs = List.of(new Pair("virtio_dpdk_to_vhost_jpdk", true, false), new Pair("virtio_dpdk_to_vhost_dpdk", false, false),
                new Pair("vhost_jpdk_to_virtio_dpdk", true, true), new Pair("vhost_dpdk_to_virtio_dpdk", false, true));
        Path dir = Files.createTempDirectory("jpdkbench-vhost");
        Thread cleanup = new Thread(() -> teardown(dir), "vhost-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        Map<String, List<Double>> rates = new LinkedHashMap<>();
        try {
            int run = 0;
            for (int round = 0; round < ROUNDS; round++) {
                for (Pair p : pairs) rates.computeIfAbsent(p.name, k -> new ArrayList<>()).addAll(run(p, dir, dpdk, ++run));
            }
        } finally {
            teardown(dir);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        Map<String, Double> med = new LinkedHashMap<>();
        for (var e : rates.entrySet()) {
            med.put(e.getKey(), AfPacketBench.median(e.getValue()));
            Bench.line(e.getKey() + "_mpps", med.get(e.getKey()), "Mpps");
        }
        Bench.ratio("virtio_dpdk_to_vhost_jpdk_vs_dpdk", med.getOrDefault("virtio_dpdk_to_vhost_jpdk", Double.NaN),
                med.getOrDefault("virtio_dpdk_to_vhost_dpdk", Double.NaN));
        Bench.ratio("vhost_jpdk_to_virtio_dpdk_vs_dpdk", med.getOrDefault("vhost_jpdk_to_virtio_dpdk", Double.NaN),
                med.getOrDefault("vhost_dpdk_to_virtio_dpdk", Double.NaN));
    }

    /** One run of a pairing; the receiver's steady per-second rates in Mpps (none if a side failed). */
    static List<Double> run(Pair p, Path dir, Path dpdk, int n) throws InterruptedException {
        Path sock = dir.resolve("vhost" + n + ".sock");
        String what = p.name + ": " + (p.backEndSends ? "back end txonly -> virtio-user rxonly" : "virtio-user txonly -> back end rxonly");
        AfPacketBench.Peer backEnd = AfPacketBench.Peer.start(backEnd(p, sock, dpdk, "b" + n), (p.jpdkBackEnd ? "jpdk" : "dpdk") + " vhost");
        AfPacketBench.Peer frontEnd = null;
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(sock) && System.nanoTime() < end) Thread.sleep(20);
            if (!Files.exists(sock)) return failed(what, backEnd);
            frontEnd = AfPacketBench.Peer.start(frontEnd(p, sock, dpdk, "f" + n), "dpdk virtio-user");
            if (!backEnd.await(FORWARDING, 30)) return failed(what, backEnd);
            if (!frontEnd.await(FORWARDING, 30)) return failed(what, frontEnd);
            Thread.sleep(TimeUnit.SECONDS.toMillis(SECONDS));
            AfPacketBench.Peer sender = p.backEndSends ? backEnd : frontEnd, receiver = p.backEndSends ? frontEnd : backEnd;
            String txOut = sender.interruptAndWait(20);
            Thread.sleep(1500);
            String rxOut = receiver.interruptAndWait(20);
            if (rxOut == null) rxOut = receiver.output();
            if (txOut == null) txOut = sender.output();
            List<Double> rx = AfPacketBench.steady(rxOut, RX, WARMUP_PERIODS);
            if (rx.isEmpty()) return failed(what, receiver);
            System.out.printf("# %s: sender %.3f Mpps, receiver %.3f Mpps (median per second after %d s warm-up)%n",
                    what, AfPacketBench.median(AfPacketBench.steady(txOut, TX, WARMUP_PERIODS)), AfPacketBench.median(rx), WARMUP_PERIODS);
            return rx;
        } finally {
            if (frontEnd != null) frontEnd.close();
            backEnd.close();
            try {
                Files.deleteIfExists(sock);
            } catch (IOException e) {
                // the directory goes at the end
            }
            Bench.removeDpdkRuntimeDir(prefix("b" + n));
            Bench.removeDpdkRuntimeDir(prefix("f" + n));
        }
    }

    private static List<String> app(String mode) {
        return List.of("--forward-mode=" + mode, "--stats-period=1", "--burst=32", "--txpkts=64", "--total-num-mbufs=8192");
    }

    static List<String> backEnd(Pair p, Path sock, Path dpdk, String run) {
        List<String> lcores = p.backEndSends ? SENDER_LCORES : RECEIVER_LCORES;
        String vdev = "net_vhost0,iface=" + sock;
        List<String> cmd = new ArrayList<>();
        if (p.jpdkBackEnd) {
            String java = ProcessHandle.current().info().command().orElse("java");
            String jar;
            try {
                jar = Path.of(VhostBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
            } catch (java.net.URISyntaxException e) {
                throw new IllegalStateException("cannot locate the bench jar: " + e.getMessage(), e);
            }
            cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseParallelGC",
                    "-cp", jar, "org.jpdk.app.Launcher", "testpmd"));
            cmd.addAll(lcores);
            cmd.addAll(List.of("--vdev", vdev, "--"));
        } else {
            cmd.addAll(List.of("stdbuf", "-oL", dpdk.toString()));
            cmd.addAll(lcores);
            cmd.addAll(List.of("--no-pci", "--in-memory", "-m", "128", "--file-prefix=" + prefix(run), "--vdev=" + vdev, "--"));
        }
        cmd.addAll(app(p.backEndSends ? "txonly" : "rxonly"));
        return cmd;
    }

    static List<String> frontEnd(Pair p, Path sock, Path dpdk, String run) {
        List<String> cmd = new ArrayList<>(List.of("stdbuf", "-oL", dpdk.toString()));
        cmd.addAll(p.backEndSends ? RECEIVER_LCORES : SENDER_LCORES);
        cmd.addAll(List.of("--no-pci", "--in-memory", "--single-file-segments", "-m", "128", "--file-prefix=" + prefix(run),
                "--vdev=net_virtio_user0,path=" + sock + ",queues=1", "--"));
        cmd.addAll(app(p.backEndSends ? "rxonly" : "txonly"));
        return cmd;
    }

    private static String prefix(String run) {
        return "jpdkbench" + ProcessHandle.current().pid() + "v" + run;
    }

    private static List<Double> failed(String what, AfPacketBench.Peer p) {
        System.out.println("# " + what + ": " + p.who + " failed; its output ends with:");
        String[] l = p.output().split("\n");
        for (int i = Math.max(0, l.length - 8); i < l.length; i++) System.out.println("#   " + l[i]);
        return List.of();
    }

    /** Kills the testpmds still running and removes the sockets' directory. */
    private static void teardown(Path dir) {
        for (AfPacketBench.Peer p : AfPacketBench.LIVE) p.close();
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) Files.deleteIfExists(f);
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // gone already
        }
    }
}
