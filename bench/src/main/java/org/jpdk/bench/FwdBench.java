package org.jpdk.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./jpdk bench fwd}: our testpmd and DPDK's dpdk-testpmd side by side, the same work in the
 * same run: two net_null ports, one forwarding lcore ({@code -l 0-1}), forwarding modes io, macswap
 * and txonly, once on hugepages (ours: anonymous 2 MiB pages; DPDK: {@code --in-memory}, also
 * anonymous hugepages) and once with {@code --no-huge -m 1024} for both. Each run prints port
 * statistics every second; the figure is the median over the steady seconds (the first two are
 * warm-up) of the per-second packet rate summed over the ports: Rx-pps for io and macswap (every
 * received packet is forwarded), Tx-pps for txonly. Ours runs in a child JVM so that its JIT and
 * heap are its own, as a user's run would be. Ours and DPDK's alternate over {@code --rounds N}
 * rounds (default 3) and each BENCH figure is the median of its rounds: one run of each on this
 * shared machine kind ranged 70 to 137 Mpps for the same dpdk-testpmd. After the figures, the
 * nanoseconds per packet macswap adds to io, for both, is the cost of touching the packet.
 *
 * <p>{@code ./jpdk bench fwd --telemetry [ROUNDS]} instead measures what telemetry costs: our
 * testpmd in io mode with telemetry on (and a client reading {@code /ethdev/stats} and
 * {@code /eal/lcore/usage} ten times a second, as an operator's dashboard would) beside the same
 * with {@code --no-telemetry}, interleaved over ROUNDS rounds (default 3), medians reported.
 */
public final class FwdBench {
    static final int SECONDS = 9;
    static final int WARMUP_PERIODS = 2;
    private static final Pattern RX = Pattern.compile("^\\s*Rx-pps:\\s+(\\d+)", Pattern.MULTILINE);
    private static final Pattern TX = Pattern.compile("^\\s*Tx-pps:\\s+(\\d+)", Pattern.MULTILINE);

    private FwdBench() {
    }

    /** The {@code ./jpdk bench fwd} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "fwd";
        }

        @Override
        public String summary() {
            return "testpmd io/macswap/txonly over net_null beside dpdk-testpmd, hugepages and --no-huge, interleaved rounds ([--rounds N] [mode...])";
        }

        @Override
        public void main(String[] args) throws Exception {
            FwdBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--telemetry")) {
            telemetryCost(args.length > 1 ? Integer.parseInt(args[1]) : 3);
            return;
        }
        List<String> modes = new ArrayList<>();
        int rounds = Bench.rounds("fwd", args, modes);
        for (String m : modes) {
            if (m.startsWith("-")) throw new IllegalArgumentException("bench fwd: unknown option " + m + "; usage: bench fwd [--rounds N] [mode...]");
        }
        if (modes.isEmpty()) modes = List.of("io", "macswap", "txonly");
        Path dpdk = Bench.findProgram("dpdk-testpmd");
        if (dpdk == null) System.out.println("# dpdk-testpmd not found (apt-get install dpdk-dev): DPDK's figures are missing");
        List<String[]> lines = new ArrayList<>();
        java.util.Map<String, Double> mpps = new java.util.HashMap<>();
        for (boolean huge : new boolean[]{true, false}) {
            for (String mode : modes) {
                String suffix = huge ? "" : "_nohuge";
                // Ours and DPDK's alternate, so that a change in the machine's load falls on both;
                // each figure is the median of the rounds' figures.
                List<Double> o = new ArrayList<>(), d = new ArrayList<>();
                for (int r = 0; r < rounds; r++) {
                    o.add(mpps(runOurs(mode, huge), mode));
                    d.add(dpdk == null ? Double.NaN : mpps(runDpdk(dpdk, mode, huge), mode));
                    System.out.printf("# %s%s round %d: jpdk %.2f Mpps, dpdk-testpmd %.2f Mpps%n", mode, suffix, r + 1, o.getLast(), d.getLast());
                }
                double ours = median(o), theirs = median(d);
                Bench.line("testpmd_" + mode + "_null" + suffix + "_mpps", ours, "Mpps");
                Bench.line("dpdk_testpmd_" + mode + "_null" + suffix + "_mpps", theirs, "Mpps");
                lines.add(new String[]{"testpmd_" + mode + "_null" + suffix + "_jpdk_vs_dpdk", Double.toString(ours), Double.toString(theirs)});
                mpps.put("jpdk " + mode + suffix, ours);
                mpps.put("dpdk " + mode + suffix, theirs);
            }
        }
        for (String[] l : lines) Bench.ratio(l[0], Double.parseDouble(l[1]), Double.parseDouble(l[2]));
        // What macswap adds to io per packet (one forwarding lcore: 1000 / Mpps is ns per packet):
        // the cost of touching the packet's bytes, the part of the macswap gap the ports do not explain.
        for (String suffix : new String[]{"", "_nohuge"}) {
            Double io = mpps.get("jpdk io" + suffix), mac = mpps.get("jpdk macswap" + suffix);
            Double dio = mpps.get("dpdk io" + suffix), dmac = mpps.get("dpdk macswap" + suffix);
            if (io == null || mac == null) continue;
            Bench.line("testpmd_macswap_minus_io" + suffix + "_ns_per_pkt", 1e3 / mac - 1e3 / io, "ns");
            Bench.line("dpdk_testpmd_macswap_minus_io" + suffix + "_ns_per_pkt", dio == null || dmac == null ? Double.NaN : 1e3 / dmac - 1e3 / dio, "ns");
        }
    }

    private static List<String> eal(boolean huge) {
        List<String> a = new ArrayList<>(List.of("-l", "0-1"));
        if (!huge) a.addAll(List.of("--no-huge", "-m", "1024"));
        a.addAll(List.of("--vdev", "net_null0", "--vdev", "net_null1"));
        return a;
    }

    /** Interleaved rounds: telemetry on (and read 10 times a second), then off; the medians of the rounds. */
    static void telemetryCost(int rounds) throws Exception {
        List<Double> on = new ArrayList<>(), off = new ArrayList<>();
        String prefix = "jpdkfwdtel" + ProcessHandle.current().pid();
        for (int r = 0; r < rounds; r++) {
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicLong replies = new java.util.concurrent.atomic.AtomicLong();
            Thread reader = Thread.ofPlatform().daemon().start(() -> readTelemetry(prefix, done, replies));
            double a = mpps(runOurs("io", true, List.of("--file-prefix", prefix)), "io");
            done.set(true);
            reader.join(5000);
            double b = mpps(runOurs("io", true, List.of("--file-prefix", prefix, "--no-telemetry")), "io");
            System.out.printf("# round %d: telemetry on %.2f Mpps (%d replies read), off %.2f Mpps%n", r + 1, a, replies.get(), b);
            on.add(a);
            off.add(b);
        }
        double mOn = median(on), mOff = median(off);
        Bench.line("testpmd_io_null_telemetry_on_mpps", mOn, "Mpps");
        Bench.line("testpmd_io_null_no_telemetry_mpps", mOff, "Mpps");
        Bench.ratio("testpmd_io_null_telemetry_on_vs_off", mOn, mOff);
    }

    /** Reads stats and lcore usage ten times a second while the app runs (it may not be up yet). */
    private static void readTelemetry(String prefix, java.util.concurrent.atomic.AtomicBoolean done,
                                      java.util.concurrent.atomic.AtomicLong replies) {
        while (!done.get()) {
            try (org.jpdk.telemetry.TelemetryClient c = org.jpdk.telemetry.TelemetryClient.connect(prefix)) {
                while (!done.get()) {
                    c.request("/ethdev/stats,0");
                    c.request("/ethdev/stats,1");
                    c.request("/eal/lcore/usage");
                    replies.addAndGet(3);
                    Thread.sleep(100);
                }
            } catch (RuntimeException e) { // not up yet, or gone
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    return;
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    static String runOurs(String mode, boolean huge) throws Exception {
        return runOurs(mode, huge, List.of());
    }

    static String runOurs(String mode, boolean huge, List<String> moreEal) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        String jar = Path.of(FwdBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseParallelGC",
                "-cp", jar, "org.jpdk.app.Launcher", "testpmd"));
        cmd.addAll(eal(huge));
        cmd.addAll(moreEal);
        cmd.addAll(List.of("--", "--forward-mode=" + mode, "--stats-period=1", "--run-seconds=" + SECONDS));
        String out = Bench.runPeer(cmd, null, SECONDS + 60);
        check("jpdk testpmd", out, mode);
        return out;
    }

    static String runDpdk(Path dpdk, String mode, boolean huge) {
        String prefix = "jpdkfwd";
        List<String> cmd = new ArrayList<>(List.of("timeout", "-s", "INT", Integer.toString(SECONDS + 1), dpdk.toString()));
        cmd.addAll(eal(huge));
        cmd.addAll(List.of("--no-pci", "--file-prefix", prefix));
        if (huge) cmd.add("--in-memory");
        cmd.addAll(List.of("--", "--forward-mode=" + mode, "--stats-period=1"));
        String out = Bench.runPeer(cmd, null, SECONDS + 60);
        Bench.removeDpdkRuntimeDir(prefix);
        check("dpdk-testpmd", out, mode);
        return out;
    }

    private static void check(String who, String out, String mode) {
        if (out == null || !RX.matcher(out).find()) {
            System.out.println("# " + who + " " + mode + " printed no statistics; its output ends with:");
            if (out != null) {
                String[] l = out.split("\n");
                for (int i = Math.max(0, l.length - 8); i < l.length; i++) System.out.println("#   " + l[i]);
            }
        }
    }

    /** The median, over steady periods, of the summed per-second rate (two ports), in Mpps. */
    /** The median of the figures that are numbers; NaN if none is. */
    static double median(List<Double> v) {
        List<Double> s = new ArrayList<>();
        for (double x : v) if (!Double.isNaN(x)) s.add(x);
        if (s.isEmpty()) return Double.NaN;
        s.sort(null);
        return s.get(s.size() / 2);
    }

    static double mpps(String out, String mode) {
        if (out == null) return Double.NaN;
        Matcher m = (mode.equals("txonly") || mode.equals("flowgen") ? TX : RX).matcher(out);
        List<Long> v = new ArrayList<>();
        while (m.find()) v.add(Long.parseLong(m.group(1)));
        int ports = 2;
        List<Double> periods = new ArrayList<>();
        for (int k = WARMUP_PERIODS; (k + 1) * ports <= v.size(); k++) {
            long sum = 0;
            for (int p = 0; p < ports; p++) sum += v.get(k * ports + p);
            if (sum > 0) periods.add(sum / 1e6);
        }
        if (periods.isEmpty()) return Double.NaN;
        periods.sort(null);
        return periods.get(periods.size() / 2);
    }
}
