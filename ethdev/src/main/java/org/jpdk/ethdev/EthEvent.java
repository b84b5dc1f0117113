package org.jpdk.ethdev;

/**
 * What happened to a port, for {@link EthEventCallback}s (DPDK's {@code rte_eth_event_type}). Drivers
 * raise the first two from {@link EthDevOps#raiseEvent}; ethdev raises the last two itself.
 */
public enum EthEvent {
    /** The link went up or down (RTE_ETH_EVENT_INTR_LSC); read {@link EthDev#link()} for the new state. */
    LINK_STATE_CHANGE,
    /** The device went away: an interface deleted, a peer gone for good (RTE_ETH_EVENT_INTR_RMV). */
    DEVICE_REMOVED,
    /** A port was probed (RTE_ETH_EVENT_NEW). */
    NEW,
    /** A port was closed (RTE_ETH_EVENT_DESTROY). */
    DESTROY
}
