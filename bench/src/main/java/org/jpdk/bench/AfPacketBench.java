package org.jpdk.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * {@code ./jpdk bench afpacket}: net_af_packet over a veth pair between two network namespaces,
 * ours and DPDK's (Debian's dpdk-testpmd, its own net_af_packet) with the same work in the same
 * run. A testpmd in txonly mode floods 64-byte frames into {@code va}; a testpmd in rxonly mode
 * polls {@code vb}; the figure is the receiver's median per-second Rx-pps, leaving out the
 * seconds before the sender started, the first {@value #WARMUP_PERIODS} after, and the last (cut
 * short when the sender stops). Pairs: ours to ours and DPDK to DPDK, alternating,
 * {@value #ROUNDS} runs each (the median is over the seconds of all of them), then the two mixed
 * pairs once.
 *
 * <p>Same settings on both sides of every pair: one queue pair, framesz 2048, blocksz 4096 and
 * qdisc bypass on (DPDK's defaults), framecnt 4096 (DPDK's default is 512: a receiver preempted
 * for a few milliseconds on a shared machine then finds its ring full and the figure measures the
 * scheduler; 4096 frames ride that out, measured 0.03 to 0.07 Mpps for DPDK under load), burst 32,
 * 8192 mbufs, {@code --no-huge} (a copying driver gains little from hugepages, and the run must
 * not depend on free hugepages while others use the machine). Cores: the sender forwards on lcore 0 (CPU 0, {@code -l 0,1
 * --main-lcore 1}), the receiver on lcore 1 (CPU 1, {@code -l 0,1}); the main lcores only print
 * statistics once a second. On veth the kernel's whole receive path (veth xmit, the backlog's
 * softirq, the copy into the receiver's RX ring) runs inside the sender's {@code sendto}, on the
 * sender's CPU, so this placement gives the receiver a CPU of its own and charges the kernel's
 * work to the sender, as a NIC's interrupt would be charged to another core. The sender (plus the
 * kernel) is then the slower side, and frames the receiver's ring has no room for are the
 * kernel's drops (imissed), not part of the figure.
 *
 * <p>Namespaces and the veth are removed at the end, also after a failure or Ctrl-C (a shutdown
 * hook, which also kills the testpmds still running); DPDK's runtime directories too.
 */
public final class AfPacketBench {
    static final int SECONDS = 8;
    static final int WARMUP_PERIODS = 2;
    /** Runs of ours-to-ours and DPDK-to-DPDK, alternating. */
    static final int ROUNDS = 2;
    /** Printed by both testpmds when forwarding starts. */
    private static final String FORWARDING = "forwards packets on";
    /** Printed by both testpmds when they stop forwarding. */
    private static final String STOPPED = "Accumulated forward statistics";
    /**
     * What a peer prints when SIGINT or SIGTERM reaches it: ours (and DPDK's examples) "Signal
     * received, preparing to exit...", dpdk-testpmd with a stats period "Telling cores to stop...".
     */
    static final List<String> SIGNAL_ANSWERS = List.of("received, preparing to exit", "Telling cores to stop");
    static final int SIGINT_ANSWER_SECONDS = 2;
    private static final Pattern RX = Pattern.compile("^\\s*Rx-pps:\\s+(\\d+)", Pattern.MULTILINE);
    private static final Pattern TX = Pattern.compile("^\\s*Tx-pps:\\s+(\\d+)", Pattern.MULTILINE);
    private static final List<String> SENDER_LCORES = List.of("-l", "0,1", "--main-lcore", "1");
    private static final List<String> RECEIVER_LCORES = List.of("-l", "0,1");
    static final List<Peer> LIVE = new CopyOnWriteArrayList<>();

    private AfPacketBench() {
    }

    enum Side { JPDK, DPDK }

