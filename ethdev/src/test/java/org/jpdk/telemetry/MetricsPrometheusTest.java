package org.jpdk.telemetry;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code --metrics=ADDR:PORT}: the endpoint's names and values, then a real Prometheus server
 * (Debian's {@code prometheus}, on loopback) scraping it once a second, whose query API must show
 * {@code jpdk_port_rx_packets_total{port="0"}} rising while a thread receives from net_null.
 */
class MetricsPrometheusTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String get(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), url + ": " + r.body());
        return r.body();
    }

    private static String prometheus() {
        Path p = Path.of("/usr/bin/prometheus");
        if (Files.isExecutable(p)) return p.toString();
        String why = "needs prometheus (apt-get install prometheus)";
        if ("true".equals(System.getProperty("jpdk.ci"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
        return null;
    }

    @Test
    void badMetricsAddressesAreOneLineErrors() {
        for (String bad : List.of("9091", "host:", ":9091", "127.0.0.1:70000", "127.0.0.1:x", "[::1:9091")) {
            EalArgumentException e = assertThrows(EalArgumentException.class,
                    () -> Eal.init("-l", "0", "--no-huge", "-m", "16", "--no-telemetry", "--metrics=" + bad));
            assertTrue(e.getMessage().startsWith("--metrics " + bad + ": expected ADDR:PORT"), e.getMessage());
        }
    }

    @Test
    void prometheusScrapesARisingRxCounter() throws Exception {
        String prom = prometheus();
        int port = freePort(), promPort = freePort();
        Path dir = Files.createTempDirectory("jpdk-prom-");
        Process server = null;
        AtomicBoolean stop = new AtomicBoolean();
        try (Eal eal = Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0", "--no-telemetry",
                "--metrics=127.0.0.1:" + port)) {
            Mempool<Mbuf> pool = Mbuf.createPool("metrics_pool", 1023, 32, Mbuf.DEFAULT_BUF_SIZE, 0);
            EthDev p = EthDev.get(0);
            p.configure(1, 1, PortConf.defaults());
            p.rxQueueSetup(0, 256, pool);
            p.txQueueSetup(0, 256);
            p.start();
            Thread rx = Thread.ofPlatform().start(() -> {
                Mbuf[] burst = new Mbuf[32];
                while (!stop.get()) {
                    int n = p.rxBurst(0, burst, 32);
                    Mbuf.freeBulk(burst, 0, n);
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try {
                String text = get("http://127.0.0.1:" + port + "/metrics");
                assertTrue(text.contains("jpdk_port_rx_packets_total{port=\"0\"} "), text);
                for (String name : List.of("jpdk_port_tx_packets_total", "jpdk_port_rx_nombuf_total", "jpdk_queue_rx_packets_total{port=\"0\",queue=\"0\"}",
                        "jpdk_port_link_up{port=\"0\"} 1", "jpdk_mempool_in_use{pool=\"metrics_pool\"}", "jpdk_mempool_size{pool=\"metrics_pool\"} 1023")) {
                    assertTrue(text.contains(name), name + " in\n" + text);
                }

                Files.writeString(dir.resolve("prometheus.yml"), """
                        global:
                          scrape_interval: 1s
                        scrape_configs:
                          - job_name: jpdk
                            static_configs:
                              - targets: ['127.0.0.1:%d']
                        """.formatted(port));
                server = new ProcessBuilder(prom, "--config.file=" + dir.resolve("prometheus.yml"),
                        "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + promPort)
                        .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
                String query = "http://127.0.0.1:" + promPort + "/api/v1/query?query="
                        + java.net.URLEncoder.encode("jpdk_port_rx_packets_total{port=\"0\"}", java.nio.charset.StandardCharsets.UTF_8);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                double first = -1, last = -1;
                while (System.nanoTime() < deadline) {
                    double v = queryValue(query);
                    if (v >= 0 && first < 0) first = v;
                    if (v > first && first >= 0) {
                        last = v;
                        break;
                    }
                    if (!server.isAlive()) fail("prometheus exited:\n" + Files.readString(dir.resolve("prometheus.log")));
                    Thread.sleep(500);
                }
                assertTrue(first >= 0 && last > first, "Prometheus saw the counter rise: " + first + " then " + last
                        + "\n" + Files.readString(dir.resolve("prometheus.log")));
            } finally {
                stop.set(true);
                rx.join(5000);
                EthDev.closeAll();
                pool.close();
            }
        } finally {
            if (server != null) {
                server.destroy();
                if (!server.waitFor(10, TimeUnit.SECONDS)) server.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** The one sample's value of an instant query, or -1 while Prometheus has none (or is not up yet). */
    private static double queryValue(String url) {
        try {
            Object reply = Json.parse(get(url));
            List<?> result = (List<?>) ((Map<?, ?>) ((Map<?, ?>) reply).get("data")).get("result");
            if (result.isEmpty()) return -1;
            List<?> value = (List<?>) ((Map<?, ?>) result.getFirst()).get("value");
            return Double.parseDouble((String) value.get(1));
        } catch (Exception e) {
            return -1;
        }
    }
}
