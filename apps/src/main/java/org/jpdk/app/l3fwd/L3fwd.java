package org.jpdk.app.l3fwd;

import org.jpdk.app.AppMain;
import org.jpdk.eal.Eal;
import org.jpdk.eal.LcoreException;
import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.PortConf;
import org.jpdk.hash.FlowKey;
import org.jpdk.hash.Hash;
import org.jpdk.lpm.Lpm;
import org.jpdk.lpm.Lpm6;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Ipv6;
import org.jpdk.net.PacketType;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * DPDK's examples/l3fwd on jpdk: {@code ./jpdk l3fwd [EAL args] -- -p PORTMASK [-P] [-E|-L|--lookup=em|lpm]
 * [--config (port,queue,lcore)[,...]] [--eth-dest=X,MM:MM:MM:MM:MM:MM] [--rule_ipv4=FILE] [--rule_ipv6=FILE]
 * [--parse-ptype] [--max-pkt-len N] [-b BURST] [-T PERIOD] [--run-seconds S]}.
 *
 * <p>Every IPv4 and IPv6 packet is routed by its destination: in LPM mode by longest prefix
 * ({@link Lpm}, {@link Lpm6}), in exact-match mode by its 5-tuple ({@link Hash} over
 * {@link FlowKey} keys). A packet no rule matches leaves by the port it came in on, as DPDK's
 * l3fwd does; so does one whose rule names a port not in the portmask. On the way out the
 * destination MAC becomes the out port's {@code --eth-dest} (default 02:00:00:00:00:&lt;port&gt;),
 * the source MAC the out port's address, and the TTL (hop limit) is decremented, the IPv4 header
 * checksum updated incrementally (RFC 1624). Dropped and counted (RFC 1812 5.2.2/5.3.1): packets
 * that are not IP, IPv4 headers that are malformed, announce a length beyond the packet or carry
 * a wrong checksum, IPv6 headers whose payload length exceeds the packet, packets whose TTL or
 * hop limit is 0 or 1, and packets longer than {@code --max-pkt-len}.
 *
 * <p>Each lcore of {@code --config} polls its (port, queue) pairs and has its own tx queue on
 * every enabled port (queue number = its rank among the lcores in use), so no tx queue is shared.
 * A burst is classified in one pass (software packet-type parsing, {@link PacketType#parse}),
 * then looked up in bulk ({@link Lpm#lookupX4}, {@link Lpm6#lookupBulk}, {@link Hash#lookupBulkData}),
 * then rewritten and buffered per out port in arrival order; a full buffer is sent at once and
 * every buffer is drained after ~100 µs, as l2fwd. The loop allocates nothing. Statistics as in
 * l2fwd: every {@code -T} seconds and at the end, with the forwarding rate.
 */
public final class L3fwd {
    static final int MAX_PKT_BURST = 32;
    static final int MAX_BURST = 256;
    static final long BURST_TX_DRAIN_NS = 100_000;
    static final int MAX_RX_QUEUE_PER_LCORE = 16;
    static final int MAX_RX_QUEUE_PER_PORT = 128;
    static final int MAX_LCORE_PARAMS = 1024;
    static final int RX_DESC_DEFAULT = 1024, TX_DESC_DEFAULT = 1024;
    static final int MEMPOOL_CACHE_SIZE = 256;
    static final int NB_MBUF_MIN = 8192;
    static final int MAX_TIMER_PERIOD = 86400;
    /** RTE_ETHER_MAX_LEN: the default --max-pkt-len. */
    static final int DEFAULT_MAX_PKT_LEN = 1518;
    static final int MIN_PKT_LEN = 64, MAX_JUMBO_PKT_LEN = 9600;
    /** Ethernet header and CRC: MTU = max-pkt-len - this. */
    static final int ETHER_OVERHEAD = 18;
    /** DPDK's default destination MAC, the out port's number in the last byte. */
    static final long DST_MAC_BASE = 0x02_00_00_00_00_00L;

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /** An rx queue of a port polled by an lcore (struct lcore_params). */
    record LcoreParams(int port, int queue, int lcore) {
    }

    /** The command line after {@code --}. */
    static final class Options {
        long portmask;
        boolean promiscuous;
        Boolean exactMatch;
        List<LcoreParams> config;
        final long[] ethDest = new long[EthDev.MAX_PORTS];
        final boolean[] ethDestSet = new boolean[EthDev.MAX_PORTS];
        Path ruleIpv4, ruleIpv6;
        boolean parsePtype, ipv6;
        int maxPktLen = DEFAULT_MAX_PKT_LEN;
        int burst = MAX_PKT_BURST;
        int rxDesc = RX_DESC_DEFAULT, txDesc = TX_DESC_DEFAULT;
        double timerPeriod = 10;
        double runSeconds;
        boolean help;

        private static final java.util.Set<String> WITH_VALUE = java.util.Set.of("-p", "-b", "-T", "--run-seconds", "--config",
                "--eth-dest", "--rule_ipv4", "--rule_ipv6", "--max-pkt-len", "--lookup", "--burst", "--rx-queue-size", "--tx-queue-size");

        static Options parse(List<String> args) {
            Options o = new Options();
            for (int i = 0; i < args.size(); i++) {
                String a = args.get(i), name = a, value = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                } else if (a.length() > 2 && a.charAt(0) == '-' && a.charAt(1) != '-') { // -p0x3, as getopt
                    name = a.substring(0, 2);
                    value = a.substring(2);
                }
                if (WITH_VALUE.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= args.size()) throw new IllegalArgumentException(name + ": needs a value");
                        value = args.get(++i);
                    }
                    o.set(name, value);
                    continue;
                }
                if (value != null) throw new IllegalArgumentException(name + " takes no value, found '" + value + "'");
                switch (name) {
                    case "-h", "--help" -> o.help = true;
                    case "-P" -> o.promiscuous = true;
                    case "-E" -> o.lookup(true, "-E");
                    case "-L" -> o.lookup(false, "-L");
                    case "--parse-ptype" -> o.parsePtype = true;
                    case "--ipv6" -> o.ipv6 = true;
                    case "--no-numa" -> { } // one memory domain: nothing to choose
                    default -> throw new IllegalArgumentException(a.startsWith("-") ? "unknown option " + a + "; see --help"
                            : "unexpected argument '" + a + "'; see --help");
                }
            }
            return o;
        }

        private void lookup(boolean em, String what) {
            if (exactMatch != null && exactMatch != em) {
                throw new IllegalArgumentException(what + ": only one lookup mode is allowed at a time (-E/--lookup=em or -L/--lookup=lpm)");
            }
            exactMatch = em;
        }

        private void set(String name, String v) {
            String what = name + (name.startsWith("--") ? "=" : " ") + v;
            switch (name) {
                case "-p" -> {
                    String hex = v.startsWith("0x") || v.startsWith("0X") ? v.substring(2) : v;
                    try {
                        portmask = Long.parseUnsignedLong(hex, 16);
                    } catch (NumberFormatException e) {
                        portmask = -1;
                    }
                    if (portmask == 0 || portmask == -1 || (portmask >>> EthDev.MAX_PORTS) != 0) {
                        throw new IllegalArgumentException(what + ": invalid portmask; allowed a non-zero hexadecimal mask of ports 0.."
                                + (EthDev.MAX_PORTS - 1) + ", e.g. 0x3");
                    }
                }
                case "--lookup" -> {
                    switch (v) {
                        case "em" -> lookup(true, what);
                        case "lpm" -> lookup(false, what);
                        default -> throw new IllegalArgumentException(what + ": unknown lookup method; allowed em, lpm");
                    }
                }
                case "--config" -> config = parseConfig(what, v);
                case "--eth-dest" -> {
                    int comma = v.indexOf(',');
                    int port = comma < 0 ? -1 : integer(v.substring(0, comma), -1);
                    if (port < 0 || port >= EthDev.MAX_PORTS) {
                        throw new IllegalArgumentException(what + ": want <port>,<MAC>, port 0.." + (EthDev.MAX_PORTS - 1)
                                + ", e.g. 0,02:00:00:00:00:10");
                    }
                    try {
                        ethDest[port] = MacAddr.parse(v.substring(comma + 1)).value();
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(what + ": " + e.getMessage());
                    }
                    ethDestSet[port] = true;
                }
                case "--rule_ipv4" -> ruleIpv4 = Path.of(v);
                case "--rule_ipv6" -> ruleIpv6 = Path.of(v);
                case "--max-pkt-len" -> maxPktLen = ranged(what, v, MIN_PKT_LEN, MAX_JUMBO_PKT_LEN, "packet length");
                case "-b", "--burst" -> burst = ranged(what, v, 1, MAX_BURST, "burst size");
                case "--rx-queue-size" -> rxDesc = ranged(what, v, 1, 65535, "descriptor count");
                case "--tx-queue-size" -> txDesc = ranged(what, v, 1, 65535, "descriptor count");
                case "-T" -> timerPeriod = seconds(what, v, 0, MAX_TIMER_PERIOD, "invalid timer period; allowed 0.." + MAX_TIMER_PERIOD + " seconds (0: off)");
                default -> runSeconds = seconds(what, v, Double.MIN_VALUE, 86_400 * 365, "allowed a number of seconds > 0");
            }
        }

        private static final Pattern TUPLE = Pattern.compile("\\(\\s*([^(),]*?)\\s*,\\s*([^(),]*?)\\s*,\\s*([^(),]*?)\\s*\\)");

        /** "(port,queue,lcore),(port,queue,lcore)...", spaces allowed. */
        static List<LcoreParams> parseConfig(String what, String v) {
            List<LcoreParams> l = new ArrayList<>();
            Matcher m = TUPLE.matcher(v);
            int at = 0;
            while (true) {
                while (at < v.length() && Character.isWhitespace(v.charAt(at))) at++;
                if (!m.find(at) || m.start() != at) {
                    throw new IllegalArgumentException(what + ": want (port,queue,lcore)[,(port,queue,lcore)...] of numbers"
                            + (at > 0 ? "; stuck at '" + v.substring(at) + "'" : ""));
                }
                int port = integer(m.group(1), -1), queue = integer(m.group(2), -1), lcore = integer(m.group(3), -1);
                String t = m.group();
                if (port < 0 || port >= EthDev.MAX_PORTS) throw new IllegalArgumentException(what + ": " + t + ": port must be 0.." + (EthDev.MAX_PORTS - 1));
                if (queue < 0 || queue >= MAX_RX_QUEUE_PER_PORT) throw new IllegalArgumentException(what + ": " + t + ": queue must be 0.." + (MAX_RX_QUEUE_PER_PORT - 1));
                if (lcore < 0 || lcore >= 1024) throw new IllegalArgumentException(what + ": " + t + ": lcore must be 0..1023");
                for (LcoreParams p : l) {
                    if (p.port == port && p.queue == queue) throw new IllegalArgumentException(what + ": " + t + ": port " + port + " queue " + queue + " given twice");
                }
                l.add(new LcoreParams(port, queue, lcore));
                if (l.size() > MAX_LCORE_PARAMS) throw new IllegalArgumentException(what + ": more than " + MAX_LCORE_PARAMS + " entries");
                at = m.end();
                while (at < v.length() && Character.isWhitespace(v.charAt(at))) at++;
                if (at == v.length()) return l;
                if (v.charAt(at) != ',') throw new IllegalArgumentException(what + ": expected ',' between tuples at '" + v.substring(at) + "'");
                at++;
            }
        }

        private static int integer(String s, int bad) {
            try {
                return Integer.parseInt(s.strip());
            } catch (NumberFormatException e) {
                return bad;
            }
        }

        private static int ranged(String what, String v, int min, int max, String noun) {
            int n = integer(v, Integer.MIN_VALUE);
            if (n < min || n > max) throw new IllegalArgumentException(what + ": invalid " + noun + "; allowed " + min + ".." + max);
            return n;
        }

        private static double seconds(String what, String v, double min, double max, String allowed) {
            double d;
            try {
                d = Double.parseDouble(v);
            } catch (NumberFormatException e) {
                d = Double.NaN;
            }
            if (!(d >= min && d <= max)) throw new IllegalArgumentException(what + ": " + allowed);
            return d;
        }

        static String usage() {
            return """
                    usage: jpdk l3fwd [EAL options] -- -p PORTMASK [-P] [-E|-L|--lookup=em|lpm] [--config (port,queue,lcore)[,...]]
                                      [--eth-dest=X,MM:MM:MM:MM:MM:MM] [--rule_ipv4=FILE] [--rule_ipv6=FILE] [--parse-ptype]
                                      [--ipv6] [--max-pkt-len N] [-b BURST] [-T PERIOD] [--run-seconds S]
                      -p PORTMASK            hexadecimal bitmask of ports to use
                      -P                     promiscuous mode on every enabled port
                      -L, --lookup=lpm       longest-prefix-match routing (default)
                      -E, --lookup=em        exact-match routing on the 5-tuple
                      --config LIST          rx queues to lcores, e.g. (0,0,0),(1,0,1); default: queue 0 of each
                                             enabled port, ports dealt to the EAL lcores in turn
                      --eth-dest=X,MAC       destination MAC for packets sent on port X (default 02:00:00:00:00:<X>)
                      --rule_ipv4=FILE       IPv4 routes (LPM: R<addr>/<depth> <port>;
                                             EM: R<dst> <src> <dst port> <src port> <proto> <port>); default DPDK's
                      --rule_ipv6=FILE       IPv6 routes, same formats
                      --parse-ptype          parse packet types in software (always done: no jpdk driver reports them)
                      --ipv6                 accepted for DPDK's scripts: IPv4 and IPv6 are always both routed
                      --max-pkt-len N        longest frame, %d..%d (default %d); longer ones are dropped
                      -b, --burst N          rx burst size, 1..%d (default %d)
                      --rx-queue-size N      rx descriptors per queue (default %d); --tx-queue-size N likewise
                      -T PERIOD              statistics every PERIOD seconds, 0..%d (default 10, 0 off)
                      --run-seconds S        stop after S seconds (else SIGINT/SIGTERM stops it)
                      -h, --help             this text
                    """.formatted(MIN_PKT_LEN, MAX_JUMBO_PKT_LEN, DEFAULT_MAX_PKT_LEN, MAX_BURST, MAX_PKT_BURST, RX_DESC_DEFAULT,
                    MAX_TIMER_PERIOD);
        }
    }

    /** The lookup structures, shared read-only by every lcore. */
    record Tables(Lpm lpm, Lpm6 lpm6, Hash em4, Hash em6) {
        boolean exactMatch() {
            return em4 != null || em6 != null;
        }
    }

    /**
     * One forwarding lcore (lcore_conf): its rx queues, its tx queue on every port, tx buffers per
     * out port and the scratch arrays of a burst. Counters live in one array, each on its own
     * 64-byte line, written by this lcore only.
     */
    static final class Lcore {
        /** Per rx queue. */
        static final int RX = 0, NOT_IP = 1, BAD_HDR = 2, TTL = 3, TOO_LONG = 4, RX_COUNTERS = 5;
        /** Per out port. */
        static final int TX = 0, TX_DROPPED = 1, TX_COUNTERS = 2;
        final int lcoreId;
        final EthDev[] rxPorts;
        final int[] rxQueues;
        final int txQueue;
        /** By port id: the port, or null if not enabled. */
        final EthDev[] txPorts;
        final long[] dstMac, srcMac;
        final Tables t;
        final int burst, maxPktLen;
        final Mbuf[] pkts;
        final int[] out;
        final int[] ip4, idx4, hop4, idx6, hop6;
        final byte[] ip6;
        final long[] data;
        final MemorySegment keys4, keys6;
        final Mbuf[][] txBuf;
        final int[] txLen;
        final long[] counters;
        private final int txBase;
        private long prevDrain;
        private volatile boolean quit;

        Lcore(int lcoreId, List<EthDev> rx, List<Integer> queues, int txQueue, EthDev[] txPorts, long[] dstMac, Tables t,
              int burst, int maxPktLen, Arena arena) {
            this.lcoreId = lcoreId;
            this.rxPorts = rx.toArray(new EthDev[0]);
            this.rxQueues = queues.stream().mapToInt(Integer::intValue).toArray();
            this.txQueue = txQueue;
            this.txPorts = txPorts;
            this.dstMac = dstMac;
            this.srcMac = new long[EthDev.MAX_PORTS];
            for (EthDev p : txPorts) if (p != null) srcMac[p.id()] = p.macAddr().value();
            this.t = t;
            this.burst = burst;
            this.maxPktLen = maxPktLen;
            pkts = new Mbuf[burst];
            out = new int[burst];
            ip4 = new int[burst + 3];
            idx4 = new int[burst];
            hop4 = new int[burst + 3];
            idx6 = new int[burst];
            hop6 = new int[burst];
            ip6 = new byte[16 * burst];
            data = new long[Hash.LOOKUP_BULK_MAX];
            keys4 = arena.allocate((long) FlowKey.IPV4_LEN * burst, 64);
            keys6 = arena.allocate((long) FlowKey.IPV6_LEN * burst, 64);
            txBuf = new Mbuf[EthDev.MAX_PORTS][];
            for (EthDev p : txPorts) if (p != null) txBuf[p.id()] = new Mbuf[burst];
            txLen = new int[EthDev.MAX_PORTS];
            txBase = rxPorts.length * RX_COUNTERS;
            counters = new long[(1 + txBase + EthDev.MAX_PORTS * TX_COUNTERS) * 8];
        }

        private void count(int k, long n) {
            int i = (1 + k) * 8;
            LONGS.setOpaque(counters, i, counters[i] + n);
        }

        long rxCounter(int slot, int c) {
            return (long) LONGS.getOpaque(counters, (1 + slot * RX_COUNTERS + c) * 8);
        }

        long txCounter(int port, int c) {
            return (long) LONGS.getOpaque(counters, (1 + txBase + port * TX_COUNTERS + c) * 8);
        }

        /** The lcore's loop until {@link #stop()}, then a last drain of its buffers. */
        int run() {
            prevDrain = System.nanoTime();
            while (!quit) poll(System.nanoTime());
            drain();
            return 0;
        }

        /** One pass: drain the tx buffers when due, then one burst per rx queue, routed. Allocates nothing. */
        void poll(long now) {
            if (now - prevDrain > BURST_TX_DRAIN_NS) {
                drain();
                prevDrain = now;
            }
            for (int s = 0; s < rxPorts.length; s++) {
                int n = rxPorts[s].rxBurst(rxQueues[s], pkts, 0, burst);
                if (n == 0) continue;
                count(s * RX_COUNTERS + RX, n);
                route(s, n);
                for (int j = 0; j < n; j++) {
                    int p = out[j];
                    if (p >= 0) bufferTx(p, pkts[j]);
                }
            }
        }

        /**
         * Classifies the burst, looks it up and rewrites each packet to forward; {@code out[j]} is
         * packet j's out port, or -1 for a packet dropped (and freed) here.
         */
        private void route(int s, int n) {
            final int inPort = rxPorts[s].id();
            final boolean em = t.exactMatch();
            int n4 = 0, n6 = 0, notIp = 0, bad = 0, ttl = 0, tooLong = 0;
            for (int j = 0; j < n; j++) {
                Mbuf m = pkts[j];
                out[j] = -1;
                if (m.pktLen() > maxPktLen) {
                    tooLong++;
                    m.free();
                    continue;
                }
                int pt = PacketType.parse(m);
                int l3 = m.l2Len;
                int verdict;
                if (PacketType.isIpv4(pt)) {
                    verdict = checkIpv4(m, l3);
                    if (verdict == 0) {
                        if (em) {
                            if (!FlowKey.ipv4(m, l3, keys4, (long) n4 * FlowKey.IPV4_LEN)) verdict = BAD_HDR;
                        } else {
                            ip4[n4] = Ipv4.dst(m, l3);
                        }
                        if (verdict == 0) idx4[n4++] = j;
                    }
                } else if (PacketType.isIpv6(pt)) {
                    verdict = checkIpv6(m, l3);
                    if (verdict == 0) {
                        if (em) {
                            if (!FlowKey.ipv6(m, l3, keys6, (long) n6 * FlowKey.IPV6_LEN)) verdict = BAD_HDR;
                        } else {
                            LONG_BE.set(ip6, 16 * n6, Ipv6.dstHi(m, l3));
                            LONG_BE.set(ip6, 16 * n6 + 8, Ipv6.dstLo(m, l3));
                        }
                        if (verdict == 0) idx6[n6++] = j;
                    }
                } else {
                    verdict = NOT_IP;
                }
                if (verdict != 0) {
                    if (verdict == NOT_IP) notIp++;
                    else if (verdict == TTL) ttl++;
                    else bad++;
                    m.free();
                }
            }
            int base = s * RX_COUNTERS;
            if (notIp != 0) count(base + NOT_IP, notIp);
            if (bad != 0) count(base + BAD_HDR, bad);
            if (ttl != 0) count(base + TTL, ttl);
            if (tooLong != 0) count(base + TOO_LONG, tooLong);
            if (n4 > 0) {
                if (em) emLookup(t.em4, keys4, FlowKey.IPV4_LEN, n4, hop4, inPort);
                else lpmLookup(n4, inPort);
                for (int i = 0; i < n4; i++) {
                    int j = idx4[i];
                    Mbuf m = pkts[j];
                    int p = outPort(hop4[i], inPort);
                    Ipv4.decrementTtl(m, m.l2Len);
                    Ether.setAddrs(m, dstMac[p], srcMac[p]);
                    out[j] = p;
                }
            }
            if (n6 > 0) {
                if (em) {
                    emLookup(t.em6, keys6, FlowKey.IPV6_LEN, n6, hop6, inPort);
                } else if (t.lpm6 != null) {
                    t.lpm6.lookupBulk(ip6, hop6, n6);
                } else {
                    Arrays.fill(hop6, 0, n6, Lpm6.MISS);
                }
                for (int i = 0; i < n6; i++) {
                    int j = idx6[i];
                    Mbuf m = pkts[j];
                    int p = outPort(hop6[i], inPort);
                    int l3 = m.l2Len;
                    Ipv6.setHopLimit(m, l3, Ipv6.hopLimit(m, l3) - 1);
                    Ether.setAddrs(m, dstMac[p], srcMac[p]);
                    out[j] = p;
                }
            }
        }

        /** A next hop if it is an enabled port, else the port the packet came in on (a miss is -1). */
        private int outPort(int hop, int inPort) {
            return hop >= 0 && hop < EthDev.MAX_PORTS && txPorts[hop] != null ? hop : inPort;
        }

        /** rte_lpm_lookupx4 over groups of four, the rest one by one; a miss gives the rx port, as DPDK. */
        private void lpmLookup(int n4, int inPort) {
            Lpm lpm = t.lpm;
            if (lpm == null) {
                Arrays.fill(hop4, 0, n4, inPort);
                return;
            }
            int i = 0;
            for (; i + 4 <= n4; i += 4) lpm.lookupX4(ip4, i, hop4, i, inPort);
            for (; i < n4; i++) {
                int h = lpm.lookup(ip4[i]);
                hop4[i] = h == Lpm.MISS ? inPort : h;
            }
        }

        /** rte_hash_lookup_bulk_data in chunks of {@link Hash#LOOKUP_BULK_MAX}; a miss gives the rx port. */
        private void emLookup(Hash h, MemorySegment keys, int keyLen, int n, int[] hops, int inPort) {
            if (h == null) {
                Arrays.fill(hops, 0, n, inPort);
                return;
            }
            long[] d = data;
            for (int at = 0; at < n; at += Hash.LOOKUP_BULK_MAX) {
                int k = Math.min(Hash.LOOKUP_BULK_MAX, n - at);
                for (int i = 0; i < k; i++) d[i] = inPort;
                h.lookupBulkData(keys, (long) at * keyLen, keyLen, k, d);
                for (int i = 0; i < k; i++) hops[at + i] = (int) d[i];
            }
        }

        /** 0 if the IPv4 packet may be forwarded, else the counter to blame (RFC 1812 5.2.2, 5.3.1). */
        private static int checkIpv4(Mbuf m, int l3) {
            if (Ipv4.l4Len(m, l3) < 0) return BAD_HDR; // version, IHL, header in the segment, total length within the packet
            long ck = m.olFlags & Mbuf.F_RX_IP_CKSUM_MASK;
            if (ck == Mbuf.F_RX_IP_CKSUM_BAD || (ck != Mbuf.F_RX_IP_CKSUM_GOOD && !Ipv4.cksumVerify(m, l3))) return BAD_HDR;
            return Ipv4.ttl(m, l3) <= 1 ? TTL : 0;
        }

        private static int checkIpv6(Mbuf m, int l3) {
            if (l3 > m.dataLen() - Ipv6.HDR_LEN || Ipv6.payloadLen(m, l3) > m.pktLen() - l3 - Ipv6.HDR_LEN) return BAD_HDR;
            return Ipv6.hopLimit(m, l3) <= 1 ? TTL : 0;
        }

        /** rte_eth_tx_buffer: add one packet; a full buffer goes out at once. */
        private void bufferTx(int port, Mbuf m) {
            Mbuf[] buf = txBuf[port];
            buf[txLen[port]++] = m;
            if (txLen[port] == burst) flush(port);
        }

        /** rte_eth_tx_buffer_flush: send, free and count what was refused. */
        private void flush(int port) {
            int n = txLen[port];
            if (n == 0) return;
            txLen[port] = 0;
            Mbuf[] buf = txBuf[port];
            int sent = txPorts[port].txBurst(txQueue, buf, 0, n);
            int k = txBase + port * TX_COUNTERS;
            if (sent > 0) count(k + TX, sent);
            if (sent < n) {
                Mbuf.freeBulk(buf, sent, n - sent);
                count(k + TX_DROPPED, n - sent);
            }
        }

        void drain() {
            for (int p = 0; p < txLen.length; p++) if (txLen[p] != 0) flush(p);
        }

        void stop() {
            quit = true;
        }
    }

    private final Eal eal;
    private final Options opt;
    private final PrintStream out;
    private final List<EthDev> ports = new ArrayList<>();
    private final List<Lcore> lcores = new ArrayList<>();
    private final EthDev[] txPorts = new EthDev[EthDev.MAX_PORTS];
    private final long[] dstMac = new long[EthDev.MAX_PORTS];
    private List<LcoreParams> config;
    private Mempool<Mbuf> pool;
    private Lpm lpm;
    private Lpm6 lpm6;
    private Hash em4, em6;
    private Arena arena;
    private long elapsedNanos;

    private L3fwd(Eal eal, Options opt, PrintStream out) {
        this.eal = eal;
        this.opt = opt;
        this.out = out;
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        System.exit(rc);
    }

    /** Runs l3fwd; returns the exit code. A user mistake is one line on {@code err} and 1. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return AppMain.run("l3fwd", args, out, err, Options::parse, o -> o.help, Options::usage,
                (eal, opt) -> new L3fwd(eal, opt, out).runApp());
    }

    private int runApp() {
        if (opt.portmask == 0) throw new IllegalArgumentException("all available ports are disabled; give -p PORTMASK, e.g. -p 0x3");
        long unknown = opt.portmask;
        for (EthDev p : EthDev.all()) unknown &= ~(1L << p.id());
        if (unknown != 0) {
            throw new IllegalArgumentException("-p 0x" + Long.toHexString(opt.portmask) + ": port " + Long.numberOfTrailingZeros(unknown)
                    + " does not exist; ports are " + (EthDev.count() == 0 ? "none (add some with --vdev)"
                    : String.join(",", EthDev.all().stream().map(p -> Integer.toString(p.id())).toList())));
        }
        for (EthDev p : EthDev.all()) {
            if ((opt.portmask & (1L << p.id())) != 0) {
                ports.add(p);
                txPorts[p.id()] = p;
                dstMac[p.id()] = opt.ethDestSet[p.id()] ? opt.ethDest[p.id()] : DST_MAC_BASE | p.id();
            }
        }
        config = opt.config != null ? opt.config : defaultConfig();
        checkConfig();
        boolean em = opt.exactMatch != null && opt.exactMatch;
        out.println((em ? "EM" : "LPM") + " lookup, " + (em ? "exact match on the 5-tuple" : "longest prefix match"));
        try {
            arena = Arena.ofShared();
            if (em) setupHash();
            else setupLpm();
            createPool();
            TreeMap<Integer, List<LcoreParams>> byLcore = new TreeMap<>();
            for (LcoreParams lp : config) byLcore.computeIfAbsent(lp.lcore, k -> new ArrayList<>()).add(lp);
            int nbTx = byLcore.size();
            for (EthDev p : ports) initPort(p, nbTx);
            int txq = 0;
            Tables tables = new Tables(lpm, lpm6, em4, em6);
            for (var e : byLcore.entrySet()) {
                List<EthDev> rx = new ArrayList<>();
                List<Integer> q = new ArrayList<>();
                for (LcoreParams lp : e.getValue()) {
                    rx.add(EthDev.get(lp.port));
                    q.add(lp.queue);
                    out.printf("Lcore %d: RX port %d queue %d, TX queue %d on every port%n", e.getKey(), lp.port, lp.queue, txq);
                }
                lcores.add(new Lcore(e.getKey(), rx, q, txq++, txPorts, dstMac, tables, opt.burst, opt.maxPktLen, arena));
            }
            for (int id : allLcores()) if (!byLcore.containsKey(id)) out.printf("lcore %d has nothing to do%n", id);
            out.println("\nChecking link status...done");
            for (EthDev p : ports) {
                var link = p.link();
                out.println(link.up() ? String.format("Port %d Link up at %s", p.id(), link) : String.format("Port %d Link down", p.id()));
            }
            forward();
            printStats(false);
            for (EthDev p : ports) {
                out.printf("Closing port %d...", p.id());
                p.stop();
                p.close();
                out.println(" Done");
            }
            out.println("Bye...");
            return 0;
        } finally {
            for (EthDev p : ports) if (p.state() != EthDev.State.CLOSED) p.close();
            if (pool != null) pool.close();
            if (lpm != null) lpm.close();
            if (lpm6 != null) lpm6.close();
            if (em4 != null) em4.close();
            if (em6 != null) em6.close();
            if (arena != null) arena.close();
        }
    }

    private int[] allLcores() {
        int[] ids = new int[eal.lcoreCount()];
        ids[0] = eal.mainLcore();
        System.arraycopy(eal.workerLcores(), 0, ids, 1, ids.length - 1);
        Arrays.sort(ids);
        return ids;
    }

    /** Without --config: queue 0 of each enabled port, the ports dealt to the EAL lcores in id order. */
    private List<LcoreParams> defaultConfig() {
        int[] ids = allLcores();
        List<LcoreParams> l = new ArrayList<>();
        for (int i = 0; i < ports.size(); i++) l.add(new LcoreParams(ports.get(i).id(), 0, ids[i % ids.length]));
        return l;
    }

    /** check_lcore_params, check_port_config and the queue numbering rule of DPDK's l3fwd. */
    private void checkConfig() {
        int[] ids = allLcores();
        int[] perLcore = new int[1024];
        for (LcoreParams lp : config) {
            String t = "--config (" + lp.port + "," + lp.queue + "," + lp.lcore + "): ";
            if (Arrays.binarySearch(ids, lp.lcore) < 0) {
                throw new IllegalArgumentException(t + "lcore " + lp.lcore + " is not enabled in the EAL's lcores (-l); they are "
                        + String.join(",", Arrays.stream(ids).mapToObj(Integer::toString).toList()));
            }
            if (txPorts[lp.port] == null) throw new IllegalArgumentException(t + "port " + lp.port + " is not enabled in the port mask");
            if (++perLcore[lp.lcore] > MAX_RX_QUEUE_PER_LCORE) {
                throw new IllegalArgumentException(t + "lcore " + lp.lcore + " has more than " + MAX_RX_QUEUE_PER_LCORE + " rx queues");
            }
        }
        for (EthDev p : ports) {
            int n = rxQueuesOf(p.id());
            for (int q = 0; q < n; q++) {
                final int qq = q;
                if (config.stream().noneMatch(lp -> lp.port == p.id() && lp.queue == qq)) {
                    throw new IllegalArgumentException("--config: queue ids of port " + p.id() + " must be in sequence from 0; queue "
                            + q + " is missing");
                }
            }
        }
    }

    private int rxQueuesOf(int port) {
        int n = 0;
        for (LcoreParams lp : config) if (lp.port == port) n = Math.max(n, lp.queue + 1);
        return n;
    }

    /** setup_lpm: the routes of the files or DPDK's defaults; routes to ports not enabled are skipped, as DPDK. */
    private void setupLpm() {
        List<Routes.Route> r4 = opt.ruleIpv4 != null ? Routes.readLpm(opt.ruleIpv4, false) : Routes.defaultLpm4();
        List<Routes.Route> r6 = opt.ruleIpv6 != null ? Routes.readLpm(opt.ruleIpv6, true) : Routes.defaultLpm6();
        r4 = enabledOnly(r4, Routes.Route::port, "IPv4 route");
        r6 = enabledOnly(r6, Routes.Route::port, "IPv6 route");
        long tbl8 = r4.stream().filter(r -> r.depth() > 24).count();
        lpm = Lpm.create("L3FWD_LPM", eal.socketId(), Math.max(1024, r4.size()), (int) Math.min(Lpm.MAX_TBL8_NUM_GROUPS, Math.max(256, tbl8 + 256)));
        for (Routes.Route r : r4) {
            if (lpm.add((int) r.lo(), r.depth(), r.port()) < 0) {
                throw new IllegalStateException("LPM: cannot add route " + Lpm.toString((int) r.lo()) + "/" + r.depth() + ": table full");
            }
        }
        if (!r6.isEmpty()) {
            long groups = 0;
            for (Routes.Route r : r6) groups += Math.max(0, (r.depth() - 24 + 7) / 8);
            lpm6 = Lpm6.create("L3FWD_LPM6", eal.socketId(), Math.max(1024, r6.size()), (int) Math.min(Lpm6.MAX_TBL8_NUM_GROUPS, groups + 256));
            for (Routes.Route r : r6) {
                if (lpm6.add(r.hi(), r.lo(), r.depth(), r.port()) < 0) {
                    throw new IllegalStateException("LPM6: cannot add route " + Lpm6.toString(r.hi(), r.lo()) + "/" + r.depth() + ": table full");
                }
            }
        }
        out.printf("LPM: %d IPv4 routes, %d IPv6 routes%n", r4.size(), r6.size());
    }

    /** setup_hash: the rules of the files or DPDK's defaults in one table per family, value = out port. */
    private void setupHash() {
        List<Routes.Rule> r4 = opt.ruleIpv4 != null ? Routes.readEm(opt.ruleIpv4, false) : Routes.defaultEm4();
        List<Routes.Rule> r6 = opt.ruleIpv6 != null ? Routes.readEm(opt.ruleIpv6, true) : Routes.defaultEm6();
        r4 = enabledOnly(r4, Routes.Rule::port, "IPv4 rule");
        r6 = enabledOnly(r6, Routes.Rule::port, "IPv6 rule");
        MemorySegment key = arena.allocate(FlowKey.IPV6_LEN);
        if (!r4.isEmpty()) {
            em4 = Hash.create("l3fwd_em4", Math.max(1024, r4.size() * 2), FlowKey.IPV4_LEN, org.jpdk.hash.HashFunction.CRC32C, 0, Hash.F_EXT_TABLE);
            for (Routes.Rule r : r4) {
                FlowKey.ipv4(key, 0, (int) r.srcLo(), (int) r.dstLo(), r.srcPort(), r.dstPort(), r.proto());
                if (em4.add(key, 0, r.port()) < 0) throw new IllegalStateException("EM: cannot add IPv4 rule " + r + ": table full");
            }
        }
        if (!r6.isEmpty()) {
            em6 = Hash.create("l3fwd_em6", Math.max(1024, r6.size() * 2), FlowKey.IPV6_LEN, org.jpdk.hash.HashFunction.CRC32C, 0, Hash.F_EXT_TABLE);
            byte[] s = new byte[16], d = new byte[16];
            for (Routes.Rule r : r6) {
                LONG_BE.set(s, 0, r.srcHi());
                LONG_BE.set(s, 8, r.srcLo());
                LONG_BE.set(d, 0, r.dstHi());
                LONG_BE.set(d, 8, r.dstLo());
                FlowKey.ipv6(key, 0, s, d, r.srcPort(), r.dstPort(), r.proto());
                if (em6.add(key, 0, r.port()) < 0) throw new IllegalStateException("EM: cannot add IPv6 rule " + r + ": table full");
            }
        }
        out.printf("EM: %d IPv4 rules, %d IPv6 rules%n", r4.size(), r6.size());
    }

    private <T> List<T> enabledOnly(List<T> rules, java.util.function.ToIntFunction<T> port, String what) {
        List<T> kept = new ArrayList<>(rules.size());
        for (T r : rules) {
            int p = port.applyAsInt(r);
            if (p < EthDev.MAX_PORTS && txPorts[p] != null) kept.add(r);
        }
        if (kept.size() < rules.size()) {
            out.printf("Skipping %d %ss to ports not in the port mask%n", rules.size() - kept.size(), what);
        }
        return kept;
    }

    private void createPool() {
        int nbLcores = (int) config.stream().mapToInt(LcoreParams::lcore).distinct().count();
        long rxq = 0;
        for (EthDev p : ports) rxq += rxQueuesOf(p.id());
        long n = Math.max(NB_MBUF_MIN, rxq * opt.rxDesc + (long) ports.size() * nbLcores * (opt.txDesc + 2L * opt.burst)
                + (long) eal.lcoreCount() * MEMPOOL_CACHE_SIZE);
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("too many mbufs needed (" + n + "); use fewer descriptors");
        pool = Mbuf.createPool("mbuf_pool", (int) n, MEMPOOL_CACHE_SIZE, Mbuf.DEFAULT_BUF_SIZE, eal.socketId());
    }

    private void initPort(EthDev p, int nbTx) {
        int nbRx = rxQueuesOf(p.id());
        out.printf("Initializing port %d ... Creating queues: nb_rxq=%d nb_txq=%d... ", p.id(), nbRx, nbTx);
        DevInfo info = p.info();
        if (nbTx > info.maxTxQueues()) {
            throw new IllegalArgumentException("port " + p.id() + " (" + info.driverName() + ") has " + info.maxTxQueues()
                    + " tx queue(s) and l3fwd needs one per lcore in --config: " + nbTx);
        }
        if (nbRx > info.maxRxQueues()) {
            throw new IllegalArgumentException("port " + p.id() + " (" + info.driverName() + ") has " + info.maxRxQueues()
                    + " rx queue(s) and --config uses " + nbRx);
        }
        int mtu = opt.maxPktLen - ETHER_OVERHEAD;
        p.configure(nbRx, nbTx, PortConf.defaults().withMtu(Math.max(info.minMtu(), Math.min(info.maxMtu(), mtu))));
        for (int q = 0; q < nbRx; q++) p.rxQueueSetup(q, clamp(opt.rxDesc, info), pool);
        for (int q = 0; q < nbTx; q++) p.txQueueSetup(q, clamp(opt.txDesc, info));
        p.start();
        if (opt.promiscuous) p.setPromiscuous(true);
        out.printf("done: %nPort %d, MAC address: %s, destination MAC %s%n", p.id(), p.macAddr(), new MacAddr(dstMac[p.id()]));
        if (!opt.parsePtype) out.printf("Port %d does not report packet types: parsing them in software (--parse-ptype)%n", p.id());
    }

    /** rte_eth_dev_adjust_nb_rx_tx_desc: the count within the driver's limits. */
    private static int clamp(int desc, DevInfo info) {
        return Math.max(info.minDesc(), Math.min(info.maxDesc(), desc));
    }

    /**
     * Launches the lcores, runs the main lcore's share (its queues, the statistics timer, the stop
     * conditions) on this thread, then stops and waits for the others.
     */
    private void forward() {
        Lcore main = null;
        for (Lcore lc : lcores) {
            if (lc.lcoreId == eal.mainLcore()) {
                main = lc;
            } else {
                out.printf("L3FWD: entering main loop on lcore %d%n", lc.lcoreId);
                eal.remoteLaunch(l -> lc.run(), lc.lcoreId);
            }
        }
        long start = System.nanoTime();
        long period = (long) (opt.timerPeriod * 1e9), runFor = (long) (opt.runSeconds * 1e9);
        long nextStats = start + period, nextCheck = start;
        if (main != null) out.printf("L3FWD: entering main loop on lcore %d%n", main.lcoreId);
        for (Lcore lc : lcores) {
            for (int s = 0; s < lc.rxPorts.length; s++) {
                out.printf("L3FWD:  -- lcoreid=%d portid=%d rxqueueid=%d%n", lc.lcoreId, lc.rxPorts[s].id(), lc.rxQueues[s]);
            }
        }
        out.flush();
        if (main != null) main.prevDrain = start;
        while (true) {
            long now = System.nanoTime();
            if (main != null) {
                main.poll(now);
            } else {
                sleepNanos(Math.min(1_000_000, nextCheck - now));
            }
            if (now - nextCheck < 0) continue;
            nextCheck = now + 1_000_000; // the timers are checked once a millisecond
            if (eal.stopRequested()) {
                out.println("\n\nSignal received, preparing to exit...");
                break;
            }
            if (runFor > 0 && now - start >= runFor) break;
            if (period > 0 && now - nextStats >= 0) {
                printStats(true);
                while (now - nextStats >= 0) nextStats += period;
            }
        }
        for (Lcore lc : lcores) lc.stop();
        if (main != null) main.drain();
        LcoreException failed = null;
        for (Lcore lc : lcores) {
            if (lc == main) continue;
            try {
                eal.waitLcore(lc.lcoreId);
            } catch (LcoreException e) {
                if (failed == null) failed = e;
            }
        }
        elapsedNanos = System.nanoTime() - start;
        if (failed != null) throw failed;
    }

    private static void sleepNanos(long ns) {
        if (ns <= 0) return;
        try {
            Thread.sleep(ns / 1_000_000, (int) (ns % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Per enabled port the packets sent, received and dropped (refused by the port's tx queues, or
     * dropped on receive: not IP, bad header, TTL, too long), then the aggregate, in l2fwd's
     * layout. The last call adds the rate and the reasons for the drops on receive.
     */
    private void printStats(boolean periodic) {
        long[] rx = new long[EthDev.MAX_PORTS], tx = new long[EthDev.MAX_PORTS], dropped = new long[EthDev.MAX_PORTS];
        long[] why = new long[Lcore.RX_COUNTERS];
        for (Lcore lc : lcores) {
            for (int s = 0; s < lc.rxPorts.length; s++) {
                int id = lc.rxPorts[s].id();
                rx[id] += lc.rxCounter(s, Lcore.RX);
                for (int c = Lcore.NOT_IP; c < Lcore.RX_COUNTERS; c++) {
                    long v = lc.rxCounter(s, c);
                    dropped[id] += v;
                    why[c] += v;
                }
            }
            for (EthDev p : ports) {
                tx[p.id()] += lc.txCounter(p.id(), Lcore.TX);
                dropped[p.id()] += lc.txCounter(p.id(), Lcore.TX_DROPPED);
            }
        }
        StringBuilder sb = new StringBuilder();
        java.io.Console console = System.console();
        if (periodic && out == System.out && console != null && console.isTerminal()) sb.append("\033[2J\033[1;1H");
        sb.append("\nPort statistics ====================================");
        long totRx = 0, totTx = 0, totDropped = 0;
        for (EthDev p : ports) {
            int id = p.id();
            sb.append(String.format("%nStatistics for port %d ------------------------------"
                    + "%nPackets sent: %24d%nPackets received: %20d%nPackets dropped: %21d", id, tx[id], rx[id], dropped[id]));
            totRx += rx[id];
            totTx += tx[id];
            totDropped += dropped[id];
        }
        sb.append(String.format("%nAggregate statistics ==============================="
                + "%nTotal packets sent: %18d%nTotal packets received: %14d%nTotal packets dropped: %15d", totTx, totRx, totDropped));
        sb.append("\n====================================================\n");
        if (!periodic) {
            double secs = elapsedNanos / 1e9;
            sb.append(String.format(Locale.ROOT, "L3FWD: dropped on receive: %d not IP, %d bad IP header or checksum, %d TTL expired, "
                    + "%d longer than --max-pkt-len%n", why[Lcore.NOT_IP], why[Lcore.BAD_HDR], why[Lcore.TTL], why[Lcore.TOO_LONG]));
            sb.append(String.format(Locale.ROOT, "L3FWD: %d packets forwarded in %.2f s: %.2f Mpps%n", totTx, secs,
                    secs > 0 ? totTx / secs / 1e6 : 0.0));
        }
        out.print(sb);
        out.flush();
    }
}
