package org.jpdk.ethdev;

import org.jpdk.mbuf.Mbuf;

/**
 * Runs after the driver on every rx burst of one queue (rte_eth_add_rx_callback): a capture tap, a
 * counter, a filter. It sees {@code pkts[off..off+n)} and returns how many packets the caller
 * gets; to drop some it frees them and moves the kept ones to the front. It runs on the polling
 * lcore and must not allocate or block.
 */
@FunctionalInterface
public interface RxCallback {
    /**
     * @param maxPkts the room the caller gave ({@code pkts[off..off+maxPkts)})
     * @return the packets kept, at most {@code maxPkts}
     */
    int process(int port, int queue, Mbuf[] pkts, int off, int n, int maxPkts);
}
