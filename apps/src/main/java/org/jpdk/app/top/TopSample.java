package org.jpdk.app.top;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * One reading of a running app through its telemetry socket: every port's counters, link and
 * drop xstats, the lcores' busy and total cycles, the mempools' fill. Rates come from two of
 * these ({@link TopFrame}). Replies are read as DPDK's telemetry shapes them, so a DPDK app reads
 * as a jpdk one; what an app does not report (lcore usage before DPDK 23.03 or without testpmd's
 * {@code --record-core-cycles}, pool counts in DPDK 22.11) is null, shown as n/a.
 *
 * @param nanos   when the reading started (System.nanoTime)
 * @param lcores  lcore id to {busy, total} cycles, ascending; null when the app reports no usage
 */
record TopSample(long nanos, List<Port> ports, Map<Integer, long[]> lcores, List<Pool> pools) {
    /** xstats that count drops, by DPDK's naming habits ({@code rx_dropped}, {@code tx_discards}...). */
    private static final Pattern DROP_XSTAT = Pattern.compile(".*(drop|discard).*", Pattern.CASE_INSENSITIVE);

    /** One port: rte_eth_stats, its link ("UP 10 Gbps", "DOWN") and the drop xstats by name. */
    record Port(int id, String name, String link, long ipackets, long opackets, long ibytes, long obytes,
                long imissed, long ierrors, long oerrors, long rxNombuf, Map<String, Long> dropXstats) {
    }

    /** One mempool: its size and, where the app reports it, the objects in use. */
    record Pool(String name, long size, Long inUse) {
    }

    /**
     * Reads a sample with {@code request} (a command with its parameters to the reply's value, null
     * for an unknown command). A port or pool that went away between the list and its read is
     * left out.
     *
     * @throws IllegalStateException from {@code request}: the app went away or replied garbage
     */
    static TopSample read(Function<String, Object> request, long nanos) {
        List<Port> ports = new ArrayList<>();
        for (Object id : list(request.apply("/ethdev/list"))) {
            if (!(id instanceof Number n)) continue;
            int port = n.intValue();
            if (!(request.apply("/ethdev/stats," + port) instanceof Map<?, ?> s)) continue;
            String name = request.apply("/ethdev/info," + port) instanceof Map<?, ?> info && info.get("name") != null
                    ? info.get("name").toString() : "port" + port;
            Map<String, Long> drops = new LinkedHashMap<>();
            if (request.apply("/ethdev/xstats," + port) instanceof Map<?, ?> x) {
                x.forEach((k, v) -> {
                    if (v instanceof Number c && DROP_XSTAT.matcher(k.toString()).matches()) drops.put(k.toString(), c.longValue());
                });
            }
            ports.add(new Port(port, name, link(request.apply("/ethdev/link_status," + port)), num(s, "ipackets"),
                    num(s, "opackets"), num(s, "ibytes"), num(s, "obytes"), num(s, "imissed"), num(s, "ierrors"),
                    num(s, "oerrors"), num(s, "rx_nombuf"), drops));
        }
        List<Pool> pools = new ArrayList<>();
        for (Object name : list(request.apply("/mempool/list"))) {
            if (!(request.apply("/mempool/info," + name) instanceof Map<?, ?> m)) continue;
            pools.add(new Pool(name.toString(), num(m, "size"), m.get("used_count") instanceof Number u ? u.longValue() : null));
        }
        return new TopSample(nanos, ports, lcores(request.apply("/eal/lcore/usage")), pools);
    }

    private static List<?> list(Object reply) {
        return reply instanceof List<?> l ? l : List.of();
    }

    private static long num(Map<?, ?> m, String k) {
        return m.get(k) instanceof Number n ? n.longValue() : 0;
    }

    /** "UP 10 Gbps", "UP" when the speed is unknown, "DOWN". */
    private static String link(Object reply) {
        if (!(reply instanceof Map<?, ?> m) || m.get("status") == null) return "?";
        String status = m.get("status").toString();
        long mbps = num(m, "speed");
        if (!status.equals("UP") || mbps <= 0 || mbps == 0xffffffffL) return status;
        return status + " " + (mbps >= 1000 && mbps % 1000 == 0 ? mbps / 1000 + "G" : mbps + "M");
    }

    /** /eal/lcore/usage: parallel lists of lcore ids, total and busy cycles; null when absent or empty. */
    private static Map<Integer, long[]> lcores(Object reply) {
        if (!(reply instanceof Map<?, ?> m) || !(m.get("lcore_ids") instanceof List<?> ids)
                || !(m.get("total_cycles") instanceof List<?> total) || !(m.get("busy_cycles") instanceof List<?> busy)
                || ids.isEmpty() || ids.size() != total.size() || ids.size() != busy.size()) {
            return null;
        }
        Map<Integer, long[]> r = new java.util.TreeMap<>();
        for (int i = 0; i < ids.size(); i++) {
            if (ids.get(i) instanceof Number id && busy.get(i) instanceof Number b && total.get(i) instanceof Number t) {
                r.put(id.intValue(), new long[] {b.longValue(), t.longValue()});
            }
        }
        return r.isEmpty() ? null : r;
    }
}
