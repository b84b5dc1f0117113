package org.jpdk.drivers.net.memif;

import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.sys.UnixSocket;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The checked devargs of one net_memif port, as DPDK 22.11's: every value is refused with one line
 * naming the key, the value and what is allowed.
 *
 * @param id         the interface id a client asks for and a server answers to (u32, default 0)
 * @param server     {@code role=server} (listens, maps the client's memory); default client
 * @param bufferSize {@code bsize}: bytes per ring buffer, 1..65535 (default 2048)
 * @param log2Ring   {@code rsize}: log2 of the descriptors per ring, 1..14 (default 10)
 * @param socket     the socket path or abstract name (default {@code /run/memif.sock})
 * @param abstractSocket {@code socket-abstract}: a name in Linux's abstract namespace (default yes, as DPDK)
 * @param mac        {@code mac}, or null for a random address
 * @param secret     {@code secret}: at most 23 bytes a client must present, or null
 * @param zeroCopy   {@code zero-copy=yes}: a client's rings point into its own mbufs (ignored by a server, as DPDK)
 */
record MemifConfig(long id, boolean server, int bufferSize, int log2Ring, String socket, boolean abstractSocket,
                   MacAddr mac, String secret, boolean zeroCopy) {
    static final String DEFAULT_SOCKET = "/run/memif.sock";
    static final int DEFAULT_BUFFER_SIZE = 2048, DEFAULT_LOG2_RING = 10;

    static MemifConfig parse(Devargs args) {
        long id = args.longValue("id", 0, 0, 0xffffffffL);
        String role = args.get("role", "client");
        boolean server = switch (role) {
            case "server", "master" -> true;
            case "client", "slave" -> false;
            default -> throw args.error("role", role, "allowed: server, client");
        };
        int bsize = args.intValue("bsize", DEFAULT_BUFFER_SIZE, 1, 0xffff);
        int rsize = args.intValue("rsize", DEFAULT_LOG2_RING, 1, MemifRing.MAX_LOG2_SIZE);
        boolean abs = yesNo(args, "socket-abstract", true);
        String socket = args.get("socket", DEFAULT_SOCKET);
        int bytes = socket.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0) throw args.error("socket", socket, "empty; give a path such as /run/memif.sock");
        if (bytes >= UnixSocket.PATH_MAX) {
            throw args.error("socket", socket, bytes + " bytes; a Unix socket address holds at most " + (UnixSocket.PATH_MAX - 1));
        }
        if (!abs) {
            Path dir = args.path("socket", socket).toAbsolutePath().getParent();
            if (dir == null || !Files.isDirectory(dir) || !Files.isWritable(dir)) {
                throw args.error("socket", socket, "the directory " + dir + " does not exist or is not writable");
            }
        }
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
        String secret = args.get("secret");
        if (secret != null && secret.getBytes(StandardCharsets.UTF_8).length >= MemifMessage.SECRET_SIZE) {
            throw args.error("secret", secret, "at most " + (MemifMessage.SECRET_SIZE - 1) + " bytes");
        }
        if (secret != null && secret.isEmpty()) secret = null;
        boolean zc = yesNo(args, "zero-copy", false);
        return new MemifConfig(id, server, bsize, rsize, socket, abs, mac, secret, zc && !server);
    }

    private static boolean yesNo(Devargs args, String key, boolean def) {
        String v = args.get(key);
        if (v == null) return def;
        return switch (v) {
            case "yes" -> true;
            case "no" -> false;
            default -> throw args.error(key, v, "allowed: yes, no");
        };
    }

    String role() {
        return server ? "server" : "client";
    }

    /** How the socket is named in messages. */
    String socketName() {
        return UnixSocket.describe(socket, abstractSocket);
    }

    /** The key sockets are shared by: ports on one path and namespace share one socket. */
    String socketKey() {
        return (abstractSocket ? "@" : "") + socket;
    }
}
