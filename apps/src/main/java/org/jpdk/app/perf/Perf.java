package org.jpdk.app.perf;

import org.HdrHistogram.Histogram;
import org.jpdk.app.App;
import org.jpdk.app.AppMain;
import org.jpdk.bdev.Bdev;
import org.jpdk.bdev.BdevOptions;
import org.jpdk.eal.CallMain;
import org.jpdk.eal.Eal;
import org.jpdk.sys.Errno;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./jpdk perf}: spdk_nvme_perf and bdevperf on a jpdk {@link Bdev}:
 * {@code -q depth -o io_size -w read|write|randread|randwrite|rw|randrw -M read% -t seconds
 * -c core_mask <file or device>}. Every lcore of the mask (the main one included) runs a
 * {@link PerfWorker} on a queue pair of its own; an unpinned thread prints a line a second on
 * runs of 3 s or more; at the end a table per lcore (IOPS, MiB/s, average, min, max, p50, p99,
 * p99.9 latency in microseconds) and, last, as spdk_nvme_perf,
 * {@code Total : <IOPS> <MiB/s> <avg us> <min us> <max us>}.
 *
 * <p>The options are spdk_nvme_perf's letters, not EAL arguments: {@code -c} becomes the EAL's
 * {@code -c}, and the EAL is started without further arguments.
 */
public final class Perf {
    static final String RULE = "========================================================";
    private final Eal eal;
    private final PerfOptions o;
    private final PrintStream out;

    private Perf(Eal eal, PerfOptions o, PrintStream out) {
        this.eal = eal;
        this.o = o;
        this.out = out;
    }

    /** The {@code ./jpdk perf} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "perf";
        }

        @Override
        public String summary() {
            return "spdk_nvme_perf on a file or block device: polled io_uring queue pairs, IOPS and latency";
        }

        @Override
        public void main(String[] args) {
            Perf.main(args);
        }
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /** Runs perf; returns the exit code (1 for a user mistake, said in one line, or any I/O error). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        // spdk_nvme_perf's -c is the EAL's: hand it over, and the perf options after "--"
        List<String> eal = new ArrayList<>();
        String mask = "0x1";
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("-c") && i + 1 < args.length) mask = args[i + 1];
            if (args[i].equals("--no-huge")) eal.add("--no-huge");
        }
        eal.addAll(List.of("-c", mask, "--"));
        eal.addAll(Arrays.asList(args));
        return AppMain.run("perf", eal.toArray(String[]::new), out, err, PerfOptions::parse, p -> p.help, PerfOptions::usage,
                (e, opt) -> new Perf(e, opt, out).runApp());
    }

    private int runApp() {
        BdevOptions bo = BdevOptions.defaults().withDirect(!o.buffered);
        try (Bdev bdev = Bdev.open(o.device, bo)) {
            if (o.ioSize % bdev.blockSize() != 0) {
                throw new IllegalArgumentException("-o " + o.ioSize + ": allowed a multiple of the block size " + bdev.blockSize()
                        + " of " + o.device);
            }
            if (o.ioSize > (long) bdev.blockCount() * bdev.blockSize()) {
                throw new IllegalArgumentException("-o " + o.ioSize + ": larger than " + o.device + " ("
                        + (long) bdev.blockCount() * bdev.blockSize() + " bytes)");
            }
            int[] lcores = lcores();
            PerfWorker[] workers = new PerfWorker[lcores.length];
            out.println("Initializing: " + bdev);
            for (int i = 0; i < lcores.length; i++) {
                workers[i] = new PerfWorker(lcores[i], i, lcores.length, o, bdev, eal);
                out.println("Associating " + o.device + " with lcore " + lcores[i]);
            }
            out.printf(Locale.ROOT, "Initialization complete. Launching workers: %s, %d bytes, depth %d%s, %s%s.%n",
                    o.pattern.label(), o.ioSize, o.depth, o.pattern.mixed() ? ", " + o.readPercent + "% reads" : "",
                    fmtSeconds(o.seconds), o.warmup > 0 ? " after " + fmtSeconds(o.warmup) + " of warm-up" : "");
            out.flush();
            Thread progress = o.seconds + o.warmup >= 3 ? Thread.ofPlatform().daemon().name("perf-progress").start(() -> progress(workers)) : null;
            eal.mpRemoteLaunch(lcore -> workers[indexOf(lcores, lcore)].run(), CallMain.CALL_MAIN);
            eal.mpWaitLcore();
            if (progress != null) {
                progress.interrupt();
                try {
                    progress.join(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return report(workers, bdev);
        }
    }

    private int[] lcores() {
        int[] all = new int[eal.workerLcores().length + 1];
        all[0] = eal.mainLcore();
        System.arraycopy(eal.workerLcores(), 0, all, 1, all.length - 1);
        Arrays.sort(all);
        return all;
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        throw new IllegalStateException("lcore " + v + " has no worker");
    }

    /** Once a second: IOPS, MiB/s and average latency over all lcores since the last line. */
    private void progress(PerfWorker[] workers) {
        long[] lastIos = new long[workers.length], lastBytes = new long[workers.length], lastLat = new long[workers.length];
        long start = System.nanoTime(), last = start;
        try {
            for (int sec = 1; ; sec++) {
                long next = start + sec * 1_000_000_000L;
                Thread.sleep(Math.max(0, (next - System.nanoTime()) / 1_000_000));
                long now = System.nanoTime();
                long ios = 0, bytes = 0, lat = 0;
                for (int i = 0; i < workers.length; i++) {
                    long a = workers[i].counters.get(PerfWorker.IOS), b = workers[i].counters.get(PerfWorker.BYTES),
                            c = workers[i].counters.get(PerfWorker.LAT_SUM);
                    ios += a - lastIos[i];
                    bytes += b - lastBytes[i];
                    lat += c - lastLat[i];
                    lastIos[i] = a;
                    lastBytes[i] = b;
                    lastLat[i] = c;
                }
                double s = (now - last) / 1e9;
                last = now;
                out.printf(Locale.ROOT, "[%4d s] %12.2f IOPS %10.2f MiB/s %10.2f us avg%s%n", sec, ios / s, bytes / s / (1 << 20),
                        ios == 0 ? 0 : lat / 1e3 / ios, sec <= o.warmup ? "  (warm-up)" : "");
                out.flush();
            }
        } catch (InterruptedException e) {
            // the run is over
        }
    }

