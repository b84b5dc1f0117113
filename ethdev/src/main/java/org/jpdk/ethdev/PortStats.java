package org.jpdk.ethdev;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A port's statistics as the application sees them (rte_eth_stats_get, rte_eth_xstats_get): the
 * sum of its queues' counters, which only the polling lcores write, minus a baseline taken at
 * reset, plus what queues released by a reconfiguration had counted, so that counters never go
 * backwards within a run. Every method runs under the port's lock, on a control thread.
 */
final class PortStats {
    private final EthStats baseline = new EthStats();
    private final Map<String, Long> xstatsBaseline = new TreeMap<>();
    private final EthStats released = new EthStats();

    EthStats stats(RxQueue[] rxq, TxQueue[] txq, EthDevOps ops) {
        EthStats s = raw(rxq, txq, ops);
        s.subtract(baseline);
        return s;
    }

    void reset(RxQueue[] rxq, TxQueue[] txq, EthDevOps ops) {
        EthStats now = raw(rxq, txq, ops);
        EthStats b = baseline;
        b.ipackets = now.ipackets;
        b.opackets = now.opackets;
        b.ibytes = now.ibytes;
        b.obytes = now.obytes;
        b.imissed = now.imissed;
        b.ierrors = now.ierrors;
        b.oerrors = now.oerrors;
        b.rxNombuf = now.rxNombuf;
        System.arraycopy(now.qIpackets, 0, b.qIpackets, 0, EthStats.QUEUE_STAT_COUNTERS);
        System.arraycopy(now.qOpackets, 0, b.qOpackets, 0, EthStats.QUEUE_STAT_COUNTERS);
        System.arraycopy(now.qIbytes, 0, b.qIbytes, 0, EthStats.QUEUE_STAT_COUNTERS);
        System.arraycopy(now.qObytes, 0, b.qObytes, 0, EthStats.QUEUE_STAT_COUNTERS);
        System.arraycopy(now.qErrors, 0, b.qErrors, 0, EthStats.QUEUE_STAT_COUNTERS);
        xstatsBaseline.clear();
        for (Xstat x : rawXstats(rxq, txq, ops)) xstatsBaseline.put(x.name(), x.value());
    }

    /** DPDK's generic xstats (rx_good_packets, ..., rx_q0_packets, ...) then the driver's, since the last reset. */
    List<Xstat> xstats(RxQueue[] rxq, TxQueue[] txq, EthDevOps ops) {
        List<Xstat> raw = rawXstats(rxq, txq, ops);
        List<Xstat> out = new ArrayList<>(raw.size());
        for (Xstat x : raw) out.add(new Xstat(x.name(), x.value() - xstatsBaseline.getOrDefault(x.name(), 0L)));
        return out;
    }

    /** Keeps the counts of a queue that is being released. */
    void released(RxQueue q) {
        released.ipackets += q.packets();
        released.ibytes += q.bytes();
        released.ierrors += q.errors();
        released.imissed += q.missed();
        released.rxNombuf += q.nombuf();
    }

    void released(TxQueue q) {
        released.opackets += q.packets();
        released.obytes += q.bytes();
        released.oerrors += q.errors();
    }

    private List<Xstat> rawXstats(RxQueue[] rxq, TxQueue[] txq, EthDevOps ops) {
        EthStats s = raw(rxq, txq, ops);
        List<Xstat> l = new ArrayList<>();
        l.add(new Xstat("rx_good_packets", s.ipackets));
        l.add(new Xstat("tx_good_packets", s.opackets));
        l.add(new Xstat("rx_good_bytes", s.ibytes));
        l.add(new Xstat("tx_good_bytes", s.obytes));
        l.add(new Xstat("rx_missed_errors", s.imissed));
        l.add(new Xstat("rx_errors", s.ierrors));
        l.add(new Xstat("tx_errors", s.oerrors));
        l.add(new Xstat("rx_mbuf_allocation_errors", s.rxNombuf));
        for (int i = 0; i < Math.min(rxq.length, EthStats.QUEUE_STAT_COUNTERS); i++) {
            l.add(new Xstat("rx_q" + i + "_packets", s.qIpackets[i]));
            l.add(new Xstat("rx_q" + i + "_bytes", s.qIbytes[i]));
            l.add(new Xstat("rx_q" + i + "_errors", s.qErrors[i]));
        }
        for (int i = 0; i < Math.min(txq.length, EthStats.QUEUE_STAT_COUNTERS); i++) {
            l.add(new Xstat("tx_q" + i + "_packets", s.qOpackets[i]));
            l.add(new Xstat("tx_q" + i + "_bytes", s.qObytes[i]));
        }
        l.addAll(ops.xstats());
        return l;
    }

    private EthStats raw(RxQueue[] rxq, TxQueue[] txq, EthDevOps ops) {
        EthStats s = new EthStats();
        EthStats r = released;
        s.ipackets = r.ipackets;
        s.ibytes = r.ibytes;
        s.ierrors = r.ierrors + ops.ierrors();
        s.imissed = r.imissed + ops.imissed();
        s.rxNombuf = r.rxNombuf;
        s.opackets = r.opackets;
        s.obytes = r.obytes;
        s.oerrors = r.oerrors + ops.oerrors();
        for (int i = 0; i < rxq.length; i++) {
            RxQueue q = rxq[i];
            if (q == null) continue;
            long p = q.packets(), b = q.bytes(), e = q.errors();
            s.ipackets += p;
            s.ibytes += b;
            s.ierrors += e;
            s.imissed += q.missed();
            s.rxNombuf += q.nombuf();
            if (i < EthStats.QUEUE_STAT_COUNTERS) {
                s.qIpackets[i] = p;
                s.qIbytes[i] = b;
                s.qErrors[i] = e;
            }
        }
        for (int i = 0; i < txq.length; i++) {
            TxQueue q = txq[i];
            if (q == null) continue;
            long p = q.packets(), b = q.bytes();
            s.opackets += p;
            s.obytes += b;
            s.oerrors += q.errors();
            if (i < EthStats.QUEUE_STAT_COUNTERS) {
                s.qOpackets[i] = p;
                s.qObytes[i] = b;
            }
        }
        return s;
    }
}
