package org.jpdk.app.testpmd;

import org.jpdk.app.top.Top;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./jpdk top} reading a running testpmd through its telemetry socket: ours and DPDK's
 * {@code dpdk-testpmd}, each forwarding between two net_null ports (no packet leaves the process),
 * as plain frames ({@code --once}, {@code -n}); and the app going away under it.
 */
class TopTest {
    private record Result(int rc, String out, String err) {
    }

    private static Result top(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = Top.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), false);
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static final Pattern PORT_ROW = Pattern.compile(
            "\\n +(\\d) (net_null\\d) +UP \\S+ +(\\d+\\.\\d{3}) +(\\d+\\.\\d{3}) +(\\d+\\.\\d{3}) +(\\d+\\.\\d{3})(?=\\n)");

    /**
     * Each port's row of the frame: both ports there, up, forwarding at a rate above zero both
     * ways, in packets and, when the driver counts bytes ({@code bytes}), in bits.
     */
    private static void forwarding(String frame, boolean bytes) {
        Matcher m = PORT_ROW.matcher(frame);
        int rows = 0;
        while (m.find()) {
            rows++;
            assertEquals("net_null" + m.group(1), m.group(2), frame);
            for (int g = 3; g <= 6; g++) assertTrue(!bytes && g % 2 == 0 || Double.parseDouble(m.group(g)) > 0, "rate " + g + " of port " + m.group(1) + ":\n" + frame);
        }
        assertEquals(2, rows, frame);
        assertTrue(frame.contains("\nDROPS/s    imissed    ierrors  rx_nombuf    oerrors  xstats\n"), frame);
        assertTrue(frame.contains("\n      0          0          0          0          0  -\n"), "no drops on net_null:\n" + frame);
        assertTrue(Pattern.compile("\\nmb_pool_0 +\\d+ ").matcher(frame).find(), frame);
    }

    @Test
    void aJpdkTestPmd() throws Exception {
        String prefix = "jpdktop" + ProcessHandle.current().pid();
        try (NetnsTestPmd tp = NetnsTestPmd.jpdk(null, List.of("-l", "0-1", "--vdev", "net_null0", "--vdev", "net_null1",
                "--file-prefix", prefix), "--forward-mode=io")) {
            tp.await(NetnsTestPmd.READY, 60);
            Result r = top("--file-prefix", prefix, "--once");
            assertEquals(0, r.rc(), r.err());
            assertTrue(r.out().startsWith("jpdk top - jpdk 0.1.0 pid "), r.out());
            assertTrue(r.out().contains("(rates over 1."), r.out());
            forwarding(r.out(), true);
            Matcher busy = Pattern.compile("\\nLCORE  BUSY%\\n    1 +(\\d+\\.\\d)\\n").matcher(r.out());
            assertTrue(busy.find(), r.out());
            assertTrue(Double.parseDouble(busy.group(1)) > 0, "the forwarding lcore is busy: " + r.out());
            assertTrue(Pattern.compile("\\nmb_pool_0 +\\d+ +\\d+ +\\d+\\.\\d\\n").matcher(r.out()).find(), "jpdk reports pool use: " + r.out());

            r = top("--file-prefix", prefix, "-n", "2", "--interval", "0.3");
            assertEquals(0, r.rc(), r.err());
            assertEquals(2, r.out().split("jpdk top - ", -1).length - 1, "two frames:\n" + r.out());

            // the app leaves while top watches: top says so and fails
            CompletableFuture<Result> watching = CompletableFuture.supplyAsync(() -> top("--file-prefix", prefix, "--interval", "0.2"));
            Thread.sleep(1500);
            tp.stop(20);
            Result gone = watching.get(30, TimeUnit.SECONDS);
            assertEquals(1, gone.rc(), gone.out());
            assertTrue(gone.err().startsWith("top: the app (jpdk 0.1.0 pid ") && gone.err().contains("--file-prefix " + prefix + ") went away: "),
                    gone.err());
            assertEquals(1, gone.err().lines().count(), gone.err());
        }
    }

    @Test
    void aDpdkTestPmd() {
        NetnsTestPmd.dpdkTestPmd();
        try (NetnsTestPmd tp = NetnsTestPmd.dpdk(null, List.of("-l", "0-1", "--vdev", "net_null0", "--vdev", "net_null1"),
                "--record-core-cycles")) {
            tp.await(NetnsTestPmd.READY, 60);
            Result r = top("--file-prefix", tp.dpdkPrefix(), "--once", "--interval", "0.5");
            assertEquals(0, r.rc(), r.err());
            assertTrue(r.out().startsWith("jpdk top - DPDK "), r.out());
            // DPDK 22.11's net_null counts packets, not bytes: its Gbps read 0
            forwarding(r.out(), false);
            // Debian's DPDK 22.11 has no /eal/lcore/usage (23.03 added it) and no counts in /mempool/info
            assertTrue(r.out().contains("\nLCORE BUSY%  n/a: ") || Pattern.compile("\\nLCORE  BUSY%\\n    1 ").matcher(r.out()).find(), r.out());
            tp.stop(20);
        }
    }

    @Test
    void noAppIsOneLine() {
        Result r = top("--file-prefix", "jpdk-no-such-app", "--once");
        assertEquals(1, r.rc());
        assertTrue(r.err().startsWith("top: no app with --file-prefix jpdk-no-such-app is running (telemetry socket: connect("), r.err());
        assertTrue(r.err().endsWith("ENOENT)\n"), r.err());
        assertEquals("", r.out());
    }
}
