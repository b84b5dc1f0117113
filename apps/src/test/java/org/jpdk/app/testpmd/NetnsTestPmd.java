package org.jpdk.app.testpmd;

import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Assumptions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A testpmd running in a network namespace as a child process: ours in a child JVM (the test's own
 * class path, {@code org.jpdk.app.Launcher testpmd}) or DPDK's {@code dpdk-testpmd}, both under
 * {@code ip netns exec}. Both are started without {@code -i} and without {@code --stats-period},
 * so they print {@code Press enter to exit} once forwarding runs and stop on Enter, printing
 * their stop summary; stdin stays open until then. Every wait has a deadline; {@link #close}
 * kills a process that is still alive and removes DPDK's runtime directory.
 */
final class NetnsTestPmd implements AutoCloseable {
    /** Printed by both testpmds once forwarding has started. */
    static final String READY = "Press enter to exit";

    private final String who;
    private final Process process;
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private final Thread reader;
    private final String dpdkPrefix;

    private NetnsTestPmd(String who, List<String> cmd, String dpdkPrefix) {
        this.who = who;
        this.dpdkPrefix = dpdkPrefix;
        try {
            this.process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError(who + ": cannot start " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        }
        InputStream in = process.getInputStream();
        this.reader = Thread.ofPlatform().daemon().name(who + "-output").start(() -> {
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (output) {
                        output.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                // the process is gone; what was read stays
            }
        });
    }

    /** {@code ip netns exec ns} before a command, or nothing when {@code ns} is null (the host's namespace: memif's sockets). */
    private static List<String> in(String ns) {
        return ns == null ? new ArrayList<>() : new ArrayList<>(List.of("ip", "netns", "exec", ns));
    }

    private static final java.util.concurrent.atomic.AtomicInteger HOST_RUNS = new java.util.concurrent.atomic.AtomicInteger();

    /** Our testpmd in namespace {@code ns} (null: this one) with {@code --no-huge}: {@code eal} then {@code --} then {@code app}. */
    static NetnsTestPmd jpdk(String ns, List<String> eal, String... app) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = in(ns);
        cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-Xmx256m", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"),
                "org.jpdk.app.Launcher", "testpmd", "--no-huge"));
        cmd.addAll(eal);
        cmd.add("--");
        cmd.addAll(List.of(app));
        return new NetnsTestPmd("jpdk testpmd" + (ns == null ? "" : " in " + ns), cmd, null);
    }

    /**
     * DPDK's testpmd in namespace {@code ns} with {@code --no-pci --no-huge -m 128} and a file
     * prefix of its own (removed by {@link #close}).
     */
    static NetnsTestPmd dpdk(String ns, List<String> eal, String... app) {
        return dpdk(ns, List.of("--no-huge", "-m", "128"), eal, app);
    }

    /** As {@link #dpdk(String, List, String...)} with {@code memory} options of the caller's instead of {@code --no-huge -m 128}. */
    static NetnsTestPmd dpdk(String ns, List<String> memory, List<String> eal, String... app) {
        String prog = dpdkTestPmd();
        String prefix = "jpdk" + ProcessHandle.current().pid() + (ns == null ? "h" + HOST_RUNS.incrementAndGet() : ns.substring(ns.lastIndexOf('x')));
        // stdbuf: its stdout is a pipe, which C buffers fully, and READY must show when printed.
        // -m 128 holds the 8192 mbufs and starts in a second; -m 512 takes three here.
        List<String> cmd = in(ns);
        cmd.addAll(List.of("stdbuf", "-oL", prog, "--no-pci"));
        cmd.addAll(memory);
        cmd.add("--file-prefix=" + prefix);
        cmd.addAll(eal);
        cmd.add("--");
        cmd.add("--total-num-mbufs=8192");
        cmd.addAll(List.of(app));
        return new NetnsTestPmd("dpdk-testpmd" + (ns == null ? "" : " in " + ns), cmd, prefix);
    }

    /**
     * The path of dpdk-testpmd (Debian's dpdk-dev). Without it the test is skipped with a message,
     * or fails under {@code -Djpdk.ci=true} (CI installs it: the interop must run there), as
     * {@link NetnsFixture#requireRoot} does for root.
     */
    static String dpdkTestPmd() {
        for (String dir : List.of("/usr/bin", "/usr/local/bin")) {
            Path p = Path.of(dir, "dpdk-testpmd");
            if (Files.isExecutable(p)) return p.toString();
        }
        String why = "needs dpdk-testpmd (apt-get install dpdk-dev)";
        if ("true".equals(System.getProperty("jpdk.ci"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
        return null;
    }

    /** DPDK's testpmd's --file-prefix (null for ours). */
    String dpdkPrefix() {
        return dpdkPrefix;
    }

    /** All output so far. */
    String output() {
        synchronized (output) {
            return output.toString(StandardCharsets.UTF_8);
        }
    }

    /** Waits until the output contains {@code text}; fails with the output if the process ends or the deadline passes. */
    NetnsTestPmd await(String text, long seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!output().contains(text)) {
            if (!process.isAlive()) {
                join(2);
                if (output().contains(text)) break;
                fail(who + " exited " + process.exitValue() + " before printing '" + text + "':\n" + output());
            }
            if (System.nanoTime() > deadline) fail(who + ": no '" + text + "' within " + seconds + " s:\n" + output());
            sleep(20);
        }
        return this;
    }

    /** Presses Enter, waits for the process to end (killing it after {@code seconds}) and returns its whole output. */
    String stop(long seconds) {
        try {
            OutputStream in = process.getOutputStream();
            in.write('\n');
            in.flush();
        } catch (IOException e) {
            // already gone: the checks below report it
        }
        join(seconds);
        if (process.isAlive()) {
            kill();
            fail(who + " did not stop within " + seconds + " s of Enter:\n" + output());
        }
        String out = output();
        if (process.exitValue() != 0) fail(who + " exited " + process.exitValue() + ":\n" + out);
        return out;
    }

    /**
     * Interactive mode ({@code -i}): types {@code line} and waits for {@code marker} in what it
     * prints afterwards; returns that output.
     */
    String type(String line, String marker, long seconds) {
        int from = output().length();
        try {
            OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        } catch (IOException e) {
            fail(who + ": cannot type '" + line + "': " + e.getMessage() + "\n" + output());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!output().substring(from).contains(marker)) {
            if (!process.isAlive() || System.nanoTime() > deadline) fail(who + ": no '" + marker + "' after '" + line + "':\n" + output());
            sleep(20);
        }
        return output().substring(from);
    }

    /** Interactive mode: {@code quit}, and waits for the process to end (killing it after {@code seconds}). */
    String quit(long seconds) {
        try {
            OutputStream in = process.getOutputStream();
            in.write("quit\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
        } catch (IOException e) {
            // gone already: checked below
        }
        join(seconds);
        if (process.isAlive()) {
            kill();
            fail(who + " did not quit within " + seconds + " s:\n" + output());
        }
        return output();
    }

    /** Lets it run for {@code millis}, then {@link #stop}s it (10 s limit). */
    String runFor(long millis) {
        sleep(millis);
        return stop(10);
    }

    /** Waits for a process that ends by itself ({@code --run-seconds}), killing it after {@code seconds}; returns its output. */
    String awaitExit(long seconds) {
        join(seconds);
        if (process.isAlive()) {
            kill();
            fail(who + " did not end within " + seconds + " s:\n" + output());
        }
        if (process.exitValue() != 0) fail(who + " exited " + process.exitValue() + ":\n" + output());
        return output();
    }

    private void join(long seconds) {
        try {
            process.waitFor(seconds, TimeUnit.SECONDS);
            if (!process.isAlive()) reader.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Kills the process with SIGKILL (no shutdown hook, no cleanup of its own) and waits for it. */
    void sigkill() {
        kill();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    private void kill() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        join(10);
    }

    @Override
    public void close() {
        if (process.isAlive()) kill();
        if (dpdkPrefix != null) {
            Path dir = Path.of("/var/run/dpdk", dpdkPrefix);
            if (Files.isDirectory(dir)) {
                try (var files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException e) {
                    throw new AssertionError("cannot remove " + dir + ": " + e.getMessage(), e);
                }
            }
        }
    }

    /** The number after {@code label} in the stop summary's block for port {@code port}. */
    static long portField(String out, int port, String label) {
        return TestPmdTest.field(out, "Forward statistics for port " + port + " ", label);
    }

    /**
     * Two namespaces joined by a veth pair {@code va}–{@code vb}, IPv6 off in both so that the
     * kernel sends nothing of its own (router solicitations, MLD) to disturb exact counts.
     * Returns {@code {nsA, nsB}}.
     */
    static String[] quietVethPair(NetnsFixture nf) {
        String a = nf.namespace(), b = nf.namespace();
        for (String ns : new String[]{a, b}) {
            nf.exec(ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        }
        nf.veth(a, "va", b, "vb");
        return new String[]{a, b};
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
