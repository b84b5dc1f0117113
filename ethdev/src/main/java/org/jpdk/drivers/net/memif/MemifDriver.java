package org.jpdk.drivers.net.memif;

import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthDriver;

import java.util.List;
import java.util.Set;

/**
 * DPDK's net_memif (alias eth_memif): a port whose wire is shared memory with another process,
 * the memif protocol 2.0 of VPP's libmemif and DPDK, interoperable with both in both roles.
 * Devargs as DPDK 22.11's: {@code id}, {@code role=server|client}, {@code bsize}, {@code rsize},
 * {@code socket}, {@code socket-abstract} (yes by default), {@code mac}, {@code secret},
 * {@code zero-copy=yes|no}. The client owns the memory (rings, and buffers or, in zero-copy mode,
 * its own mbufs) and hands it to the server as file descriptors over the socket; the server maps
 * it and checks everything the client says before using it. A C2S ring per client tx queue, an
 * S2C ring per client rx queue; the server's queues mirror them. {@link MemifControl} runs the
 * protocol on a thread of its own; the queues ({@link MemifRxQueue}, {@link MemifTxQueue}) run the
 * rings on the lcores, with nothing allocated and no syscall per packet.
 */
public final class MemifDriver implements EthDriver {
    @Override
    public String name() {
        return "net_memif";
    }

    @Override
    public List<String> aliases() {
        return List.of("eth_memif");
    }

    @Override
    public Set<String> keys() {
        return Set.of("id", "role", "bsize", "rsize", "socket", "socket-abstract", "mac", "secret", "zero-copy");
    }

    @Override
    public String usage() {
        return "id=<int>,role=server|client,bsize=<int>,rsize=<int>,socket=<path>,socket-abstract=yes|no,"
                + "mac=xx:xx:xx:xx:xx:xx,zero-copy=yes|no,secret=<string>";
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        MemifConfig cfg = MemifConfig.parse(args);
        MemifControl ctl = MemifControl.get();
        MemifDevice dev = new MemifDevice(port, cfg, ctl);
        try {
            ctl.register(dev);
        } catch (RuntimeException e) {
            ctl.unregister(dev); // stops the control thread if no other port needs it
            throw e;
        }
        return dev;
    }
}
