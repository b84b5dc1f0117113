package org.jpdk.ethdev;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Event callbacks of the ports (rte_eth_dev_callback_register) and the one thread that runs them,
 * as DPDK runs them on its interrupt thread. Raising an event only queues it, so a driver may raise
 * from a polling lcore or from under its own locks; the thread starts on the first event and ends
 * after a second without one, so an idle process holds no thread for this.
 */
final class PortEvents {
    /** A registered callback: for one port, or for every port when {@code port} is null. */
    record Registration(EthDev port, EthEvent event, EthEventCallback callback) {
    }

    private static final List<Registration> CALLBACKS = new CopyOnWriteArrayList<>();
    private static final ThreadPoolExecutor THREAD = new ThreadPoolExecutor(1, 1, 1, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "eth-events");
                t.setDaemon(true);
                return t;
            });

    static {
        THREAD.allowCoreThreadTimeOut(true);
    }

    private PortEvents() {
    }

    static Registration register(EthDev port, EthEvent event, EthEventCallback cb) {
        if (event == null || cb == null) throw new IllegalArgumentException("event callback: event and callback must not be null");
        Registration r = new Registration(port, event, cb);
        CALLBACKS.add(r);
        return r;
    }

    static boolean unregister(Registration r) {
        return CALLBACKS.remove(r);
    }

    /** Forgets the callbacks registered for {@code port} (at close, after its DESTROY event ran). */
    static void forget(EthDev port) {
        THREAD.execute(() -> CALLBACKS.removeIf(r -> r.port() == port));
    }

    /** Queues {@code event} of {@code port} for the callbacks registered for it. */
    static void raise(EthDev port, EthEvent event) {
        THREAD.execute(() -> deliver(port, event));
    }

    private static void deliver(EthDev port, EthEvent event) {
        for (Registration r : CALLBACKS) {
            if (r.event() != event || (r.port() != null && r.port() != port)) continue;
            try {
                r.callback().onEvent(port, event);
            } catch (RuntimeException | Error e) {
                EthDev.LOG.err("port " + port.id() + " (" + port.name() + "): " + event + " callback failed: " + e);
            }
        }
    }

    /** Waits until every event raised so far has been delivered (tests, orderly shutdown). */
    static void drain(long timeoutMillis) {
        var done = new java.util.concurrent.CountDownLatch(1);
        THREAD.execute(done::countDown);
        try {
            done.await(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
