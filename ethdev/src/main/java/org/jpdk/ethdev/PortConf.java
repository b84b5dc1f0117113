package org.jpdk.ethdev;

/**
 * What {@link EthDev#configure} asks of a port (rte_eth_conf, reduced to what jpdk's drivers act on).
 *
 * @param mtu        the MTU in bytes; 0 for the driver's default (1500 where allowed)
 * @param rxOffloads port-wide rx offloads requested ({@code Offloads.RX_*}), all of which the driver must offer
 * @param txOffloads port-wide tx offloads requested ({@code Offloads.TX_*})
 * @param rssHf      RSS hash functions ({@code Offloads.RSS_*}); 0 disables RSS. Must be a subset
 *                   of {@link DevInfo#flowTypeRssOffloads()}
 * @param rssKey     the RSS key, or null for the driver's default
 * @param lscIntr    ask for link-status-change interrupts (accepted only where the driver has them)
 */
public record PortConf(int mtu, long rxOffloads, long txOffloads, long rssHf, byte[] rssKey, boolean lscIntr) {
    public static final int DEFAULT_MTU = 1500;

    /** No offloads, no RSS, the default MTU. */
    public static PortConf defaults() {
        return new PortConf(0, 0, 0, 0, null, false);
    }

    public PortConf withMtu(int v) {
        return new PortConf(v, rxOffloads, txOffloads, rssHf, rssKey, lscIntr);
    }

    public PortConf withRxOffloads(long v) {
        return new PortConf(mtu, v, txOffloads, rssHf, rssKey, lscIntr);
    }

    public PortConf withTxOffloads(long v) {
        return new PortConf(mtu, rxOffloads, v, rssHf, rssKey, lscIntr);
    }

    public PortConf withRss(long hf, byte[] key) {
        return new PortConf(mtu, rxOffloads, txOffloads, hf, key == null ? null : key.clone(), lscIntr);
    }
}
