package org.jpdk.app.soak;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The soak's samples and its verdict. Each sample: the mbufs in use in every pool (pools without
 * per-lcore caches, so the count is exact), the process's RSS (VmRSS), the heap in use right
 * after a full collection ({@link System#gc}), the collections the process made other than
 * those the sampler asked for, open file descriptors and live threads.
 *
 * <p>Tolerances, from the first sample under traffic (the second row: the JIT and the lazily made
 * objects of the first seconds are not growth) to the last, taken after the path drained:
 * threads and fds not one more (fewer is fine: the JDK's process reaper thread, which ran the
 * {@code ip} commands, ends after a minute idle); heap after GC at most 2 MiB more; RSS at most 16 MiB more (JIT
 * code and native allocator noise); collections other than the sampler's at most 2 (the fast
 * path allocates nothing, but the sampler's own file reads and strings may push one); every pool's
 * in-use count back to the baseline's (0 for the generator's pool) once the path drained.
 */
final class Sampler {
    static final long HEAP_TOLERANCE = 2L << 20, RSS_TOLERANCE = 16L << 20;
    static final long GC_TOLERANCE = 2;

    record Sample(long seconds, int[] inUse, long rss, long heapAfterGc, long otherGcs, int fds, int threads) {
    }

    private final List<Mempool<Mbuf>> pools;
    private final List<Sample> samples = new ArrayList<>();
    private long ownGcs, lastAfter = -1, otherGcs;

    Sampler(List<Mempool<Mbuf>> pools) {
        this.pools = pools;
    }

    void sample(long seconds) {
        int[] inUse = new int[pools.size()];
        for (int i = 0; i < inUse.length; i++) inUse[i] = pools.get(i).size() - pools.get(i).availCount();
        long before = gcCount();
        if (lastAfter >= 0) otherGcs += before - lastAfter;
        System.gc();
        long after = gcCount();
        ownGcs += after - before;
        lastAfter = after;
        var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        record(new Sample(seconds, inUse, rss(), heap.getUsed(), otherGcs, fds(), ManagementFactory.getThreadMXBean().getThreadCount()));
    }

    void record(Sample s) {
        samples.add(s);
    }

    List<Sample> samples() {
        return samples;
    }

    private static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) n += Math.max(0, b.getCollectionCount());
        return n;
    }

    private static long rss() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            // below
        }
        return -1;
    }

    private static int fds() {
        try (var l = Files.list(Path.of("/proc/self/fd"))) {
            return (int) l.count() - 1; // less the one this listing opened
        } catch (IOException e) {
            return -1;
        }
    }

    String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%7s", "time s"));
        for (Mempool<Mbuf> p : pools) b.append(String.format(Locale.ROOT, " %10s", p.name()));
        b.append(String.format(Locale.ROOT, " %9s %13s %9s %5s %7s%n", "RSS MiB", "heap/GC KiB", "other GCs", "fds", "threads"));
        for (Sample s : samples) {
            b.append(String.format(Locale.ROOT, "%7d", s.seconds()));
            for (int u : s.inUse()) b.append(String.format(Locale.ROOT, " %10d", u));
            b.append(String.format(Locale.ROOT, " %9.1f %13d %9d %5d %7d%n", s.rss() / 1048576.0, s.heapAfterGc() / 1024, s.otherGcs(),
                    s.fds(), s.threads()));
        }
        b.append(String.format(Locale.ROOT, "(mbufs in use per pool; the first row before traffic, the last after the path drained; "
                + "the sampler's own %d GCs not counted)", ownGcs));
        return b.toString();
    }

    /** What grew beyond its tolerance, one line each; empty when the lines are flat. */
    List<String> verdict() {
        List<String> p = new ArrayList<>();
        if (samples.size() < 3) {
            p.add("only " + samples.size() + " samples; run longer than two intervals");
            return p;
        }
        Sample base = samples.getFirst(), warm = samples.get(1), last = samples.getLast();
        for (int i = 0; i < pools.size(); i++) {
            if (last.inUse()[i] != base.inUse()[i]) {
                p.add("pool " + pools.get(i).name() + ": " + last.inUse()[i] + " mbufs in use after the drain, " + base.inUse()[i] + " before traffic");
            }
        }
        if (last.threads() > warm.threads()) p.add("threads " + warm.threads() + " -> " + last.threads());
        if (last.fds() > warm.fds()) p.add("open fds " + warm.fds() + " -> " + last.fds());
        if (last.heapAfterGc() - warm.heapAfterGc() > HEAP_TOLERANCE) {
            p.add("heap after GC grew " + (last.heapAfterGc() - warm.heapAfterGc()) / 1024 + " KiB (tolerance " + HEAP_TOLERANCE / 1024 + ")");
        }
        if (last.rss() - warm.rss() > RSS_TOLERANCE) {
            p.add("RSS grew " + (last.rss() - warm.rss()) / 1048576 + " MiB (tolerance " + RSS_TOLERANCE / 1048576 + ")");
        }
        if (last.otherGcs() - warm.otherGcs() > GC_TOLERANCE) {
            p.add((last.otherGcs() - warm.otherGcs()) + " garbage collections besides the sampler's (tolerance " + GC_TOLERANCE + "): something allocates");
        }
        return p;
    }
}
