package org.jpdk.ethdev;

import java.util.List;
import java.util.Set;

/**
 * A poll-mode driver, found through {@link java.util.ServiceLoader} (list it in
 * {@code META-INF/services/org.jpdk.ethdev.EthDriver}). A {@code --vdev} device whose name starts
 * with {@link #name()} or an alias ({@code net_null0}, {@code eth_null0}) is probed by it.
 */
public interface EthDriver {
    /** DPDK's driver name: {@code net_null}, {@code net_pcap}. */
    String name();

    /** Older names it also answers to ({@code eth_null}). */
    default List<String> aliases() {
        return List.of();
    }

    /** The devargs keys it accepts; any other is refused before {@link #probe}. */
    Set<String> keys();

    /** One line of its devargs for help and errors: {@code size=<int>,copy=<0|1>}. */
    default String usage() {
        return "";
    }

    /**
     * Creates the driver side of {@code port}, a new port not yet published, from checked-key
     * devargs; the returned ops are constructed with {@code port} ({@link EthDevOps#EthDevOps(EthDev)}).
     * Bad values throw {@link org.jpdk.eal.EalArgumentException} (see {@link Devargs#error}); a
     * resource that cannot be had throws {@link EthDevException}. A failed probe leaves no port.
     */
    EthDevOps probe(EthDev port, Devargs args);
}