    /** The {@code ./jpdk bench afpacket} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "afpacket";
        }

        @Override
        public String summary() {
            return "net_af_packet over a veth pair, jpdk testpmd beside dpdk-testpmd";
        }

        @Override
        public void main(String[] args) throws Exception {
            AfPacketBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            System.err.println("jpdk bench afpacket: takes no arguments, not " + String.join(" ", args));
            System.exit(1);
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            System.err.println("jpdk bench afpacket: needs root (it creates network namespaces and a veth pair)");
            System.exit(1);
        }
        Path dpdk = Bench.findProgram("dpdk-testpmd");
        if (dpdk == null) System.out.println("# dpdk-testpmd not found (apt-get install dpdk-dev): DPDK's figures are missing");
        String base = "jpdkbench" + ProcessHandle.current().pid();
        String nsA = base + "a", nsB = base + "b";
        Thread cleanup = new Thread(() -> teardown(nsA, nsB), "afpacket-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            setup(nsA, nsB);
            // ours and DPDK's alternate, ROUNDS times, so that a change in the machine's load
            // between runs falls on both; each figure is the median over all its rounds' seconds
            List<Double> oursRx = new ArrayList<>(), theirsRx = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                oursRx.addAll(run(Side.JPDK, Side.JPDK, nsA, nsB, dpdk));
                if (dpdk != null) theirsRx.addAll(run(Side.DPDK, Side.DPDK, nsA, nsB, dpdk));
            }
            double ours = median(oursRx), theirs = median(theirsRx);
            double oursToTheirs = dpdk == null ? Double.NaN : median(run(Side.JPDK, Side.DPDK, nsA, nsB, dpdk));
            double theirsToOurs = dpdk == null ? Double.NaN : median(run(Side.DPDK, Side.JPDK, nsA, nsB, dpdk));
            Bench.line("afpacket_rx_mpps", ours, "Mpps");
            Bench.line("dpdk_afpacket_rx_mpps", theirs, "Mpps");
            Bench.line("afpacket_jpdk_tx_dpdk_rx_mpps", oursToTheirs, "Mpps");
            Bench.line("afpacket_dpdk_tx_jpdk_rx_mpps", theirsToOurs, "Mpps");
            Bench.ratio("afpacket_rx_jpdk_vs_dpdk", ours, theirs);
        } finally {
            teardown(nsA, nsB);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
    }

    /** The --vdev of both sides of every af_packet pair, on interface {@code iface}. */
    static String afPacketVdev(String iface) {
        return "net_af_packet0,iface=" + iface + ",qpairs=1,blocksz=4096,framesz=2048,framecnt=4096,qdisc_bypass=1";
    }

    /** One af_packet sender-receiver pair; see {@link #run(Side, Side, String, String, Path, UnaryOperator, String)}. */
    static List<Double> run(Side tx, Side rx, String nsA, String nsB, Path dpdk) throws InterruptedException {
        return run(tx, rx, nsA, nsB, dpdk, AfPacketBench::afPacketVdev, "");
    }

    /**
     * One sender-receiver pair, each side given {@code vdevOf.apply(iface)}; returns the receiver's
     * steady per-second Rx rates in Mpps (none if a side failed). {@code label} goes in front of the
     * pair's name on its {@code #} line.
     */
    static List<Double> run(Side tx, Side rx, String nsA, String nsB, Path dpdk, UnaryOperator<String> vdevOf, String label)
            throws InterruptedException {
        String pair = label + name(tx) + " txonly -> " + name(rx) + " rxonly";
        Peer receiver = Peer.start(command(rx, nsB, vdevOf.apply("vb"), RECEIVER_LCORES, "rxonly", dpdk, "rx"), name(rx) + " receiver");
        Peer sender = null;
        try {
            if (!receiver.await(FORWARDING, 30)) return failed(pair, receiver);
            sender = Peer.start(command(tx, nsA, vdevOf.apply("va"), SENDER_LCORES, "txonly", dpdk, "tx"), name(tx) + " sender");
            if (!sender.await(FORWARDING, 30)) return failed(pair, sender);
            Thread.sleep(TimeUnit.SECONDS.toMillis(SECONDS));
            String txOut = sender.interruptAndWait(20);
            Thread.sleep(1500); // two more receiver periods: the last full one, then an idle one
            String rxOut = receiver.interruptAndWait(20);
            if (txOut == null) return failed(pair, sender);
            if (rxOut == null) return failed(pair, receiver);
            List<Double> rxRates = steady(rxOut, RX);
            System.out.printf("# %s: sender %.3f Mpps, receiver %.3f Mpps (median per second after %d s warm-up)%n",
                    pair, median(steady(txOut, TX)), median(rxRates), WARMUP_PERIODS);
            return rxRates;
        } finally {
            if (sender != null) sender.close();
            receiver.close();
        }
    }

    private static String name(Side s) {
        return s == Side.JPDK ? "jpdk" : "dpdk";
    }

    /** Says that {@code p} failed in the run {@code what}, with the last lines it printed; no rates. */
    static List<Double> failed(String what, Peer p) {
        System.out.println("# " + what + ": " + p.who + " failed; its output ends with:");
        String[] l = p.output().split("\n");
        for (int i = Math.max(0, l.length - 8); i < l.length; i++) System.out.println("#   " + l[i]);
        return List.of();
    }

    static List<String> command(Side side, String ns, String vdev, List<String> lcores, String mode, Path dpdk, String role) {
        return testpmd(side == Side.JPDK, List.of("ip", "netns", "exec", ns), lcores, List.of("--no-huge"),
                List.of("--no-huge", "-m", "128", "--file-prefix=" + prefix(ns, role)), vdev, mode, dpdk);
    }

