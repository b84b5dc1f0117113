package org.jpdk.telemetry;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.UnixSocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A client of a telemetry v2 socket, jpdk's or DPDK's, as {@code dpdk-telemetry.py} is: connect,
 * read the greeting (which names the largest reply), then one request and one reply at a time.
 * The tools (proc-info, top) read a running app through it. A reply is parsed with {@link Json};
 * one that does not arrive within the timeout, or is not JSON, throws IllegalStateException.
 */
public final class TelemetryClient implements AutoCloseable {
    private static final int TIMEOUT_MS = 5000;

    private final UnixSocket socket;
    private final String path;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment buf;
    private final Map<String, Object> greeting;

    private TelemetryClient(UnixSocket socket, String path) {
        this.socket = socket;
        this.path = path;
        Object g = Json.parse(receive(64 * 1024));
        if (!(g instanceof Map<?, ?> m) || !(m.get("max_output_len") instanceof Long max) || max < 1 || max > (1 << 26)) {
            socket.close();
            throw new IllegalStateException(path + ": not a telemetry v2 greeting: " + Json.write(g));
        }
        @SuppressWarnings("unchecked") Map<String, Object> typed = (Map<String, Object>) m;
        this.greeting = typed;
        this.buf = arena.allocate(max);
    }

    /** Connects to the app with {@code filePrefix} (instance 0: the plain socket name). */
    public static TelemetryClient connect(String filePrefix) {
        return connect(TelemetryServer.runtimeDir(filePrefix).resolve(TelemetryServer.SOCKET_NAME));
    }

    /**
     * Connects to the socket at {@code path}; throws {@link org.jpdk.sys.LinuxException} (ENOENT: no app
     * with that prefix runs; ECONNREFUSED: it left a stale socket) or IllegalStateException.
     */
    public static TelemetryClient connect(Path path) {
        UnixSocket s = UnixSocket.connect(path.toString(), false);
        try {
            return new TelemetryClient(s, path.toString());
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The greeting: version, pid, max_output_len. */
    public Map<String, Object> greeting() {
        return greeting;
    }

    /** The value of the reply to {@code cmd} (with parameters after a comma); null for an unknown command. */
    public Object request(String cmd) {
        String reply = requestRaw(cmd);
        Object v = Json.parse(reply);
        if (!(v instanceof Map<?, ?> m) || m.size() != 1) {
            throw new IllegalStateException(path + ": reply to " + cmd + " is not one key: " + reply);
        }
        return m.values().iterator().next();
    }

    /** The reply to {@code cmd} as sent. */
    public String requestRaw(String cmd) {
        byte[] b = cmd.getBytes(StandardCharsets.UTF_8);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(1, b.length));
            MemorySegment.copy(b, 0, m, JAVA_BYTE, 0, b.length);
            long w = socket.send(m.asSlice(0, b.length), -1);
            if (w != b.length) throw new IllegalStateException(path + ": send " + cmd + ": " + (w < 0 ? Errno.name((int) -w) : w + " bytes"));
        }
        return receive(buf.byteSize());
    }

    private String receive(long max) {
        MemorySegment into = buf != null ? buf : arena.allocate(max);
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(8, 8);
            while (true) {
                long r = socket.receive(into, new int[0]);
                if (r > 0) {
                    if (r > into.byteSize()) throw new IllegalStateException(path + ": reply longer than " + into.byteSize() + " bytes");
                    return new String(into.asSlice(0, r).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
                }
                if (r == 0) throw new IllegalStateException(path + ": the app closed the connection");
                if (r != -Errno.EAGAIN && r != -Errno.EINTR) throw new IllegalStateException(path + ": recv: " + Errno.name((int) -r));
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) throw new IllegalStateException(path + ": no reply within " + TIMEOUT_MS + " ms");
                pfd.set(JAVA_INT, 0, socket.fd());
                pfd.set(JAVA_SHORT, 4, (short) Libc.POLLIN);
                pfd.set(JAVA_SHORT, 6, (short) 0);
                Libc.poll(pfd, 1, (int) Math.min(left, 1000));
            }
        }
    }

    @Override
    public void close() {
        socket.close();
        arena.close();
    }
}
