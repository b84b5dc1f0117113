package org.jpdk.drivers.net.vhost;

import org.jpdk.ethdev.Devargs;
import org.jpdk.sys.UnixSocket;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The checked devargs of one net_vhost port, as DPDK's: every value is refused with one line
 * naming the key, the value and what is allowed.
 *
 * @param iface        the vhost-user socket path (required)
 * @param queues       queue pairs offered to the front end, 1..{@value #MAX_QUEUES} (default 1)
 * @param client       {@code client=1}: connect to the front end's socket (and reconnect) instead of listening
 * @param tso          {@code tso=1}: offer TSO (HOST_TSO4/6, GUEST_TSO4/6); checksum offload is offered always
 * @param linearBuffer {@code linear-buffer=1}: never chain mbufs for a frame from the front end (drop what does not fit)
 * @param extBuffer    {@code ext-buffer=1}: a frame longer than an mbuf gets one external buffer from the heap
 */
record VhostConfig(String iface, int queues, boolean client, boolean tso, boolean linearBuffer, boolean extBuffer) {
    static final int MAX_QUEUES = 128;

    static VhostConfig parse(Devargs args) {
        String iface = args.get("iface");
        if (iface == null) throw args.error("iface", "(missing)", "give the vhost-user socket path, e.g. iface=/tmp/vhost-user0");
        int bytes = iface.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0) throw args.error("iface", iface, "empty; give a socket path such as /tmp/vhost-user0");
        if (bytes >= UnixSocket.PATH_MAX) {
            throw args.error("iface", iface, bytes + " bytes; a Unix socket address holds at most " + (UnixSocket.PATH_MAX - 1));
        }
        int queues = args.intValue("queues", 1, 1, MAX_QUEUES);
        boolean client = flag(args, "client");
        if (flag(args, "iommu-support")) {
            throw args.error("iommu-support", args.get("iommu-support"),
                    "jpdk's vhost has no IOTLB (VIRTIO_F_ACCESS_PLATFORM): run the front end without an IOMMU and use iommu-support=0");
        }
        if (flag(args, "postcopy-support")) {
            throw args.error("postcopy-support", args.get("postcopy-support"),
                    "jpdk's vhost has no postcopy live migration (userfaultfd): use postcopy-support=0");
        }
        boolean tso = flag(args, "tso");
        boolean linear = flag(args, "linear-buffer");
        boolean ext = flag(args, "ext-buffer");
        if (!client) {
            Path dir = Path.of(iface).toAbsolutePath().getParent();
            if (dir == null || !Files.isDirectory(dir) || !Files.isWritable(dir)) {
                throw args.error("iface", iface, "the directory " + dir + " does not exist or is not writable");
            }
        }
        flag(args, "legacy-ol-flags"); // accepted as DPDK's; jpdk's mapping is the legacy one
        return new VhostConfig(iface, queues, client, tso, linear, ext);
    }

    /** DPDK's net_vhost flags are 0 or 1. */
    private static boolean flag(Devargs args, String key) {
        String v = args.get(key);
        if (v == null) return false;
        return switch (v) {
            case "0" -> false;
            case "1" -> true;
            default -> throw args.error(key, v, "allowed: 0, 1");
        };
    }
}
