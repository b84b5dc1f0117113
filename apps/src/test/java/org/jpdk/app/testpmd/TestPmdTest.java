package org.jpdk.app.testpmd;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TestPmdTest {
    private static final List<String> EAL = List.of("-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1");

    record Result(int rc, String out, String err, long millis) {
    }

    static Result run(String stdin, List<String> eal, String... app) {
        List<String> args = new ArrayList<>(eal);
        args.add("--");
        args.addAll(Arrays.asList(app));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int rc = TestPmd.run(args.toArray(new String[0]), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                (System.nanoTime() - t0) / 1_000_000);
    }

    static Result run(String... app) {
        return run("", EAL, app);
    }

    /** The number after {@code label} in the block that starts with {@code header}. */
    static long field(String out, String header, String label) {
        int at = out.lastIndexOf(header);
        assertTrue(at >= 0, "no block '" + header + "' in:\n" + out);
        Matcher m = Pattern.compile(Pattern.quote(label) + "\\s+(\\d+)").matcher(out);
        assertTrue(m.find(at), "no '" + label + "' after '" + header + "'");
        return Long.parseLong(m.group(1));
    }

    /** The closing line: rates of packets that left and of packets dropped, then the counts they come from. */
    static final Pattern THROUGHPUT = Pattern.compile(
            "\nThroughput: (\\d+\\.\\d\\d) Mpps (forwarded|sent), (\\d+\\.\\d\\d) Mpps dropped \\((\\d+) packets \\2, (\\d+) dropped in (\\d+\\.\\d\\d) s\\)\n$");

    @Test
    void timedRunPrintsStatsSummaryAndThroughput() {
        Result r = run("--run-seconds=1", "--stats-period=0.5");
        assertEquals(0, r.rc, r.err);
        assertTrue(r.millis >= 1000, "ended after " + r.millis + " ms although stdin was at end of file");
        assertTrue(r.out.contains("Port statistics ===================================="), r.out);
        assertTrue(r.out.contains("  ######################## NIC statistics for port 0  ########################\n"), r.out);
        assertTrue(r.out.contains("  Throughput (since last show)\n  Rx-pps: "), r.out);
        assertTrue(r.out.contains("Telling cores to stop...\nWaiting for lcores to finish...\n"), r.out);
        assertTrue(r.out.contains("\n  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++\n"), r.out);
        assertTrue(r.out.contains("\nDone.\n"), r.out);
        assertTrue(r.out.contains("Port 1 is closed"), r.out);
        Matcher m = THROUGHPUT.matcher(r.out);
        assertTrue(m.find(), "no final Throughput line:\n" + r.out);
        assertEquals("forwarded", m.group(2), m.group());
        assertTrue(Double.parseDouble(m.group(1)) > 0, m.group());
        assertEquals(field(r.out, "Accumulated forward statistics", "TX-packets:"), Long.parseLong(m.group(4)), "throughput packets = accumulated TX");
        assertEquals(field(r.out, "Accumulated forward statistics", "TX-dropped:"), Long.parseLong(m.group(5)), "dropped = accumulated TX-dropped");
    }

    /**
     * txonly into a port that takes every packet and counts it as an error (net_af_packet on a
     * veth that is down: each transmit kick fails with ENETDOWN): nothing left, so the closing line
     * says 0 sent and the drops beside. Before, it reported what the port had taken as sent
     * (a run into a veth whose peer was deleted: 3.5 Mpps "sent", 0.4 Mpps out).
     */
    @Test
    void txonlyIntoAPortThatDropsEverythingReportsDropsNotSent() {
        try (org.jpdk.testing.NetnsFixture nf = org.jpdk.testing.NetnsFixture.create()) {
            String ns = nf.namespace();
            nf.ip(ns, "link", "add", "va", "type", "veth", "peer", "name", "vb");   // left down
            Result r;
            try (org.jpdk.sys.Netns in = org.jpdk.sys.Netns.enter(ns)) {          // the EAL's lcores start in it too
                r = run("", List.of("-l", "0-1", "--no-huge", "--vdev", "net_af_packet0,iface=va"), "--forward-mode=txonly", "--run-seconds=0.5");
            }
            assertEquals(0, r.rc, r.err);
            long left = field(r.out, "Accumulated forward statistics", "TX-packets:");
            long dropped = field(r.out, "Accumulated forward statistics", "TX-dropped:");
            assertEquals(0, left, r.out);
            assertTrue(dropped > 0, r.out);
            Matcher m = THROUGHPUT.matcher(r.out);
            assertTrue(m.find(), "no final Throughput line:\n" + r.out);
            assertEquals("0.00", m.group(1), m.group());
            assertEquals("sent", m.group(2), m.group());
            assertTrue(Double.parseDouble(m.group(3)) > 0, m.group());
            assertEquals(0, Long.parseLong(m.group(4)), m.group());
            assertEquals(dropped, Long.parseLong(m.group(5)), m.group());
        }
    }

    @Test
    void noPortsAndNoVdevMeansTwoNullPorts() {
        Result r = run("", List.of("-l", "0-1", "--no-huge"), "--run-seconds=0.3");
        assertEquals(0, r.rc, r.err);
        assertTrue(r.out.contains("no ports and no --vdev given: using two net_null ports"), r.out);
        assertTrue(r.out.contains("io packet forwarding - ports=2 - cores=1 - streams=2"), r.out);
    }

    @Test
    void interactiveScript() {
        String script = "start\nshow port stats all\nstop\nset fwd " + (FwdEngines.byName("macswap") != null ? "macswap" : "io")
                + "\nshow config fwd\nset fwd nope\nfrobnicate\nset nbcore 1\nshow port info 0\nquit\n";
        Result r = run(script, EAL, "-i");
        assertEquals(0, r.rc, r.err);
        assertTrue(r.out.contains("Interactive-mode selected"), r.out);
        assertTrue(r.out.contains("testpmd> start\n"), r.out);
        assertTrue(r.out.contains("\n  ######################## NIC statistics for port 1  ########################\n"), r.out);
        assertTrue(r.out.contains("Logical Core 1 (socket 0) forwards packets on 2 streams:\n"
                + "  RX P=0/Q=0 (socket 0) -> TX P=1/Q=0 (socket 0) peer=02:00:00:00:00:01\n"
                + "  RX P=1/Q=0 (socket 0) -> TX P=0/Q=0 (socket 0) peer=02:00:00:00:00:00\n"), r.out);
        long rx0 = field(r.out, "Forward statistics for port 0", "RX-packets:");
        long tx1 = field(r.out, "Forward statistics for port 1", "TX-packets:");
        long rx1 = field(r.out, "Forward statistics for port 1", "RX-packets:");
        long tx0 = field(r.out, "Forward statistics for port 0", "TX-packets:");
        assertTrue(rx0 > 0 && rx1 > 0, "nothing forwarded:\n" + r.out);
        assertEquals(rx0, tx1, "io: what port 0 received port 1 sent");
        assertEquals(rx1, tx0, "io: what port 1 received port 0 sent");
        assertEquals(rx0 + rx1, field(r.out, "Accumulated forward statistics", "RX-packets:"));
        assertTrue(r.err.contains("Bad arguments: unknown forwarding mode 'nope'; modes: io"), r.err);
        assertTrue(r.err.contains("Command not found"), r.err);
        assertTrue(r.out.contains("Number of forwarding cores set to 1"), r.out);
        assertTrue(r.out.contains("Infos for port 0 ") && r.out.contains("Driver name: net_null\n"), r.out);
        assertTrue(r.out.endsWith("Bye...\n"), r.out);
        assertFalse(r.out.contains("Throughput: "), "no throughput line in interactive mode");
    }

    @Test
    void interactiveRefusesChangesWhileForwardingAndQuitsOnEof() {
        Result r = run("start\nset nbcore 1\nport stop 0\nstart\n", EAL, "-i");
        assertEquals(0, r.rc, r.err);
        assertTrue(r.err.contains("Please stop forwarding first"), r.err);
        assertTrue(r.err.contains("Please remove port 0 from forwarding configuration."), r.err);
        assertTrue(r.err.contains("Packet forwarding already started"), r.err);
        assertTrue(r.out.contains("Accumulated forward statistics"), "end of input stops forwarding:\n" + r.out);
        assertTrue(r.out.endsWith("Bye...\n"), r.out);
    }

    @Test
    void badOptionsAreOneLineAndExitOne() {
        String[][] cases = {
                {"--burst=0", "testpmd: --burst=0: allowed 1..512"},
                {"--forward-mode=nope", "testpmd: --forward-mode=nope: allowed io"},
                {"--bogus", "testpmd: unknown option --bogus; see --help"},
                {"--rxq=x", "testpmd: --rxq=x: not a number; allowed 1..1024"},
                {"--txpkts=10", "testpmd: --txpkts=10: a packet of 10 bytes; at least 42"},
                {"--eth-peer=0,zz", "testpmd: --eth-peer=0,zz: expected PORT,XX:XX:XX:XX:XX:XX"},
                {"--portmask=0x4", "testpmd: --portmask=0x4: port 2 does not exist; ports are 0,1"},
                {"--nb-ports=3", "testpmd: --nb-ports=3: allowed 1..2"},
                {"--nb-cores=2", "testpmd: --nb-cores=2: allowed 1..1"},
                {"--stats-period", "testpmd: --stats-period: needs a value"},
        };
        for (String[] c : cases) {
            Result r = run(c[0]);
            assertEquals(1, r.rc, c[0] + ": " + r.out + r.err);
            String[] lines = r.err.split("\n");
            assertEquals(1, lines.length, c[0] + ": one line expected:\n" + r.err);
            assertTrue(lines[0].startsWith(c[1]), c[0] + ": got " + lines[0]);
        }
        Result eal = run("", List.of("-l", "0-x"), "--run-seconds=1");
        assertEquals(1, eal.rc);
        assertTrue(eal.err.startsWith("EAL: error: ") && eal.err.split("\n").length == 1, eal.err);
    }

    @Test
    void helpPrintsUsage() {
        Result r = run("--help");
        assertEquals(0, r.rc);
        assertTrue(r.out.startsWith("usage: jpdk testpmd"), r.out);
        assertTrue(r.out.contains("--forward-mode=MODE"), r.out);
    }

    @Test
    void noWorkerLcore() {
        Result r = run("", List.of("-l", "0", "--no-huge", "--vdev", "net_null0"), "--run-seconds=1");
        assertEquals(1, r.rc);
        assertEquals("testpmd: no forwarding lcore: give at least two lcores, e.g. -l 0-1\n", r.err);
    }

    @Test
    void portmaskSelectsOnePort() {
        Result r = run("--portmask=0x2", "--run-seconds=0.3");
        assertEquals(0, r.rc, r.err);
        assertTrue(r.out.contains("io packet forwarding - ports=1 - cores=1 - streams=1"), r.out);
        assertTrue(r.out.contains("  RX P=1/Q=0 (socket 0) -> TX P=1/Q=0 (socket 0) peer=02:00:00:00:00:01\n"), r.out);
        assertTrue(r.out.contains("Forward statistics for port 1 "), r.out);
        assertFalse(r.out.contains("Forward statistics for port 0 "), r.out);
        assertTrue(field(r.out, "Forward statistics for port 1", "RX-packets:") > 0);
    }

    @Test
    void nbCoresSpreadStreamsOverLcores() {
        List<String> eal = List.of("--lcores", "(0-2)@(0,1)", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1");
        Result r = run("", eal, "--nb-cores=2", "--run-seconds=0.3");
        assertEquals(0, r.rc, r.err);
        assertTrue(r.out.contains("io packet forwarding - ports=2 - cores=2 - streams=2"), r.out);
        assertTrue(r.out.contains("Logical Core 1 (socket 0) forwards packets on 1 streams:\n"
                + "  RX P=0/Q=0 (socket 0) -> TX P=1/Q=0 (socket 0) peer=02:00:00:00:00:01\n"
                + "Logical Core 2 (socket 0) forwards packets on 1 streams:\n"
                + "  RX P=1/Q=0 (socket 0) -> TX P=0/Q=0 (socket 0) peer=02:00:00:00:00:00\n"), r.out);

        // two queues per port: four streams, queue 0 of both ports first (rss_fwd_config_setup), two per lcore
        Result q = run("", eal, "--nb-cores=2", "--rxq=2", "--txq=2", "--run-seconds=0.3");
        assertEquals(0, q.rc, q.err);
        assertTrue(q.out.contains("io packet forwarding - ports=2 - cores=2 - streams=4"), q.out);
        assertTrue(q.out.contains("Logical Core 2 (socket 0) forwards packets on 2 streams:\n"
                + "  RX P=0/Q=1 (socket 0) -> TX P=1/Q=1 (socket 0) peer=02:00:00:00:00:01\n"
                + "  RX P=1/Q=1 (socket 0) -> TX P=0/Q=1 (socket 0) peer=02:00:00:00:00:00\n"), q.out);
        assertTrue(q.out.contains("\n  ------- Forward Stats for RX Port= 1/Queue= 1 -> TX Port= 0/Queue= 1 -------\n"), q.out);
    }

    @Test
    void forwardingPassAllocatesNothing() {
        try (Eal eal = Eal.init(EAL.toArray(new String[0]))) {
            Mempool<Mbuf> pool = Mbuf.createPool("tp_alloc_test", 4095, 64, 0, Mbuf.DEFAULT_BUF_SIZE, 0);
            try {
                FwdConfig cfg = new FwdConfig();
                for (EthDev p : EthDev.all()) {
                    p.configure(1, 1, PortConf.defaults());
                    p.rxQueueSetup(0, 0, pool);
                    p.txQueueSetup(0, 0);
                    p.start();
                }
                FwdStream[] streams = {new FwdStream(EthDev.get(0), 0, EthDev.get(1), 0, cfg),
                        new FwdStream(EthDev.get(1), 0, EthDev.get(0), 0, cfg)};
                FwdLcore lc = new FwdLcore(eal.mainLcore(), streams, FwdEngines.byName("io"));
                lc.stop(); // run() then makes exactly one pass, as a forwarding lcore's loop body
                AllocationMeter.assertNoAllocation("passes", 50_000, 20_000, lc::run);
                assertTrue(streams[0].rxPackets() > 0 && streams[1].txPackets() == streams[1].rxPackets());
            } finally {
                EthDev.closeAll();
                pool.close();
            }
        }
    }
}
