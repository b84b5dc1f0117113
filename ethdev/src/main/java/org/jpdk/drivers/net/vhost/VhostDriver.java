package org.jpdk.drivers.net.vhost;

import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthDriver;

import java.util.List;
import java.util.Set;

/**
 * DPDK's net_vhost (alias eth_vhost): a port whose wire is a virtio-net device of another
 * process, a QEMU guest or DPDK's virtio-user, served over a vhost-user socket. The front end
 * hands over its memory (file descriptors in SET_MEM_TABLE) and its virtqueues; this back end
 * maps the memory as bounded segments, checks every descriptor the front end writes, and copies
 * frames between the vrings and mbufs: rx queue q serves the front end's transmit vring 2q+1,
 * tx queue q its receive vring 2q. Devargs as DPDK's: {@code iface=<socket path>},
 * {@code queues=<n>}, {@code client=0|1}, {@code iommu-support=0} (1 is refused: no IOTLB),
 * {@code postcopy-support=0}, {@code tso=0|1}, {@code linear-buffer=0|1}, {@code ext-buffer=0|1},
 * {@code legacy-ol-flags=0|1}.
 */
public final class VhostDriver implements EthDriver {
    @Override
    public String name() {
        return "net_vhost";
    }

    @Override
    public List<String> aliases() {
        return List.of("eth_vhost");
    }

    @Override
    public Set<String> keys() {
        return Set.of("iface", "queues", "client", "iommu-support", "postcopy-support", "tso", "linear-buffer", "ext-buffer",
                "legacy-ol-flags");
    }

    @Override
    public String usage() {
        return "iface=<path>,queues=<int>,client=<0|1>,iommu-support=<0>,postcopy-support=<0>,tso=<0|1>,"
                + "linear-buffer=<0|1>,ext-buffer=<0|1>,legacy-ol-flags=<0|1>";
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        return new VhostDevice(port, VhostConfig.parse(args));
    }
}
