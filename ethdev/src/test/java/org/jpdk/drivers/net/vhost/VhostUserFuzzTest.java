package org.jpdk.drivers.net.vhost;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.jpdk.eal.Eal;
import org.jpdk.eal.Log;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.virtio.VhostUserException;
import org.jpdk.virtio.VhostUserMessage;
import org.jpdk.virtio.VirtioFeatures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzz target: the vhost-user message handler of a jpdk net_vhost port, and the rings a front end
 * hands it. An input is a front-end session ({@link TestFrontEnd}): some correct setup steps (none;
 * owner and features; + the memory table; + vring 0; + vring 1, which brings the link up), then up
 * to eight messages from the input (the request a known one or any number, the flags with or
 * without NEED_REPLY, the payload bytes from the input, the size field true or any number, with no
 * descriptor, the guest memfd, an eventfd or both), then, if the link is up, input bytes written
 * over the guest's rings and buffers while the port's rx and tx are polled. The promise checked: the
 * control thread answers each new session (GET_FEATURES gets its reply), never logs an internal
 * error (a line with {@code ": control thread: "}, which only its own catch writes: no front-end
 * text reaches the log), the port's rx and tx calls never throw, and once the front end is gone
 * every mbuf is back in the pool.
 */
@Tag("fuzz")
class VhostUserFuzzTest {
    private static final String INTERNAL_ERROR = ": control thread: ";
    private static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    private static final long ALL = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1) | VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF)
            | VirtioFeatures.bit(VirtioFeatures.F_INDIRECT_DESC) | VirtioFeatures.bit(VirtioFeatures.F_EVENT_IDX)
            | VirtioFeatures.bit(VirtioFeatures.F_PROTOCOL_FEATURES);
    private static Path dir, sock;
    private static Eal eal;
    private static EthDev port;
    private static Mempool<Mbuf> pool;

    private static synchronized void port() {
        if (port != null) return;
        try {
            dir = Files.createTempDirectory("jpdk-vhost-fuzz");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        sock = dir.resolve("vh.sock");
        eal = Eal.init("-l", "0-1", "--no-huge", "--in-memory", "-m", "128", "--vdev", "net_vhost0,iface=" + sock);
        Log.setOutput(new PrintStream(LOG, true));
        pool = Mbuf.createPool("vhost_fuzz", 2047, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        port = EthDev.get(0);
        port.configure(1, 1, PortConf.defaults());
        port.rxQueueSetup(0, 0, pool);
        port.txQueueSetup(0, 0);
        port.start();
    }

    /** The fuzz targets of a module share one JVM: the next one may start an EAL of its own. */
    @AfterAll
    static synchronized void cleanup() {
        if (port == null) return;
        Log.setOutput(System.err);
        EthDev.closeAll();
        pool.close();
        eal.cleanup();
        port = null;
        try {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // a temporary directory
        }
    }

    @FuzzTest(maxDuration = "30s")
    void session(FuzzedDataProvider data) {
        port();
        Mbuf[] burst = new Mbuf[32];
        boolean packed = data.consumeBoolean();
        try (TestFrontEnd fe = answering(packed)) {
            try {
                int steps = data.consumeInt(0, 4);
                if (steps >= 1) {
                    fe.request(VhostUserMessage.SET_OWNER);
                    fe.send();
                    fe.request(VhostUserMessage.GET_FEATURES);
                    fe.send();
                    fe.features = fe.reply().u64() & (data.consumeBoolean() ? ALL : data.consumeLong());
                    if (packed) fe.features |= VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED);
                    fe.request(VhostUserMessage.SET_FEATURES);
                    fe.msg.u64(fe.features);
                    fe.send();
                }
                if (steps >= 2) fe.memTable();
                for (int v = 0; v < steps - 2; v++) fe.setupVring(v);
                int n = data.consumeInt(0, 8);
                for (int i = 0; i < n; i++) {
                    int request = data.consumeBoolean() ? data.consumeInt(VhostUserMessage.GET_FEATURES, VhostUserMessage.GET_STATUS) : data.consumeInt();
                    int flags = data.consumeBoolean() ? VhostUserMessage.VERSION | (data.consumeBoolean() ? VhostUserMessage.NEED_REPLY : 0)
                            : data.consumeInt();
                    fe.msg.set(request, flags);
                    byte[] payload = data.consumeBytes(data.consumeInt(0, VhostUserMessage.MAX_PAYLOAD));
                    MemorySegment.copy(payload, 0, fe.msg.payload(), ValueLayout.JAVA_BYTE, 0, payload.length);
                    fe.msg.size(payload.length);
                    if (!data.consumeBoolean()) fe.msg.bytes().set(ValueLayout.JAVA_INT_UNALIGNED, 8, data.consumeInt()); // a size that lies
                    switch (data.consumeInt(0, 3)) {
                        case 1 -> fe.msg.addFd(fe.memfd);
                        case 2 -> fe.msg.addFd(fe.kick[i & 1].fd());
                        case 3 -> fe.msg.addFd(fe.memfd).addFd(fe.call[i & 1].fd());
                        default -> { }
                    }
                    fe.send();
                }
                if (port.link().up()) {
                    for (int round = 0; round < 4 && data.remainingBytes() > 0; round++) {
                        byte[] b = data.consumeBytes(64);
                        long at = data.consumeLong(0, TestFrontEnd.BUFS + 64L * TestFrontEnd.BUF - 1);
                        MemorySegment.copy(b, 0, fe.mem, ValueLayout.JAVA_BYTE, at, (int) Math.min(b.length, fe.mem.byteSize() - at));
                        int got = port.rxBurst(0, burst, burst.length);
                        Mbuf.freeBulk(burst, 0, got);
                        int fresh = data.consumeInt(0, 4);
                        if (Mbuf.allocBulk(pool, burst, 0, fresh)) {
                            for (int i = 0; i < fresh; i++) burst[i].appendOffset(60);
                            int sent = port.txBurst(0, burst, fresh);
                            Mbuf.freeBulk(burst, sent, fresh - sent);
                        }
                    }
                }
                fe.closedWithin(5);
            } catch (VhostUserException e) {
                // the back end hung up on this front end: what it does with a bad one
            }
        }
        awaitReset();
        String log = LOG.toString();
        if (log.lines().anyMatch(l -> l.contains(INTERNAL_ERROR))) throw new AssertionError("the control thread met an internal error:\n" + log);
        LOG.reset();
        if (pool.availCount() != pool.size()) {
            throw new AssertionError((pool.size() - pool.availCount()) + " mbufs not back in the pool after the front end left");
        }
    }

    /**
     * A front end whose GET_FEATURES the back end answers: the control thread lives. The previous
     * session's socket may not have been seen closed yet (a second front end is refused), so this
     * tries for a few seconds.
     */
    private static TestFrontEnd answering(boolean packed) {
        long end = System.nanoTime() + 5_000_000_000L;
        while (true) {
            TestFrontEnd fe = new TestFrontEnd(sock, 64, packed);
            try {
                fe.request(VhostUserMessage.GET_FEATURES);
                fe.send();
                fe.reply();
                return fe;
            } catch (VhostUserException | AssertionError e) {
                fe.close();
                if (System.nanoTime() > end) throw new AssertionError("the back end's control thread answers no front end: " + e, e);
                TestFrontEnd.sleep(20);
            }
        }
    }

    /** Waits (at most 5 s) until the port has let the front end go (link down). */
    private static void awaitReset() {
        long end = System.nanoTime() + 5_000_000_000L;
        while (port.link().up() && System.nanoTime() < end) TestFrontEnd.sleep(2);
        if (port.link().up()) throw new AssertionError("the link stayed up for 5 s after the front end left");
    }
}
