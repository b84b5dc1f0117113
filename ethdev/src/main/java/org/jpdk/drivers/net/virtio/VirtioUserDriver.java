package org.jpdk.drivers.net.virtio;

import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthDriver;

import java.util.Set;

/**
 * DPDK's net_virtio_user: a virtio-net front end in the process, with the other end of its rings
 * a vhost back end: DPDK's or jpdk's net_vhost, a vhost-user switch, or QEMU's
 * {@code vhost-user-backend} over a Unix socket ({@code path=<socket>}, {@code server=1} to
 * listen), or the kernel's vhost-net ({@code path=/dev/vhost-net}, frames to and from a tap).
 * Devargs as DPDK 22.11's: {@code path}, {@code server}, {@code queues}, {@code queue_size},
 * {@code mac}, {@code packed_vq}, {@code mrg_rxbuf}, {@code in_order}, {@code iface}.
 * {@link VirtioUserDevice} runs the session; {@link VirtioRxQueue} and {@link VirtioTxQueue} the rings.
 */
public final class VirtioUserDriver implements EthDriver {
    @Override
    public String name() {
        return "net_virtio_user";
    }

    @Override
    public Set<String> keys() {
        return Set.of("path", "server", "queues", "queue_size", "mac", "packed_vq", "mrg_rxbuf", "in_order", "iface");
    }

    @Override
    public String usage() {
        return "path=<socket|/dev/vhost-net>,server=0|1,queues=<int>,queue_size=<int>,mac=xx:xx:xx:xx:xx:xx,"
                + "packed_vq=0|1,mrg_rxbuf=0|1,in_order=0|1,iface=<tap name>";
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        return new VirtioUserDevice(port, VirtioUserConfig.parse(args));
    }
}
