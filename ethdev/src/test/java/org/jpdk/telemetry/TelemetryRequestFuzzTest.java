package org.jpdk.telemetry;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Errno;
import org.jpdk.sys.UnixSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Fuzz target: one request to a running telemetry server, as raw bytes on its SEQPACKET socket
 * (1 to twice the request buffer, any bytes: not UTF-8, NULs, commas, every command
 * name with any parameters), against an EAL with two started net_null ports, a mempool and the
 * built-in commands. The promise: every request gets one reply that is valid JSON, an object of
 * exactly one key, no longer than the advertised max_output_len, and the connection keeps
 * serving (a second, fixed request is answered right). {@link Telemetry#handle} of the decoded
 * text is held to the same. A thrown exception, a missing or malformed reply, or a hang is a
 * finding.
 */
@Tag("fuzz")
class TelemetryRequestFuzzTest {
    private static final String PREFIX = "jpdkfuzztel" + ProcessHandle.current().pid();
    private static UnixSocket sock;
    private static Eal eal;
    private static Mempool<Mbuf> pool;

    private static synchronized UnixSocket server() {
        if (sock != null) return sock;
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", "net_null0", "--vdev", "net_null1",
                "--file-prefix", PREFIX);
        pool = Mbuf.createPool("tel_fuzz", 1023, 32, Mbuf.DEFAULT_BUF_SIZE, 0);
        for (EthDev p : EthDev.all()) {
            p.configure(1, 1, PortConf.defaults());
            p.rxQueueSetup(0, 256, pool);
            p.txQueueSetup(0, 256);
            p.start();
        }
        sock = UnixSocket.connect(TelemetryServer.runtimeDir(PREFIX).resolve(TelemetryServer.SOCKET_NAME).toString(), false);
        if (!next(sock).contains("\"max_output_len\"")) throw new AssertionError("no greeting");
        return sock;
    }

    /** The fuzz targets of a module share one JVM: the next one may start an EAL of its own. */
    @AfterAll
    static synchronized void cleanup() {
        if (eal == null) return;
        sock.close();
        EthDev.closeAll();
        pool.close();
        eal.close();
        eal = null;
        sock = null;
    }

    @FuzzTest(maxDuration = "30s")
    void request(byte[] input) {
        UnixSocket s = server();
        int n = Math.min(input.length, 2 * TelemetryServer.MAX_REQUEST);
        if (n == 0) return; // a zero-length SEQPACKET datagram reads as the end of the connection
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(1, n));
            MemorySegment.copy(input, 0, m, JAVA_BYTE, 0, n);
            long sent = s.send(m.asSlice(0, n), -1);
            if (sent != n) throw new AssertionError("send: " + sent + " of " + n);
        }
        checkReply(next(s), "socket, " + n + " bytes");
        try (Arena a = Arena.ofConfined()) {
            s.send(a.allocateFrom("/ethdev/list").asSlice(0, "/ethdev/list".length()), -1);
        }
        String again = next(s);
        if (!"{\"/ethdev/list\":[0,1]}".equals(again)) throw new AssertionError("the connection stopped serving: " + again);

        String text = new String(input, StandardCharsets.UTF_8);
        checkReply(Telemetry.handle(text), "handle");
    }

    private static void checkReply(String reply, String where) {
        if (reply == null || reply.isEmpty()) throw new AssertionError(where + ": no reply");
        if (reply.getBytes(StandardCharsets.UTF_8).length > Telemetry.MAX_OUTPUT_LEN) {
            throw new AssertionError(where + ": reply longer than max_output_len: " + reply.length());
        }
        Object v = Json.parse(reply);
        if (!(v instanceof Map<?, ?> map) || map.size() != 1) throw new AssertionError(where + ": not a one-key object: " + reply);
    }

    /** The next datagram, "" when the server closed, null when none came within 5 s. */
    private static String next(UnixSocket s) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Telemetry.MAX_OUTPUT_LEN + 1024);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (System.nanoTime() < deadline) {
                long r = s.receive(buf, new int[0]);
                if (r > 0) return new String(buf.asSlice(0, r).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
                if (r == 0 || r == -Errno.ECONNRESET) return "";
                Thread.onSpinWait();
            }
            return null;
        }
    }
}
