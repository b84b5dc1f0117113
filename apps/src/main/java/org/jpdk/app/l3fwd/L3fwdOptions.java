package org.jpdk.app.l3fwd;

import org.jpdk.app.AppOptions;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.MacAddr;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** l3fwd's command line after {@code --}, as DPDK's examples/l3fwd reads it (its options and their words). */
final class L3fwdOptions {
    static final int MAX_PKT_BURST = 32;
    static final int MAX_BURST = 256;
    static final int MAX_RX_QUEUE_PER_PORT = 128;
    static final int MAX_LCORE_PARAMS = 1024;
    static final int RX_DESC_DEFAULT = 1024, TX_DESC_DEFAULT = 1024;
    static final int MAX_TIMER_PERIOD = 86400;
    /** RTE_ETHER_MAX_LEN: the default --max-pkt-len. */
    static final int DEFAULT_MAX_PKT_LEN = 1518;
    static final int MIN_PKT_LEN = 64, MAX_JUMBO_PKT_LEN = 9600;

    /** An rx queue of a port polled by an lcore (struct lcore_params). */
    record LcoreParams(int port, int queue, int lcore) {
    }

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

    private static final Set<String> WITH_VALUE = Set.of("-p", "-b", "-T", "--run-seconds", "--config",
            "--eth-dest", "--rule_ipv4", "--rule_ipv6", "--max-pkt-len", "--lookup", "--burst", "--rx-queue-size", "--tx-queue-size");

    static L3fwdOptions parse(List<String> args) {
        L3fwdOptions o = new L3fwdOptions();
        AppOptions.walk(args, WITH_VALUE, (name, value) -> {
            if (WITH_VALUE.contains(name)) {
                o.set(name, value);
                return;
            }
            switch (name) {
                case "-h", "--help" -> o.help = true;
                case "-P" -> o.promiscuous = true;
                case "-E" -> o.lookup(true, "-E");
                case "-L" -> o.lookup(false, "-L");
                case "--parse-ptype" -> o.parsePtype = true;
                case "--ipv6" -> o.ipv6 = true;
                case "--no-numa" -> { } // one memory domain: nothing to choose
                default -> throw AppOptions.unknown(name);
            }
        });
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
            case "-p" -> portmask = AppOptions.portmask(what, v);
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
            case "-T" -> timerPeriod = AppOptions.seconds(what, v, 0, MAX_TIMER_PERIOD, "invalid timer period; allowed 0.." + MAX_TIMER_PERIOD + " seconds (0: off)");
            default -> runSeconds = AppOptions.seconds(what, v, false);
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
