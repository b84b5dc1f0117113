package org.jpdk.app.testpmd;

import org.jpdk.app.procinfo.ProcInfo;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./jpdk proc-info} reading a running testpmd through its telemetry socket: ours and DPDK's
 * {@code dpdk-testpmd}, each forwarding between two net_null ports in this namespace (no packet
 * leaves the process).
 */
class ProcInfoTest {
    private record Result(int rc, String out, String err) {
    }

    private static Result procInfo(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = ProcInfo.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static long rxPackets(String out, int port) {
        Matcher m = Pattern.compile("NIC statistics for port " + port + " +#+\\n  RX-packets: (\\d+)").matcher(out);
        assertTrue(m.find(), out);
        return Long.parseLong(m.group(1));
    }

    private static void commonSections(String prefix) {
        Result r = procInfo("--file-prefix", prefix, "--", "--stats");
        assertEquals(0, r.rc(), r.err());
        long first = rxPackets(r.out(), 0);
        rxPackets(r.out(), 1);
        long deadline = System.nanoTime() + 20_000_000_000L;
        long later;
        do {
            later = rxPackets(procInfo("--file-prefix", prefix, "--", "--stats", "-p", "0x1").out(), 0);
        } while (later <= first && System.nanoTime() < deadline);
        assertTrue(later > first, "rx grows: " + first + " then " + later);

        r = procInfo("--file-prefix", prefix, "--", "--xstats", "-p", "0x2");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("###### NIC extended statistics for port 1 ") && r.out().contains("rx_good_packets: "), r.out());
        assertTrue(!r.out().contains("port 0 "), "-p 0x2 shows port 1 only: " + r.out());

        r = procInfo("--file-prefix", prefix, "--", "--show-port", "--show-mempool", "--show-ring");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("  - port (0) net_null0") && r.out().contains("  - port (1) net_null1"), r.out());
        assertTrue(r.out().contains("status UP"), r.out());
        assertTrue(r.out().contains("  - Name: mb_pool_0 on socket "), r.out());
    }

    @Test
    void readsAJpdkTestPmd() {
        String prefix = "jpdkpi" + ProcessHandle.current().pid();
        try (NetnsTestPmd tp = NetnsTestPmd.jpdk(null, List.of("-l", "0-1", "--vdev", "net_null0", "--vdev", "net_null1",
                "--file-prefix", prefix), "--forward-mode=io")) {
            tp.await(NetnsTestPmd.READY, 60);
            commonSections(prefix);
            Result r = procInfo("--file-prefix", prefix, "--", "--stats-reset");
            assertEquals(0, r.rc(), r.err());
            assertTrue(r.out().contains("Port 0 statistics reset"), r.out());
            tp.stop(20);
        }
    }

    @Test
    void readsADpdkTestPmd() {
        NetnsTestPmd.dpdkTestPmd();
        try (NetnsTestPmd tp = NetnsTestPmd.dpdk(null, List.of("-l", "0-1", "--vdev", "net_null0", "--vdev", "net_null1"))) {
            tp.await(NetnsTestPmd.READY, 60);
            String dpdkPrefix = tp.dpdkPrefix();
            commonSections(dpdkPrefix);
            Result r = procInfo("--file-prefix", dpdkPrefix, "--", "--stats-reset");
            assertEquals(1, r.rc(), r.out());
            assertTrue(r.err().contains("read-only"), r.err());
            tp.stop(20);
        }
    }

    @Test
    void badArgumentsAndNoAppAreOneLine() {
        Result r = procInfo("--file-prefix", "jpdk-no-such-app", "--", "--stats");
        assertEquals(1, r.rc());
        assertTrue(r.err().startsWith("proc-info: no app with --file-prefix jpdk-no-such-app is running"), r.err());
        r = procInfo("--", "--bogus");
        assertEquals(1, r.rc());
        assertEquals("proc-info: unknown option '--bogus'; --help lists them\n", r.err());
        r = procInfo("-l", "0", "--", "--stats");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("only EAL option proc-info reads is --file-prefix"), r.err());
        r = procInfo("--", "-p", "zz");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("-p zz: not a hex port mask"), r.err());
        r = procInfo("--", "--help");
        assertEquals(0, r.rc());
        assertTrue(r.out().startsWith("usage: jpdk proc-info"));
    }
}
