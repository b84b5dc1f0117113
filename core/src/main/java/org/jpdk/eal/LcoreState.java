package org.jpdk.eal;

/**
 * The state of a worker lcore, as DPDK's {@code rte_lcore_state_t}: WAIT for work, RUNNING a launched
 * function, FINISHED with its result not yet collected by {@link Eal#waitLcore}. Only WAIT accepts a
 * new launch; waiting moves FINISHED back to WAIT.
 */
public enum LcoreState {
    WAIT, RUNNING, FINISHED
}
