package org.jpdk.ethdev;

/**
 * A snapshot of a port's basic statistics (rte_eth_stats), since start or the last reset. Per-queue
 * arrays cover the first {@link #QUEUE_STAT_COUNTERS} queues, as DPDK's.
 */
public final class EthStats {
    /** As RTE_ETHDEV_QUEUE_STAT_CNTRS. */
    public static final int QUEUE_STAT_COUNTERS = 16;

    public long ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rxNombuf;
    public final long[] qIpackets = new long[QUEUE_STAT_COUNTERS], qOpackets = new long[QUEUE_STAT_COUNTERS],
            qIbytes = new long[QUEUE_STAT_COUNTERS], qObytes = new long[QUEUE_STAT_COUNTERS],
            qErrors = new long[QUEUE_STAT_COUNTERS];

    /** {@code this - base}, field by field, into this: the counts between two snapshots. */
    public void subtract(EthStats base) {
        ipackets -= base.ipackets;
        opackets -= base.opackets;
        ibytes -= base.ibytes;
        obytes -= base.obytes;
        imissed -= base.imissed;
        ierrors -= base.ierrors;
        oerrors -= base.oerrors;
        rxNombuf -= base.rxNombuf;
        for (int i = 0; i < QUEUE_STAT_COUNTERS; i++) {
            qIpackets[i] -= base.qIpackets[i];
            qOpackets[i] -= base.qOpackets[i];
            qIbytes[i] -= base.qIbytes[i];
            qObytes[i] -= base.qObytes[i];
            qErrors[i] -= base.qErrors[i];
        }
    }

    @Override
    public String toString() {
        return "ipackets=" + ipackets + " ibytes=" + ibytes + " imissed=" + imissed + " ierrors=" + ierrors
                + " rx_nombuf=" + rxNombuf + " opackets=" + opackets + " obytes=" + obytes + " oerrors=" + oerrors;
    }
}
