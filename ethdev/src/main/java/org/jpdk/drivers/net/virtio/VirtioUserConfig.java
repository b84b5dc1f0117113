package org.jpdk.drivers.net.virtio;

import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.sys.UnixSocket;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The checked devargs of one net_virtio_user port, as DPDK 22.11's: each bad value is refused with
 * one line naming the key, the value and what is allowed.
 *
 * @param path      the back end: a vhost-user socket path, or {@code /dev/vhost-net} for the kernel's vhost-net
 * @param server    {@code server=1}: listen on {@code path} and let the back end connect (and reconnect)
 * @param queues    queue pairs, 1..{@link #MAX_QUEUES} (default 1)
 * @param queueSize descriptors per virtqueue, a power of two 2..32768 (default 256)
 * @param mac       {@code mac}, or null for a random address
 * @param packed    {@code packed_vq=1}: packed virtqueues (VIRTIO_F_RING_PACKED) instead of split ones
 * @param mrgRxbuf  {@code mrg_rxbuf} (default 1): offer VIRTIO_NET_F_MRG_RXBUF, frames spanning several rx buffers
 * @param inOrder   {@code in_order} (default 1): offer VIRTIO_F_IN_ORDER
 * @param iface     {@code iface}: the tap a vhost-net back end attaches to (default: the kernel names it)
 */
record VirtioUserConfig(String path, boolean server, int queues, int queueSize, MacAddr mac, boolean packed,
                        boolean mrgRxbuf, boolean inOrder, String iface) {
    static final int MAX_QUEUES = 8, DEFAULT_QUEUE_SIZE = 256, MAX_QUEUE_SIZE = 32768;

    /** Whether {@code path} names the kernel's vhost-net rather than a vhost-user socket. */
    boolean kernel() {
        return path.startsWith("/dev/vhost-");
    }

    static VirtioUserConfig parse(Devargs args) {
        String path = args.get("path");
        if (path == null || path.isEmpty()) {
            throw args.error("path", path == null ? "" : path, "required: a vhost-user socket (or /dev/vhost-net)");
        }
        boolean server = args.boolValue("server", false);
        if (path.startsWith("/dev/vhost-vdpa")) {
            throw args.error("path", path, "vhost-vdpa back ends are not supported (see docs/drivers/virtio_user.md)");
        }
        boolean kernel = path.startsWith("/dev/vhost-");
        if (kernel && server) throw args.error("server", "1", "a vhost-net back end is a device, not a socket; drop server=1");
        if (!kernel) {
            int bytes = path.getBytes(StandardCharsets.UTF_8).length;
            if (bytes >= UnixSocket.PATH_MAX) {
                throw args.error("path", path, bytes + " bytes; a Unix socket address holds at most " + (UnixSocket.PATH_MAX - 1));
            }
            if (server) {
                Path dir = Path.of(path).toAbsolutePath().getParent();
                if (dir == null || !Files.isDirectory(dir) || !Files.isWritable(dir)) {
                    throw args.error("path", path, "the directory " + dir + " does not exist or is not writable");
                }
            }
        }
        int queues = args.intValue("queues", 1, 1, MAX_QUEUES);
        int qsize = args.intValue("queue_size", DEFAULT_QUEUE_SIZE, 2, MAX_QUEUE_SIZE);
        if (Integer.bitCount(qsize) != 1) throw args.error("queue_size", args.get("queue_size"), "not a power of two");
        MacAddr mac = null;
        String m = args.get("mac");
        if (m != null) {
            try {
                mac = MacAddr.parse(m);
            } catch (IllegalArgumentException e) {
                throw args.error("mac", m, "not a MAC address; expected xx:xx:xx:xx:xx:xx");
            }
            if (mac.isMulticast() || mac.isZero()) throw args.error("mac", m, "not a unicast address");
        }
        boolean packed = args.boolValue("packed_vq", false);
        boolean mrg = args.boolValue("mrg_rxbuf", true);
        boolean inOrder = args.boolValue("in_order", true);
        String iface = args.get("iface");
        if (iface != null && !kernel) throw args.error("iface", iface, "only with a vhost-net back end (path=/dev/vhost-net)");
        if (iface != null && (iface.isEmpty() || iface.length() > 15)) throw args.error("iface", iface, "1..15 characters");
        return new VirtioUserConfig(path, server, queues, qsize, mac, packed, mrg, inOrder, iface);
    }
}
