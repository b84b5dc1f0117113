package org.jpdk.eal;

/**
 * Whether {@link Eal#mpRemoteLaunch} also runs the function on the main lcore (in the calling thread,
 * after launching the workers) or only on the workers, as DPDK's {@code rte_rmt_call_main_t}.
 */
public enum CallMain {
    CALL_MAIN, SKIP_MAIN
}
