package org.jpdk.app.perf;

import org.HdrHistogram.Histogram;
import org.jpdk.bdev.Bdev;
import org.jpdk.bdev.BdevMemory;
import org.jpdk.bdev.IoCallback;
import org.jpdk.bdev.Qpair;
import org.jpdk.bdev.QpairIdleStrategy;
import org.jpdk.bdev.QpairOptions;
import org.jpdk.eal.BusySpinIdleStrategy;
import org.jpdk.eal.Eal;
import org.jpdk.eal.IdleStrategy;
import org.jpdk.eal.LcoreCounters;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One lcore's I/O loop, as spdk_nvme_perf's worker: a qpair of its own, {@code -q} tasks each with
 * a buffer, every task resubmitted from its completion callback with the next offset (sequential
 * from a start of its own, or uniformly random) and direction ({@code -M}), until the time is up;
 * then no more submissions, and the qpair is drained. Latency is submit-to-callback, into an
 * HdrHistogram (ns, 3 digits); the loop, the callback and the histogram allocate nothing.
 * Counters for the once-a-second line are {@link LcoreCounters} (opaque stores); the histogram
 * and the totals are read by the main thread only after the lcore finished.
 */
final class PerfWorker implements IoCallback {
    static final int IOS = 0, BYTES = 1, LAT_SUM = 2, ERRORS = 3;
    static final long HIGHEST_NS = 3_600_000_000_000L;
    static final long DRAIN_NS = 5_000_000_000L;

    /** One I/O slot: its buffer and when its request went out. */
    static final class Task {
        final MemorySegment buf;
        long start;

        Task(MemorySegment buf) {
            this.buf = buf;
        }
    }

    final int lcore;
    final LcoreCounters counters = new LcoreCounters(4);
    final Histogram histogram = new Histogram(1, HIGHEST_NS, 3);
    private final PerfOptions o;
    private final Bdev bdev;
    private final Eal eal;
    private final int blocksPerIo;
    private final long slots;
    private long rng, seqSlot;
    private Qpair qpair;
    private boolean measuring, stopping;

    // results: written by the lcore, read after it finished
    long ios, errors, latSum, minNs = Long.MAX_VALUE, maxNs, elapsedNs;
    int firstError, submitErrors;

    PerfWorker(int lcore, int index, int workers, PerfOptions o, Bdev bdev, Eal eal) {
        this.lcore = lcore;
        this.o = o;
        this.bdev = bdev;
        this.eal = eal;
        this.blocksPerIo = (int) (o.ioSize / bdev.blockSize());
        this.slots = bdev.blockCount() / blocksPerIo;
        this.seqSlot = slots * index / workers;
        this.rng = (0x9E3779B97F4A7C15L * (lcore + 1) ^ System.nanoTime()) | 1;
    }

    /** Runs on the lcore: set up, run {@code -a} + {@code -t} seconds, drain, tear down. */
    int run() {
        Task[] tasks = new Task[o.depth];
        QpairOptions qo = QpairOptions.of(o.depth).withSqpoll(o.sqpoll);
        try (Arena arena = Arena.ofShared()) {
            for (int i = 0; i < tasks.length; i++) {
                MemorySegment buf = o.unregistered ? arena.allocate(o.ioSize, BdevMemory.ALIGN)
                        : BdevMemory.allocate("perf-lcore" + lcore, o.ioSize, BdevMemory.ALIGN);
                for (long k = 0; k < o.ioSize; k += 8) buf.set(java.lang.foreign.ValueLayout.JAVA_LONG, k, k * 0x9E3779B97F4A7C15L + lcore);
                tasks[i] = new Task(buf);
            }
            try (Qpair q = bdev.allocQpair(qo)) {
                qpair = q;
                loop(tasks);
            } finally {
                if (!o.unregistered) for (Task t : tasks) if (t != null) BdevMemory.free(t.buf);
            }
        }
        return 0;
    }

    private void loop(Task[] tasks) {
        long start = System.nanoTime();
        long warmEnd = start + (long) (o.warmup * 1e9), end = warmEnd + (long) (o.seconds * 1e9);
        measuring = o.warmup == 0;
        IdleStrategy idle = o.idle.equals(QpairIdleStrategy.ALIAS) ? new QpairIdleStrategy(qpair, o.idlePolls, 100)
                : new BusySpinIdleStrategy();
        for (Task t : tasks) submit(t, start);
        long now = start;
        while (now < end && !eal.stopRequested() && !bdev.removed()) {
            idle.idle(qpair.processCompletions(0));
            now = System.nanoTime();
            if (!measuring && now >= warmEnd) startMeasuring();
        }
        elapsedNs = Math.min(now, end) - Math.max(start, o.warmup == 0 ? start : warmEnd);
        stopping = true;
        long deadline = System.nanoTime() + DRAIN_NS;
        while (qpair.outstanding() > 0 && System.nanoTime() < deadline) qpair.processCompletions(0);
        measuring = false;
    }

    private void startMeasuring() {
        measuring = true;
        ios = latSum = maxNs = 0;
        minNs = Long.MAX_VALUE;
        histogram.reset(); // the progress counters run on: their readers take differences
    }

    @Override
    public void complete(Object arg, int status) {
        Task t = (Task) arg;
        long now = System.nanoTime();
        long lat = now - t.start;
        if (status != 0) {
            errors++;
            counters.add(ERRORS, 1);
            if (firstError == 0) firstError = status;
        } else {
            counters.add(IOS, 1); // the warm-up shows in the progress lines too
            counters.add(BYTES, o.ioSize);
            counters.add(LAT_SUM, lat);
            if (measuring) {
                ios++;
                latSum += lat;
                if (lat < minNs) minNs = lat;
                if (lat > maxNs) maxNs = lat;
                histogram.recordValue(Math.max(1, Math.min(lat, HIGHEST_NS)));
            }
        }
        if (!stopping) submit(t, now);
    }

    private void submit(Task t, long now) {
        long slot;
        if (o.pattern.random) {
            slot = Long.remainderUnsigned(next(), slots);
        } else {
            slot = seqSlot;
            if (++seqSlot == slots) seqSlot = 0;
        }
        boolean read = o.readPercent == 100 || o.readPercent > 0 && Long.remainderUnsigned(next(), 100) < o.readPercent;
        t.start = now;
        long lba = slot * blocksPerIo;
        int r = read ? qpair.read(t.buf, lba, blocksPerIo, this, t) : qpair.write(t.buf, lba, blocksPerIo, this, t);
        if (r != 0) { // the task stops: the qpair refused it (closed, or no request free)
            submitErrors++;
            errors++;
            if (firstError == 0) firstError = r;
        }
    }

    /** xorshift64: fast, allocation-free, good enough to spread offsets. */
    private long next() {
        long x = rng;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        return rng = x;
    }
}
