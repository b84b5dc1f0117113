package org.jpdk.ethdev;

/**
 * What a port can do (rte_eth_dev_info).
 *
 * @param driverName          the driver ({@code net_null})
 * @param ifName              the kernel interface behind the port, or null
 * @param maxRxQueues         most rx queues
 * @param maxTxQueues         most tx queues
 * @param minRxBufSize        least mbuf data room (after headroom) an rx pool must have
 * @param maxRxPktLen         longest frame it receives
 * @param minMtu              least MTU
 * @param maxMtu              most MTU
 * @param rxOffloadCapa       rx offloads it offers ({@code Offloads.RX_*})
 * @param txOffloadCapa       tx offloads it offers
 * @param flowTypeRssOffloads RSS hash functions it offers ({@code Offloads.RSS_*}); 0 for no RSS
 * @param retaSize            entries of its RSS redirection table, 0 for none
 * @param hashKeySize         bytes of its RSS key, 0 for none
 * @param minDesc             least descriptors per queue
 * @param maxDesc             most descriptors per queue
 * @param defaultDesc         descriptors per queue when setup asks for 0
 * @param speedCapaMbps       the fastest link speed, 0 when unknown
 */
public record DevInfo(String driverName, String ifName, int maxRxQueues, int maxTxQueues, int minRxBufSize,
                      int maxRxPktLen, int minMtu, int maxMtu, long rxOffloadCapa, long txOffloadCapa,
                      long flowTypeRssOffloads, int retaSize, int hashKeySize, int minDesc, int maxDesc,
                      int defaultDesc, int speedCapaMbps) {
}
