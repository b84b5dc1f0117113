package org.jpdk.drivers.net.pcap;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.eal.Log;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.EthStats;
import org.jpdk.ethdev.PortConf;
import org.jpdk.ethdev.RxWaitSet;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.jpdk.drivers.net.pcap.PcapFiles.*;
import static org.junit.jupiter.api.Assertions.*;

/** net_pcap through the port API: round trip, tshark, queue shapes, infinite_rx, end of file, bad files. */
class PcapDriverTest {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final long T0 = 1_700_000_000_000_000_000L;

    @TempDir
    Path dir;
    private Eal eal;
    private Mempool<Mbuf> pool;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64");
        pool = Mbuf.createPool("pcap_test", 4095, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
        Log.setOutput(new PrintStream(log, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void cleanup() {
        Log.setOutput(System.err);
        try {
            EthDev.closeAll();
            pool.close();
        } finally {
            eal.cleanup();
        }
    }

    private EthDev ready(String devargs) {
        EthDev p = EthDev.create(devargs);
        int nRx = p.info().maxRxQueues(), nTx = p.info().maxTxQueues();
        p.configure(nRx, nTx, PortConf.defaults());
        for (int q = 0; q < nRx; q++) p.rxQueueSetup(q, 512, pool);
        for (int q = 0; q < nTx; q++) p.txQueueSetup(q, 512);
        p.start();
        return p;
    }

    private static PcapDriver.Device device(EthDev p) {
        return (PcapDriver.Device) p.ops();
    }

    private Mbuf mbuf(byte[] data) {
        Mbuf head = null;
        int done = 0;
        do { // chains of 1000-byte segments above 2000 bytes, to send multi-segment packets
            Mbuf m = Mbuf.alloc(pool);
            int k = Math.min(data.length - done, head == null ? 2000 : 1000);
            MemorySegment.copy(data, done, m.append(k), ValueLayout.JAVA_BYTE, 0, k);
            done += k;
            if (head == null) head = m;
            else assertTrue(head.chain(m));
        } while (done < data.length);
        return head;
    }

    private static byte[] bytes(Mbuf m) {
        byte[] out = new byte[m.pktLen()];
        int at = 0;
        for (Mbuf s = m; s != null; s = s.next()) {
            MemorySegment.copy(s.buffer(), ValueLayout.JAVA_BYTE, s.dataOff(), out, at, s.dataLen());
            at += s.dataLen();
        }
        assertEquals(out.length, at, "pktLen is the sum of the segments");
        return out;
    }

    /** Receives until the port says its files are read (bounded, so a bug fails instead of hanging). */
    private List<Mbuf> drain(EthDev p, int queue) {
        List<Mbuf> got = new ArrayList<>();
        Mbuf[] burst = new Mbuf[32];
        for (int i = 0; i < 100_000 && !device(p).rxDone(); i++) {
            int n = p.rxBurst(queue, burst, 32);
            for (int k = 0; k < n; k++) got.add(burst[k]);
        }
        assertTrue(device(p).rxDone(), "rx never finished");
        assertEquals(0, p.rxBurst(queue, burst, 32), "nothing after the end");
        return got;
    }

    @Test
    void roundTripThroughTxAndRxPortsAndTshark() throws Exception {
        Path out = dir.resolve("out.pcap");
        EthDev tx = ready("net_pcap0,tx_pcap=" + out);
        assertEquals(1, tx.nbRxQueues(), "a tx-only port has an rx queue that receives nothing, as DPDK");
        assertEquals("02:70:63:61:70", tx.macAddr().toString().substring(0, 14));
        List<byte[]> sent = new ArrayList<>();
        int[] sizes = {60, 64, 1514, 2000, 2001, 4500, 9000, 100, 1500};
        Mbuf[] burst = new Mbuf[16];
        long bytes = 0;
        for (int round = 0; round < 20; round++) {
            for (int k = 0; k < burst.length; k++) {
                byte[] f = frame(sent.size() % 250, sizes[(round + k) % sizes.length] + round);
                sent.add(f);
                bytes += f.length;
                burst[k] = mbuf(f);
                if (k % 2 == 0) {
                    burst[k].timestamp = T0 + sent.size();
                    burst[k].olFlags |= Mbuf.F_RX_TIMESTAMP;
                }
            }
            assertEquals(burst.length, tx.txBurst(0, burst, burst.length));
        }
        assertEquals(0, tx.rxBurst(0, burst, 16));
        EthStats s = tx.stats();
        assertEquals(sent.size(), s.opackets);
        assertEquals(bytes, s.obytes);
        assertEquals(0, pool.inUseCount(), "the driver freed what it sent");
        tx.close(); // flushes and closes the file

        EthDev rx = ready("net_pcap1,rx_pcap=" + out);
        assertEquals(1, rx.nbTxQueues(), "an rx-only port has a tx queue that drops, as DPDK");
        List<Mbuf> got = drain(rx, 0);
        assertEquals(sent.size(), got.size());
        for (int i = 0; i < sent.size(); i++) {
            Mbuf m = got.get(i);
            assertArrayEquals(sent.get(i), bytes(m), "packet " + i);
            assertEquals(rx.id(), m.port);
            assertNotEquals(0, m.olFlags & Mbuf.F_RX_TIMESTAMP);
            if (i % 2 == 0) assertEquals(T0 + i + 1, m.timestamp, "packet " + i + " kept its rx timestamp");
            else assertTrue(Math.abs(m.timestamp - System.currentTimeMillis() * 1_000_000L) < 60_000_000_000L, "wall clock");
        }
        assertEquals(1, rx.xstat("rx_q0_pcap_eof"));
        assertEquals(sent.size(), rx.stats().ipackets);
        assertEquals(bytes, rx.stats().ibytes);
        // the drop queue counts and frees
        int n = got.size();
        Mbuf[] all = got.toArray(new Mbuf[0]);
        assertEquals(n, rx.txBurst(0, all, n));
        assertEquals(n, rx.stats().opackets);
        assertEquals(0, pool.inUseCount());

        requireTool("tshark");
        List<String> lines = run("tshark", "-r", out.toString(), "-T", "fields", "-e", "frame.len", "-e", "eth.src");
        assertEquals(sent.size(), lines.size());
        for (int i = 0; i < sent.size(); i++) {
            assertEquals(sent.get(i).length + "\t02:00:00:00:00:" + String.format("%02x", i % 250), lines.get(i), "frame " + i);
        }
    }

    /** A chain whose pktLen disagrees with its segments is dropped and counted; before, it became a record whose lengths disagreed with its bytes. */
    @Test
    void anInconsistentChainIsDroppedAndCountedNotWritten() throws IOException {
        Path out = dir.resolve("odd.pcap");
        EthDev tx = ready("net_pcap0,tx_pcap=" + out);
        Mbuf good = mbuf(frame(1, 3000)), odd = mbuf(frame(2, 3000));
        odd.setPktLen(2500);
        Mbuf[] burst = {odd, good};
        assertEquals(2, tx.txBurst(0, burst, 2));
        EthStats s = tx.stats();
        assertEquals(1, s.opackets);
        assertEquals(1, s.oerrors);
        assertEquals(0, pool.inUseCount());
        tx.close();
        EthDev rx = ready("net_pcap1,rx_pcap=" + out);
        List<Mbuf> got = drain(rx, 0);
        assertEquals(1, got.size());
        assertArrayEquals(frame(1, 3000), bytes(got.get(0)));
        got.get(0).free();
    }

    @Test
    void severalQueuesAndPcapngInBigEndian() throws IOException {
        ByteOrder be = ByteOrder.BIG_ENDIAN;
        byte[] a = frame(1, 70), b = frame(2, 3000);
        Path ng = write(dir, "be.pcapng", concat(shb(be), idb(be, 1, 9), epb(be, 0, T0 + 5, a), epb(be, 0, T0 + 6, b)));
        Path cl = write(dir, "le.pcap", classic(LE, false, 1, List.of(b, a, a), new long[]{T0, T0, T0}));
        EthDev p = ready("eth_pcap0,rx_pcap=" + ng + ",rx_pcap=" + cl);
        assertEquals(2, p.nbRxQueues());
        assertEquals(2, p.nbTxQueues());
        List<Mbuf> q0 = drainQueue(p, 0), q1 = drain(p, 1);
        assertEquals(2, q0.size());
        assertArrayEquals(a, bytes(q0.get(0)));
        assertArrayEquals(b, bytes(q0.get(1)));
        assertEquals(2, q0.get(1).nbSegs(), "3000 bytes in 2048-byte mbufs is a chain");
        assertEquals(T0 + 6, q0.get(1).timestamp);
        assertEquals(3, q1.size());
        assertArrayEquals(b, bytes(q1.get(0)));
        for (Mbuf m : q0) m.free();
        for (Mbuf m : q1) m.free();
    }

    private List<Mbuf> drainQueue(EthDev p, int q) {
        List<Mbuf> got = new ArrayList<>();
        Mbuf[] burst = new Mbuf[8];
        for (int i = 0; i < 100; i++) {
            int n = p.rxBurst(q, burst, 8);
            for (int k = 0; k < n; k++) got.add(burst[k]);
        }
        return got;
    }

    @Test
    void endOfFileThenRestartReadsAgain() throws IOException {
        List<byte[]> pkts = List.of(frame(1, 60), frame(2, 61), frame(3, 62), frame(4, 63), frame(5, 64));
        Path f = write(dir, "five.pcap", classic(LE, true, 1, pkts, new long[]{1, 2, 3, 4, 5}));
        EthDev p = ready("net_pcap0,rx_pcap=" + f);
        assertFalse(device(p).rxDone());
        assertEquals(0, p.xstat("rx_q0_pcap_eof"));
        List<Mbuf> got = drain(p, 0);
        assertEquals(5, got.size());
        assertEquals(1, p.xstat("rx_q0_pcap_eof"));
        got.forEach(Mbuf::free);
        p.stop();
        p.start();
        assertFalse(device(p).rxDone());
        got = drain(p, 0);
        assertEquals(5, got.size(), "a restart reads the file from the start, as DPDK reopens it");
        got.forEach(Mbuf::free);
    }

    @Test
    void rxInterruptFiresWhileTheFileHasDataAndNeverAfterItsEnd() throws IOException {
        List<byte[]> pkts = List.of(frame(1, 60), frame(2, 61), frame(3, 62));
        Path f = write(dir, "three.pcap", classic(LE, true, 1, pkts, new long[]{1, 2, 3}));
        EthDev p = ready("net_pcap0,rx_pcap=" + f);
        try (RxWaitSet set = new RxWaitSet(1)) {
            set.add(p, 0);
            p.rxIntrEnable(0);
            assertEquals(1, set.await(2_000), "unread data: the interrupt fires at once");
            p.rxIntrDisable(0);
            List<Mbuf> got = drain(p, 0);
            assertEquals(3, got.size());
            got.forEach(Mbuf::free);
            p.rxIntrEnable(0);
            long t0 = System.nanoTime();
            assertEquals(0, set.await(50), "at end of file nothing fires: the lcore sleeps");
            assertTrue(System.nanoTime() - t0 >= 40_000_000L);
            p.rxIntrDisable(0);
        }
    }

    @Test
    void aRecordIsKeptWhenThePoolIsDry() throws IOException {
        Path f = write(dir, "two.pcap", classic(LE, true, 1, List.of(frame(1, 60), frame(2, 60)), new long[]{1, 2}));
        EthDev p = ready("net_pcap0,rx_pcap=" + f);
        Mbuf[] hold = new Mbuf[4095];
        assertTrue(Mbuf.allocBulk(pool, hold, 0, 4095));
        Mbuf[] burst = new Mbuf[4];
        assertEquals(0, p.rxBurst(0, burst, 4));
        assertEquals(1, p.stats().rxNombuf);
        Mbuf.freeBulk(hold, 0, 4095);
        assertEquals(2, p.rxBurst(0, burst, 4), "no packet was lost to the dry pool");
        assertArrayEquals(frame(1, 60), bytes(burst[0]));
        Mbuf.freeBulk(burst, 0, 2);
    }

    @Test
    void infiniteRxReplaysForeverAndReplayToFileAllocatesNothing() throws IOException {
        List<byte[]> pkts = List.of(frame(1, 60), frame(2, 2500), frame(3, 128));
        Path f = write(dir, "three.pcap", classic(LE, true, 1, pkts, new long[]{T0, T0 + 1, T0 + 2}));
        EthDev in = ready("net_pcap0,rx_pcap=" + f + ",infinite_rx=1");
        Mbuf[] burst = new Mbuf[32];
        for (int round = 0; round < 100; round++) {
            assertEquals(32, in.rxBurst(0, burst, 32));
            for (int k = 0; k < 32; k++) assertArrayEquals(pkts.get((round * 32 + k) % 3), bytes(burst[k]));
            Mbuf.freeBulk(burst, 0, 32);
        }
        assertFalse(device(in).rxDone());
        assertEquals(3200, in.stats().ipackets);

        Path out = dir.resolve("replayed.pcap");
        EthDev sink = ready("net_pcap1,tx_pcap=" + out);
        AllocationMeter.assertNoAllocation("bursts of replay and write", 5_000, 5_000, () -> {
            int n = in.rxBurst(0, burst, 8);
            for (int k = 0; k < n; k += 2) burst[k].olFlags &= ~Mbuf.F_RX_TIMESTAMP; // half take the wall clock
            int sent = sink.txBurst(0, burst, n);
            if (sent < n) Mbuf.freeBulk(burst, sent, n - sent);
        });
        long written = sink.stats().opackets;
        sink.close();
        try (PcapReader r = PcapReader.open(out)) {
            long n = 0;
            while (r.next() == PcapReader.RECORD) n++;
            assertEquals(PcapReader.EOF, r.state(), r.error());
            assertEquals(written, n, "every packet sent is in the file after close");
        }
    }

    // ---------------------------------------------------------------- bad input

    private String logged() {
        return log.toString(StandardCharsets.UTF_8);
    }

    /** Receives from a bad file: the good packets, then nothing, one ierror and one log line. */
    private void badFile(String name, byte[] content, int good, String expect) throws IOException {
        Path f = write(dir, name, content);
        log.reset();
        EthDev p = ready("net_pcap_" + name.replace('.', '_') + ",rx_pcap=" + f);
        List<Mbuf> got = drain(p, 0);
        assertEquals(good, got.size(), name);
        got.forEach(Mbuf::free);
        for (int i = 0; i < 10; i++) assertEquals(0, p.rxBurst(0, new Mbuf[4], 4));
        assertEquals(1, p.stats().ierrors, name);
        String[] lines = logged().strip().split("\n");
        List<String> errs = new ArrayList<>();
        for (String l : lines) if (l.contains(f.toString())) errs.add(l);
        assertEquals(1, errs.size(), "one line about " + name + ": " + logged());
        assertTrue(errs.get(0).contains(f + ": offset ") && errs.get(0).contains(expect), errs.get(0));
        p.close();
    }

    @Test
    void badRecordsStopTheQueueWithOneErrorAndOneLine() throws IOException {
        List<byte[]> pkts = List.of(frame(1, 60), frame(2, 60), frame(3, 60));
        byte[] good = classic(LE, true, 1, pkts, new long[]{1, 2, 3});
        badFile("trunc.pcap", java.util.Arrays.copyOf(good, good.length - 1), 2, "truncated record: caplen 60 but 59 bytes of data left");
        byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(LE).putInt(24 + 76 + 8, 1 << 30).putInt(24 + 76 + 12, 1 << 30);
        badFile("huge.pcap", huge, 1, "caplen 1073741824 exceeds the maximum 262144");
        byte[] head = concat(shb(LE), idb(LE, 1, -1)), p = epb(LE, 0, 1, frame(1, 64));
        badFile("zero.pcapng", concat(head, p, ByteBuffer.allocate(12).order(LE).putInt(6).putInt(0).putInt(0).array()), 1,
                "block length 0 is invalid");
        byte[] odd = p.clone();
        ByteBuffer.wrap(odd).order(LE).putInt(4, 90);
        badFile("odd.pcapng", concat(head, p, p, odd), 2, "block length 90 is invalid");
    }

    @Test
    void badFilesAndArgumentsAreRefusedAtProbe() throws IOException {
        Path hdr = write(dir, "hdr.pcap", new byte[]{(byte) 0xd4, (byte) 0xc3, (byte) 0xb2, (byte) 0xa1, 2, 0, 4, 0});
        EthDevException e = assertThrows(EthDevException.class, () -> EthDev.create("net_pcap0,rx_pcap=" + hdr));
        assertEquals("--vdev net_pcap0: " + hdr + ": truncated pcap global header: 8 of 24 bytes", e.getMessage());
        Path missing = dir.resolve("nope.pcap");
        e = assertThrows(EthDevException.class, () -> EthDev.create("net_pcap0,rx_pcap=" + missing));
        assertTrue(e.getMessage().startsWith("--vdev net_pcap0: " + missing + ": cannot open for reading: NoSuchFileException"), e.getMessage());
        Path ppp = write(dir, "ppp.pcap", classic(LE, true, 9, List.of(), new long[0]));
        e = assertThrows(EthDevException.class, () -> EthDev.create("net_pcap0,rx_pcap=" + ppp));
        assertTrue(e.getMessage().endsWith("link type 9 is not Ethernet (1); net_pcap carries Ethernet frames only"), e.getMessage());
        e = assertThrows(EthDevException.class, () -> EthDev.create("net_pcap0,tx_pcap=" + dir.resolve("no/such/dir/out.pcap")));
        assertTrue(e.getMessage().contains("cannot open for writing"), e.getMessage());

        Path f = write(dir, "ok.pcap", classic(LE, true, 1, List.of(frame(1, 60)), new long[]{1}));
        EalArgumentException a = assertThrows(EalArgumentException.class,
                () -> EthDev.create("net_pcap0,rx_pcap=" + f + ",tx_pcap=" + dir + "/./ok.pcap"));
        assertEquals("--vdev net_pcap0: tx_pcap=" + dir + "/./ok.pcap: is also an rx_pcap file; a file cannot be read and written by one port",
                a.getMessage());
        a = assertThrows(EalArgumentException.class, () -> EthDev.create("net_pcap0,iface=eth0"));
        assertEquals("--vdev net_pcap0: iface=eth0: live interfaces are not supported by net_pcap (jpdk has no libpcap); use --vdev net_af_packet0,iface=eth0",
                a.getMessage());
        a = assertThrows(EalArgumentException.class, () -> EthDev.create("net_pcap0,rx_iface=eth1"));
        assertTrue(a.getMessage().contains("net_af_packet"), a.getMessage());
        a = assertThrows(EalArgumentException.class, () -> EthDev.create("net_pcap0"));
        assertTrue(a.getMessage().startsWith("--vdev net_pcap0: no rx_pcap or tx_pcap given"), a.getMessage());
        a = assertThrows(EalArgumentException.class, () -> EthDev.create("net_pcap0,tx_pcap=" + dir.resolve("x.pcap") + ",infinite_rx=1"));
        assertEquals("--vdev net_pcap0: infinite_rx=1: needs an rx_pcap file to replay", a.getMessage());
        assertEquals(0, EthDev.all().size(), "no port was left half made");
        assertFalse(Files.exists(dir.resolve("x.pcap")), "no file was created by a refused probe");
    }

    @Test
    void rxFilterKeepsOnlyWhatTheExpressionAccepts() throws Exception {
        List<byte[]> pkts = new ArrayList<>();
        for (int i = 0; i < 40; i++) pkts.add(PcapFiles.frame(i, 60 + 10 * i)); // ether src 02:00:00:00:00:<i>, lengths 60..450
        Path in = PcapFiles.write(dir, "in.pcap", PcapFiles.classic(java.nio.ByteOrder.LITTLE_ENDIAN, false, 1, pkts, new long[pkts.size()]));
        EthDev p = ready("net_pcap0,rx_pcap=" + in + ",rx_filter=greater 200 and not ether src 02:00:00:00:00:20");
        List<Mbuf> got = drain(p, 0);
        List<Integer> lens = got.stream().map(Mbuf::pktLen).toList();
        List<Integer> want = new ArrayList<>();
        for (int i = 0; i < 40; i++) if (60 + 10 * i >= 200 && i != 0x20) want.add(60 + 10 * i);
        assertEquals(want, lens);
        assertEquals(40 - want.size(), p.stats().imissed, "the frames the filter rejects are counted in imissed");
        for (Mbuf m : got) m.free();
        RuntimeException e = assertThrows(EalArgumentException.class, () -> EthDev.create("net_pcap1,rx_pcap=" + in + ",rx_filter=hots 1.2.3.4"));
        assertTrue(e.getMessage().contains("unknown word 'hots' at column 1"), e.getMessage());
    }
}
