package org.jpdk.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What every side-by-side benchmark shares: the {@code BENCH} line format, ratios, and running a
 * peer program (the real DPDK) with a time limit.
 */
public final class Bench {
    private Bench() {
    }

    /** Prints {@code BENCH <name> <value> <unit>}: the one format every benchmark figure uses. */
    public static void line(String name, double value, String unit) {
        System.out.printf("BENCH %s %.3f %s%n", name, value, unit);
    }

    /** Prints {@code BENCH <name> <ours/theirs> ratio}, or says why there is no ratio. */
    public static void ratio(String name, double ours, double theirs) {
        if (Double.isNaN(ours) || Double.isNaN(theirs) || theirs == 0) {
            System.out.println("# no ratio for " + name + ": a figure is missing");
            return;
        }
        System.out.printf("BENCH %s %.2f ratio%n", name, ours / theirs);
    }

    /** The first executable named {@code name} on PATH or in /usr/bin, or null. */
    public static Path findProgram(String name) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.add("/usr/bin");
        dirs.add("/usr/local/bin");
        for (String d : dirs) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /**
     * Runs {@code cmd} with stdin closed, returns its combined output; null if it could not run or
     * did not finish within {@code seconds} (then it is killed).
     */
    public static String runPeer(List<String> cmd, String stdin, long seconds) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            byte[][] out = new byte[1][];
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try {
                    out[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    out[0] = new byte[0];
                }
            });
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                System.out.println("# peer " + cmd.get(0) + " did not finish in " + seconds + " s; killed");
                return null;
            }
            reader.join(5000);
            return out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8);
        } catch (IOException e) {
            System.out.println("# peer " + cmd.get(0) + " could not run: " + e.getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Removes the runtime directory a DPDK peer run with {@code --file-prefix prefix} leaves in
     * /var/run/dpdk (sockets and config files), so a benchmark leaves nothing behind.
     */
    public static void removeDpdkRuntimeDir(String prefix) {
        Path dir = Path.of("/var/run/dpdk", prefix);
        if (!Files.isDirectory(dir)) return;
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.out.println("# could not remove " + dir + ": " + e.getMessage());
        }
    }

    /**
     * Compiles {@code source} (C, against Debian's libdpdk) into {@code dir}/{@code name}; the
     * executable, or null after a line saying why (no C compiler, no pkg-config, no dpdk-dev).
     */
    public static Path buildDpdkPeer(String name, String source, Path dir) throws IOException {
        Path cc = findProgram("cc"), pkg = findProgram("pkg-config");
        if (cc == null || pkg == null) {
            System.out.println("# no " + (cc == null ? "C compiler" : "pkg-config") + ": cannot build the DPDK peer " + name);
            return null;
        }
        Path src = dir.resolve(name + ".c"), exe = dir.resolve(name);
        Files.writeString(src, source);
        String built = runPeer(List.of("sh", "-c", "\"$0\" -O3 -o \"$1\" \"$2\" $(\"$3\" --cflags --libs libdpdk)",
                cc.toString(), exe.toString(), src.toString(), pkg.toString()), null, 120);
        if (!Files.isExecutable(exe)) {
            System.out.println("# could not build the DPDK peer " + name + " (needs dpdk-dev): "
                    + (built == null ? "" : built.strip().replace("\n", "\n# ")));
            return null;
        }
        return exe;
    }

    /** Deletes a directory of files (one level), as a peer's build directory. */
    public static void deleteDir(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) Files.deleteIfExists(p);
        }
        Files.deleteIfExists(dir);
    }

    /**
     * {@code --rounds N} from a benchmark's arguments (default 3, at least 1); every other argument
     * goes to {@code rest} in order (JMH options, modes).
     */
    public static int rounds(String bench, String[] args, List<String> rest) {
        int rounds = 3;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--rounds") && i + 1 < args.length) {
                String v = args[++i];
                try {
                    rounds = Integer.parseInt(v);
                } catch (NumberFormatException e) {
                    rounds = 0;
                }
                if (rounds < 1) throw new IllegalArgumentException("bench " + bench + ": --rounds " + v + ": allowed a whole number, 1 or more");
            } else {
                rest.add(args[i]);
            }
        }
        return rounds;
    }

    /** An ordered name-to-figure map, for collecting results before printing them. */
    public static Map<String, Double> results() {
        return new LinkedHashMap<>();
    }
}
