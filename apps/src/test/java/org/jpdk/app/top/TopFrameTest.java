package org.jpdk.app.top;

import org.jpdk.telemetry.Json;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jpdk top}'s frame from canned telemetry replies (jpdk's and DPDK 22.11's shapes), and its options; no app runs. */
class TopFrameTest {
    /** A telemetry app's replies: command (with parameters) to the JSON of the value; unknown commands are null, as over the socket. */
    private static TopSample sample(long nanos, Map<String, String> replies) {
        Map<String, Object> parsed = new HashMap<>();
        replies.forEach((k, v) -> parsed.put(k, Json.parse(v)));
        return TopSample.read(parsed::get, nanos);
    }

    private static Map<String, String> jpdk(long rx0, long tx0, long bytes, long missed, long nombuf, long xdrop, long busy, long total, long used) {
        Map<String, String> m = new HashMap<>();
        m.put("/ethdev/list", "[0,1]");
        m.put("/ethdev/info,0", "{\"name\":\"net_null0\",\"port_id\":0}");
        m.put("/ethdev/info,1", "{\"name\":\"net_memif_with_a_long_name1\",\"port_id\":1}");
        m.put("/ethdev/stats,0", "{\"ipackets\":" + rx0 + ",\"opackets\":" + tx0 + ",\"ibytes\":" + bytes + ",\"obytes\":" + bytes
                + ",\"imissed\":" + missed + ",\"ierrors\":0,\"oerrors\":0,\"rx_nombuf\":" + nombuf + "}");
        m.put("/ethdev/stats,1", "{\"ipackets\":5,\"opackets\":0,\"ibytes\":300,\"obytes\":0,\"imissed\":0,\"ierrors\":2,\"oerrors\":0,\"rx_nombuf\":0}");
        m.put("/ethdev/xstats,0", "{\"rx_good_packets\":" + rx0 + ",\"rx_q0_dropped\":" + xdrop + ",\"tx_discards\":7}");
        m.put("/ethdev/xstats,1", "{\"rx_good_packets\":5}");
        m.put("/ethdev/link_status,0", "{\"status\":\"UP\",\"speed\":10000,\"duplex\":\"full-duplex\"}");
        m.put("/ethdev/link_status,1", "{\"status\":\"DOWN\"}");
        m.put("/eal/lcore/usage", "{\"lcore_ids\":[1,2],\"total_cycles\":[" + total + "," + total + "],\"busy_cycles\":[" + busy + ",0]}");
        m.put("/mempool/list", "[\"mb_pool_0\"]");
        m.put("/mempool/info,mb_pool_0", "{\"name\":\"mb_pool_0\",\"size\":8192,\"used_count\":" + used + ",\"avail_count\":" + (8192 - used) + "}");
        return m;
    }

    @Test
    void ratesDropsBusyAndPoolsOfAJpdkApp() {
        TopSample a = sample(1_000_000_000L, jpdk(1_000_000, 900_000, 64_000_000, 10, 0, 100, 500, 1000, 100));
        // two seconds later: 20 M packets more in, 18 M out, 1.28 GB each way, drops of every kind
        TopSample b = sample(3_000_000_000L, jpdk(21_000_000, 18_900_000, 1_344_000_000, 2010, 400, 700, 1500, 2000, 4196));
        List<String> f = TopFrame.render("jpdk top - test", a, b);
        assertEquals("jpdk top - test  (rates over 2.00 s)", f.get(0));
        assertEquals("PORT NAME             LINK      RX-Mpps   RX-Gbps   TX-Mpps   TX-Gbps", f.get(2));
        assertEquals("   0 net_null0        UP 10G     10.000     5.120     9.000     5.120", f.get(3));
        // port 1 did not change: zero rates; its name is cut to the column
        assertEquals("   1 net_memif_with_~ DOWN        0.000     0.000     0.000     0.000", f.get(4));
        assertEquals("DROPS/s    imissed    ierrors  rx_nombuf    oerrors  xstats", f.get(6));
        assertEquals("      0       1000          0        200          0  rx_q0_dropped=300", f.get(7));
        assertEquals("      1          0          0          0          0  -", f.get(8));
        assertEquals("LCORE  BUSY%", f.get(10));
        assertEquals("    1  100.0", f.get(11)); // 1000 busy of 1000
        assertEquals("    2    0.0", f.get(12));
        assertEquals("mb_pool_0                      8192       4196   51.2", f.get(15));
    }

