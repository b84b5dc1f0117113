package org.jpdk.app.testpmd;

import org.jpdk.app.dumpcap.Dumpcap;
import org.jpdk.pcapng.Pcapng;
import org.jpdk.pcapng.PcapngWriter;
import org.jpdk.telemetry.TelemetryClient;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code ./jpdk dumpcap} against a forwarding testpmd (a child JVM): ports 0 and 1 are net_pcap,
 * port 0 reading a file of UDP and TCP frames once, port 1 writing what it sends to a pcap file;
 * ports 2 and 3 forward an endless replay. The capture of ports 0 and 1, read by tshark, holds
 * exactly the packets port 0 received and port 1 sent, as the net_pcap tx file of the same run
 * has them; then -f, -c, -a duration, a second capture of a busy port, bad arguments, and a
 * client killed with SIGKILL (the app drops the capture).
 */
class DumpcapTest {
    private static final int N = 300;

    private record Result(int rc, String out, String err) {
    }

    /** dumpcap in this JVM until it ends by itself or {@code stop} is set. */
    private static Result dumpcap(AtomicBoolean stop, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = Dumpcap.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                stop::get);
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** An Ethernet/IPv4 frame with IP id {@code i}: UDP for even i, TCP for odd, 60..109 bytes. */
    static byte[] frame(int i) {
        int len = 60 + i % 50;
        byte[] b = new byte[len];
        byte[] eth = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0};
        System.arraycopy(eth, 0, b, 0, 14);
        int ipLen = len - 14;
        byte[] ip = {0x45, 0, (byte) (ipLen >> 8), (byte) ipLen, (byte) (i >> 8), (byte) i, 0, 0, 64, (byte) (i % 2 == 0 ? 17 : 6), 0, 0,
                10, 0, 0, 1, 10, 0, 0, 2};
        System.arraycopy(ip, 0, b, 14, 20);
        b[34] = 0x13;
        b[35] = (byte) 0x88; // source port 5000
        b[36] = 0;
        b[37] = 9;          // destination port 9
        if (i % 2 == 0) {
            b[38] = (byte) ((ipLen - 20) >> 8);
            b[39] = (byte) (ipLen - 20);
        } else {
            b[46] = 0x50;    // TCP data offset 5
            b[47] = 0x10;    // ACK
        }
        for (int k = 54; k < len; k++) b[k] = (byte) (i + k);
        return b;
    }

    private static void inputFile(Path f, int n) {
        try (PcapngWriter w = PcapngWriter.create(f, "DumpcapTest", null)) {
            w.addInterface("gen", "generated", 65535);
            for (int i = 0; i < n; i++) w.writePacket(0, 1_000_000_000L * i, frame(i), frame(i).length, 0, 0);
        }
    }

    private static List<String> tshark(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("tshark"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "tshark timed out");
        assertEquals(0, p.exitValue(), String.join(" ", cmd));
        List<String> lines = new ArrayList<>();
        for (String l : new String(out, StandardCharsets.UTF_8).split("\n")) if (!l.isBlank()) lines.add(l);
        return lines;
    }

    private static Object telemetry(String prefix, String cmd) {
        try (TelemetryClient c = TelemetryClient.connect(prefix)) {
            return c.request(cmd);
        }
    }

    private static void await(String what, long seconds, java.util.function.BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!cond.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(20);
        }
    }

    @Test
    void capturesWhatTestpmdForwards(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tshark")) || "true".equals(System.getProperty("jpdk.ci")),
                "tshark is not installed; skipping");
        Path in = dir.resolve("in.pcapng"), out = dir.resolve("out.pcap"), loop = dir.resolve("loop.pcapng");
        inputFile(in, N);
        inputFile(loop, 20);
        String prefix = "dumpcap" + ProcessHandle.current().pid();
        try (NetnsTestPmd tp = NetnsTestPmd.jpdk(null, List.of("-l", "0-1", "--file-prefix", prefix,
                "--vdev", "net_pcap0,rx_pcap=" + in, "--vdev", "net_pcap1,tx_pcap=" + out,
                "--vdev", "net_pcap2,rx_pcap=" + loop + ",infinite_rx=1", "--vdev", "net_null3"), "-i", "--forward-mode=io")) {
            tp.await("testpmd> ", 60);
            Result list = dumpcap(new AtomicBoolean(), "--file-prefix", prefix, "-D");
            assertEquals("0. net_pcap0\n1. net_pcap1\n2. net_pcap2\n3. net_null3\n", list.out(), list.err());
            Path cap = dir.resolve("cap.pcapng");
            AtomicBoolean stop = new AtomicBoolean();
            Result[] r = new Result[1];
            Thread t = Thread.ofPlatform().start(() -> r[0] = dumpcap(stop, "--file-prefix", prefix, "-i", "net_pcap0", "-i", "1",
                    "-w", cap.toString()));
            await("both captures run", 60, () -> List.of(0L, 1L).equals(telemetry(prefix, "/pdump/list")));
            Result busy = dumpcap(new AtomicBoolean(), "--file-prefix", prefix, "-i", "0", "-w", dir.resolve("busy.pcapng").toString());
            assertEquals(1, busy.rc());
            assertTrue(busy.err().contains("interface 'net_pcap0': port 0 (net_pcap0) is already being captured"), busy.err());

            tp.type("start", "packet forwarding - ports=", 20);
            await("port 1 sent all " + N, 60, () -> telemetry(prefix, "/ethdev/stats,1") instanceof Map<?, ?> m
                    && m.get("opackets") instanceof Number n && n.longValue() >= N);
            Thread.sleep(200);
            stop.set(true);
            t.join(30_000);
            assertEquals(0, r[0].rc(), r[0].err());
            assertTrue(r[0].err().contains("Capturing on 'net_pcap0'") && r[0].err().contains("File: " + cap), r[0].err());
            assertTrue(r[0].err().contains("Packets captured: " + 2 * N + "\n"), r[0].err());
            assertTrue(r[0].err().contains("Packets received/dropped on interface 'net_pcap1': " + N + "/0 (100.0)"), r[0].err());

            // dumpcap's file against net_pcap's: the same packets in the same order
            List<String> fields = List.of("-T", "fields", "-E", "separator=;", "-e", "frame.len", "-e", "ip.id", "-e", "ip.proto");
            List<String> capturedTx = tshark(concat(List.of("-r", cap.toString(), "-Y", "frame.interface_name == \"net_pcap1\" && frame.p2p_dir == 0"), fields));
            List<String> capturedRx = tshark(concat(List.of("-r", cap.toString(), "-Y", "frame.interface_name == \"net_pcap0\" && frame.p2p_dir == 1"), fields));
            assertEquals(N, capturedTx.size(), capturedTx.toString());
            assertEquals(capturedTx, capturedRx, "port 0 received what port 1 sent");
            List<String> all = tshark("-r", cap.toString(), "-T", "fields", "-e", "frame.time_epoch");
            assertEquals(2 * N, all.size(), "nothing else in the file");
            String info = String.join("\n", tshark("-r", cap.toString(), "-q", "-z", "io,stat,0"));
            assertTrue(info.contains("" + 2 * N), info);

            // -f: only UDP, from the endless port 2; -c stops at a count; -a duration stops by itself
            Path udp = dir.resolve("udp.pcapng");
            Result f = dumpcap(new AtomicBoolean(), "--file-prefix", prefix, "-i", "net_pcap2", "-f", "udp", "-c", "40", "-q", "-w", udp.toString());
            assertEquals(0, f.rc(), f.err());
            assertEquals("", f.err(), "-q");
            assertEquals(40, tshark("-r", udp.toString(), "-T", "fields", "-e", "frame.len").size());
            assertEquals(40, tshark("-r", udp.toString(), "-Y", "udp && !tcp", "-T", "fields", "-e", "frame.len").size());
            long t0 = System.nanoTime();
            Path timed = dir.resolve("timed.pcapng");
            Result d = dumpcap(new AtomicBoolean(), "--file-prefix", prefix, "-i", "2", "-a", "duration:1", "-s", "64", "-w", timed.toString());
            assertEquals(0, d.rc(), d.err());
            assertTrue(System.nanoTime() - t0 >= 1_000_000_000L, "ran a second");
            // a second of the looping port is most of a gigabyte: its first 10000 frames tell whether -s cut them
            // (reading all of it took tshark five minutes, a third of the suite)
            List<String> caps = tshark("-r", timed.toString(), "-c", "10000", "-T", "fields", "-e", "frame.cap_len");
            assertFalse(caps.isEmpty());
            assertTrue(caps.stream().allMatch(c -> Integer.parseInt(c) <= 64), "-s 64 cuts");

            // a client killed with SIGKILL: the app notices and removes the capture
            String java = ProcessHandle.current().info().command().orElse("java");
            Process killed = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    "org.jpdk.app.Launcher", "dumpcap", "--file-prefix", prefix, "-i", "2", "-w", dir.resolve("killed.pcapng").toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("killed.log").toFile()).start();
            try {
                await("the killed client's capture started", 60, () -> List.of(2L).equals(telemetry(prefix, "/pdump/list")));
            } finally {
                killed.destroyForcibly();
                killed.waitFor(10, TimeUnit.SECONDS);
            }
            await("the app dropped the capture of a SIGKILLed client", 20, () -> List.of().equals(telemetry(prefix, "/pdump/list")));
            assertTrue(Files.size(dir.resolve("killed.pcapng")) > 0);
            tp.type("stop", MemifDpdkInteropTest.STOPPED, 20);
            tp.quit(20);
            // dumpcap's file against net_pcap's (written at port stop): the same packets in the same order
            List<String> sent = tshark(concat(List.of("-r", out.toString()), fields));
            assertEquals(N, sent.size());
            assertEquals(sent, capturedTx, "port 1's tx as dumpcap saw it is what net_pcap wrote");
        }
    }

    private static String[] concat(List<String> a, List<String> b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(b);
        return l.toArray(String[]::new);
    }

    @Test
    void badArgumentsAndNoAppAreOneLine(@TempDir Path dir) {
        Result r = dumpcap(new AtomicBoolean(), "--file-prefix", "jpdk-no-such-app", "-i", "0");
        assertEquals(1, r.rc());
        assertTrue(r.err().startsWith("dumpcap: no app with --file-prefix jpdk-no-such-app is running"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        r = dumpcap(new AtomicBoolean(), "-f", "tcp port");
        assertEquals("dumpcap: filter 'tcp port': expected an address or number after 'port' at column 9\n", r.err());
        r = dumpcap(new AtomicBoolean(), "-c", "zero");
        assertEquals("dumpcap: -c 'zero': not a number; allowed 1..9223372036854775807\n", r.err());
        r = dumpcap(new AtomicBoolean(), "-a", "size:3");
        assertEquals("dumpcap: -a size:3: expected duration:NUM, filesize:NUM or packets:NUM\n", r.err());
        r = dumpcap(new AtomicBoolean(), "-s", "0");
        assertEquals("dumpcap: -s 0: allowed 1..262144\n", r.err());
        r = dumpcap(new AtomicBoolean(), "--bogus");
        assertEquals("dumpcap: unknown option '--bogus'; --help lists them\n", r.err());
        r = dumpcap(new AtomicBoolean(), "-P");
        assertEquals(1, r.rc());
        r = dumpcap(new AtomicBoolean(), "-d", "-f", "udp");
        assertEquals(0, r.rc());
        assertTrue(r.out().startsWith("{ 0x"), r.out());
        r = dumpcap(new AtomicBoolean(), "--help");
        assertEquals(0, r.rc());
        assertTrue(r.out().startsWith("usage: jpdk dumpcap"), r.out());
        assertEquals(0, dumpcap(new AtomicBoolean(), "-v").rc());
    }
}
