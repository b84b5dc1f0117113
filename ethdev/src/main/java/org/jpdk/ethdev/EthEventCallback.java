package org.jpdk.ethdev;

/**
 * Told about a port's {@link EthEvent}s (rte_eth_dev_cb_fn). Callbacks run one at a time, in the
 * order the events were raised, on ethdev's event thread, never on a polling lcore: a callback may
 * call the port's control API (read the link, stop the port) but should not block for long, since
 * the next event waits for it. An exception it throws is logged and does not stop later events.
 */
@FunctionalInterface
public interface EthEventCallback {
    void onEvent(EthDev port, EthEvent event);
}
