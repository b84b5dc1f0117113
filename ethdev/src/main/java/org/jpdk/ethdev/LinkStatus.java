package org.jpdk.ethdev;

/**
 * A port's link (rte_eth_link).
 *
 * @param speedMbps  speed in Mb/s, 0 when unknown ({@link #SPEED_UNKNOWN})
 * @param fullDuplex full or half duplex
 * @param autoneg    autonegotiated or fixed
 * @param up         link up
 */
public record LinkStatus(int speedMbps, boolean fullDuplex, boolean autoneg, boolean up) {
    public static final int SPEED_UNKNOWN = 0;
    public static final int SPEED_10G = 10_000;
    public static final LinkStatus DOWN = new LinkStatus(SPEED_UNKNOWN, true, false, false);

    /** As testpmd prints it: {@code Link Up - speed 10 Gbps - full-duplex}. */
    @Override
    public String toString() {
        if (!up) return "Link Down";
        String speed = speedMbps == SPEED_UNKNOWN ? "Unknown"
                : speedMbps % 1000 == 0 ? speedMbps / 1000 + " Gbps" : speedMbps + " Mbps";
        return "Link Up - speed " + speed + " - " + (fullDuplex ? "full" : "half") + "-duplex";
    }
}
