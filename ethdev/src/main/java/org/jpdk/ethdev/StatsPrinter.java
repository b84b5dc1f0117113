package org.jpdk.ethdev;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * The statistics blocks DPDK's apps print, in their layouts, for jpdk's apps to share: l2fwd's
 * and l3fwd's "Port statistics" (packets sent, received and dropped per port, then the
 * aggregate) and testpmd's "NIC statistics" with the rates since the previous call. One printer
 * per app, used from its control thread; it reads counters, never writes them.
 */
public final class StatsPrinter {
    /** The ANSI sequence DPDK's apps print before periodic statistics on a terminal. */
    public static final String CLEAR_SCREEN = "\033[2J\033[1;1H";

    private final long[] prevNs = new long[EthDev.MAX_PORTS], prevRx = new long[EthDev.MAX_PORTS],
            prevTx = new long[EthDev.MAX_PORTS], prevRxBytes = new long[EthDev.MAX_PORTS], prevTxBytes = new long[EthDev.MAX_PORTS];

    /** Whether {@code out} is this process's terminal (then periodic blocks clear the screen first). */
    public static boolean isTerminal(PrintStream out) {
        java.io.Console c = System.console();
        return out == System.out && c != null && c.isTerminal();
    }

    /**
     * l2fwd's print_stats: for each of {@code ports}, the packets sent, received and dropped
     * (arrays indexed by port id), then the totals.
     */
    public static String portStatistics(List<EthDev> ports, long[] sent, long[] received, long[] dropped) {
        StringBuilder sb = new StringBuilder("\nPort statistics ====================================");
        long totRx = 0, totTx = 0, totDropped = 0;
        for (EthDev p : ports) {
            int id = p.id();
            sb.append(String.format("%nStatistics for port %d ------------------------------"
                    + "%nPackets sent: %24d%nPackets received: %20d%nPackets dropped: %21d", id, sent[id], received[id], dropped[id]));
            totRx += received[id];
            totTx += sent[id];
            totDropped += dropped[id];
        }
        sb.append(String.format("%nAggregate statistics ==============================="
                + "%nTotal packets sent: %18d%nTotal packets received: %14d%nTotal packets dropped: %15d", totTx, totRx, totDropped));
        sb.append("\n====================================================\n");
        return sb.toString();
    }

    /** testpmd's nic_stats_display for port {@code p}, with packet and bit rates since this printer last showed it. */
    public String nicStats(EthDev p) {
        EthStats s = p.stats();
        int id = p.id();
        long ns = System.nanoTime();
        long diffNs = prevNs[id] != 0 ? ns - prevNs[id] : 0;
        prevNs[id] = ns;
        long dRx = Math.max(0, s.ipackets - prevRx[id]), dTx = Math.max(0, s.opackets - prevTx[id]);
        long dRxB = Math.max(0, s.ibytes - prevRxBytes[id]), dTxB = Math.max(0, s.obytes - prevTxBytes[id]);
        prevRx[id] = s.ipackets;
        prevTx[id] = s.opackets;
        prevRxBytes[id] = s.ibytes;
        prevTxBytes[id] = s.obytes;
        long ppsRx = diffNs > 0 ? (long) ((double) dRx / diffNs * 1e9) : 0;
        long ppsTx = diffNs > 0 ? (long) ((double) dTx / diffNs * 1e9) : 0;
        long bpsRx = diffNs > 0 ? (long) ((double) dRxB / diffNs * 1e9) * 8 : 0;
        long bpsTx = diffNs > 0 ? (long) ((double) dTxB / diffNs * 1e9) * 8 : 0;
        String border = "########################";
        return String.format(Locale.ROOT, """

                  %s NIC statistics for port %-2d %s
                  RX-packets: %-10d RX-missed: %-10d RX-bytes:  %d
                  RX-errors: %d
                  RX-nombuf:  %-10d
                  TX-packets: %-10d TX-errors: %-10d TX-bytes:  %d

                  Throughput (since last show)
                  Rx-pps: %12d          Rx-bps: %12d
                  Tx-pps: %12d          Tx-bps: %12d
                  %s############################%s
                """, border, id, border, s.ipackets, s.imissed, s.ibytes, s.ierrors, s.rxNombuf, s.opackets, s.oerrors,
                s.obytes, ppsRx, bpsRx, ppsTx, bpsTx, border, border);
    }

    /** Forgets the counts port {@code id} showed last, after they were reset (the time stays, so the next rate is right). */
    public void forget(int id) {
        prevRx[id] = prevTx[id] = prevRxBytes[id] = prevTxBytes[id] = 0;
    }
}
