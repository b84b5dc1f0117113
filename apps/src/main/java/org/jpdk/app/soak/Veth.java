package org.jpdk.app.soak;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The soak's network namespace and its veth pair va/vb, made and removed with iproute2's {@code ip}. */
final class Veth {
    private Veth() {
    }

    /** Makes namespace {@code ns} with va and vb up and IPv6 off (no neighbour discovery frames). */
    static void create(String ns) {
        ip("netns", "add", ns);
        try {
            ip("-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb");
            for (String i : List.of("va", "vb")) {
                run(List.of("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf." + i + ".disable_ipv6=1"));
                ip("-n", ns, "link", "set", i, "up");
            }
        } catch (IllegalStateException e) {
            delete(ns);
            throw e;
        }
    }

    /** Removes the namespace (and the pair with it); quiet when it is already gone. */
    static void delete(String ns) {
        try {
            Process p = new ProcessBuilder("ip", "netns", "del", ns).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            // nothing to remove, or no ip: create() said so already
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void ip(String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        run(cmd);
    }

    private static void run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed" + (out.isEmpty() ? "" : ": " + out)
                        + " (the soak needs root and iproute2)");
            }
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", cmd) + ": " + e.getMessage() + " (the soak needs iproute2's ip)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(String.join(" ", cmd) + ": interrupted");
        }
    }
}
