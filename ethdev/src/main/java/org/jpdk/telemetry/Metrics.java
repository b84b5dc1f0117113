package org.jpdk.telemetry;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.jpdk.eal.Eal;
import org.jpdk.eal.LcoreUsage;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthStats;
import org.jpdk.mempool.Mempool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.ToLongFunction;

/**
 * The Prometheus endpoint of the EAL option {@code --metrics=ADDR:PORT}, on Prometheus's own Java
 * client ({@code prometheus-metrics-core} and its HTTP server): port, queue, lcore and mempool
 * counters named by Prometheus's conventions ({@code jpdk_port_rx_packets_total{port="0"}},
 * {@code jpdk_lcore_busy_seconds_total{lcore="1"}}, {@code jpdk_mempool_in_use{pool="..."}}). Every
 * value is read when Prometheus scrapes, from the counters the lcores already publish, on the HTTP
 * server's thread: nothing is added to the forwarding path. The server's thread is pinned off the
 * lcores as telemetry's is, by starting it from a control thread.
 */
public final class Metrics implements AutoCloseable {
    private final HTTPServer server;

    private Metrics(HTTPServer server) {
        this.server = server;
    }

    /**
     * Serves {@code /metrics} at {@code addr} ({@code HOST:PORT}; port 0 picks a free one).
     *
     * @throws UncheckedIOException when the address cannot be bound
     */
    public static Metrics start(String addr) {
        int colon = addr.lastIndexOf(':');
        String host = addr.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port = Integer.parseInt(addr.substring(colon + 1));
        PrometheusRegistry registry = new PrometheusRegistry();
        registerPorts(registry);
        registerLcores(registry);
        registerPools(registry);
        try {
            return new Metrics(HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart());
        } catch (IOException e) {
            throw new UncheckedIOException("--metrics " + addr + ": cannot listen: " + e.getMessage(), e);
        }
    }

    /** The port it listens on (the chosen one for port 0). */
    public int port() {
        return server.getPort();
    }

    private static void portCounter(PrometheusRegistry r, String name, String help, ToLongFunction<EthStats> f) {
        CounterWithCallback.builder().name(name).help(help).labelNames("port").callback(cb -> {
            for (EthDev p : EthDev.all()) {
                try {
                    cb.call(f.applyAsLong(p.stats()), Integer.toString(p.id()));
                } catch (RuntimeException e) {
                    // closed between the listing and the read: left out of this scrape
                }
            }
        }).register(r);
    }

    private interface QueueValue {
        long get(EthStats s, int q);
    }

    private static void queueCounter(PrometheusRegistry r, String name, String help, boolean rx, QueueValue f) {
        CounterWithCallback.builder().name(name).help(help).labelNames("port", "queue").callback(cb -> {
            for (EthDev p : EthDev.all()) {
                try {
                    int n = Math.min(EthStats.QUEUE_STAT_COUNTERS, rx ? p.nbRxQueues() : p.nbTxQueues());
                    EthStats s = p.stats();
                    for (int q = 0; q < n; q++) cb.call(f.get(s, q), Integer.toString(p.id()), Integer.toString(q));
                } catch (RuntimeException e) {
                    // closed meanwhile
                }
            }
        }).register(r);
    }

    private static void registerPorts(PrometheusRegistry r) {
        portCounter(r, "jpdk_port_rx_packets", "Packets received (rte_eth_stats.ipackets)", s -> s.ipackets);
        portCounter(r, "jpdk_port_tx_packets", "Packets sent (rte_eth_stats.opackets)", s -> s.opackets);
        portCounter(r, "jpdk_port_rx_bytes", "Bytes received (rte_eth_stats.ibytes)", s -> s.ibytes);
        portCounter(r, "jpdk_port_tx_bytes", "Bytes sent (rte_eth_stats.obytes)", s -> s.obytes);
        portCounter(r, "jpdk_port_rx_missed", "Packets dropped by the device, rx queue full (imissed)", s -> s.imissed);
        portCounter(r, "jpdk_port_rx_errors", "Erroneous packets received (ierrors)", s -> s.ierrors);
        portCounter(r, "jpdk_port_tx_errors", "Failed transmissions (oerrors)", s -> s.oerrors);
        portCounter(r, "jpdk_port_rx_nombuf", "Rx mbuf allocation failures (rx_nombuf)", s -> s.rxNombuf);
        queueCounter(r, "jpdk_queue_rx_packets", "Packets received per rx queue", true, (s, q) -> s.qIpackets[q]);
        queueCounter(r, "jpdk_queue_tx_packets", "Packets sent per tx queue", false, (s, q) -> s.qOpackets[q]);
        GaugeWithCallback.builder().name("jpdk_port_link_up").help("1 when the port's link is up").labelNames("port")
                .callback(cb -> {
                    for (EthDev p : EthDev.all()) {
                        try {
                            cb.call(p.link().up() ? 1 : 0, Integer.toString(p.id()));
                        } catch (RuntimeException e) {
                            // closed meanwhile
                        }
                    }
                }).register(r);
    }

    private static void registerLcores(PrometheusRegistry r) {
        CounterWithCallback.builder().name("jpdk_lcore_busy_seconds").help("Time the lcore's loop spent in passes that moved packets")
                .labelNames("lcore").callback(cb -> eachUsage((id, u) -> cb.call(u.busyNanos() / 1e9, id))).register(r);
        CounterWithCallback.builder().name("jpdk_lcore_seconds").help("Time the lcore's forwarding loop ran")
                .labelNames("lcore").callback(cb -> eachUsage((id, u) -> cb.call(u.totalNanos() / 1e9, id))).register(r);
    }

    private static void eachUsage(java.util.function.BiConsumer<String, LcoreUsage> f) {
        Eal eal;
        try {
            eal = Eal.current();
        } catch (IllegalStateException e) {
            return;
        }
        for (int id : EalTelemetry.lcores(eal)) {
            LcoreUsage u = LcoreUsage.of(id);
            if (u != null) f.accept(Integer.toString(id), u);
        }
    }

    private static void poolGauge(PrometheusRegistry r, String name, String help, ToLongFunction<Mempool<?>> f) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("pool").callback(cb -> {
            for (Mempool<?> mp : Mempool.list()) cb.call(f.applyAsLong(mp), mp.name());
        }).register(r);
    }

    private static void registerPools(PrometheusRegistry r) {
        poolGauge(r, "jpdk_mempool_size", "Objects in the pool", Mempool::size);
        poolGauge(r, "jpdk_mempool_available", "Objects free in the pool (ring and caches)", Mempool::availCount);
        poolGauge(r, "jpdk_mempool_in_use", "Objects taken from the pool", Mempool::inUseCount);
    }

    /** Stops the HTTP server. */
    @Override
    public void close() {
        server.close();
    }
}
