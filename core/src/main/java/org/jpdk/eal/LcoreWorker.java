package org.jpdk.eal;

import org.jpdk.sys.Libc;

import java.util.BitSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One worker lcore: its pinned {@link LcoreThread}, parked on this object's monitor until a function
 * is launched, as DPDK's workers block reading a pipe. Launch and wait are control-plane calls, so a
 * monitor is fine; the launched function itself runs outside it and is never slowed by it.
 */
final class LcoreWorker {
    final int id;
    final BitSet cpus;
    final LcoreThread thread;
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile LcoreState state = LcoreState.WAIT;
    private volatile RuntimeException startError;
    private LcoreFunction fn;
    private int result;
    private Throwable error;
    private boolean shutdown;

    LcoreWorker(int id, BitSet cpus, String role) {
        this.id = id;
        this.cpus = cpus;
        this.thread = new LcoreThread(id, "lcore-" + role + "-" + id, this::loop);
    }

    /** Starts the thread and waits until it is pinned; throws if pinning failed. */
    void start() {
        thread.start();
        try {
            if (!started.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("lcore " + id + " did not start");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting lcore " + id, e);
        }
        if (startError != null) throw startError;
    }

    private void loop() {
        try {
            Libc.schedSetaffinity(0, cpus);
        } catch (RuntimeException e) {
            startError = e;
            started.countDown();
            return;
        }
        started.countDown();
        while (true) {
            LcoreFunction f;
            synchronized (this) {
                while (fn == null && !shutdown) waitQuietly();
                if (fn == null) return;
                f = fn;
            }
            int r = 0;
            Throwable t = null;
            try {
                r = f.run(id);
            } catch (Throwable e) {
                t = e;
            }
            synchronized (this) {
                result = r;
                error = t;
                fn = null;
                state = LcoreState.FINISHED;
                notifyAll();
            }
        }
    }

    private void waitQuietly() {
        try {
            wait();
        } catch (InterruptedException e) {
            // an lcore is stopped by the shutdown flag, not by interrupts
        }
    }

    synchronized void launch(LcoreFunction f) {
        if (state != LcoreState.WAIT) {
            throw new IllegalStateException("lcore " + id + " is busy (" + state + "); waitLcore(" + id
                    + ") before launching again");
        }
        if (shutdown) throw new IllegalStateException("lcore " + id + " is stopped: the EAL was cleaned up");
        fn = f;
        state = LcoreState.RUNNING;
        notifyAll();
    }

    /** Waits for the launched function; returns its result (0 if none was launched). */
    int await() {
        Throwable t;
        int r;
        synchronized (this) {
            while (state == LcoreState.RUNNING) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for lcore " + id, e);
                }
            }
            if (state == LcoreState.WAIT) return 0;
            state = LcoreState.WAIT;
            t = error;
            r = result;
            error = null;
        }
        if (t != null) throw new LcoreException(id, t);
        return r;
    }

    LcoreState state() {
        return state;
    }

    synchronized void shutdown() {
        shutdown = true;
        notifyAll();
    }
}
