package org.jpdk.ethdev;

import org.jpdk.mbuf.Mbuf;

/**
 * Runs before the driver on every tx burst of one queue (rte_eth_add_tx_callback). It sees
 * {@code pkts[off..off+n)} and returns how many of them, from the front, go to the driver; packets
 * it drops it frees itself and moves the kept ones to the front. The caller still owns (and frees)
 * whatever the driver does not take. It runs on the polling lcore and must not allocate or block.
 */
@FunctionalInterface
public interface TxCallback {
    int process(int port, int queue, Mbuf[] pkts, int off, int n);
}
