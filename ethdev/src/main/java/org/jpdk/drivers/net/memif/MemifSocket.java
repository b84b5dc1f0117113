package org.jpdk.drivers.net.memif;

import org.jpdk.sys.UnixSocket;

import java.util.ArrayList;
import java.util.List;

/**
 * One memif socket address and the ports on it, as DPDK's {@code memif_socket}: several
 * interfaces (ids) share one socket, a server listens on it once for all of them and matches each
 * client's INIT to a port by id. Two ports of the same role may not share an id. The listener
 * exists while a server port is registered. Guarded by {@link MemifControl}'s lock.
 */
final class MemifSocket {
    final String key;
    final String path;
    final boolean abstractName;
    final List<MemifDevice> devices = new ArrayList<>();
    UnixSocket listener;
    long listenerTag;

    MemifSocket(String key, String path, boolean abstractName) {
        this.key = key;
        this.path = path;
        this.abstractName = abstractName;
    }

    /** The started server port of interface {@code id}, or null. */
    MemifDevice server(long id) {
        for (MemifDevice d : devices) if (d.cfg.server() && d.cfg.id() == id) return d;
        return null;
    }

    boolean hasServers() {
        for (MemifDevice d : devices) if (d.cfg.server()) return true;
        return false;
    }

    String name() {
        return UnixSocket.describe(path, abstractName);
    }
}
