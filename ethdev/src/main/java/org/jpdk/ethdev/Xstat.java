package org.jpdk.ethdev;

/** One extended statistic (rte_eth_xstat with its name): {@code rx_good_packets}, {@code rx_q0_bytes}. */
public record Xstat(String name, long value) {
}
