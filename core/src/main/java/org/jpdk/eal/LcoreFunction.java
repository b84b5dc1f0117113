package org.jpdk.eal;

/**
 * The function launched on an lcore, as DPDK's {@code lcore_function_t}: it receives the lcore id it
 * runs on and returns an int that {@link Eal#waitLcore} hands back. An exception it throws is kept
 * and re-thrown by {@code waitLcore} as an {@link LcoreException} naming the lcore.
 */
@FunctionalInterface
public interface LcoreFunction {
    int run(int lcoreId) throws Exception;
}