    private int report(PerfWorker[] workers, Bdev bdev) {
        out.println(RULE);
        out.printf(Locale.ROOT, "%-40s   %41s%n", "", "Latency(us)");
        out.printf(Locale.ROOT, "%-40s: %12s %10s %10s %10s %10s %10s %10s %10s%n", "Device Information", "IOPS", "MiB/s",
                "Average", "min", "max", "p50", "p99", "p99.9");
        Histogram all = new Histogram(1, PerfWorker.HIGHEST_NS, 3);
        double iops = 0, mibs = 0;
        long ios = 0, latSum = 0, min = Long.MAX_VALUE, max = 0, errors = 0;
        for (PerfWorker w : workers) {
            double s = Math.max(w.elapsedNs, 1) / 1e9;
            double wi = w.ios / s, wm = w.ios * (double) o.ioSize / s / (1 << 20);
            out.printf(Locale.ROOT, "%-40s: %12.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f%n",
                    label(o.device, " from core " + w.lcore), wi, wm, avgUs(w.latSum, w.ios), us(w.ios == 0 ? 0 : w.minNs),
                    us(w.maxNs), pct(w.histogram, 50), pct(w.histogram, 99), pct(w.histogram, 99.9));
            iops += wi;
            mibs += wm;
            ios += w.ios;
            latSum += w.latSum;
            if (w.ios > 0) min = Math.min(min, w.minNs);
            max = Math.max(max, w.maxNs);
            errors += w.errors;
            all.add(w.histogram);
        }
        if (workers.length > 1) {
            out.printf(Locale.ROOT, "%-40s: %12s %10s %10s %10s %10s %10.2f %10.2f %10.2f%n", "all lcores", "", "", "", "", "",
                    pct(all, 50), pct(all, 99), pct(all, 99.9));
        }
        int rc = 0;
        for (PerfWorker w : workers) {
            if (w.errors > 0) {
                out.printf(Locale.ROOT, "lcore %d: %d I/O errors, the first %s%n", w.lcore, w.errors, Errno.name(-w.firstError));
                rc = 1;
            }
        }
        if (bdev.removed()) out.println(o.device + ": the device went away during the run (" + Errno.name(bdev.removedErrno()) + ")");
        out.println(RULE);
        out.printf(Locale.ROOT, "%-40s: %12.2f %10.2f %10.2f %10.2f %10.2f%n", "Total", iops, mibs, avgUs(latSum, ios),
                us(ios == 0 ? 0 : min), us(max));
        if (errors > 0) rc = 1;
        return rc;
    }

    /** {@code dev + suffix} in at most 39 characters, the device's name cut from the left if need be. */
    static String label(String dev, String suffix) {
        int room = 39 - suffix.length();
        return (dev.length() <= room ? dev : "..." + dev.substring(dev.length() - room + 3)) + suffix;
    }

    private static double avgUs(long sum, long n) {
        return n == 0 ? 0 : sum / 1e3 / n;
    }

    private static double us(long ns) {
        return ns / 1e3;
    }

    private static double pct(Histogram h, double p) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(p) / 1e3;
    }

    private static String fmtSeconds(double s) {
        return s == Math.rint(s) ? (long) s + " s" : s + " s";
    }
}