    /**
     * The command line of one testpmd of the cross-process benchmarks: ours (this jar's launcher,
     * ParallelGC, 512 MiB of heap, {@code ourEal}) or dpdk-testpmd (line-buffered through stdbuf,
     * {@code --no-pci} and {@code dpdkEal}), after {@code wrapper} (such as {@code ip netns exec
     * NS}), with the same application options on both: forwarding mode, statistics every second,
     * bursts of 32, 64-byte frames, 8192 mbufs.
     */
    static List<String> testpmd(boolean ours, List<String> wrapper, List<String> lcores, List<String> ourEal, List<String> dpdkEal,
                                String vdev, String mode, Path dpdk) {
        List<String> cmd = new ArrayList<>(wrapper);
        if (ours) {
            String java = ProcessHandle.current().info().command().orElse("java");
            String jar;
            try {
                jar = Path.of(AfPacketBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
            } catch (java.net.URISyntaxException e) {
                throw new IllegalStateException("cannot locate the bench jar: " + e.getMessage(), e);
            }
            cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseParallelGC",
                    "-cp", jar, "org.jpdk.app.Launcher", "testpmd"));
            cmd.addAll(lcores);
            cmd.addAll(ourEal);
            cmd.addAll(List.of("--vdev", vdev, "--"));
        } else {
            // stdbuf: C buffers a piped stdout fully, and the start line must show when printed
            cmd.addAll(List.of("stdbuf", "-oL", dpdk.toString()));
            cmd.addAll(lcores);
            cmd.add("--no-pci");
            cmd.addAll(dpdkEal);
            cmd.addAll(List.of("--vdev=" + vdev, "--"));
        }
        cmd.addAll(List.of("--forward-mode=" + mode, "--stats-period=1", "--burst=32", "--txpkts=64", "--total-num-mbufs=8192"));
        return cmd;
    }

    /** Kills the testpmds still running and removes {@code dir} (the sockets' directory) with what is in it. */
    static void removeAll(Path dir) {
        for (Peer p : LIVE) p.close();
        try (var files = java.nio.file.Files.list(dir)) {
            for (Path f : files.toList()) java.nio.file.Files.deleteIfExists(f);
            java.nio.file.Files.deleteIfExists(dir);
        } catch (IOException e) {
            // gone already
        }
    }

    private static String prefix(String ns, String role) {
        return ns + role;
    }

    /**
     * The per-second rates (one port, Mpps) after the sender started and warmed up: leading zero
     * periods dropped, then {@link #WARMUP_PERIODS}, and everything from the last non-zero period
     * on (the sender stopped during it).
     */
    static List<Double> steady(String out, Pattern rate) {
        return steady(out, rate, WARMUP_PERIODS);
    }

    /** {@link #steady(String, Pattern)} with {@code warmup} periods left out after the first non-zero one. */
    static List<Double> steady(String out, Pattern rate, int warmup) {
        Matcher m = rate.matcher(out);
        List<Long> v = new ArrayList<>();
        while (m.find()) v.add(Long.parseLong(m.group(1)));
        int first = 0;
        while (first < v.size() && v.get(first) == 0) first++;
        int last = v.size() - 1;
        while (last >= first && v.get(last) == 0) last--;
        List<Double> steady = new ArrayList<>();
        for (int k = first + warmup; k < last; k++) steady.add(v.get(k) / 1e6);
        return steady;
    }

    /** The median, NaN for no values. */
    public static double median(List<Double> values) {
        if (values.isEmpty()) return Double.NaN;
        List<Double> v = new ArrayList<>(values);
        v.sort(null);
        return v.get(v.size() / 2);
    }

    static void setup(String nsA, String nsB) {
        for (String ns : List.of(nsA, nsB)) {
            sh("ip", "netns", "add", ns);
            sh("ip", "-n", ns, "link", "set", "lo", "up");
            // no IPv6: the kernel would otherwise send router solicitations and MLD reports of its own
            sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1");
        }
        sh("ip", "-n", nsA, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", nsB);
        sh("ip", "-n", nsA, "link", "set", "va", "up");
        sh("ip", "-n", nsB, "link", "set", "vb", "up");
    }

    /** Kills the testpmds still running, deletes both namespaces (and with them the veth) and DPDK's runtime directories. */
    static synchronized void teardown(String nsA, String nsB) {
        for (Peer p : LIVE) p.close();
        for (String ns : List.of(nsA, nsB)) {
            if (new java.io.File("/run/netns/" + ns).exists()) shQuietly("ip", "netns", "delete", ns);
            for (String role : List.of("rx", "tx")) Bench.removeDpdkRuntimeDir(prefix(ns, role));
        }
    }

    private static void sh(String... cmd) {
        String out = shQuietly(cmd);
        if (out != null) throw new IllegalStateException(String.join(" ", cmd) + ": " + out.strip());
    }

    /** Runs a setup command; null on success, else what went wrong. */
    private static String shQuietly(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "did not finish in 30 s";
            }
            return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** A testpmd child process whose output is collected as it comes, stopped with SIGINT. */
    static final class Peer implements AutoCloseable {
        final String who;
        private final Process process;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        /** When each read ended: {output length after it, System.nanoTime()}, under {@code out}'s lock. */
        private final List<long[]> arrivals = new ArrayList<>();
        private final long started = System.nanoTime();
        private final Thread reader;

        private Peer(String who, Process process) {
            this.who = who;
            this.process = process;
            InputStream in = process.getInputStream();
            this.reader = Thread.ofPlatform().daemon().start(() -> {
                byte[] buf = new byte[8192];
                try {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        long now = System.nanoTime();
                        synchronized (out) {
                            out.write(buf, 0, n);
                            arrivals.add(new long[]{out.size(), now});
                        }
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            });
        }

        static Peer start(List<String> cmd, String who) {
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                // stdin stays open: end of input must not stop either testpmd
                Peer peer = new Peer(who, p);
                LIVE.add(peer);
                return peer;
            } catch (IOException e) {
                throw new IllegalStateException(who + ": cannot start " + cmd.getFirst() + ": " + e.getMessage(), e);
            }
        }

        String output() {
            synchronized (out) {
                return out.toString(StandardCharsets.UTF_8);
            }
        }

        /**
         * The steady values of {@code rate} (a per-period rate line, group 1) in Mpps: those
         * printed at least {@code warmupSeconds} after the first non-zero one, without the last
         * non-zero one (the sender stopped during its period). By the time each line arrived, not
         * by counting periods: dpdk-testpmd's {@code --stats-period=1} prints every second or every
         * two, as its TSC estimate falls (its loop sleeps one second and prints only once a full
         * period of its clock has gone by), and its rates are per printed period either way.
         */
        List<Double> steadyRates(Pattern rate, double warmupSeconds) {
            List<long[]> seen = new ArrayList<>();                            // {value, nanoTime}
            synchronized (out) {
                byte[] bytes = out.toByteArray();
                // ASCII-only output assumed for offsets: testpmd's statistics lines are
                Matcher m = rate.matcher(new String(bytes, StandardCharsets.ISO_8859_1));
                int a = 0;
                while (m.find()) {
                    while (a < arrivals.size() - 1 && arrivals.get(a)[0] < m.end()) a++;
                    seen.add(new long[]{Long.parseLong(m.group(1)), arrivals.isEmpty() ? started : arrivals.get(a)[1]});
                }
            }
            int first = 0, last = seen.size() - 1;
            while (first < seen.size() && seen.get(first)[0] == 0) first++;
            while (last >= first && seen.get(last)[0] == 0) last--;
            List<Double> steady = new ArrayList<>();
            if (first > last) return steady;
            long from = seen.get(first)[1] + (long) (warmupSeconds * 1e9);
            for (int k = first + 1; k < last; k++) if (seen.get(k)[1] >= from) steady.add(seen.get(k)[0] / 1e6);
            return steady;
        }

        /** Whether one of {@link #SIGNAL_ANSWERS} appeared in the output within {@code seconds}, or the process ended. */
        private boolean answered(int seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (process.isAlive() && System.nanoTime() < deadline) {
                String o = output();
                for (String a : SIGNAL_ANSWERS) if (o.contains(a)) return true;
                Thread.sleep(20);
            }
            return !process.isAlive();
        }

        /** Whether {@code text} appeared in the output within {@code seconds} (false if the process ended first). */
        boolean await(String text, int seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (!output().contains(text)) {
                if (!process.isAlive() || System.nanoTime() > deadline) return output().contains(text);
                Thread.sleep(20);
            }
            return true;
        }

        /**
         * SIGINT (both testpmds then print their stop summary and exit), then waits; the whole
         * output, or null if it did not end within {@code seconds} (then it is killed) or ended
         * without its stop summary. A process that does not say it got the signal within
         * {@value #SIGINT_ANSWER_SECONDS} s gets SIGTERM, which both testpmds take the same way: a
         * shell without job control starts a background command with SIGINT ignored, children
         * inherit that, and the JVM then leaves SIGINT ignored (so does a bench run as
         * {@code ./jpdk bench vhost &} from a script).
         */
        String interruptAndWait(int seconds) throws InterruptedException {
            String pid = Long.toString(process.pid());
            shQuietly("kill", "-INT", pid);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            if (!answered(Math.min(seconds, SIGINT_ANSWER_SECONDS)) && process.isAlive()) shQuietly("kill", "-TERM", pid);
            if (!process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                close();
                return null;
            }
            reader.join(5000);
            // a JVM ended by SIGINT exits 130 even after a clean stop: the summary tells
            String o = output();
            return process.exitValue() == 0 || o.contains(STOPPED) ? o : null;
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                try {
                    process.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            LIVE.remove(this);
        }
    }
}
