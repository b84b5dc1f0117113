package org.jpdk.app.top;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One screen of {@code jpdk top} from two {@link TopSample}s: per port rx and tx in Mpps and Gbps,
 * drops per second by cause (imissed, ierrors, rx_nombuf, oerrors and the drop xstats that moved),
 * each lcore's busy share over the interval, and each mempool's use. Gbps count the bytes the
 * port counts (DPDK's ibytes and obytes: frames without CRC), as testpmd's Rx-bps does. A port or
 * lcore that is new in the second sample is compared with zero. Pure text, no terminal codes:
 * the live view and {@code --once} print the same lines.
 */
final class TopFrame {
    private TopFrame() {
    }

    static List<String> render(String title, TopSample prev, TopSample cur) {
        double dt = Math.max(1, cur.nanos() - prev.nanos()) / 1e9;
        List<String> out = new ArrayList<>();
        out.add(title + String.format(Locale.ROOT, "  (rates over %.2f s)", dt));
        out.add("");
        out.add(String.format(Locale.ROOT, "%4s %-16s %-7s %9s %9s %9s %9s", "PORT", "NAME", "LINK", "RX-Mpps", "RX-Gbps", "TX-Mpps", "TX-Gbps"));
        for (TopSample.Port p : cur.ports()) {
            TopSample.Port b = before(prev, p);
            out.add(String.format(Locale.ROOT, "%4d %-16s %-7s %9.3f %9.3f %9.3f %9.3f", p.id(), cut(p.name(), 16), p.link(),
                    rate(p.ipackets(), b.ipackets(), dt) / 1e6, rate(p.ibytes(), b.ibytes(), dt) * 8 / 1e9,
                    rate(p.opackets(), b.opackets(), dt) / 1e6, rate(p.obytes(), b.obytes(), dt) * 8 / 1e9));
        }
        if (cur.ports().isEmpty()) out.add("     (no ports)");
        out.add("");
        out.add(String.format(Locale.ROOT, "%-7s %10s %10s %10s %10s  %s", "DROPS/s", "imissed", "ierrors", "rx_nombuf", "oerrors", "xstats"));
        for (TopSample.Port p : cur.ports()) {
            TopSample.Port b = before(prev, p);
            StringBuilder x = new StringBuilder();
            for (Map.Entry<String, Long> e : p.dropXstats().entrySet()) {
                double r = rate(e.getValue(), b.dropXstats().getOrDefault(e.getKey(), 0L), dt);
                if (r > 0) x.append(x.isEmpty() ? "" : " ").append(e.getKey()).append('=').append(count(r));
            }
            out.add(String.format(Locale.ROOT, "%7d %10s %10s %10s %10s  %s", p.id(), count(rate(p.imissed(), b.imissed(), dt)),
                    count(rate(p.ierrors(), b.ierrors(), dt)), count(rate(p.rxNombuf(), b.rxNombuf(), dt)),
                    count(rate(p.oerrors(), b.oerrors(), dt)), x.isEmpty() ? "-" : x));
        }
        out.add("");
        if (cur.lcores() == null) {
            out.add("LCORE BUSY%  n/a: the app reports no /eal/lcore/usage (DPDK 23.03+; dpdk-testpmd needs --record-core-cycles)");
        } else {
            out.add(String.format(Locale.ROOT, "%5s %6s", "LCORE", "BUSY%"));
            for (Map.Entry<Integer, long[]> e : cur.lcores().entrySet()) {
                long[] was = prev.lcores() == null ? null : prev.lcores().get(e.getKey());
                long db = e.getValue()[0] - (was == null ? 0 : was[0]), dtot = e.getValue()[1] - (was == null ? 0 : was[1]);
                out.add(String.format(Locale.ROOT, "%5d %6s", e.getKey(),
                        dtot > 0 && db >= 0 ? String.format(Locale.ROOT, "%.1f", Math.min(100.0, 100.0 * db / dtot)) : "idle"));
            }
        }
        out.add("");
        out.add(String.format(Locale.ROOT, "%-24s %10s %10s %6s", "MEMPOOL", "SIZE", "IN-USE", "USE%"));
        for (TopSample.Pool m : cur.pools()) {
            out.add(String.format(Locale.ROOT, "%-24s %10d %10s %6s", cut(m.name(), 24), m.size(), m.inUse() == null ? "n/a" : m.inUse(),
                    m.inUse() == null || m.size() <= 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", 100.0 * m.inUse() / m.size())));
        }
        if (cur.pools().isEmpty()) out.add("(no mempools)");
        return out;
    }

    /** The same port in the earlier sample, or zeros when it is new. */
    private static TopSample.Port before(TopSample prev, TopSample.Port p) {
        for (TopSample.Port b : prev.ports()) if (b.id() == p.id()) return b;
        return new TopSample.Port(p.id(), p.name(), p.link(), 0, 0, 0, 0, 0, 0, 0, 0, Map.of());
    }

    /** Per second; a counter that went down (a stats reset) counts from zero. */
    private static double rate(long now, long then, double seconds) {
        return (now >= then ? now - then : now) / seconds;
    }

    private static String count(double perSecond) {
        return String.format(Locale.ROOT, "%.0f", perSecond);
    }

    private static String cut(String s, int width) {
        return s.length() <= width ? s : s.substring(0, width - 1) + "~";
    }
}
