package org.jpdk.app.procinfo;

import org.jpdk.app.App;
import org.jpdk.sys.LinuxException;
import org.jpdk.telemetry.TelemetryClient;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * DPDK's {@code dpdk-proc-info}, reading a running app (jpdk's or DPDK's) through its telemetry
 * socket instead of attaching as a secondary process: {@code ./jpdk proc-info [--file-prefix P]
 * -- --stats | --xstats | --show-port | --show-mempool | --show-ring | --stats-reset [-p MASK]}.
 * The layout of each section is dpdk-proc-info's. {@code --stats-reset} needs jpdk's
 * {@code /ethdev/stats_reset}: DPDK's telemetry is read-only, so against a DPDK app it says so.
 */
public final class ProcInfo {
    private static final String BORDER = "########################";

    private final TelemetryClient c;
    private final PrintStream out;

    private ProcInfo(TelemetryClient c, PrintStream out) {
        this.c = c;
        this.out = out;
    }

    /** The {@code ./jpdk proc-info} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "proc-info";
        }

        @Override
        public String summary() {
            return "DPDK's dpdk-proc-info: a running app's ports, stats, pools, rings (over telemetry)";
        }

        @Override
        public void main(String[] args) {
            int rc = run(args, System.out, System.err);
            if (rc != 0) System.exit(rc);
        }
    }

    static final String USAGE = """
            usage: jpdk proc-info [--file-prefix PREFIX] -- [-p PORTMASK] OPTION...
              reads a running jpdk or DPDK app through its telemetry socket
              --file-prefix PREFIX  the app's --file-prefix (default rte)
              -p PORTMASK           hex mask of the ports to show (default: all)
              --stats               basic port statistics
              --xstats              extended port statistics
              --stats-reset         reset the port statistics (jpdk apps only: DPDK's telemetry is read-only)
              --show-port           port information and link
              --show-mempool        mempools
              --show-ring           rings
            """;

    /** The options after {@code --}. */
    record Options(String prefix, long portMask, List<String> sections) {
    }

