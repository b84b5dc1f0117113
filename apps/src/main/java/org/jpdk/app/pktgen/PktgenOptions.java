package org.jpdk.app.pktgen;

import org.jpdk.app.AppOptions;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.net.Ether;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.jpdk.app.pktgen.Pktgen.SIG_LEN;
import static org.jpdk.app.pktgen.Pktgen.MIN_SIZE;
import static org.jpdk.app.pktgen.Pktgen.MAX_SIZE;
import static org.jpdk.app.pktgen.Pktgen.MAX_BURST;

/** pktgen's command line after {@code --}. */
final class PktgenOptions {
    /** An inclusive range of unsigned values, {@code lo} alone when {@code lo == hi}. */
    record Range(long lo, long hi) {
        long count() {
            return hi - lo + 1;
        }
    }

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

    private static final Set<String> WITH_VALUE = Set.of("-p", "--portmask", "--tx-portmask", "--rate", "--size", "--src-ip",
            "--dst-ip", "--src-port", "--dst-port", "--dst-mac", "--vlan", "--pcap", "--burst", "--count", "--stats-period", "--run-seconds");

    static PktgenOptions parse(List<String> args) {
        PktgenOptions o = new PktgenOptions();
        AppOptions.walk(args, WITH_VALUE, (name, value) -> {
            switch (name) {
                case "-h", "--help" -> o.help = true;
                case "--verify" -> o.verify = true;
                default -> {
                    if (!WITH_VALUE.contains(name)) throw AppOptions.unknown(name);
                    o.set(name, value);
                }
            }
        });
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
            case "--vlan" -> vlan = (int) AppOptions.number(what, v, 0, 4095);
            case "--pcap" -> pcap = Path.of(v);
            case "--burst" -> burst = (int) AppOptions.number(what, v, 1, MAX_BURST);
            case "--count" -> count = AppOptions.number(what, v, 1, Long.MAX_VALUE);
            case "--stats-period" -> statsPeriod = AppOptions.seconds(what, v, true);
            default -> runSeconds = AppOptions.seconds(what, v, false);
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
        long lo = ip ? ipv4(what, dash < 0 ? v : v.substring(0, dash)) : AppOptions.number(what, dash < 0 ? v : v.substring(0, dash), 0, max);
        long hi = dash < 0 ? lo : ip ? ipv4(what, v.substring(dash + 1)) : AppOptions.number(what, v.substring(dash + 1), 0, max);
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
