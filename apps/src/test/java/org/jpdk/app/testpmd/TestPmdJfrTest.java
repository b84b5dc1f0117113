package org.jpdk.app.testpmd;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jpdk's JFR events from a short testpmd run in this JVM, recorded with the jdk.jfr Recording API
 * and read back with RecordingFile and with the JDK's {@code jfr print}: io forwarding between two
 * net_null ports (statistics, lcore usage, link up) and between a memif server and its client in
 * the same process (link changes, and a peer disconnect when testpmd closes the ports).
 */
class TestPmdJfrTest {
    @Test
    void aRecordingOfATestPmdRunHoldsTheEvents(@TempDir Path dir) throws IOException, InterruptedException {
        String sock = "/run/jpdk-topjfr-" + ProcessHandle.current().pid() + ".sock";
        Path file = dir.resolve("run.jfr");
        try (Recording r = new Recording()) {
            for (String e : List.of("PortStatistics", "LcoreUsage", "PortLink", "MempoolExhausted")) {
                r.enable("org.jpdk." + e).withPeriod(Duration.ofMillis(200));
            }
            r.enable("org.jpdk.PeerDisconnect");
            r.enable("org.jpdk.DriverError");
            r.start();
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            int rc = TestPmd.run(new String[] {"-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1",
                            "--vdev", "net_memif0,role=server,socket=" + sock, "--vdev", "net_memif1,role=client,socket=" + sock,
                            "--", "--run-seconds=2"}, new java.io.ByteArrayInputStream(new byte[0]),
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, rc, err.toString(StandardCharsets.UTF_8) + out.toString(StandardCharsets.UTF_8));
            Thread.sleep(300); // the eth-events thread delivers the last link changes
            r.stop();
            r.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        List<RecordedEvent> stats = named(events, "org.jpdk.PortStatistics");
        assertTrue(stats.stream().anyMatch(e -> e.getInt("port") == 0 && e.getLong("rxPackets") > 0
                && e.getLong("rxBytes") >= 60 * e.getLong("rxPackets") && "net_null0".equals(e.getString("portName"))), stats.toString());
        assertTrue(stats.stream().anyMatch(e -> e.getInt("port") == 1 && e.getLong("txPackets") > 0), stats.toString());

        List<RecordedEvent> lcores = named(events, "org.jpdk.LcoreUsage");
        assertTrue(lcores.stream().anyMatch(e -> e.getInt("lcore") == 1 && e.getLong("totalNanos") > 0
                && e.getLong("busyNanos") > 0 && e.getDouble("busy") > 0 && e.getDouble("busy") <= 1), lcores.toString());

        List<RecordedEvent> links = named(events, "org.jpdk.PortLink");
        assertTrue(links.stream().anyMatch(e -> e.getInt("port") == 0 && e.getBoolean("up") && "net_null".equals(e.getString("driver"))),
                links.toString());
        // memif's link comes up as the peers connect: seen first by the LSC callback (a change) or by the
        // periodic check (the first state), whichever runs first; the close is a change either way
        assertTrue(links.stream().anyMatch(e -> e.getInt("port") == 2 && e.getBoolean("up")), links.toString());
        assertTrue(links.stream().anyMatch(e -> e.getInt("port") == 2 && !e.getBoolean("up") && e.getBoolean("change")), links.toString());

        List<RecordedEvent> gone = named(events, "org.jpdk.PeerDisconnect");
        assertTrue(gone.stream().anyMatch(e -> e.getString("portName").startsWith("net_memif") && "net_memif".equals(e.getString("driver"))
                && !e.getBoolean("protocolError") && !e.getString("reason").isEmpty()), gone.toString());
        assertTrue(named(events, "org.jpdk.DriverError").isEmpty(), "no driver error in a clean run");
    }

    /**
     * What the issue promises: a child testpmd started with {@code -XX:StartFlightRecording} and JFR's
     * default settings (which name no jpdk event, so each runs as its annotations say: on, every
     * second) leaves a file in which {@code jfr print --events} shows the port statistics.
     */
    @Test
    void startFlightRecordingOnTheCommandLineAndJfrPrint(@TempDir Path dir) throws IOException, InterruptedException {
        Path file = dir.resolve("child.jfr");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process tp = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-XX:StartFlightRecording=filename=" + file, "-cp", System.getProperty("java.class.path"),
                "org.jpdk.app.Launcher", "testpmd", "--no-huge", "-l", "0-1", "--vdev", "net_null0", "--vdev", "net_null1",
                "--file-prefix", "topjfr" + ProcessHandle.current().pid(), "--", "--run-seconds=3")
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String log = new String(tp.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!tp.waitFor(120, TimeUnit.SECONDS)) tp.destroyForcibly();
        assertEquals(0, tp.exitValue(), log);
        assertTrue(Files.size(file) > 0, log);

        String printed = jfrPrint("org.jpdk.PortStatistics", file);
        assertTrue(printed.contains("org.jpdk.PortStatistics {") && printed.contains("portName = \"net_null0\""), printed);
        assertTrue(printed.lines().anyMatch(l -> l.matches("\\s*rxPackets = [1-9][0-9,]*")), printed);
        assertTrue(!printed.contains("org.jpdk.LcoreUsage {"), "--events selects: " + printed.lines().limit(20).toList());
        String more = jfrPrint("org.jpdk.LcoreUsage,org.jpdk.PortLink", file);
        assertTrue(more.contains("org.jpdk.LcoreUsage {") && more.contains("org.jpdk.PortLink {") && more.contains("up = true"), more);
    }

    private static String jfrPrint(String events, Path file) throws IOException, InterruptedException {
        Path jfr = Path.of(System.getProperty("java.home"), "bin", "jfr");
        Process p = new ProcessBuilder(jfr.toString(), "print", "--events", events, file.toString()).redirectErrorStream(true).start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "jfr print ends");
        assertEquals(0, p.exitValue(), printed);
        return printed;
    }

    private static List<RecordedEvent> named(List<RecordedEvent> all, String name) {
        List<RecordedEvent> l = new ArrayList<>();
        for (RecordedEvent e : all) if (e.getEventType().getName().equals(name)) l.add(e);
        return l;
    }
}
