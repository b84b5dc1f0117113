package org.jpdk.telemetry;

import org.jpdk.eal.Log;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.UnixSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * DPDK's telemetry v2 socket: a {@code SOCK_SEQPACKET} listener at
 * {@code <runtime dir>/dpdk/<file-prefix>/dpdk_telemetry.v2}, served by one control thread pinned
 * off the lcores ({@link org.jpdk.eal.Eal#controlCpus()}). It follows DPDK's
 * {@code lib/telemetry/telemetry.c}: each client gets the greeting
 * {@code {"version":...,"pid":N,"max_output_len":16384}}, then one reply per request; at most
 * {@link #MAX_CLIENTS} are served, a client beyond them is accepted and closed at once; a request is
 * read into 1023 bytes (the rest of a longer message is lost, and a NUL ends it, as DPDK's C string
 * does); bytes that are not UTF-8 are replaced, so every reply is valid JSON. Where DPDK gives each
 * client a blocking thread, one thread polls them all here, non-blocking: a client that does not
 * read its replies (its socket buffer full) is closed rather than waited for, so no client can stall
 * another, let alone an lcore, which never touches this socket. When the path is held by a live
 * server (another process with the same prefix), it binds {@code dpdk_telemetry.v2:1}, {@code :2},
 * ... as DPDK does; a stale socket file of a dead process is replaced.
 */
public final class TelemetryServer implements AutoCloseable {
    /** The most clients served at once, as DPDK's MAX_CONNECTIONS. */
    public static final int MAX_CLIENTS = 10;
    /** Bytes of a request that are read, as DPDK's {@code read(s, buffer, sizeof(buffer) - 1)}. */
    public static final int MAX_REQUEST = 1023;
    /** The file name of the socket in the runtime directory. */
    public static final String SOCKET_NAME = "dpdk_telemetry.v2";
    private static final int MAX_SUFFIX = 64;
    private static final int POLL_MS = 100;

    private final UnixSocket listener;
    private final String path;
    private final Path dir;
    private final BitSet cpus;
    private final Thread thread;
    private final List<UnixSocket> clients = new ArrayList<>();
    private volatile boolean closed;

    private TelemetryServer(UnixSocket listener, String path, Path dir, BitSet cpus) {
        this.listener = listener;
        this.path = path;
        this.dir = dir;
        this.cpus = cpus;
        this.thread = new Thread(this::run, "telemetry-v2");
        thread.setDaemon(true);
    }

    /**
     * DPDK's runtime directory for {@code filePrefix}: {@code $RUNTIME_DIRECTORY} if set, else
     * {@code /var/run} for root, else {@code $XDG_RUNTIME_DIR}, else {@code /tmp}; then
     * {@code dpdk/<prefix>}.
     */
    public static Path runtimeDir(String filePrefix) {
        String base = System.getenv("RUNTIME_DIRECTORY");
        if (base == null || base.isEmpty()) {
            if (isRoot()) {
                base = "/var/run";
            } else {
                base = System.getenv("XDG_RUNTIME_DIR");
                if (base == null || base.isEmpty()) base = "/tmp";
            }
        }
        return Path.of(base, "dpdk", filePrefix);
    }

    private static boolean isRoot() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /**
     * Binds the socket in {@code dir} and starts serving, the thread pinned to {@code cpus}.
     *
     * @throws LinuxException for a socket that cannot be made or bound (other than a live one in
     *                        the way), or {@link java.io.UncheckedIOException} for the directory
     */
    public static TelemetryServer start(Path dir, BitSet cpus) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("telemetry: cannot create runtime directory " + dir + ": " + e, e);
        }
        String base = dir.resolve(SOCKET_NAME).toString();
        for (int suffix = 0; ; suffix++) {
            String p = suffix == 0 ? base : base + ":" + suffix;
            try {
                UnixSocket s = UnixSocket.listen(p, false, MAX_CLIENTS);
                TelemetryServer server = new TelemetryServer(s, p, dir, cpus);
                server.thread.start();
                return server;
            } catch (LinuxException e) {
                if (e.errno() != Errno.EADDRINUSE || suffix >= MAX_SUFFIX) throw e;
            }
        }
    }

    /** The socket's path. */
    public String path() {
        return path;
    }

    /** Clients being served now. */
    public synchronized int clientCount() {
        return clients.size();
    }

    private void run() {
        if (cpus != null && !cpus.isEmpty()) {
            try {
                Libc.schedSetaffinity(0, cpus);
            } catch (RuntimeException e) {
                Log.EAL.log(Log.WARNING, "telemetry: cannot pin its thread: %s", e.getMessage());
            }
        }
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        int[] noFds = {};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfds = arena.allocate(8L * (MAX_CLIENTS + 1), 8);
            MemorySegment in = arena.allocate(MAX_REQUEST);
            MemorySegment out = arena.allocate(Telemetry.MAX_OUTPUT_LEN + 256);
            byte[] req = new byte[MAX_REQUEST];
            byte[] greeting = Json.write(Telemetry.info()).getBytes(StandardCharsets.UTF_8);
            while (!closed) {
                List<UnixSocket> now;
                synchronized (this) {
                    now = new ArrayList<>(clients);
                }
                pollfds.set(JAVA_INT, 0, listener.fd());
                pollfds.set(JAVA_SHORT, 4, (short) Libc.POLLIN);
                pollfds.set(JAVA_SHORT, 6, (short) 0);
                for (int k = 0; k < now.size(); k++) {
                    pollfds.set(JAVA_INT, 8L * (k + 1), now.get(k).fd());
                    pollfds.set(JAVA_SHORT, 8L * (k + 1) + 4, (short) Libc.POLLIN);
                    pollfds.set(JAVA_SHORT, 8L * (k + 1) + 6, (short) 0);
                }
                int ready = Libc.poll(pollfds, now.size() + 1, POLL_MS);
                if (closed) break;
                if (ready <= 0) continue;
                for (int k = 0; k < now.size(); k++) {
                    short rev = pollfds.get(JAVA_SHORT, 8L * (k + 1) + 6);
                    if (rev != 0) serve(now.get(k), in, out, req, noFds, utf8);
                }
                if ((pollfds.get(JAVA_SHORT, 6) & Libc.POLLIN) != 0) acceptAll(out, greeting);
            }
        } catch (RuntimeException | Error e) {
            if (!closed) Log.EAL.err("telemetry: server stopped: " + e);
        }
    }

    private void acceptAll(MemorySegment out, byte[] greeting) {
        while (true) {
            UnixSocket c;
            try {
                c = listener.accept();
            } catch (LinuxException e) {
                Log.EAL.log(Log.WARNING, "telemetry: %s", e.getMessage());
                return;
            }
            if (c == null) return;
            synchronized (this) {
                if (clients.size() >= MAX_CLIENTS) { // as DPDK: accepted, then closed unserved
                    c.close();
                    continue;
                }
            }
            if (!reply(c, out, greeting)) continue;
            synchronized (this) {
                clients.add(c);
            }
        }
    }

    /** Reads one request from {@code c} and answers it; closes a client that left or misbehaves. */
    private void serve(UnixSocket c, MemorySegment in, MemorySegment out, byte[] req, int[] noFds, CharsetDecoder utf8) {
        long r = c.receive(in, noFds); // any descriptors a client sends are closed in there
        if (r == -Errno.EAGAIN || r == -Errno.EINTR) return;
        if (r <= 0) {
            drop(c);
            return;
        }
        int n = (int) Math.min(r, MAX_REQUEST);
        MemorySegment.copy(in, JAVA_BYTE, 0, req, 0, n);
        int end = 0;
        while (end < n && req[end] != 0) end++; // DPDK reads a C string: a NUL ends the request
        String text;
        try {
            text = utf8.reset().decode(ByteBuffer.wrap(req, 0, end)).toString();
        } catch (java.nio.charset.CharacterCodingException e) { // not with REPLACE; kept for the checked signature
            text = "";
        }
        byte[] reply = Telemetry.handle(text).getBytes(StandardCharsets.UTF_8);
        reply(c, out, reply);
    }

    /** Sends one message; a client whose buffer is full (it does not read) or that is gone is closed. */
    private boolean reply(UnixSocket c, MemorySegment out, byte[] msg) {
        MemorySegment.copy(msg, 0, out, JAVA_BYTE, 0, msg.length);
        long w = c.send(out.asSlice(0, msg.length), -1);
        if (w == msg.length) return true;
        drop(c);
        return false;
    }

    private void drop(UnixSocket c) {
        synchronized (this) {
            clients.remove(c);
        }
        c.close();
    }

    /** Stops the thread, closes every client and removes the socket file. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            clients.forEach(UnixSocket::close);
            clients.clear();
        }
        listener.close();
        try {
            Files.deleteIfExists(dir); // only when empty: another server's socket may still be there
        } catch (IOException e) {
            // not empty, or not ours to remove
        }
    }
}
