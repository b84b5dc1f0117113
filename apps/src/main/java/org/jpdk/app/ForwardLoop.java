package org.jpdk.app;

import org.jpdk.eal.Eal;
import org.jpdk.eal.LcoreException;
import org.jpdk.eal.LcoreUsage;

import java.io.PrintStream;
import java.util.List;

/**
 * The run shape of DPDK's forwarding examples (l2fwd, l3fwd): every lcore polls its share in a
 * loop; the main lcore also polls its own share, if it has one, and between passes checks, once a
 * millisecond, the stop conditions (a signal, {@code --run-seconds}) and the statistics timer
 * ({@code -T}). At the end the lcores stop, drain what they buffered, and are waited for.
 */
public final class ForwardLoop {
    private ForwardLoop() {
    }

    /** One lcore's share of the work: a pass of polling, and a last drain when it stops. */
    public abstract static class Lcore {
        public final int lcoreId;
        private volatile boolean quit;

        protected Lcore(int lcoreId) {
            this.lcoreId = lcoreId;
        }

        /**
         * One pass over the lcore's queues at time {@code now} (System.nanoTime); must not allocate.
         * Returns the packets received in the pass: a pass that moved some counts as busy in the
         * lcore's {@link LcoreUsage}.
         */
        protected abstract int poll(long now);

        /** Sends what is still buffered, after the last pass. */
        protected abstract void drain();

        /** Called once before the first pass, on the lcore. */
        protected void begin(long now) {
        }

        private LcoreUsage usage;
        private boolean busy;

        final int run() {
            start(System.nanoTime());
            while (!quit) pass(System.nanoTime());
            drain();
            return 0;
        }

        final void start(long now) {
            usage = LcoreUsage.start(lcoreId, now);
            begin(now);
        }

        /** A pass, with the time since the previous one charged to the lcore's usage (the clock is read anyway). */
        final void pass(long now) {
            usage.record(now, busy);
            busy = poll(now) > 0;
        }

        final void stop() {
            quit = true;
        }
    }

    /**
     * Runs {@code lcores} until a signal or {@code runSeconds} (0: no limit), calling {@code stats}
     * every {@code statsPeriod} seconds (0: never). {@code tag} prefixes the "entering main loop"
     * lines (L2FWD, L3FWD). Returns the forwarding time in nanoseconds; rethrows the first failure
     * of a worker lcore.
     */
    public static long run(Eal eal, PrintStream out, String tag, List<? extends Lcore> lcores, double statsPeriod,
                           Runnable stats, double runSeconds) {
        Lcore main = null;
        for (Lcore lc : lcores) {
            if (lc.lcoreId == eal.mainLcore()) {
                main = lc;
            } else {
                out.printf("%s: entering main loop on lcore %d%n", tag, lc.lcoreId);
                eal.remoteLaunch(l -> lc.run(), lc.lcoreId);
            }
        }
        long start = System.nanoTime();
        long period = (long) (statsPeriod * 1e9), runFor = (long) (runSeconds * 1e9);
        long nextStats = start + period, nextCheck = start;
        if (main != null) {
            out.printf("%s: entering main loop on lcore %d%n", tag, main.lcoreId);
            main.start(start);
        }
        out.flush();
        while (true) {
            long now = System.nanoTime();
            if (main != null) {
                main.pass(now);
            } else {
                AppOptions.sleepNanos(Math.min(1_000_000, nextCheck - now));
            }
            if (now - nextCheck < 0) continue;
            nextCheck = now + 1_000_000; // the timers are checked once a millisecond
            if (eal.stopRequested()) {
                out.println("\n\nSignal received, preparing to exit...");
                break;
            }
            if (runFor > 0 && now - start >= runFor) break;
            if (period > 0 && now - nextStats >= 0) {
                stats.run();
                while (now - nextStats >= 0) nextStats += period;
            }
        }
        for (Lcore lc : lcores) lc.stop();
        if (main != null) main.drain();
        LcoreException failed = null;
        for (Lcore lc : lcores) {
            if (lc == main) continue;
            try {
                eal.waitLcore(lc.lcoreId);
            } catch (LcoreException e) {
                if (failed == null) failed = e;
            }
        }
        long elapsed = System.nanoTime() - start;
        if (failed != null) throw failed;
        return elapsed;
    }
}
