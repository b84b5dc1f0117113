package org.jpdk.app.pipeline;

import org.jpdk.drivers.net.pcap.PcapReader;
import org.jpdk.drivers.net.pcap.PcapWriter;
import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Checksum;
import org.jpdk.ring.Ring;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PipelineTest {
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    record Result(int rc, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = Pipeline.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** IPv4 frames (TTL 64, valid checksum, every tenth with TTL 1), and every seventh an ARP frame. */
    static List<byte[]> frames(int n, int seed) {
        List<byte[]> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] f = new byte[60 + (i * 11) % 300];
            for (int j = 0; j < f.length; j++) f[j] = (byte) (seed + i * 7 + j);
            MemorySegment s = MemorySegment.ofArray(f);
            if (i % 7 == 3) {
                s.set(BE_SHORT, 12, (short) 0x0806);
            } else {
                s.set(BE_SHORT, 12, (short) 0x0800);
                f[14] = 0x45;
                s.set(BE_SHORT, 16, (short) (f.length - 14));
                f[22] = (byte) (i % 10 == 5 ? 1 : 64);
                s.set(BE_SHORT, 24, (short) 0);
                s.set(BE_SHORT, 24, (short) ~Checksum.raw(s, 14, 20));
            }
            l.add(f);
        }
        return l;
    }

    /** What the work makes of a frame: null if dropped, else MACs swapped and, for IPv4, TTL - 1 with a recomputed checksum. */
    static byte[] worked(byte[] f) {
        MemorySegment s = MemorySegment.ofArray(f);
        boolean ip = s.get(BE_SHORT, 12) == 0x0800;
        if (ip && (f[22] & 0xff) <= 1) return null;
        byte[] g = f.clone();
        System.arraycopy(f, 0, g, 6, 6);
        System.arraycopy(f, 6, g, 0, 6);
        if (ip) {
            MemorySegment t = MemorySegment.ofArray(g);
            g[22]--;
            t.set(BE_SHORT, 24, (short) 0);
            t.set(BE_SHORT, 24, (short) ~Checksum.raw(t, 14, 20));
        }
        return g;
    }

    static void writePcap(Path file, List<byte[]> frames) {
        try (PcapWriter w = PcapWriter.create(file)) {
            for (byte[] f : frames) w.write(MemorySegment.ofArray(f), 0, f.length, 1);
        }
    }

    static List<byte[]> readPcap(Path file) {
        List<byte[]> l = new ArrayList<>();
        try (PcapReader r = PcapReader.open(file)) {
            while (r.next() == PcapReader.RECORD) {
                byte[] b = new byte[r.caplen()];
                r.copy(0, MemorySegment.ofArray(b), 0, b.length);
                l.add(b);
            }
        }
        return l;
    }

    static void checkOut(List<byte[]> in, List<byte[]> out) {
        List<byte[]> want = new ArrayList<>();
        for (byte[] f : in) {
            byte[] w = worked(f);
            if (w != null) want.add(w);
        }
        assertEquals(want.size(), out.size(), "packets out");
        for (int i = 0; i < want.size(); i++) assertArrayEquals(want.get(i), out.get(i), "packet " + i);
    }

    static Matcher modeLine(String out, String mode) {
        Matcher m = Pattern.compile("\n" + mode + ": forwarded (\\d+) packets in \\S+ s: (\\S+) Mpps; rx (\\d+), tx-dropped (\\d+), "
                + "ring-dropped rx->workers (\\d+) workers->tx (\\d+), ttl-expired (\\d+), non-ip (\\d+)\n").matcher(out);
        assertTrue(m.find(), "no " + mode + " result in:\n" + out);
        return m;
    }

    private void pcapRun(Path dir, String mode) {
        List<byte[]> in0 = frames(200, 1), in1 = frames(50, 2);
        writePcap(dir.resolve("in0.pcap"), in0);
        writePcap(dir.resolve("in1.pcap"), in1);
        Result r = run("-l", "0-1", "--no-huge",
                "--vdev", "net_pcap0,rx_pcap=" + dir.resolve("in0.pcap") + ",tx_pcap=" + dir.resolve("out0.pcap"),
                "--vdev", "net_pcap1,rx_pcap=" + dir.resolve("in1.pcap") + ",tx_pcap=" + dir.resolve("out1.pcap"),
                "--", "--mode=" + mode, "--run-seconds=0.5");
        assertEquals(0, r.rc, r.err + r.out);
        checkOut(in0, readPcap(dir.resolve("out1.pcap")));
        checkOut(in1, readPcap(dir.resolve("out0.pcap")));
        Matcher m = modeLine(r.out, mode);
        // TTL 1: 17 + 4 IPv4 frames; ARP: 29 + 7 frames
        assertEquals(List.of("229", "250", "0", "0", "0", "21", "36"),
                List.of(m.group(1), m.group(3), m.group(4), m.group(5), m.group(6), m.group(7), m.group(8)), m.group());
    }

    @Test
    void rtcForwardsEveryPacketWithTheWorkApplied(@TempDir Path dir) {
        pcapRun(dir, "rtc");
    }

    @Test
    void pipelineForwardsEveryPacketWithTheWorkApplied(@TempDir Path dir) {
        pcapRun(dir, "pipeline");
    }

    @Test
    void workNonePassesPacketsOnUntouched(@TempDir Path dir) {
        List<byte[]> in0 = frames(200, 1);
        writePcap(dir.resolve("in0.pcap"), in0);
        Result r = run("-l", "0-1", "--no-huge",
                "--vdev", "net_pcap0,rx_pcap=" + dir.resolve("in0.pcap") + ",tx_pcap=" + dir.resolve("out0.pcap"),
                "--vdev", "net_pcap1,tx_pcap=" + dir.resolve("out1.pcap"),
                "--", "--mode=pipeline", "--work=none", "--run-seconds=0.5");
        assertEquals(0, r.rc, r.err + r.out);
        List<byte[]> out = readPcap(dir.resolve("out1.pcap"));
        assertEquals(in0.size(), out.size(), "packets out");
        for (int i = 0; i < out.size(); i++) assertArrayEquals(in0.get(i), out.get(i), "packet " + i);
        Matcher m = modeLine(r.out, "pipeline");
        assertEquals(List.of("200", "200", "0", "0", "0", "0", "0"),
                List.of(m.group(1), m.group(3), m.group(4), m.group(5), m.group(6), m.group(7), m.group(8)), m.group());
    }

    @Test
    void bothModesOnNullPortsAccountForEveryPacket() {
        Result r = run("-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1", "--", "--run-seconds=0.5");
        assertEquals(0, r.rc, r.err + r.out);
        assertTrue(r.out.contains("rtc: lcore 0 [rx 0 -> work -> tx 1] lcore 1 [rx 1 -> work -> tx 0]\n"), r.out);
        assertTrue(r.out.contains("pipeline: lcore 0 [rx 0,1 -> pl_rx pl_tx -> tx] lcore 1 [pl_rx -> work -> pl_tx]\n"), r.out);
        for (String mode : List.of("rtc", "pipeline")) {
            Matcher m = modeLine(r.out, mode);
            long fwd = Long.parseLong(m.group(1)), rx = Long.parseLong(m.group(3));
            long drops = Long.parseLong(m.group(4)) + Long.parseLong(m.group(5)) + Long.parseLong(m.group(6)) + Long.parseLong(m.group(7));
            assertTrue(fwd > 0, m.group());
            assertEquals(rx, fwd + drops, mode + ": every packet received is forwarded or counted as dropped: " + m.group());
            // rtc has no rings; the pipeline's rx stage and its one worker take no more than the next ring has room for
            assertEquals(0, Long.parseLong(m.group(5)) + Long.parseLong(m.group(6)), mode + ": nothing dropped at a ring: " + m.group());
        }
        assertTrue(Pattern.compile("\npipeline/rtc: \\d+\\.\\d\\d \\(the pipeline forwarded \\S+ Mpps, run-to-completion \\S+ Mpps\\)\n")
                .matcher(r.out).find(), r.out);
    }

    @Test
    void badOptionsAreOneLineAndExitOne() {
        String[][] cases = {
                {"--mode=fast", "pipeline: --mode=fast: allowed rtc, pipeline, both"},
                {"--work=nat", "pipeline: --work=nat: allowed router, none"},
                {"--run-seconds=0", "pipeline: --run-seconds=0: allowed a number of seconds > 0"},
                {"--burst=513", "pipeline: --burst=513: allowed 1..512"},
                {"--ring-size=1000", "pipeline: --ring-size=1000: allowed a power of two"},
                {"-p 0x4", "pipeline: --portmask=0x4: port 2 does not exist; ports are 0,1"},
                {"--bogus", "pipeline: unknown option --bogus; see --help"},
                {"--mode", "pipeline: --mode: needs a value"},
        };
        for (String[] c : cases) {
            List<String> args = new ArrayList<>(List.of("-l", "0-1", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1", "--"));
            args.addAll(Arrays.asList(c[0].split(" ")));
            Result r = run(args.toArray(new String[0]));
            assertEquals(1, r.rc, c[0] + ": " + r.out + r.err);
            String[] lines = r.err.split("\n");
            assertEquals(1, lines.length, c[0] + ": one line expected:\n" + r.err);
            assertTrue(lines[0].startsWith(c[1]), c[0] + ": got " + lines[0]);
        }
        Result one = run("-l", "0", "--no-huge", "--vdev", "net_null0", "--", "--mode=pipeline");
        assertEquals("pipeline: --mode=pipeline: the pipeline needs at least two lcores (an I/O lcore and a worker), e.g. -l 0-1\n", one.err);
        Result help = run("--", "--help");
        assertEquals(0, help.rc);
        assertTrue(help.out.startsWith("usage: jpdk pipeline"), help.out);
    }

    @Test
    void stagesAllocateNothing() {
        try (Eal eal = Eal.init("-l", "0", "--no-huge", "--vdev", "net_null0", "--vdev", "net_null1")) {
            Mempool<Mbuf> pool = Mbuf.createPool("pipeline_alloc_test", 8191, 64, Mbuf.DEFAULT_BUF_SIZE, 0);
            try (Ring<Mbuf> a = Ring.create("pla", 1024, Ring.F_SP_ENQ | Ring.F_SC_DEQ);
                 Ring<Mbuf> b = Ring.create("plb", 1024, Ring.F_SP_ENQ | Ring.F_SC_DEQ)) {
                for (EthDev p : EthDev.all()) {
                    p.configure(1, 1, PortConf.defaults());
                    p.rxQueueSetup(0, 512, pool);
                    p.txQueueSetup(0, 512);
                    p.start();
                }
                EthDev p0 = EthDev.get(0), p1 = EthDev.get(1);
                Pipeline.RtcStage rtc = new Pipeline.RtcStage(p0, p1, 32, true);
                AllocationMeter.assertNoAllocation("rtc stage", 50_000, 20_000, rtc::doWork);
                EthDev[] pair = new EthDev[EthDev.MAX_PORTS];
                pair[0] = p1;
                pair[1] = p0;
                Pipeline.Runner io = new Pipeline.Runner(0, List.of(new Pipeline.RxStage(new EthDev[]{p0, p1}, a, 32),
                        new Pipeline.WorkerStage(a, b, 32, true), new Pipeline.TxStage(b, pair, 32)));
                AllocationMeter.assertNoAllocation("rx, worker and tx stages", 50_000, 20_000, io::pass);
                assertTrue(rtc.get(Pipeline.Stage.TX) > 0 && io.stages[2].get(Pipeline.Stage.TX) > 0);
                Mbuf[] left = new Mbuf[1024];
                for (Ring<Mbuf> r : List.of(a, b)) Mbuf.freeBulk(left, 0, r.dequeueBurst(left, 0, left.length));
            } finally {
                EthDev.closeAll();
                pool.close();
            }
        }
    }
}
