package org.jpdk.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./jpdk bench bdev [--seconds N] [--rounds N] [FILE]}: our {@code ./jpdk perf} and fio
 * (Debian's, {@code --ioengine=io_uring}) side by side in one run, on the same file, with the same
 * depth, block size, pattern, run time and warm-up, both O_DIRECT and both on CPU 0: 4 KiB random
 * reads at depth 1 and 32, and 128 KiB sequential writes at depth 16. fio gets
 * {@code --fixedbufs --registerfiles}, the two io_uring features our qpairs use by default
 * (registered buffers and files), so the comparison is of the two loops, not of their settings;
 * fio waits for completions in {@code io_uring_enter} as it always does. Ours runs twice: polling
 * without a break ({@code --idle busy}, SPDK's model, the figure for a core of its own) and
 * sleeping in the kernel after 64 empty polls ({@code --idle interrupt}, the figure for a CPU
 * shared with other work, where a poller only gets its share of the CPU and its completions
 * wait for its turn). The three alternate, in a rotating order each round, so that a change in
 * the machine's load falls on all; each figure is the mean over the rounds.
 *
 * <p>Without FILE it writes a 1 GiB file of random bytes in the current directory (not sparse:
 * reads of a hole would never reach the disk) and removes it at the end, also after Ctrl-C.
 * Prints {@code BENCH bdev_<case>_kiops} (ours, busy), {@code bdev_<case>_interrupt_kiops} (ours,
 * interrupt), {@code fio_bdev_<case>_kiops}, the p99 latencies ({@code ..._p99_us}), and the
 * ratios {@code bdev_<case>[_interrupt]_jpdk_vs_fio} (IOPS, higher is better) and
 * {@code bdev_<case>[_interrupt]_p99_jpdk_vs_fio} (p99 latency, lower is better).
 */
public final class BdevBench {
    static final long FILE_BYTES = 1L << 30;
    static final int WARMUP = 2;
    private static final Pattern TOTAL = Pattern.compile("^Total\\s+:\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)\\s*$",
            Pattern.MULTILINE);
    private static final Pattern LCORE = Pattern.compile("^.* from core \\d+\\s*:((?:\\s+[\\d.]+){8})\\s*$", Pattern.MULTILINE);

    /** One side-by-side case. */
    record Case(String name, String pattern, int blockSize, int depth) {
    }

    static final List<Case> CASES = List.of(
            new Case("randread_4k_qd1", "randread", 4096, 1),
            new Case("randread_4k_qd32", "randread", 4096, 32),
            new Case("seqwrite_128k_qd16", "write", 128 << 10, 16));

    /** What one run measured: IOPS and p99 latency in microseconds (NaN when it failed). */
    record Figures(double iops, double p99us, double avgUs) {
        static final Figures NONE = new Figures(Double.NaN, Double.NaN, Double.NaN);
    }

    private BdevBench() {
    }

    /** The {@code ./jpdk bench bdev} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "bdev";
        }

        @Override
        public String summary() {
            return "jpdk perf beside fio (io_uring, O_DIRECT) on one file: 4k randread qd1/qd32, 128k seq write";
        }

        @Override
        public void main(String[] args) throws Exception {
            BdevBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        int seconds = 8, rounds = 3;
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = positive("--seconds", args, ++i);
                case "--rounds" -> rounds = positive("--rounds", args, ++i);
                default -> {
                    if (args[i].startsWith("-") || file != null) {
                        System.err.println("jpdk bench bdev: usage: [--seconds N] [--rounds N] [FILE]; not '" + args[i] + "'");
                        System.exit(1);
                    }
                    file = Path.of(args[i]);
                }
            }
        }
        Path fio = Bench.findProgram("fio");
        if (fio == null) System.out.println("# fio not found (apt-get install fio): its figures are missing");
        Path made = file == null ? Path.of("bdevbench-" + ProcessHandle.current().pid() + ".img").toAbsolutePath() : null;
        Thread cleanup = new Thread(() -> delete(made), "bdev-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            if (made != null) {
                System.out.println("# writing " + (FILE_BYTES >> 20) + " MiB of random bytes to " + made);
                fill(made, FILE_BYTES);
                file = made;
            }
            long size = Files.size(file);
            System.out.printf(Locale.ROOT, "# %s, %d MiB; %d s runs after %d s of warm-up, %d rounds; load average %s%n", file,
                    size >> 20, seconds, WARMUP, rounds, loadAverage());
            List<String[]> ratios = new ArrayList<>();
            for (Case c : CASES) {
                List<Figures> busy = new ArrayList<>(), intr = new ArrayList<>(), theirs = new ArrayList<>();
                for (int r = 0; r < rounds; r++) {
                    for (int k = 0; k < 3; k++) {
                        switch ((r + k) % 3) {
                            case 0 -> busy.add(runOurs(c, file, seconds, "busy"));
                            case 1 -> intr.add(runOurs(c, file, seconds, "interrupt"));
                            default -> {
                                if (fio != null) theirs.add(runFio(fio, c, file, size, seconds));
                            }
                        }
                    }
                }
                Figures b = mean(busy), i = mean(intr), t = fio == null ? Figures.NONE : mean(theirs);
                String n = "bdev_" + c.name();
                Bench.line(n + "_kiops", b.iops() / 1e3, "kIOPS");
                Bench.line(n + "_interrupt_kiops", i.iops() / 1e3, "kIOPS");
                Bench.line("fio_" + n + "_kiops", t.iops() / 1e3, "kIOPS");
                Bench.line(n + "_p99_us", b.p99us(), "us");
                Bench.line(n + "_interrupt_p99_us", i.p99us(), "us");
                Bench.line("fio_" + n + "_p99_us", t.p99us(), "us");
                ratios.add(new String[]{n + "_jpdk_vs_fio", Double.toString(b.iops()), Double.toString(t.iops())});
                ratios.add(new String[]{n + "_interrupt_jpdk_vs_fio", Double.toString(i.iops()), Double.toString(t.iops())});
                ratios.add(new String[]{n + "_p99_jpdk_vs_fio", Double.toString(b.p99us()), Double.toString(t.p99us())});
                ratios.add(new String[]{n + "_interrupt_p99_jpdk_vs_fio", Double.toString(i.p99us()), Double.toString(t.p99us())});
            }
            for (String[] r : ratios) Bench.ratio(r[0], Double.parseDouble(r[1]), Double.parseDouble(r[2]));
            System.out.println("# load average at the end " + loadAverage());
        } finally {
            delete(made);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
    }

    private static int positive(String name, String[] args, int i) {
        try {
            int v = Integer.parseInt(args[i]);
            if (v > 0) return v;
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            // below
        }
        System.err.println("jpdk bench bdev: " + name + ": allowed a whole number > 0");
        System.exit(1);
        return 0;
    }

    static Figures runOurs(Case c, Path file, int seconds, String idle) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        String jar = Path.of(BdevBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseParallelGC",
                "-cp", jar, "org.jpdk.app.Launcher", "perf", "-q", Integer.toString(c.depth()), "-o", Integer.toString(c.blockSize()),
                "-w", c.pattern(), "-t", Integer.toString(seconds), "-a", Integer.toString(WARMUP), "-c", "0x1", "--idle", idle,
                file.toString()));
        String out = Bench.runPeer(cmd, null, seconds + WARMUP + 60);
        Figures f = parseOurs(out);
        System.out.printf(Locale.ROOT, "# jpdk perf %-20s %-9s %10.1f IOPS  p99 %9.1f us  avg %8.1f us%n", c.name(), idle, f.iops(),
                f.p99us(), f.avgUs());
        if (Double.isNaN(f.iops())) tail("jpdk perf", out);
        return f;
    }

    static Figures parseOurs(String out) {
        if (out == null) return Figures.NONE;
        Matcher t = TOTAL.matcher(out), l = LCORE.matcher(out);
        if (!t.find() || !l.find()) return Figures.NONE;
        String[] v = l.group(1).strip().split("\\s+");
        return new Figures(Double.parseDouble(t.group(1)), Double.parseDouble(v[6]), Double.parseDouble(t.group(3)));
    }

    static Figures runFio(Path fio, Case c, Path file, long size, int seconds) {
        List<String> cmd = List.of(fio.toString(), "--name=bdevbench", "--filename=" + file, "--ioengine=io_uring", "--direct=1",
                "--rw=" + c.pattern(), "--bs=" + c.blockSize(), "--iodepth=" + c.depth(), "--runtime=" + seconds,
                "--ramp_time=" + WARMUP, "--time_based", "--size=" + size, "--norandommap", "--randrepeat=0",
                "--fixedbufs=1", "--registerfiles=1", "--lat_percentiles=1", "--cpus_allowed=0", "--output-format=json");
        String out = Bench.runPeer(cmd, null, seconds + WARMUP + 60);
        Figures f = parseFio(out, c.pattern().contains("read") ? "read" : "write");
        System.out.printf(Locale.ROOT, "# fio       %-20s %-9s %10.1f IOPS  p99 %9.1f us  avg %8.1f us%n", c.name(), "", f.iops(),
                f.p99us(), f.avgUs());
        if (Double.isNaN(f.iops())) tail("fio", out);
        return f;
    }

    /** IOPS, p99 and mean of fio's {@code lat_ns} (submission to completion) from its JSON, for the "read" or "write" side. */
    static Figures parseFio(String json, String side) {
        if (json == null) return Figures.NONE;
        int at = json.indexOf("\"" + side + "\" : {");
        if (at < 0) return Figures.NONE;
        String s = json.substring(at);
        Matcher iops = Pattern.compile("\"iops\" : ([\\d.]+)").matcher(s);
        int lat = s.indexOf("\"lat_ns\" : {");
        if (!iops.find() || lat < 0) return Figures.NONE;
        String l = s.substring(lat);
        Matcher p99 = Pattern.compile("\"99\\.000000\" : (\\d+)").matcher(l), mean = Pattern.compile("\"mean\" : ([\\d.]+)").matcher(l);
        if (!p99.find() || !mean.find()) return Figures.NONE;
        return new Figures(Double.parseDouble(iops.group(1)), Long.parseLong(p99.group(1)) / 1e3, Double.parseDouble(mean.group(1)) / 1e3);
    }

    static Figures mean(List<Figures> fs) {
        double a = 0, b = 0, c = 0;
        int n = 0;
        for (Figures f : fs) {
            if (Double.isNaN(f.iops())) continue;
            a += f.iops();
            b += f.p99us();
            c += f.avgUs();
            n++;
        }
        return n == 0 ? Figures.NONE : new Figures(a / n, b / n, c / n);
    }

    private static void tail(String who, String out) {
        System.out.println("# " + who + " gave no figures; its output ends with:");
        if (out == null) return;
        String[] l = out.split("\n");
        for (int i = Math.max(0, l.length - 8); i < l.length; i++) System.out.println("#   " + l[i]);
    }

    /** {@code bytes} of random data, written and synced, so that every block is really on the disk. */
    static void fill(Path f, long bytes) throws IOException {
        Random rnd = new Random(1);
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] chunk = new byte[1 << 20];
            for (long done = 0; done < bytes; done += chunk.length) {
                rnd.nextBytes(chunk);
                buf.clear();
                buf.put(chunk).flip();
                while (buf.hasRemaining()) ch.write(buf);
            }
            ch.force(true);
        }
    }

    private static void delete(Path p) {
        if (p == null) return;
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            System.out.println("# could not remove " + p + ": " + e.getMessage());
        }
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | ArrayIndexOutOfBoundsException e) {
            return "unknown";
        }
    }
}
