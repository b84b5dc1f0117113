package org.jpdk.eal;

/**
 * A service's body, as DPDK's {@code rte_service_func}: called over and over by the service lcores it
 * is mapped to, it does a bounded amount of work and returns how much (0 when idle), like Agrona's
 * {@code Agent.doWork()}. Idle service lcores back off when every service returns 0.
 */
@FunctionalInterface
public interface ServiceFunction {
    int run();
}
