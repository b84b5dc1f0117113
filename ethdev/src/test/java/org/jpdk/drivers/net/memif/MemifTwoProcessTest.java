package org.jpdk.drivers.net.memif;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthEvent;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * net_memif between this JVM and another ({@link MemifPeer}, a child process): frames echoed
 * through the other process in both roles, copy and zero-copy; and a peer killed with SIGKILL in
 * the middle of a stream: the link goes down (the link-state callback fires), every mbuf the
 * connection held comes back to the pool, and a new peer connects (a client by itself).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MemifTwoProcessTest {
    private Eal eal;
    private Mempool<Mbuf> pool;
    private Child child;

    /** A {@link MemifPeer} child process whose output is collected as it comes. */
    static final class Child implements AutoCloseable {
        final Process process;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Child(String devargs, String mode) {
            try {
                process = new ProcessBuilder(MemifPeer.command(devargs, mode)).redirectErrorStream(true).start();
            } catch (IOException e) {
                throw new AssertionError("cannot start the peer: " + e.getMessage(), e);
            }
            InputStream in = process.getInputStream();
            Thread.ofPlatform().daemon().start(() -> {
                byte[] b = new byte[4096];
                try {
                    for (int n; (n = in.read(b)) > 0; ) {
                        synchronized (out) {
                            out.write(b, 0, n);
                        }
                    }
                } catch (IOException e) {
                    // gone
                }
            });
        }

        String output() {
            synchronized (out) {
                return out.toString(StandardCharsets.UTF_8);
            }
        }

        Child awaitUp() {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!output().contains("UP\n")) {
                if (!process.isAlive() || System.nanoTime() > end) fail("the peer did not come up:\n" + output());
                sleep(20);
            }
            return this;
        }

        /** Asks it to stop and waits; its output. */
        String stop() {
            try {
                OutputStream o = process.getOutputStream();
                o.write("stop\n".getBytes());
                o.flush();
                process.waitFor(20, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                // checked below
            }
            assertFalse(process.isAlive(), "the peer did not stop:\n" + output());
            return output();
        }

        void kill9() {
            process.destroyForcibly(); // SIGKILL: no chance to say goodbye
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() {
            if (process.isAlive()) kill9();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private EthDev init(String devargs) {
        eal = Eal.init("-l", "0-1", "--no-huge", "-m", "256", "--vdev", devargs);
        pool = Mbuf.createPool("memif_2p", 8191, 0, 0, Mbuf.DEFAULT_BUF_SIZE, -1, Mempool.F_DEDICATED_MEMORY);
        return EthDev.get(0);
    }

    @AfterEach
    void cleanup() {
        if (child != null) child.close();
        child = null;
        if (eal == null) return;
        try {
            EthDev.closeAll();
            assertEquals(pool.size(), pool.availCount(), "every mbuf back after close");
            pool.close();
        } finally {
            eal.cleanup();
            eal = null;
        }
    }

    @Test
    void framesEchoThroughAnotherProcessInBothRolesCopyAndZeroCopy() {
        int[] lengths = new int[300];
        for (int i = 0; i < lengths.length; i++) lengths[i] = i % 10 == 9 ? 5000 + i : 60 + (i * 7) % 1400;
        String[][] cases = {
                {"role=server", "role=client"},
                {"role=server", "role=client,zero-copy=yes"},
                {"role=client", "role=server"},
                {"role=client,zero-copy=yes", "role=server"},
        };
        for (String[] c : cases) {
            String sock = MemifDriverTest.socketName();
            EthDev port = init("net_memif0," + c[0] + ",socket=" + sock);
            MemifDriverTest.start(port, pool, 1);
            child = new Child("net_memif0," + c[1] + ",socket=" + sock, "echo").awaitUp();
            MemifDriverTest.awaitUp(port);
            MemifDriverTest.sendAndCheck(port, port, 0, pool, lengths);
            String out = child.stop();
            assertTrue(out.contains("DONE sent 0 echoed " + lengths.length), c[0] + " / " + c[1] + ": " + out);
            long end = System.nanoTime() + 5_000_000_000L;
            while (port.link().up() && System.nanoTime() < end) sleep(10);
            assertFalse(port.link().up(), "the link follows the peer's going");
            cleanup();
        }
    }

    /** Receives on {@code port} for {@code millis}, freeing what comes; returns the count. */
    private static long drain(EthDev port, long millis) {
        Mbuf[] got = new Mbuf[32];
        long n = 0, end = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < end) {
            int k = port.rxBurst(0, got, 32);
            Mbuf.freeBulk(got, 0, k);
            n += k;
        }
        return n;
    }

    private void peerKilledMidStream(String ours, String theirs) {
        String sock = MemifDriverTest.socketName();
        EthDev port = init("net_memif0," + ours + ",socket=" + sock);
        List<Boolean> links = new CopyOnWriteArrayList<>();
        port.addEventCallback(EthEvent.LINK_STATE_CHANGE, (p, e) -> links.add(p.link().up()));
        int baseline = pool.inUseCount();
        MemifDriverTest.start(port, pool, 1);
        child = new Child("net_memif0," + theirs + ",socket=" + sock, "tx").awaitUp();
        MemifDriverTest.awaitUp(port);
        assertTrue(drain(port, 500) > 0, "frames flow from the peer");
        // the callback reads the link when it runs on the events thread: let the up event's run
        // before the peer dies, or a late run would see the link already down
        long end = System.nanoTime() + 5_000_000_000L;
        while (links.isEmpty() && System.nanoTime() < end) sleep(10);
        child.kill9();
        end = System.nanoTime() + 10_000_000_000L;
        while (port.link().up() && System.nanoTime() < end) drain(port, 10);
        assertFalse(port.link().up(), "the link went down when the peer died");
        drain(port, 50);
        assertEquals(baseline, pool.inUseCount(), "every mbuf the connection held is back in the pool");
        end = System.nanoTime() + 5_000_000_000L;
        while (links.size() < 2 && System.nanoTime() < end) sleep(10);
        assertEquals(List.of(true, false), links.subList(0, 2), "the link-state callback saw up, then down");

        child = new Child("net_memif0," + theirs + ",socket=" + sock, "tx").awaitUp();
        assertTrue(port.waitLinkUp(Duration.ofSeconds(20)).up(), "a new peer connects");
        assertTrue(drain(port, 500) > 0, "and its frames flow");
        child.stop();
        cleanup();
    }

    @Tag("faults")
    @Test
    void aServerNoticesAClientKilledMidStreamAndServesTheNext() {
        peerKilledMidStream("role=server", "role=client");
        peerKilledMidStream("role=server", "role=client,zero-copy=yes");
    }

    @Tag("faults")
    @Test
    void aZeroCopyClientGetsItsMbufsBackWhenTheServerIsKilledAndReconnectsToTheNext() {
        peerKilledMidStream("role=client,zero-copy=yes", "role=server");
        peerKilledMidStream("role=client", "role=server");
    }
}
