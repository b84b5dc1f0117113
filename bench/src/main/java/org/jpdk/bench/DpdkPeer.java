package org.jpdk.bench;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jpdk.eal.Hugepages;

/**
 * A DPDK program of ours (C, built here against libdpdk) kept running beside a benchmark, so that
 * its figures and ours can alternate round by round: on a shared host, DRAM latency moves by 2x
 * over minutes, and a peer run once, minutes away from ours, measures a different machine. The
 * program sets up (printing {@code READY ...}), then answers each {@code run} line on its stdin
 * with one {@code RESULT f1 f2 ...} line and ends at end of input.
 */
final class DpdkPeer implements AutoCloseable {
    final Process process;
    final String pages;
    /** The fields after READY. */
    String[] ready;
    private final BufferedReader out;
    private final BufferedWriter in;
    private final String name, filePrefix;

    private DpdkPeer(String name, Process process, String pages, String filePrefix) {
        this.name = name;
        this.process = process;
        this.pages = pages;
        this.filePrefix = filePrefix;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
    }

    /**
     * Builds {@code source} as {@code name} in {@code dir} and starts it on lcore 0, on hugepages
     * when {@code hugeIfFree} and 256 MiB of them are free ({@link #pages} "huge"), on 4 KiB pages
     * otherwise ("nohuge"),
     * with {@code appArgs} after {@code --}; waits up to {@code setupSeconds} for READY. Null,
     * after a line saying why, if it cannot be built, started or set up.
     */
    static DpdkPeer start(String name, String source, Path dir, String filePrefix, boolean hugeIfFree, List<String> appArgs,
                          String what, long setupSeconds) throws IOException {
        Path exe = Bench.buildDpdkPeer(name, source, dir);
        if (exe == null) return null;
        boolean huge = hugeIfFree && Hugepages.sizes().stream().anyMatch(z -> z.free() * z.pageSize() >= (256L << 20));
        List<String> cmd = new ArrayList<>(List.of(exe.toString(), "-l", "0", "--no-pci", "--no-telemetry",
                "--log-level", "lib.eal:warning", "-m", huge ? "256" : "512"));
        // --in-memory: hugepages through memfd, no hugetlbfs mount needed (it refuses --no-huge).
        cmd.addAll(huge ? List.of("--in-memory") : List.of("--no-huge", "--file-prefix", filePrefix));
        cmd.add("--");
        cmd.addAll(appArgs);
        System.out.println("# DPDK peer " + name + ": " + what + ", on " + (huge ? "hugepages" : "4 KiB pages (no free hugepages)")
                + "; setting up ...");
        DpdkPeer p = new DpdkPeer(name, new ProcessBuilder(cmd).redirectErrorStream(true).start(), huge ? "huge" : "nohuge", filePrefix);
        String line = p.expect("READY", setupSeconds);
        if (line == null) {
            p.close();
            return null;
        }
        p.ready = fields(line);
        return p;
    }

    /** One round: the numbers on the RESULT line, or null (after a line saying why) if the peer failed. */
    double[] round(long seconds) throws IOException {
        if (!process.isAlive()) return null;
        in.write("run\n");
        in.flush();
        String line = expect("RESULT", seconds);
        if (line == null) return null;
        String[] f = fields(line);
        double[] v = new double[f.length];
        for (int i = 0; i < f.length; i++) v[i] = Double.parseDouble(f[i]);
        return v;
    }

    private static String[] fields(String line) {
        String[] f = line.strip().split(" +");
        return Arrays.copyOfRange(f, 1, f.length);
    }

    /** The next line starting with {@code word}; null, after printing what came instead, at end of output or timeout. */
    private String expect(String word, long seconds) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        StringBuilder other = new StringBuilder();
        while (System.nanoTime() < deadline) {
            if (!out.ready()) {
                if (!process.isAlive() && !out.ready()) break;
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return null;
                }
                continue;
            }
            String line = out.readLine();
            if (line == null) break;
            if (line.startsWith(word + " ")) return line;
            other.append("\n# ").append(line);
        }
        System.out.println("# the DPDK peer " + name + " gave no " + word + " line"
                + (process.isAlive() ? " in " + seconds + " s" : " (it exited)") + ":" + other);
        return null;
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // it is going away anyway
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        Bench.removeDpdkRuntimeDir(filePrefix);
    }
}