    @Test
    void aDpdk2211AppHasNoLcoreUsageNorPoolCountsAndANewPortCountsFromZero() {
        Map<String, String> dpdk = new HashMap<>();
        dpdk.put("/ethdev/list", "[0]");
        dpdk.put("/ethdev/info,0", "{\"name\":\"net_null0\"}");
        dpdk.put("/ethdev/stats,0", "{\"ipackets\":3000000,\"opackets\":3000000,\"ibytes\":192000000,\"obytes\":192000000,"
                + "\"imissed\":0,\"ierrors\":0,\"oerrors\":0,\"rx_nombuf\":0,\"q_ipackets\":[3000000]}");
        dpdk.put("/ethdev/xstats,0", "{\"rx_good_packets\":3000000}");
        dpdk.put("/ethdev/link_status,0", "{\"status\":\"UP\",\"speed\":100,\"duplex\":\"full-duplex\"}");
        dpdk.put("/mempool/list", "[\"mb_pool_0\"]");
        dpdk.put("/mempool/info,mb_pool_0", "{\"name\":\"mb_pool_0\",\"size\":8192,\"cache_size\":250}");
        Map<String, String> none = new HashMap<>(dpdk);
        none.put("/ethdev/list", "[]");
        List<String> f = TopFrame.render("t", sample(0, none), sample(1_000_000_000L, dpdk));
        assertEquals("   0 net_null0        UP 100M     3.000     1.536     3.000     1.536", f.get(3));
        assertTrue(f.contains("LCORE BUSY%  n/a: the app reports no /eal/lcore/usage (DPDK 23.03+; dpdk-testpmd needs --record-core-cycles)"), f.toString());
        assertEquals("mb_pool_0                      8192        n/a    n/a", f.getLast());
    }

    @Test
    void portsThatVanishOrGarbleAreLeftOutAndAResetCountsFromZero() {
        Map<String, String> m = jpdk(100, 100, 6400, 0, 0, 0, 0, 0, 0);
        m.put("/ethdev/list", "[0,1,\"x\",7]"); // port 7 has no stats: gone between list and read
        m.remove("/eal/lcore/usage");
        m.put("/mempool/list", "[\"gone\"]");
        TopSample a = sample(0, jpdk(5_000_000, 5_000_000, 320_000_000, 0, 0, 0, 0, 0, 0));
        TopSample b = sample(1_000_000_000L, m);
        assertEquals(2, b.ports().size());
        assertTrue(b.pools().isEmpty());
        List<String> f = TopFrame.render("t", a, b);
        assertEquals("   0 net_null0        UP 10G      0.000     0.000     0.000     0.000", f.get(3));
        assertTrue(f.contains("(no mempools)"), f.toString());
    }

    @Test
    void options() {
        assertEquals(new Top.Options("rte", false, 1000, 0, false), Top.parse(new String[0]));
        assertEquals(new Top.Options("p1", true, 500, 1, false), Top.parse(new String[] {"--file-prefix=p1", "--once", "--interval", "0.5"}));
        assertEquals(new Top.Options("p2", false, 2000, 3, false), Top.parse(new String[] {"--file-prefix", "p2", "--interval=2", "-n", "3"}));
        assertEquals("--interval 0: expected seconds from 0.1 to 3600",
                assertThrows(IllegalArgumentException.class, () -> Top.parse(new String[] {"--interval", "0"})).getMessage());
        assertEquals("--interval x: expected seconds from 0.1 to 3600",
                assertThrows(IllegalArgumentException.class, () -> Top.parse(new String[] {"--interval=x"})).getMessage());
        assertEquals("-n 0: expected a number of frames, 1 or more",
                assertThrows(IllegalArgumentException.class, () -> Top.parse(new String[] {"-n", "0"})).getMessage());
        assertEquals("--file-prefix: missing value",
                assertThrows(IllegalArgumentException.class, () -> Top.parse(new String[] {"--file-prefix"})).getMessage());
        assertEquals("--file-prefix 'a/b': not a file prefix",
                assertThrows(IllegalArgumentException.class, () -> Top.parse(new String[] {"--file-prefix", "a/b"})).getMessage());

        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8), e = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(1, Top.run(new String[] {"-l", "0"}, o, e, false));
        assertEquals("top: unknown option '-l'; --help lists them\n", err.toString(StandardCharsets.UTF_8));
        assertEquals(0, Top.run(new String[] {"--help"}, o, e, false));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("usage: jpdk top "));
    }
}
