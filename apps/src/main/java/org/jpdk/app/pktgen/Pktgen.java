package org.jpdk.app.pktgen;

import org.jpdk.app.AppMain;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;
import org.jpdk.drivers.net.pcap.PcapReader;
import org.jpdk.eal.Eal;
import org.jpdk.eal.LcoreException;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.LinkStatus;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Checksum;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Udp;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Path;
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

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    // ------------------------------------------------------------------ options

    /** An inclusive range of unsigned values, {@code lo} alone when {@code lo == hi}. */
    record Range(long lo, long hi) {
        long count() {
            return hi - lo + 1;
        }
    }

    /** The command line after {@code --}. */
    static final class Options {
        long portmask, txPortmask;         // 0: all
        double ratePps;                    // 0: full speed
        double ratePercent;                // 0: not given as a percentage
        int[] sizes = {64};
        Range srcIp = new Range(0xC612_0001L, 0xC612_0001L), dstIp = new Range(0xC612_0002L, 0xC612_0002L);
        Range srcPort = new Range(1234, 1234), dstPort = new Range(5678, 5678);
        MacAddr dstMac;                    // null: 02:00:00:00:00:<port>
        int vlan = -1;
        Path pcap;
        int burst = 32;
        long count;                        // per sending port, 0: no limit
        double statsPeriod = 1, runSeconds;
        boolean verify, help;
        boolean sizeGiven, flowGiven;

        static Options parse(List<String> args) {
            Options o = new Options();
            for (int i = 0; i < args.size(); i++) {
                String a = args.get(i), name = a, value = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                }
                switch (name) {
                    case "-h", "--help" -> o.help = true;
                    case "--verify" -> o.verify = true;
                    case "-p", "--portmask", "--tx-portmask", "--rate", "--size", "--src-ip", "--dst-ip", "--src-port",
                         "--dst-port", "--dst-mac", "--vlan", "--pcap", "--burst", "--count", "--stats-period", "--run-seconds" -> {
                        if (value == null) {
                            if (i + 1 >= args.size()) throw new IllegalArgumentException(name + ": needs a value");
                            value = args.get(++i);
                        }
                        o.set(name, value);
                    }
                    default -> throw new IllegalArgumentException(a.startsWith("-") ? "unknown option " + a + "; see --help"
                            : "unexpected argument '" + a + "'; see --help");
                }
            }
            int min = MIN_SIZE + (o.vlan >= 0 ? Ether.VLAN_HDR_LEN : 0);
            for (int s : o.sizes) {
                if (s < min) {
                    throw new IllegalArgumentException("--size=" + s + ": allowed " + min + ".." + MAX_SIZE + " (headers"
                            + (o.vlan >= 0 ? ", VLAN tag" : "") + " and the " + SIG_LEN + "-byte signature need " + min + ")");
                }
            }
            if (o.pcap != null && (o.sizeGiven || o.flowGiven || o.vlan >= 0)) {
                throw new IllegalArgumentException("--pcap=" + o.pcap + ": the file gives the packets; --size, --src-ip, --dst-ip, "
                        + "--src-port, --dst-port, --dst-mac and --vlan cannot be combined with it");
            }
            return o;
        }

        private void set(String name, String v) {
            String what = name + "=" + v;
            switch (name) {
                case "-p", "--portmask" -> portmask = mask(what, v);
                case "--tx-portmask" -> txPortmask = mask(what, v);
                case "--rate" -> rate(what, v);
                case "--size" -> {
                    sizes = sizes(what, v);
                    sizeGiven = true;
                }
                case "--src-ip" -> srcIp = range(what, v, true, 0);
                case "--dst-ip" -> dstIp = range(what, v, true, 0);
                case "--src-port" -> srcPort = range(what, v, false, 0xffff);
                case "--dst-port" -> dstPort = range(what, v, false, 0xffff);
                case "--dst-mac" -> {
                    try {
                        dstMac = MacAddr.parse(v);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(what + ": expected a MAC address like 02:00:00:00:00:01");
                    }
                }
                case "--vlan" -> vlan = (int) number(what, v, 0, 4095);
                case "--pcap" -> pcap = Path.of(v);
                case "--burst" -> burst = (int) number(what, v, 1, MAX_BURST);
                case "--count" -> count = number(what, v, 1, Long.MAX_VALUE);
                case "--stats-period" -> statsPeriod = seconds(what, v, true);
                default -> runSeconds = seconds(what, v, false);
            }
            if (name.startsWith("--src-") || name.startsWith("--dst-")) flowGiven = true;
        }

        private static long mask(String what, String v) {
            String hex = v.startsWith("0x") || v.startsWith("0X") ? v.substring(2) : v;
            long m;
            try {
                m = Long.parseUnsignedLong(hex, 16);
            } catch (NumberFormatException e) {
                m = 0;
            }
            if (m == 0 || (m >>> EthDev.MAX_PORTS) != 0) {
                throw new IllegalArgumentException(what + ": allowed a non-zero hexadecimal mask of ports 0.." + (EthDev.MAX_PORTS - 1) + ", e.g. 0x3");
            }
            return m;
        }

        /** {@code 1000000}, {@code 250k}, {@code 1.5M} packets per second, or {@code 50%} of line rate. */
        private void rate(String what, String v) {
            String allowed = "allowed packets per second (1000, 250k, 1.5M, at most 1000M) or a percentage of line rate (0.01%..100%)";
            boolean pct = v.endsWith("%");
            String num = pct ? v.substring(0, v.length() - 1) : v;
            double mult = 1;
            if (!pct && (num.endsWith("k") || num.endsWith("K"))) mult = 1e3;
            if (!pct && (num.endsWith("m") || num.endsWith("M"))) mult = 1e6;
            if (mult != 1) num = num.substring(0, num.length() - 1);
            double d;
            try {
                d = Double.parseDouble(num) * mult;
            } catch (NumberFormatException e) {
                d = Double.NaN;
            }
            if (pct ? !(d >= 0.01 && d <= 100) : !(d >= 1 && d <= 1e9)) throw new IllegalArgumentException(what + ": " + allowed);
            if (pct) {
                ratePercent = d;
            } else {
                ratePps = d;
            }
        }

        private static int[] sizes(String what, String v) {
            String allowed = "expected a size (64), a range (64-1518) or a list (64,512,1518) of frame bytes without FCS";
            try {
                int dash = v.indexOf('-');
                if (dash > 0) {
                    int lo = Integer.parseInt(v.substring(0, dash)), hi = Integer.parseInt(v.substring(dash + 1));
                    if (lo > hi || hi > MAX_SIZE) throw new IllegalArgumentException(what + ": a range low-high within .." + MAX_SIZE);
                    int[] s = new int[hi - lo + 1];
                    for (int i = 0; i < s.length; i++) s[i] = lo + i;
                    return s;
                }
                String[] p = v.split(",", -1);
                int[] s = new int[p.length];
                for (int i = 0; i < p.length; i++) {
                    s[i] = Integer.parseInt(p[i].trim());
                    if (s[i] > MAX_SIZE) throw new IllegalArgumentException(what + ": allowed at most " + MAX_SIZE + " (the mbuf data room)");
                }
                return s;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + ": " + allowed);
            }
        }

        /** {@code A} or {@code A-B}: IPv4 addresses (dotted quads) or port numbers. */
        private static Range range(String what, String v, boolean ip, long max) {
            int dash = v.indexOf('-');
            long lo = ip ? ipv4(what, dash < 0 ? v : v.substring(0, dash)) : number(what, dash < 0 ? v : v.substring(0, dash), 0, max);
            long hi = dash < 0 ? lo : ip ? ipv4(what, v.substring(dash + 1)) : number(what, v.substring(dash + 1), 0, max);
            if (hi < lo) throw new IllegalArgumentException(what + ": the range ends below its start");
            return new Range(lo, hi);
        }

        private static long ipv4(String what, String v) {
            String[] p = v.split("\\.", -1);
            long a = 0;
            try {
                if (p.length != 4) throw new NumberFormatException();
                for (String s : p) {
                    int b = Integer.parseInt(s);
                    if (b < 0 || b > 255 || s.isEmpty() || s.startsWith("+")) throw new NumberFormatException();
                    a = a << 8 | b;
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + ": expected an IPv4 address like 198.18.0.1, or a range like 198.18.0.1-198.18.0.254");
            }
            return a;
        }

        private static long number(String what, String v, long min, long max) {
            long n;
            try {
                n = Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + ": not a number; allowed " + min + ".." + (max == Long.MAX_VALUE ? "" : max));
            }
            if (n < min || n > max) throw new IllegalArgumentException(what + ": allowed " + min + ".." + (max == Long.MAX_VALUE ? "" : max));
            return n;
        }

        private static double seconds(String what, String v, boolean zeroOk) {
            double d;
            try {
                d = Double.parseDouble(v);
            } catch (NumberFormatException e) {
                d = Double.NaN;
            }
            if (!(d >= 0 && d <= 86_400 * 365) || (!zeroOk && d == 0)) {
                throw new IllegalArgumentException(what + ": allowed a number of seconds " + (zeroOk ? ">= 0 (0: off)" : "> 0"));
            }
            return d;
        }

        static String usage() {
            return """
                    usage: jpdk pktgen [EAL options] -- [options]
                      -p, --portmask=0xM        ports in use (default all); each receives
                      --tx-portmask=0xM         ports that send (default all ports in use)
                      --rate=R                  per sending port: packets/s (1000, 250k, 1.5M) or %% of line rate (50%%);
                                                default: as fast as possible
                      --size=S                  frame bytes without FCS: 64, a range 64-1518 or a list 64,512,1518,
                                                cycled (default 64; at least %d, %d with --vlan)
                      --src-ip=A[-B], --dst-ip=A[-B]       IPv4 ranges (default 198.18.0.1 -> 198.18.0.2)
                      --src-port=A[-B], --dst-port=A[-B]   UDP port ranges (default 1234 -> 5678)
                      --dst-mac=XX:XX:XX:XX:XX:XX          destination MAC (default 02:00:00:00:00:<port>)
                      --vlan=ID                 add an 802.1Q tag with this VLAN id (0..4095)
                      --pcap=FILE               replay the frames of FILE instead (IPv4/UDP ones get the signature)
                      --burst=N                 packets per burst, 1..%d (default 32)
                      --count=N                 stop after N packets per sending port
                      --verify                  check the IPv4 and UDP checksums of received test packets
                      --stats-period=S          a statistics line every S seconds (default 1, 0 off)
                      --run-seconds=S           stop after S seconds
                      -h, --help                this text
                    """.formatted(MIN_SIZE, MIN_SIZE + Ether.VLAN_HDR_LEN, MAX_BURST);
        }
    }

    // ------------------------------------------------------------------ counters

    /** Counters in a long array, each on its own 64-byte line, written only by the owning lcore. */
    static class Counters {
        final long[] c;

        Counters(int n) {
            c = new long[(n + 2) * 8];
        }

        final void add(int k, long n) {
            int i = (k + 1) * 8;
            LONGS.setOpaque(c, i, c[i] + n);
        }

        final void put(int k, long v) {
            LONGS.setOpaque(c, (k + 1) * 8, v);
        }

        final long get(int k) {
            return (long) LONGS.getOpaque(c, (k + 1) * 8);
        }
    }

    /** The frames of a pcap file, in one off-heap segment, and where each can carry the signature. */
    record Template(MemorySegment data, long[] off, int[] len, int[] l3Off, int[] sigOff, double avgLen, int stampable) {
    }

    /**
     * What one port sends: its prepared packet image, size cycle, flow odometer, sequence number
     * and token bucket. Run by one lcore; {@link #send} allocates nothing.
     */
    static final class TxStream extends Counters {
        static final int PACKETS = 0, BYTES = 1, TEST = 2, DROPPED = 3, NOMBUF = 4, START = 5, END = 6, DONE = 7, MISSED = 8;
        final EthDev port;
        final int portId;
        final Mempool<Mbuf> pool;
        final Mbuf[] pkts;
        final int[] lens;
        final boolean[] test;
        final int burst;
        final long ratePps;          // 0: no limit
        final long count;            // 0: no limit
        final MemorySegment image;   // generated mode: headers and zeros, MAX_SIZE bytes
        final int l2Len;
        final int[] sizes;
        final Template pcap;
        final long srcIpLo, dstIpLo;
        final int srcPortLo, dstPortLo;
        final long nSrcIp, nDstIp;
        final int nSrcPort, nDstPort;
        private long iSrcIp, iDstIp;
        private int iSrcPort, iDstPort, iSize, iRecord;
        private int seq;
        private final long creditCap;
        private long credit, lastRefill, sent, missedUnits;
        private boolean started, done;

        TxStream(EthDev port, Mempool<Mbuf> pool, Options o, long ratePps, Template pcap) {
            super(9);
            this.port = port;
            this.portId = port.id();
            this.pool = pool;
            this.burst = o.burst;
            this.pkts = new Mbuf[o.burst];
            this.lens = new int[o.burst];
            this.test = new boolean[o.burst];
            this.ratePps = ratePps;
            this.count = o.count;
            this.creditCap = Math.max(o.burst, ratePps * BUCKET_NS / 1_000_000_000L) * 1_000_000_000L;
            this.pcap = pcap;
            this.sizes = o.sizes.clone();
            srcIpLo = o.srcIp.lo();
            dstIpLo = o.dstIp.lo();
            srcPortLo = (int) o.srcPort.lo();
            dstPortLo = (int) o.dstPort.lo();
            nSrcIp = o.srcIp.count();
            nDstIp = o.dstIp.count();
            nSrcPort = (int) o.srcPort.count();
            nDstPort = (int) o.dstPort.count();
            l2Len = Ether.HDR_LEN + (o.vlan >= 0 ? Ether.VLAN_HDR_LEN : 0);
            image = Arena.ofAuto().allocate(MAX_SIZE, 64);
            long dst = o.dstMac != null ? o.dstMac.value() : 0x02_00_00_00_00_00L | portId, src = port.macAddr().value();
            image.set(BE_INT, 0, (int) (dst >>> 16));
            image.set(BE_SHORT, 4, (short) dst);
            image.set(BE_SHORT, 6, (short) (src >>> 32));
            image.set(BE_INT, 8, (int) src);
            if (o.vlan >= 0) {
                image.set(BE_SHORT, Ether.TYPE_OFF, (short) Ether.TYPE_VLAN);
                image.set(BE_SHORT, Ether.TYPE_OFF + 2, (short) o.vlan);
            }
            image.set(BE_SHORT, l2Len - 2, (short) Ether.TYPE_IPV4);
        }

        /**
         * One burst: as many packets as the bucket, the count and the pool allow, built and sent;
         * what the port refuses is freed and counted as dropped. Allocates nothing.
         */
        void send(long now) {
            if (done) return;
            if (!started) {
                started = true;
                lastRefill = now;
                put(START, now);
            }
            int n = burst;
            if (ratePps > 0) {
                refill(now);
                n = (int) Math.min(n, credit / 1_000_000_000L);
                credit -= n * 1_000_000_000L;
            }
            if (count > 0) n = (int) Math.min(n, count - sent);
            if (n == 0) {
                if (count > 0 && sent == count) finish(now);
                return;
            }
            if (!Mbuf.allocBulk(pool, pkts, 0, n)) {
                add(NOMBUF, 1);
                return;
            }
            long stamp = System.nanoTime();
            int tests = 0;
            for (int i = 0; i < n; i++) {
                if (pcap != null) {
                    test[i] = buildFromPcap(pkts[i], stamp);
                } else {
                    build(pkts[i], stamp);
                    test[i] = true;
                }
                lens[i] = pkts[i].pktLen();
            }
            int ok = port.txBurst(0, pkts, 0, n);
            long bytes = 0;
            for (int i = 0; i < ok; i++) {
                bytes += lens[i];
                if (test[i]) tests++;
            }
            if (ok < n) {
                Mbuf.freeBulk(pkts, ok, n - ok);
                add(DROPPED, n - ok);
            }
            sent += n;
            add(PACKETS, ok);
            add(BYTES, bytes);
            add(TEST, tests);
            if (count > 0 && sent == count) finish(now);
        }

        /**
         * Adds the rate earned since the last refill; what overflows the bucket (the lcore did not
         * run for longer than {@link #BUCKET_NS}) is counted in MISSED, in whole packets, so that
         * sent + dropped + missed is the rate times the sending time.
         */
        private void refill(long now) {
            long dt = now - lastRefill;
            lastRefill = now;
            long earned = Math.min(dt, 1_000_000_000L) * ratePps, lost = (dt - Math.min(dt, 1_000_000_000L)) * ratePps;
            credit += earned;
            if (credit > creditCap) {
                lost += credit - creditCap;
                credit = creditCap;
            }
            if (lost > 0) {
                missedUnits += lost;
                put(MISSED, missedUnits / 1_000_000_000L);
            }
        }

        void finish(long now) {
            if (done) return;
            if (started && ratePps > 0) { // the rate unused at the end is missed too
                refill(now);
                missedUnits += credit;
                credit = 0;
                put(MISSED, (missedUnits + 500_000_000L) / 1_000_000_000L);
            }
            done = true;
            put(END, started ? now : 0);
            put(DONE, 1);
        }

        /** True once this stream has stopped sending (read by the main lcore). */
        boolean done() {
            return get(DONE) != 0;
        }

        /** A generated packet: the image, then lengths, addresses, ports, signature and both checksums. */
        private void build(Mbuf m, long stamp) {
            int size = sizes[iSize];
            if (++iSize == sizes.length) iSize = 0;
            int src = (int) (srcIpLo + iSrcIp), dst = (int) (dstIpLo + iDstIp);
            int sport = srcPortLo + iSrcPort, dport = dstPortLo + iDstPort;
            nextFlow();
            int s = seq++;
            m.appendOffset(size);
            MemorySegment.copy(image, 0, m.buffer(), m.dataOff(), size);
            int ip = l2Len, ipLen = size - l2Len, udp = ip + Ipv4.HDR_LEN, udpLen = ipLen - Ipv4.HDR_LEN;
            long ipSum = 0x4500L + ipLen + (TTL << 8 | Ipv4.PROTO_UDP) + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
            m.writeInt(ip, 0x4500_0000 | ipLen);
            m.writeInt(ip + 4, 0);
            m.writeInt(ip + 8, TTL << 24 | Ipv4.PROTO_UDP << 16 | (~Checksum.reduce(ipSum) & 0xffff));
            m.writeInt(ip + 12, src);
            m.writeInt(ip + 16, dst);
            long udpSum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + Ipv4.PROTO_UDP + 2L * udpLen
                    + sport + dport + MAGIC + portId + (s >>> 16) + (s & 0xffff)
                    + (stamp >>> 48) + (stamp >>> 32 & 0xffff) + (stamp >>> 16 & 0xffff) + (stamp & 0xffff);
            int ck = ~Checksum.reduce(udpSum) & 0xffff;
            m.writeInt(udp, sport << 16 | dport);
            m.writeInt(udp + 4, udpLen << 16 | (ck == 0 ? 0xffff : ck));
            m.writeInt(udp + 8, MAGIC << 16 | portId);
            m.writeInt(udp + 12, s);
            m.writeLong(udp + 16, stamp);
        }

        /** The flow odometer: source port, then destination port, source address, destination address. */
        private void nextFlow() {
            if (++iSrcPort < nSrcPort) return;
            iSrcPort = 0;
            if (++iDstPort < nDstPort) return;
            iDstPort = 0;
            if (++iSrcIp < nSrcIp) return;
            iSrcIp = 0;
            if (++iDstIp < nDstIp) return;
            iDstIp = 0;
        }

        /** The next pcap frame; an IPv4/UDP one gets the signature and a new UDP checksum. True if it did. */
        private boolean buildFromPcap(Mbuf m, long stamp) {
            Template t = pcap;
            int k = iRecord;
            if (++iRecord == t.len().length) iRecord = 0;
            int len = t.len()[k];
            m.appendOffset(len);
            MemorySegment.copy(t.data(), t.off()[k], m.buffer(), m.dataOff(), len);
            int sig = t.sigOff()[k];
            if (sig < 0) return false;
            m.writeInt(sig, MAGIC << 16 | portId);
            m.writeInt(sig + 4, seq++);
            m.writeLong(sig + 8, stamp);
            Ipv4.setUdptcpChecksum(m, t.l3Off()[k]);
            return true;
        }
    }

    /**
     * What one port receives: packet and byte counts, test packets by signature, sequence numbers
     * going backwards per sending port, and latency into a single-writer HdrHistogram recorder.
     * Run by one lcore; {@link #poll} allocates nothing.
     */
    static final class RxStream extends Counters {
        static final int PACKETS = 0, BYTES = 1, TEST = 2, OTHER = 3, BAD_CKSUM = 4, OUT_OF_ORDER = 5, FIRST = 6, LAST = 7;
        final EthDev port;
        final boolean verify;
        final Mbuf[] pkts = new Mbuf[MAX_BURST];
        final int[] nextSeq = new int[EthDev.MAX_PORTS];
        final boolean[] seen = new boolean[EthDev.MAX_PORTS];
        final SingleWriterRecorder latency = new SingleWriterRecorder(1, LATENCY_MAX_NS, 3);
        private boolean first = true;

        RxStream(EthDev port, boolean verify) {
            super(9);
            this.port = port;
            this.verify = verify;
        }

        int poll() {
            int n = port.rxBurst(0, pkts, 0, MAX_BURST);
            if (n == 0) return 0;
            long now = System.nanoTime();
            if (first) {
                first = false;
                put(FIRST, now);
            }
            put(LAST, now);
            long bytes = 0;
            int tests = 0, others = 0, bad = 0, late = 0;
            for (int i = 0; i < n; i++) {
                Mbuf m = pkts[i];
                bytes += m.pktLen();
                int sig = signature(m);
                if (sig < 0) {
                    others++;
                    continue;
                }
                tests++;
                if (verify && !(Ipv4.cksumVerify(m, sig >>> 16) && Ipv4.udptcpCksumVerify(m, sig >>> 16))) bad++;
                int at = sig & 0xffff;
                int from = m.readShort(at + 2) & (EthDev.MAX_PORTS - 1);
                int s = m.readInt(at + 4);
                if (seen[from] && s - nextSeq[from] < 0) {
                    late++;
                } else {
                    seen[from] = true;
                    nextSeq[from] = s + 1;
                }
                long lat = now - m.readLong(at + 8);
                latency.recordValue(Math.max(1, Math.min(LATENCY_MAX_NS, lat)));
            }
            Mbuf.freeBulk(pkts, 0, n);
            add(PACKETS, n);
            add(BYTES, bytes);
            if (tests > 0) add(TEST, tests);
            if (others > 0) add(OTHER, others);
            if (bad > 0) add(BAD_CKSUM, bad);
            if (late > 0) add(OUT_OF_ORDER, late);
            return n;
        }

        /**
         * {@code l3 << 16 | signature offset} of a test packet (IPv4/UDP whose payload starts with
         * the magic and holds the whole signature, within a valid total length), else -1.
         */
        static int signature(Mbuf m) {
            int l2 = Ether.l2Len(m);
            if (l2 < 0 || m.readShort(l2 - 2) != Ether.TYPE_IPV4) return -1;
            int hl = Ipv4.headerLen(m, l2);
            if (hl < 0 || Ipv4.proto(m, l2) != Ipv4.PROTO_UDP || Ipv4.l4Len(m, l2) < Udp.HDR_LEN + SIG_LEN) return -1;
            int sig = l2 + hl + Udp.HDR_LEN;
            if (sig + SIG_LEN > m.dataLen() || m.readShort(sig) != MAGIC) return -1;
            return l2 << 16 | sig;
        }
    }

    /** One worker lcore: the streams it sends and receives on. */
    static final class Worker {
        final int lcoreId;
        final TxStream[] tx;
        final RxStream[] rx;
        private volatile boolean txStop, stop;

        Worker(int lcoreId, List<TxStream> tx, List<RxStream> rx) {
            this.lcoreId = lcoreId;
            this.tx = tx.toArray(new TxStream[0]);
            this.rx = rx.toArray(new RxStream[0]);
        }

        int run() {
            boolean sending = tx.length > 0;
            while (!stop) {
                if (sending) {
                    long now = System.nanoTime();
                    if (txStop) {
                        for (TxStream t : tx) t.finish(now);
                        sending = false;
                    } else {
                        for (TxStream t : tx) t.send(now);
                    }
                }
                for (RxStream r : rx) r.poll();
            }
            if (sending) for (TxStream t : tx) t.finish(System.nanoTime());
            return 0;
        }
    }

    // ------------------------------------------------------------------ the app

    private final Eal eal;
    private final Options opt;
    private final PrintStream out;
    private final List<EthDev> ports = new ArrayList<>();
    private final List<Worker> workers = new ArrayList<>();
    private final List<TxStream> txs = new ArrayList<>();
    private final List<RxStream> rxs = new ArrayList<>();
    private final Histogram total = new Histogram(1, LATENCY_MAX_NS, 3), interval = new Histogram(1, LATENCY_MAX_NS, 3),
            scratch = new Histogram(1, LATENCY_MAX_NS, 3);
    private Mempool<Mbuf> pool;

    private Pktgen(Eal eal, Options opt, PrintStream out) {
        this.eal = eal;
        this.opt = opt;
        this.out = out;
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /** Runs pktgen; returns the exit code. A user mistake is one line on {@code err} and 1. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return AppMain.run("pktgen", args, out, err, Options::parse, o -> o.help, Options::usage,
                (eal, opt) -> new Pktgen(eal, opt, out).runApp());
    }

    private int runApp() {
        selectPorts();
        int[] ids = eal.workerLcores();
        if (ids.length == 0) throw new IllegalArgumentException("no worker lcore: give at least two lcores, e.g. -l 0-1");
        Template pcap = opt.pcap == null ? null : loadPcap(opt.pcap);
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

    private static String ip(Range r) {
        return r.count() == 1 ? dotted(r.lo()) : dotted(r.lo()) + "-" + dotted(r.hi());
    }

    private static String dotted(long a) {
        return (a >>> 24 & 0xff) + "." + (a >>> 16 & 0xff) + "." + (a >>> 8 & 0xff) + "." + (a & 0xff);
    }

    private static String port(Range r) {
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

    /** Reads every frame of {@code file} (two passes: sizes, then bytes) and finds where each can carry the signature. */
    static Template loadPcap(Path file) {
        try (PcapReader r = PcapReader.open(file)) {
            int count = 0;
            long bytes = 0;
            int st;
            while ((st = r.next()) == PcapReader.RECORD) {
                if (r.caplen() < Ether.HDR_LEN || r.caplen() > MAX_SIZE) {
                    throw new IllegalArgumentException("--pcap=" + file + ": record " + (count + 1) + " at byte " + r.recordOffset()
                            + " has " + r.caplen() + " bytes; allowed " + Ether.HDR_LEN + ".." + MAX_SIZE);
                }
                if (++count > MAX_PCAP_RECORDS || (bytes += r.caplen()) > MAX_PCAP_BYTES) {
                    throw new IllegalArgumentException("--pcap=" + file + ": more than " + MAX_PCAP_RECORDS + " records or "
                            + (MAX_PCAP_BYTES >> 20) + " MiB");
                }
            }
            if (st == PcapReader.ERROR) throw new IllegalArgumentException("--pcap=" + file + ": " + r.error());
            if (count == 0) throw new IllegalArgumentException("--pcap=" + file + ": no packets in the file");
            MemorySegment data = Arena.ofAuto().allocate(bytes, 64);
            long[] off = new long[count];
            int[] len = new int[count], l3 = new int[count], sig = new int[count];
            r.rewind();
            long at = 0;
            int stampable = 0;
            for (int i = 0; i < count; i++) {
                if (r.next() != PcapReader.RECORD) throw new IllegalArgumentException("--pcap=" + file + ": changed while being read");
                off[i] = at;
                len[i] = r.caplen();
                r.copy(0, data, at, len[i]);
                long s = signatureOffset(data, at, len[i]);
                l3[i] = (int) (s >>> 32);
                sig[i] = (int) s;
                if (sig[i] >= 0) stampable++;
                at += len[i];
            }
            return new Template(data, off, len, l3, sig, (double) bytes / count, stampable);
        }
    }

    /** {@code l3 << 32 | signature offset} for an unfragmented IPv4/UDP frame with room for the signature, else -1. */
    static long signatureOffset(MemorySegment f, long base, int len) {
        int l2 = Ether.HDR_LEN, type = Short.toUnsignedInt(f.get(BE_SHORT, base + Ether.TYPE_OFF));
        for (int tags = 0; tags < 2 && Ether.isVlan(type); tags++) {
            if (len < l2 + Ether.VLAN_HDR_LEN) return -1;
            type = Short.toUnsignedInt(f.get(BE_SHORT, base + l2 + 2));
            l2 += Ether.VLAN_HDR_LEN;
        }
        if (type != Ether.TYPE_IPV4 || len < l2 + Ipv4.HDR_LEN) return -1;
        int vhl = f.get(ValueLayout.JAVA_BYTE, base + l2) & 0xff, hl = (vhl & 0xf) * 4;
        int total = Short.toUnsignedInt(f.get(BE_SHORT, base + l2 + Ipv4.TOTAL_LENGTH_OFF));
        int frag = Short.toUnsignedInt(f.get(BE_SHORT, base + l2 + Ipv4.FRAGMENT_OFFSET_OFF)) & 0x3fff;
        int proto = f.get(ValueLayout.JAVA_BYTE, base + l2 + Ipv4.PROTO_OFF) & 0xff;
        if (vhl >>> 4 != 4 || hl < Ipv4.HDR_LEN || proto != Ipv4.PROTO_UDP || frag != 0) return -1;
        if (total < hl + Udp.HDR_LEN + SIG_LEN || l2 + total > len) return -1;
        int udpLen = Short.toUnsignedInt(f.get(BE_SHORT, base + l2 + hl + Udp.DGRAM_LEN_OFF));
        if (udpLen != total - hl) return -1;
        return (long) l2 << 32 | (l2 + hl + Udp.HDR_LEN);
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
            if (why == null) sleepNanos(Math.min(5_000_000, period > 0 ? nextStats - now : 5_000_000));
        }
        if (!why.isEmpty()) out.println(why);
        for (Worker w : workers) w.txStop = true;
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (!txs.stream().allMatch(TxStream::done) && System.nanoTime() < deadline) sleepNanos(1_000_000);
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
            sleepNanos(1_000_000);
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

    private static void sleepNanos(long ns) {
        if (ns <= 0) return;
        try {
            Thread.sleep(ns / 1_000_000, (int) (ns % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
