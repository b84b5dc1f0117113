package org.jpdk.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Network namespaces and veth pairs for integration tests, removed on {@link #close}. Names carry
 * the pid and a counter ({@code jpdk<pid>x<n>}) so that parallel runs and leftovers from a killed
 * run never clash. Traffic stays inside the namespaces: nothing here touches the host's own
 * interfaces.
 *
 * <pre>
 * try (NetnsFixture nf = NetnsFixture.create()) {
 *     String a = nf.namespace(), b = nf.namespace();
 *     nf.veth(a, "va", b, "vb");          // both ends up, no addresses
 *     nf.ip(a, "addr", "add", "10.9.0.1/24", "dev", "va");
 * }
 * </pre>
 */
public final class NetnsFixture implements AutoCloseable {
    private static final AtomicInteger SEQ = new AtomicInteger();
    private final List<String> namespaces = new ArrayList<>();

    private NetnsFixture() {
    }

    /** A fixture, or a skipped test without root or the ip tool (a failure under -Djpdk.ci=true). */
    public static NetnsFixture create() {
        requireRoot();
        return new NetnsFixture();
    }

    /** Skips (or under CI fails) unless running as root with iproute2 installed. */
    public static void requireRoot() {
        String why = null;
        if (!"root".equals(System.getProperty("user.name"))) why = "needs root (network namespaces)";
        else if (!new java.io.File("/usr/sbin/ip").canExecute() && !new java.io.File("/sbin/ip").canExecute()
                && !new java.io.File("/usr/bin/ip").canExecute()) why = "needs the ip tool (iproute2)";
        if (why == null) return;
        if ("true".equals(System.getProperty("jpdk.ci"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
    }

    /** Creates a new namespace with its loopback up and returns its name. */
    public String namespace() {
        String name = "jpdk" + ProcessHandle.current().pid() + "x" + SEQ.incrementAndGet();
        run("ip", "netns", "add", name);
        namespaces.add(name);
        ip(name, "link", "set", "lo", "up");
        return name;
    }

    /** A veth pair {@code ifA} in {@code nsA} and {@code ifB} in {@code nsB}, both up. */
    public void veth(String nsA, String ifA, String nsB, String ifB) {
        ip(nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB);
        ip(nsA, "link", "set", ifA, "up");
        ip(nsB, "link", "set", ifB, "up");
    }

    /** {@code ip -n ns args...}; fails the test with the command's output if it fails. */
    public String ip(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", ns));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    /** {@code ip netns exec ns cmd...}, waiting for it; returns its output (stdout and stderr). */
    public String exec(String ns, String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(List.of(cmd));
        return run(c.toArray(String[]::new));
    }

    /** Runs a command with a 60 s limit; returns its output or fails with it. */
    public static String run(String... cmd) {
        Result r = runQuietly(60, cmd);
        if (r.exit != 0) fail(String.join(" ", cmd) + " exited " + r.exit + ": " + r.output.strip());
        return r.output;
    }

    /** The exit code and output of a command, killed after {@code seconds}. */
    public record Result(int exit, String output) {
    }

    public static Result runQuietly(int seconds, String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[][] out = new byte[1][];
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    out[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    out[0] = new byte[0];
                }
            });
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                reader.join();
                return new Result(-1, "timed out after " + seconds + " s: " + new String(out[0], StandardCharsets.UTF_8));
            }
            reader.join();
            return new Result(p.exitValue(), new String(out[0], StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(-2, cmd[0] + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-3, "interrupted");
        }
    }

    /** The namespaces made so far. */
    public List<String> namespaces() {
        return List.copyOf(namespaces);
    }

    /** Deletes every namespace made (and with them their veths and taps). */
    @Override
    public void close() {
        for (String ns : namespaces.reversed()) runQuietly(30, "ip", "netns", "delete", ns);
        namespaces.clear();
    }
}
