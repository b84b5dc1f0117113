package org.jpdk.drivers.net.memif;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.jpdk.eal.Eal;
import org.jpdk.eal.Log;
import org.jpdk.ethdev.EthDev;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Fuzz target: the memif control channel and the rings a client hands over, seen from a jpdk
 * server. An input is a client session: a number of correct handshake steps (none, INIT, +region,
 * +rings, +CONNECT), then up to eight 128-byte messages from the input (the type forced to a known
 * one or not, each with no descriptor, the region memfd or an eventfd), then, if the link came
 * up, bytes from the input written over the shared rings while the server polls rx and tx. The
 * promise checked: the server answers each session's accept with HELLO (its control thread lives),
 * never logs an internal error (a line that starts "MEMIF: control thread:"), and its rx/tx calls never
 * throw.
 */
@Tag("fuzz")
class MemifControlFuzzTest {
    private static final long ID = 7;
    private static final String SECRET = "fuzz";
    private static final String INTERNAL_ERROR = "MEMIF: control thread: ";
    private static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    private static String sock;
    private static EthDev server;
    private static Mempool<Mbuf> pool;

    private static synchronized void server() {
        if (server != null) return;
        sock = MemifDriverTest.socketName();
        Eal eal = Eal.init("-l", "0-1", "--no-huge", "--in-memory", "-m", "128",
                "--vdev", "net_memif0,role=server,id=" + ID + ",secret=" + SECRET + ",socket=" + sock);
        Log.setOutput(new PrintStream(LOG, true));
        pool = Mbuf.createPool("memif_fuzz", 1023, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        server = EthDev.get(0);
        MemifDriverTest.start(server, pool, 1);
        MemifControlFuzzTest.eal = eal;
    }

    private static Eal eal;

    /** The fuzz targets of a module share one JVM: the next one may start an EAL of its own. */
    @AfterAll
    static synchronized void cleanup() {
        if (server == null) return;
        Log.setOutput(System.err);
        EthDev.closeAll();
        pool.close();
        eal.cleanup();
        server = null;
    }

    @FuzzTest(maxDuration = "30s")
    void session(FuzzedDataProvider data) {
        server();
        Mbuf[] burst = new Mbuf[32];
        try (HostilePeer p = HostilePeer.connect(sock); Arena arena = Arena.ofConfined()) {
            p.expect(MemifMessage.HELLO);
            int steps = data.consumeInt(0, 4);
            if (steps >= 1) {
                p.init(ID, SECRET);
                if (!answered(p, MemifMessage.ACK)) return;
            }
            if (steps >= 2) {
                p.addRegion();
                if (!answered(p, MemifMessage.ACK)) return;
            }
            if (steps >= 3) p.addRings();
            if (steps >= 4) {
                p.send(m -> MemifMessage.connect(m, MemifMessage.CONNECT, "fuzz0"));
                if (!answered(p, MemifMessage.CONNECTED)) return;
            }
            MemorySegment msg = arena.allocate(MemifMessage.SIZE, 8);
            int n = data.consumeInt(0, 8);
            for (int i = 0; i < n; i++) {
                msg.fill((byte) 0);
                byte[] b = data.consumeBytes(MemifMessage.SIZE);
                MemorySegment.copy(b, 0, msg, ValueLayout.JAVA_BYTE, 0, b.length);
                if (data.consumeBoolean()) MemifMessage.put16(msg, MemifMessage.TYPE, data.consumeInt(MemifMessage.ACK, MemifMessage.DISCONNECT));
                int[] fds = switch (data.consumeInt(0, 3)) {
                    case 1 -> new int[]{p.regionFd};
                    case 2 -> new int[]{p.c2sFd};
                    case 3 -> new int[]{p.s2cFd};
                    default -> new int[0];
                };
                if (p.sock.send(msg, fds) < 0) break; // the server hung up
            }
            if (server.link().up()) {
                for (int round = 0; round < 4 && data.remainingBytes() > 0; round++) {
                    byte[] b = data.consumeBytes(64);
                    long at = data.consumeLong(0, 2 * HostilePeer.RING_BYTES - 1);
                    MemorySegment.copy(b, 0, p.region, ValueLayout.JAVA_BYTE, at, (int) Math.min(b.length, 2 * HostilePeer.RING_BYTES - at));
                    int got = server.rxBurst(0, burst, burst.length);
                    Mbuf.freeBulk(burst, 0, got);
                    int fresh = data.consumeInt(0, 4);
                    if (Mbuf.allocBulk(pool, burst, 0, fresh)) {
                        for (int i = 0; i < fresh; i++) burst[i].appendOffset(60);
                        int sent = server.txBurst(0, burst, fresh);
                        Mbuf.freeBulk(burst, sent, fresh - sent);
                    }
                }
            }
            drain(p);
        }
        // peer text in the log is printable ASCII without line breaks (MemifMessage.string), so only
        // the control thread's own catch can start a line this way; a peer name saying it cannot
        String log = LOG.toString();
        if (log.lines().anyMatch(l -> l.startsWith(INTERNAL_ERROR))) throw new AssertionError("the control thread met an internal error:\n" + log);
        LOG.reset();
    }

    /** Reads the server's next answer; false (the session is over) unless it is {@code type}. */
    private static boolean answered(HostilePeer p, int type) {
        int got = p.receive(5);
        return got == type;
    }

    /** Reads what the server still says, until it closes or is quiet for 50 ms. */
    private static void drain(HostilePeer p) {
        int[] fds = new int[1];
        long quiet = System.nanoTime() + 50_000_000L;
        while (System.nanoTime() < quiet) {
            long r = p.sock.receive(p.in, fds);
            if (fds[0] >= 0) Libc.close(fds[0]);
            if (r == -Errno.EAGAIN) {
                Thread.onSpinWait();
                continue;
            }
            if (r <= 0) return;
            quiet = System.nanoTime() + 50_000_000L;
        }
    }
}