    static Options parse(String[] args) {
        String prefix = "rte";
        int i = 0;
        for (; i < args.length && !args[i].equals("--"); i++) {
            String a = args[i];
            if (a.equals("--file-prefix")) {
                if (i + 1 >= args.length) throw new IllegalArgumentException("--file-prefix: missing value");
                prefix = args[++i];
            } else if (a.startsWith("--file-prefix=")) {
                prefix = a.substring("--file-prefix=".length());
            } else if (a.equals("-h") || a.equals("--help")) {
                return new Options(prefix, -1, List.of("help"));
            } else {
                throw new IllegalArgumentException("'" + a + "': the only EAL option proc-info reads is --file-prefix"
                        + " (it reads the app through its telemetry socket)");
            }
        }
        if (prefix.isEmpty() || prefix.indexOf('/') >= 0) throw new IllegalArgumentException("--file-prefix '" + prefix + "': not a file prefix");
        long mask = -1;
        List<String> sections = new ArrayList<>();
        for (i++; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--stats", "--xstats", "--stats-reset", "--show-port", "--show-mempool", "--show-ring" -> sections.add(a);
                case "-h", "--help" -> sections.add("help");
                case "-p" -> {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("-p: missing value; expected a hex port mask like 0x3");
                    String v = args[++i];
                    try {
                        mask = Long.parseUnsignedLong(v.startsWith("0x") || v.startsWith("0X") ? v.substring(2) : v, 16);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("-p " + v + ": not a hex port mask; expected e.g. 0x3");
                    }
                    if (mask == 0) throw new IllegalArgumentException("-p " + v + ": no port selected");
                }
                default -> throw new IllegalArgumentException("unknown option '" + a + "'; --help lists them");
            }
        }
        if (sections.isEmpty()) sections.add("--stats"); // dpdk-proc-info's default
        return new Options(prefix, mask, sections);
    }

    /** Runs proc-info; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            err.println("proc-info: " + e.getMessage());
            return 1;
        }
        if (o.sections().contains("help")) {
            out.print(USAGE);
            return 0;
        }
        try (TelemetryClient c = TelemetryClient.connect(o.prefix())) {
            ProcInfo p = new ProcInfo(c, out);
            List<Integer> ports = new ArrayList<>();
            for (Object id : p.list("/ethdev/list")) {
                int n = ((Number) id).intValue();
                if (n < 64 && (o.portMask() & (1L << n)) != 0) ports.add(n);
            }
            for (String s : o.sections()) {
                switch (s) {
                    case "--stats" -> ports.forEach(p::stats);
                    case "--xstats" -> ports.forEach(p::xstats);
                    case "--stats-reset" -> {
                        if (!p.list("/").contains("/ethdev/stats_reset")) {
                            err.println("proc-info: --stats-reset: the app at prefix " + o.prefix()
                                    + " has no /ethdev/stats_reset command (DPDK's telemetry is read-only)");
                            return 1;
                        }
                        for (int port : ports) {
                            c.request("/ethdev/stats_reset," + port);
                            out.printf("  Port %d statistics reset%n", port);
                        }
                    }
                    case "--show-port" -> ports.forEach(p::showPort);
                    case "--show-mempool" -> p.showMempools();
                    case "--show-ring" -> p.showRings();
                    default -> throw new IllegalStateException(s);
                }
            }
            out.flush();
            return 0;
        } catch (LinuxException e) {
            err.println("proc-info: no app with --file-prefix " + o.prefix() + " is running (telemetry socket: "
                    + e.getMessage() + ")");
            return 1;
        } catch (IllegalStateException | IllegalArgumentException | ClassCastException e) {
            err.println("proc-info: " + e.getMessage());
            return 1;
        }
    }

    private List<?> list(String cmd) {
        Object v = c.request(cmd);
        if (!(v instanceof List<?> l)) throw new IllegalStateException(cmd + ": unexpected reply " + v);
        return l;
    }

    private Map<?, ?> dict(String cmd) {
        Object v = c.request(cmd);
        if (!(v instanceof Map<?, ?> m)) throw new IllegalStateException(cmd + ": no such object (reply " + v + ")");
        return m;
    }

    private static long num(Map<?, ?> m, String k) {
        return m.get(k) instanceof Number n ? n.longValue() : 0;
    }

    private static long at(Map<?, ?> m, String k, int i) {
        return m.get(k) instanceof List<?> l && i < l.size() && l.get(i) instanceof Number n ? n.longValue() : 0;
    }

    /** nic_stats_display. */
    private void stats(int port) {
        Map<?, ?> s = dict("/ethdev/stats," + port);
        out.printf("%n  %s NIC statistics for port %-2d %s%n", BORDER, port, BORDER);
        out.printf("  RX-packets: %-10d  RX-errors:  %-10d  RX-bytes:  %-10d%n", num(s, "ipackets"), num(s, "ierrors"), num(s, "ibytes"));
        out.printf("  RX-nombuf:  %-10d%n", num(s, "rx_nombuf"));
        out.printf("  TX-packets: %-10d  TX-errors:  %-10d  TX-bytes:  %-10d%n", num(s, "opackets"), num(s, "oerrors"), num(s, "obytes"));
        out.println();
        int queues = s.get("q_ipackets") instanceof List<?> l ? l.size() : 0;
        for (int i = 0; i < queues; i++) {
            out.printf("  Stats reg %2d RX-packets: %-10d  RX-errors: %-10d  RX-bytes: %-10d%n", i,
                    at(s, "q_ipackets", i), at(s, "q_errors", i), at(s, "q_ibytes", i));
        }
        out.println();
        for (int i = 0; i < queues; i++) {
            out.printf("  Stats reg %2d TX-packets: %-10d  TX-bytes: %-10d%n", i, at(s, "q_opackets", i), at(s, "q_obytes", i));
        }
        out.printf("  %s############################%s%n", BORDER, BORDER);
    }

    /** nic_xstats_display. */
    private void xstats(int port) {
        Map<?, ?> x = dict("/ethdev/xstats," + port);
        out.printf("###### NIC extended statistics for port %-2d #########%n", port);
        out.printf("%s############################%n", BORDER);
        x.forEach((k, v) -> out.printf("%s: %s%n", k, v));
        out.printf("%s############################%n", BORDER);
    }

    /** show_port. */
    private void showPort(int port) {
        Map<?, ?> info = dict("/ethdev/info," + port);
        Map<?, ?> link = dict("/ethdev/link_status," + port);
        out.printf("  - port (%d) %s%n", port, info.get("name"));
        out.printf("   - generic config%n");
        out.printf("\t  -- Socket %s%n", info.get("numa_node"));
        out.printf("\t  -- link speed %s duplex %s status %s%n", num(link, "speed"),
                link.containsKey("duplex") ? link.get("duplex") : "unknown", link.get("status"));
        out.printf("\t  -- promiscuous (%s)%n", num(info, "promiscuous") != 0 ? "enabled" : "disabled");
        out.printf("\t  -- all multicast (%s)%n", num(info, "all_multicast") != 0 ? "enabled" : "disabled");
        out.printf("\t  -- mtu (%s)%n", info.get("mtu"));
        out.printf("\t  -- mac %s%n", info.get("mac_addr"));
        out.printf("\t  -- started %s%n", num(info, "dev_started") != 0 ? "yes" : "no");
        out.printf("\t  -- rx queues %s tx queues %s%n", info.get("nb_rx_queues"), info.get("nb_tx_queues"));
        if (info.get("rx_mbuf_alloc_fail") != null) out.printf("\t  -- rx mbuf alloc fail %s%n", info.get("rx_mbuf_alloc_fail"));
    }

    /** show_mempool. */
    private void showMempools() {
        out.printf("%s ############################ %s%n", BORDER, BORDER);
        for (Object name : list("/mempool/list")) {
            Map<?, ?> m = dict("/mempool/info," + name);
            out.printf("  - Name: %s on socket %s%n", name, m.get("socket_id"));
            out.printf("  - flags: 0x%x%n", num(m, "flags"));
            out.printf("  - Size %d Cache %d element %d%n", num(m, "size"), num(m, "cache_size"), num(m, "elt_size"));
            out.printf("  - header %d trailer %d%n", num(m, "header_size"), num(m, "trailer_size"));
            out.printf("  - private data size %d%n", num(m, "private_data_size"));
            if (m.get("avail_count") != null) { // jpdk's; DPDK 22.11's reply has no counts
                out.printf("  - count: avail (%d), in use (%d)%n", num(m, "avail_count"), num(m, "used_count"));
            }
        }
        out.printf("%s ############################ %s%n", BORDER, BORDER);
    }

    /** show_ring. */
    private void showRings() {
        out.printf("%s ############################ %s%n", BORDER, BORDER);
        Object rings = c.request("/ring/list");
        if (rings == null) out.println("  (the app has no /ring/list command: DPDK before 23.03)");
        for (Object name : rings instanceof List<?> l ? l : List.of()) {
            Map<?, ?> r = dict("/ring/info," + name);
            out.printf("  - Name (%s) on socket (%s)%n", name, r.get("socket"));
            out.printf("  - flags:%n");
            out.printf("\t  -- Single Producer Enqueue (%d)%n", "SP".equals(r.get("producer_type")) ? 1 : 0);
            out.printf("\t  -- Single Consumer Dequeue (%d)%n", "SC".equals(r.get("consumer_type")) ? 1 : 0);
            out.printf("  - size (%d) mask (%s) capacity (%d)%n", num(r, "size"), r.get("mask"), num(r, "capacity"));
            out.printf("  - count (%d) free count (%d)%n", num(r, "used_count"), num(r, "capacity") - num(r, "used_count"));
        }
        out.printf("%s ############################ %s%n", BORDER, BORDER);
    }
}
