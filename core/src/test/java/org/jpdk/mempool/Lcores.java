package org.jpdk.mempool;

import java.util.concurrent.atomic.AtomicReference;
import org.jpdk.eal.LcoreThread;

/** Runs test bodies on lcore threads and rethrows what they threw. */
public final class Lcores {
    private Lcores() {
    }

    /** Runs {@code body} on a new LcoreThread {@code id} and waits for it. */
    public static void on(int id, Runnable body) {
        AtomicReference<Throwable> error = new AtomicReference<>();
        Thread t = new LcoreThread(id, "test-lcore-" + id, () -> {
            try {
                body.run();
            } catch (Throwable e) {
                error.set(e);
            }
        });
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        rethrow(error.get());
    }

    public static void rethrow(Throwable e) {
        if (e instanceof RuntimeException r) throw r;
        if (e instanceof Error r) throw r;
        if (e != null) throw new AssertionError(e);
    }
}
