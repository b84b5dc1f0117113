package org.jpdk.app.testpmd;

import org.jpdk.telemetry.Json;
import org.jpdk.telemetry.TelemetryClient;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * DPDK's own client, Debian's {@code dpdk-telemetry.py}, against a forwarding jpdk testpmd (two
 * net_null ports, io mode, in this namespace: the packets never leave the process): the command
 * list, {@code /ethdev/stats,0} growing while it forwards, {@code /help}, an unknown command, the
 * lcore usage the forwarding lcore counts, and testpmd's own commands.
 */
class TestPmdTelemetryTest {
    /** Debian's dpdk-telemetry.py (package dpdk); skipped without it, a failure under CI. */
    static String telemetryScript() {
        Path p = Path.of("/usr/bin/dpdk-telemetry.py");
        if (Files.isExecutable(p)) return p.toString();
        String why = "needs dpdk-telemetry.py (apt-get install dpdk)";
        if ("true".equals(System.getProperty("jpdk.ci"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
        return null;
    }

    /** Runs dpdk-telemetry.py with {@code commands} on stdin; returns each reply, parsed. */
    static List<Map<?, ?>> dpdkTelemetry(String prefix, String... commands) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("python3", telemetryScript(), "-f", prefix).redirectErrorStream(true).start();
        p.getOutputStream().write((String.join("\n", commands) + "\n").getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("dpdk-telemetry.py did not end");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        List<Map<?, ?>> replies = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) replies.add((Map<?, ?>) Json.parse(line));
        }
        assertEquals(commands.length, replies.size(), out);
        return replies;
    }

    @Test
    void dpdkTelemetryPyReadsAForwardingTestPmd() throws Exception {
        telemetryScript();
        String prefix = "jpdktpt" + ProcessHandle.current().pid();
        try (NetnsTestPmd tp = NetnsTestPmd.jpdk(null, List.of("-l", "0-1", "--vdev", "net_null0", "--vdev", "net_null1",
                "--file-prefix", prefix), "--forward-mode=io")) {
            tp.await(NetnsTestPmd.READY, 60);
            List<Map<?, ?>> r = dpdkTelemetry(prefix, "/", "/ethdev/stats,0", "/help", "/help,/ethdev/stats",
                    "/no/such/command", "/eal/lcore/usage", "/testpmd/fwd_mode");
            List<?> cmds = (List<?>) r.get(0).get("/");
            for (String c : List.of("/ethdev/stats", "/ethdev/xstats", "/eal/lcore/usage", "/testpmd/streams")) {
                assertTrue(cmds.contains(c), c + " in " + cmds);
            }
            long first = (Long) ((Map<?, ?>) r.get(1).get("/ethdev/stats")).get("ipackets");
            assertTrue(((String) r.get(2).get("/help")).startsWith("Returns help text"), r.get(2).toString());
            assertTrue(((Map<?, ?>) r.get(3).get("/help")).containsKey("/ethdev/stats"), r.get(3).toString());
            assertTrue(r.get(4).containsKey("/no/such/command"));
            assertNull(r.get(4).get("/no/such/command"));
            Map<?, ?> usage = (Map<?, ?>) r.get(5).get("/eal/lcore/usage");
            assertEquals(List.of(1L), usage.get("lcore_ids"), "the forwarding lcore: " + usage);
            long total = (Long) ((List<?>) usage.get("total_cycles")).getFirst();
            long busy = (Long) ((List<?>) usage.get("busy_cycles")).getFirst();
            assertTrue(total > 0 && busy > 0 && busy <= total, usage.toString());
            assertEquals("io", ((Map<?, ?>) r.get(6).get("/testpmd/fwd_mode")).get("fwd_mode"));

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            long later;
            do {
                later = (Long) ((Map<?, ?>) dpdkTelemetry(prefix, "/ethdev/stats,0").getFirst().get("/ethdev/stats")).get("ipackets");
            } while (later <= first && System.nanoTime() < deadline);
            assertTrue(later > first, "ipackets grows while forwarding: " + first + " then " + later);

            try (TelemetryClient c = TelemetryClient.connect(prefix)) {
                List<?> streams = (List<?>) c.request("/testpmd/streams");
                assertEquals(2, streams.size(), streams.toString());
                assertTrue((Long) ((Map<?, ?>) streams.getFirst()).get("rx_packets") > 0, streams.toString());
            }
            tp.stop(20);
        }
        assertTrue(!Files.exists(Path.of("/var/run/dpdk", prefix, "dpdk_telemetry.v2")), "socket removed at exit");
    }
}
