package org.jpdk.app.pktgen;

import org.jpdk.app.App;
import org.jpdk.app.AppMain;
import org.jpdk.app.AppOptions;
import org.HdrHistogram.Histogram;
import org.jpdk.eal.Eal;
import org.jpdk.eal.LcoreException;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.LinkStatus;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Udp;

import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A packet generator on jpdk, in the spirit of pktgen-dpdk and MoonGen:
 * {@code ./jpdk pktgen [EAL args] -- [--rate=R] [--size=S] [flows] [--vlan=ID] [--pcap=FILE] ...}.
 * Every sending port sends Ether[/802.1Q]/IPv4/UDP packets with correct checksums, at a set rate
 * or as fast as it can, cycling through the packet sizes and the flows (an odometer over the
 * source port, destination port, source address and destination address ranges, in that order);
 * or it replays the frames of a pcap file. Every port in use receives. Each test packet carries a
 * 16-byte signature at the start of its UDP payload:
 * <pre>
 *   offset  size  field
 *   0       2     magic 0x4A50 ("JP")
 *   2       2     sending port
 *   4       4     sequence number, per sending port
 *   8       8     send time, System.nanoTime() of the burst
 * </pre>
 * so the receive side counts test packets (loss = sent - received), sequence numbers that go
 * backwards (out of order), and the latency of each, into an HdrHistogram per receiving port.
 *
 * <p>Rate control is a token bucket per sending port, refilled from {@code System.nanoTime()}
 * before each burst: it never sends more than the rate allows since the start, sends a partial
 * burst when that is all the rate allows, and keeps at most {@link #BUCKET_NS} (10 ms) of unused
 * rate (at least one burst), so an lcore that the kernel preempted catches up, a burst per pass. Building a packet
 * is one copy of a prepared image (headers and zero payload) and a few field writes; both
 * checksums are computed from the field values, not by reading the packet back. The send and
 * receive loops allocate nothing.
 *
 * <p>Lcores: the worker lcores run the ports; with at least two workers per port, each port gets
 * one lcore to send and one to receive, else each worker sends and receives on its ports. The
 * main lcore prints a line every {@code --stats-period} seconds and the summary at the end. A run
 * ends at {@code --run-seconds}, when every sending port has sent {@code --count} packets, or on
 * SIGINT/SIGTERM; sending stops first and receiving goes on until nothing more arrives (at most
 * {@link #DRAIN_MAX_NS}), so packets in flight are not counted as lost.
 */
public final class Pktgen {
    static final int MAGIC = 0x4A50;
    static final int SIG_LEN = 16;
    static final int HDRS_LEN = Ether.HDR_LEN + Ipv4.HDR_LEN + Udp.HDR_LEN;
    /** The shortest generated frame: headers and the signature (58 bytes; 62 with a VLAN tag). */
    static final int MIN_SIZE = HDRS_LEN + SIG_LEN;
    /** The longest generated frame: the data room of the pool's mbufs. */
    static final int MAX_SIZE = Mbuf.DEFAULT_DATAROOM;
    /** Bytes each frame costs on the wire beyond its bytes in the mbuf: FCS 4, preamble 8, gap 12. */
    static final int WIRE_OVERHEAD = 24;
    static final int MAX_BURST = 512;
    static final long LATENCY_MAX_NS = 10_000_000_000L;
    /** How much unused rate the bucket keeps (at least one burst): a preempted lcore catches up on this much. */
    static final long BUCKET_NS = 10_000_000L;
    static final long DRAIN_MAX_NS = 2_000_000_000L, DRAIN_QUIET_NS = 50_000_000L;
    static final int MAX_PCAP_RECORDS = 1 << 20;
    static final long MAX_PCAP_BYTES = 256L << 20;
    static final int TTL = 64;

    static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    // ------------------------------------------------------------------ options

    // ------------------------------------------------------------------ the app

    private final Eal eal;
    private final PktgenOptions opt;
    private final PrintStream out;
    private final List<EthDev> ports = new ArrayList<>();
    private final List<Worker> workers = new ArrayList<>();
    private final List<TxStream> txs = new ArrayList<>();
    private final List<RxStream> rxs = new ArrayList<>();
    private final Histogram total = new Histogram(1, LATENCY_MAX_NS, 3), interval = new Histogram(1, LATENCY_MAX_NS, 3),
            scratch = new Histogram(1, LATENCY_MAX_NS, 3);
    private Mempool<Mbuf> pool;

    private Pktgen(Eal eal, PktgenOptions opt, PrintStream out) {
        this.eal = eal;
        this.opt = opt;
        this.out = out;
    }

    /** The {@code ./jpdk pktgen} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "pktgen";
        }

        @Override
        public String summary() {
            return "a packet generator: rates, sizes, flows, pcap replay, loss and latency";
        }

        @Override
        public void main(String[] args) {
            Pktgen.main(args);
        }
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /** Runs pktgen; returns the exit code. A user mistake is one line on {@code err} and 1. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return AppMain.run("pktgen", args, out, err, PktgenOptions::parse, o -> o.help, PktgenOptions::usage,
                (eal, opt) -> new Pktgen(eal, opt, out).runApp());
    }

    private int runApp() {
        selectPorts();
        int[] ids = eal.workerLcores();
        if (ids.length == 0) throw new IllegalArgumentException("no worker lcore: give at least two lcores, e.g. -l 0-1");
        Template pcap = opt.pcap == null ? null : Template.load(opt.pcap);
        long n = Math.max(16383, ports.size() * 4096L + (long) eal.lcoreCount() * (256 * 3 / 2 + MAX_BURST));
        pool = Mbuf.createPool("pktgen_pool", (int) n, 256, Mbuf.DEFAULT_BUF_SIZE, eal.socketId());
        try {
            for (EthDev p : ports) {
                p.configure(1, 1, PortConf.defaults());
                p.rxQueueSetup(0, 0, pool);
                p.txQueueSetup(0, 0);
                p.start();
            }
            buildWorkers(ids, pcap);
            generate();
            for (EthDev p : ports) {
                p.stop();
                p.close();
            }
            return 0;
        } finally {
            for (EthDev p : ports) if (p.state() != EthDev.State.CLOSED) p.close();
            pool.close();
        }
    }

    private void selectPorts() {
        if (EthDev.count() == 0) {
            throw new IllegalArgumentException("no ports: add one with --vdev, e.g. --vdev net_ring0 (a loopback port)");
        }
        for (long mask : new long[]{opt.portmask, opt.txPortmask}) {
            long unknown = mask;
            for (EthDev p : EthDev.all()) unknown &= ~(1L << p.id());
            if (unknown != 0) {
                throw new IllegalArgumentException((mask == opt.portmask ? "--portmask" : "--tx-portmask") + "=0x" + Long.toHexString(mask)
                        + ": port " + Long.numberOfTrailingZeros(unknown) + " does not exist; ports are "
                        + String.join(",", EthDev.all().stream().map(p -> Integer.toString(p.id())).toList()));
            }
        }
        for (EthDev p : EthDev.all()) if (opt.portmask == 0 || (opt.portmask & (1L << p.id())) != 0) ports.add(p);
        if (opt.txPortmask != 0) {
            for (EthDev p : EthDev.all()) {
                if ((opt.txPortmask & (1L << p.id())) != 0 && !ports.contains(p)) {
                    throw new IllegalArgumentException("--tx-portmask=0x" + Long.toHexString(opt.txPortmask) + ": port " + p.id()
                            + " is not in --portmask");
                }
            }
        }
    }

    private boolean sends(EthDev p) {
        return opt.txPortmask == 0 || (opt.txPortmask & (1L << p.id())) != 0;
    }

    /** With two workers per port, one sends and one receives; else each worker does both for its ports. */
    private void buildWorkers(int[] ids, Template pcap) {
        boolean split = ids.length >= 2 * ports.size();
        List<List<TxStream>> tx = new ArrayList<>();
        List<List<RxStream>> rx = new ArrayList<>();
        int nw = split ? 2 * ports.size() : Math.min(ids.length, ports.size());
        for (int w = 0; w < nw; w++) {
            tx.add(new ArrayList<>());
            rx.add(new ArrayList<>());
        }
        for (int i = 0; i < ports.size(); i++) {
            EthDev p = ports.get(i);
            RxStream r = new RxStream(p, opt.verify);
            rxs.add(r);
            rx.get(split ? 2 * i + 1 : i % nw).add(r);
            if (!sends(p)) continue;
            long pps = (long) Math.ceil(opt.ratePps);
            if (opt.ratePercent > 0) {
                double avg = pcap != null ? pcap.avgLen() : Arrays.stream(opt.sizes).average().orElse(64);
                pps = Math.max(1, (long) (lineRate(p, avg) * opt.ratePercent / 100));
            }
            TxStream t = new TxStream(p, pool, opt, pps, pcap);
            txs.add(t);
            tx.get(split ? 2 * i : i % nw).add(t);
            out.printf(Locale.ROOT, "pktgen: port %d sends %s at %s%n", p.id(), pcap != null ? "the " + pcap.len().length
                    + " frames of " + opt.pcap + " (" + pcap.stampable() + " IPv4/UDP ones carry the signature)" : describeFlows(),
                    pps == 0 ? "full speed" : String.format(Locale.ROOT, "%d pps", pps));
        }
        for (int w = 0; w < nw; w++) {
            Worker wk = new Worker(ids[w], tx.get(w), rx.get(w));
            workers.add(wk);
            StringBuilder sb = new StringBuilder("pktgen: lcore " + ids[w] + ":");
            for (TxStream t : wk.tx) sb.append(" tx port ").append(t.portId);
            for (RxStream r : wk.rx) sb.append(" rx port ").append(r.port.id());
            out.println(sb);
        }
    }

    private String describeFlows() {
        long flows = opt.srcIp.count() * opt.dstIp.count() * opt.srcPort.count() * opt.dstPort.count();
        return String.format(Locale.ROOT, "UDP %s:%s -> %s:%s (%d flows), sizes %s%s", ip(opt.srcIp), port(opt.srcPort),
                ip(opt.dstIp), port(opt.dstPort), flows, opt.sizes.length == 1 ? Integer.toString(opt.sizes[0])
                        : opt.sizes[1] == opt.sizes[0] + 1 && opt.sizes.length > 2 ? opt.sizes[0] + "-" + opt.sizes[opt.sizes.length - 1]
                        : String.join(",", Arrays.stream(opt.sizes).mapToObj(Integer::toString).toList()),
                opt.vlan >= 0 ? ", VLAN " + opt.vlan : "");
    }

    private static String ip(PktgenOptions.Range r) {
        return r.count() == 1 ? dotted(r.lo()) : dotted(r.lo()) + "-" + dotted(r.hi());
    }

    private static String dotted(long a) {
        return (a >>> 24 & 0xff) + "." + (a >>> 16 & 0xff) + "." + (a >>> 8 & 0xff) + "." + (a & 0xff);
    }

    private static String port(PktgenOptions.Range r) {
        return r.count() == 1 ? Long.toString(r.lo()) : r.lo() + "-" + r.hi();
    }

    /** Packets per second at the port's link speed for frames of {@code avgLen} bytes (plus FCS, preamble and gap). */
    static double lineRate(EthDev p, double avgLen) {
        LinkStatus link = p.link();
        if (link.speedMbps() == LinkStatus.SPEED_UNKNOWN) {
            throw new IllegalArgumentException("--rate=%: port " + p.id() + " reports no link speed; give the rate in packets per second");
        }
        return link.speedMbps() * 1e6 / ((avgLen + WIRE_OVERHEAD) * 8);
    }

    // ------------------------------------------------------------------ the run

    private void generate() {
        out.flush();
        long start = System.nanoTime();
        for (Worker w : workers) eal.remoteLaunch(l -> w.run(), w.lcoreId);
        long period = (long) (opt.statsPeriod * 1e9), runFor = (long) (opt.runSeconds * 1e9);
        long nextStats = start + period, lastStats = start;
        long[] prev = new long[2];
        String why = null;
        while (why == null) {
            long now = System.nanoTime();
            if (eal.stopRequested()) why = "\nSignal received, preparing to exit...";
            else if (runFor > 0 && now - start >= runFor) why = "";
            else if (opt.count > 0 && txs.stream().allMatch(TxStream::done)) why = "";
            if (period > 0 && now - nextStats >= 0) {
                statsLine(now - start, now - lastStats, prev);
                lastStats = now;
                while (now - nextStats >= 0) nextStats += period;
            }
            if (why == null) AppOptions.sleepNanos(Math.min(5_000_000, period > 0 ? nextStats - now : 5_000_000));
        }
        if (!why.isEmpty()) out.println(why);
        for (Worker w : workers) w.txStop = true;
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (!txs.stream().allMatch(TxStream::done) && System.nanoTime() < deadline) AppOptions.sleepNanos(1_000_000);
        drain();
        for (Worker w : workers) w.stop = true;
        LcoreException failed = null;
        for (Worker w : workers) {
            try {
                eal.waitLcore(w.lcoreId);
            } catch (LcoreException e) {
                if (failed == null) failed = e;
            }
        }
        if (failed != null) throw failed;
        collectLatency();
        summary();
    }

    /** Receives until every test packet sent has arrived, or nothing arrived for a while, or the time is up. */
    private void drain() {
        long start = System.nanoTime(), quietSince = start, last = -1;
        long sentTest = sum(txs, TxStream.TEST);
        while (true) {
            long got = sum(rxs, RxStream.TEST) + sum(rxs, RxStream.OTHER), now = System.nanoTime();
            if (sum(rxs, RxStream.TEST) >= sentTest || now - start > DRAIN_MAX_NS) return;
            if (got != last) {
                last = got;
                quietSince = now;
            } else if (now - quietSince > DRAIN_QUIET_NS) {
                return;
            }
            AppOptions.sleepNanos(1_000_000);
        }
    }

    private static long sum(List<? extends Counters> l, int k) {
        long s = 0;
        for (Counters c : l) s += c.get(k);
        return s;
    }

    private void collectLatency() {
        interval.reset();
        for (RxStream r : rxs) {
            r.latency.getIntervalHistogramInto(scratch);
            interval.add(scratch);
            total.add(scratch);
        }
    }

    /** One line: rates since the last line, totals, and the latency of the packets received since then. */
    private void statsLine(long sinceStart, long sinceLast, long[] prev) {
        collectLatency();
        long tx = sum(txs, TxStream.PACKETS), rx = sum(rxs, RxStream.TEST);
        double dt = sinceLast / 1e9;
        out.printf(Locale.ROOT, "[%7.1f s] tx %9.3f Mpps  rx %9.3f Mpps  tx-total %d  rx-total %d  lat(us) %s%n", sinceStart / 1e9,
                dt > 0 ? (tx - prev[0]) / dt / 1e6 : 0.0, dt > 0 ? (rx - prev[1]) / dt / 1e6 : 0.0, tx, rx,
                interval.getTotalCount() == 0 ? "-" : String.format(Locale.ROOT, "p50 %.2f p99 %.2f max %.2f",
                        us(interval.getValueAtPercentile(50)), us(interval.getValueAtPercentile(99)), us(interval.getMaxValue())));
        out.flush();
        prev[0] = tx;
        prev[1] = rx;
    }

    private static double us(long ns) {
        return ns / 1e3;
    }

    /** The summary; its layout is documented in the README (pktgen section). */
    private void summary() {
        StringBuilder sb = new StringBuilder("\n---------------------------- pktgen summary ----------------------------\n");
        for (EthDev p : ports) {
            long txp = 0, txb = 0, txd = 0, rxp = 0, rxb = 0, rxo = 0;
            for (TxStream t : txs) {
                if (t.port != p) continue;
                txp += t.get(TxStream.PACKETS);
                txb += t.get(TxStream.BYTES);
                txd += t.get(TxStream.DROPPED);
            }
            for (RxStream r : rxs) {
                if (r.port != p) continue;
                rxp += r.get(RxStream.PACKETS);
                rxb += r.get(RxStream.BYTES);
                rxo += r.get(RxStream.OTHER);
            }
            sb.append(String.format("Port %-2d  TX-packets: %d  TX-bytes: %d  TX-dropped: %d  RX-packets: %d  RX-bytes: %d  RX-other: %d%n",
                    p.id(), txp, txb, txd, rxp, rxb, rxo));
        }
        long sent = sum(txs, TxStream.PACKETS), bytes = sum(txs, TxStream.BYTES), sentTest = sum(txs, TxStream.TEST);
        long txStart = Long.MAX_VALUE, txEnd = Long.MIN_VALUE;
        for (TxStream t : txs) {
            if (t.get(TxStream.START) == 0) continue;
            txStart = Math.min(txStart, t.get(TxStream.START));
            txEnd = Math.max(txEnd, t.get(TxStream.END));
        }
        double txSecs = txEnd > txStart ? (txEnd - txStart) / 1e9 : 0;
        sb.append(String.format(Locale.ROOT, "Sent:      %d packets, %d bytes in %.6f s: %.3f Mpps, %.3f Gbit/s%n", sent, bytes, txSecs,
                txSecs > 0 ? sent / txSecs / 1e6 : 0.0, txSecs > 0 ? bytes * 8 / txSecs / 1e9 : 0.0));
        for (TxStream t : txs) {
            if (t.ratePps == 0) continue;
            double secs = (t.get(TxStream.END) - t.get(TxStream.START)) / 1e9;
            long tried = t.get(TxStream.PACKETS) + t.get(TxStream.DROPPED);
            sb.append(String.format(Locale.ROOT, "Rate:      port %d: target %d pps, sent %.0f pps over %.6f s; missed %d packets (lcore not running)%n",
                    t.portId, t.ratePps, secs > 0 ? tried / secs : 0.0, secs, t.get(TxStream.MISSED)));
        }
        long got = sum(rxs, RxStream.TEST), rxStart = Long.MAX_VALUE, rxEnd = Long.MIN_VALUE;
        for (RxStream r : rxs) {
            if (r.get(RxStream.FIRST) == 0) continue;
            rxStart = Math.min(rxStart, r.get(RxStream.FIRST));
            rxEnd = Math.max(rxEnd, r.get(RxStream.LAST));
        }
        double rxSecs = rxEnd > rxStart ? (rxEnd - rxStart) / 1e9 : 0;
        sb.append(String.format(Locale.ROOT, "Received:  %d test packets in %.6f s: %.3f Mpps; other %d, bad checksum %d, out of order %d%n",
                got, rxSecs, rxSecs > 0 ? got / rxSecs / 1e6 : 0.0, sum(rxs, RxStream.OTHER), sum(rxs, RxStream.BAD_CKSUM),
                sum(rxs, RxStream.OUT_OF_ORDER)));
        long lost = sentTest - got;
        sb.append(String.format(Locale.ROOT, "Lost:      %d of %d test packets (%.3f %%)%n", lost, sentTest,
                sentTest > 0 ? 100.0 * lost / sentTest : 0.0));
        if (total.getTotalCount() == 0) {
            sb.append("Latency:   no test packet received\n");
        } else {
            sb.append(String.format(Locale.ROOT, "Latency:   min %.2f us  p50 %.2f us  p99 %.2f us  p99.9 %.2f us  max %.2f us  (%d samples)%n",
                    us(total.getMinValue()), us(total.getValueAtPercentile(50)), us(total.getValueAtPercentile(99)),
                    us(total.getValueAtPercentile(99.9)), us(total.getMaxValue()), total.getTotalCount()));
        }
        out.print(sb);
        out.flush();
    }
}
