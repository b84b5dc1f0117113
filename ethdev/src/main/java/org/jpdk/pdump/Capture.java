package org.jpdk.pdump;

import org.jpdk.bpf.BpfProgram;
import org.jpdk.eal.Log;
import org.jpdk.ethdev.EthDev;
import org.jpdk.pcapng.Pcapng;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.UnixSocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One running capture of one port (DPDK's pdump enable): a {@link CaptureQueue} callback on every
 * rx and tx queue that is set up, and a capture thread that drains their rings into the dumpcap
 * client's socket as runs of pcapng Enhanced Packet Blocks. The thread is the only user of the
 * socket. It ends the capture when asked ({@link #requestStop}), when the client goes away (its
 * socket hangs up or a send fails: a client killed with SIGKILL is noticed within
 * {@link #IDLE_POLL_MS}) or when the client stops reading for {@link #STALL_MS}. Ending removes
 * the callbacks, waits until no lcore is inside one, sends what is left and then one Interface
 * Statistics Block with the counts, and closes the socket: the client reads to the end of the
 * stream and has the whole capture.
 */
final class Capture {
    static final Log.Type LOG = Log.register("lib.pdump", "PDUMP");
    /** Each queue's ring: 1 MiB holds about 600 full-size frames, 7000 of 64 bytes. */
    static final int RING_BYTES = 1 << 20;
    /** The most bytes one message carries (a SOCK_SEQPACKET message must fit the socket buffer). */
    static final int MAX_MESSAGE = 64 * 1024;
    static final int IDLE_POLL_MS = 10;
    /** A client that takes nothing for this long is dropped (it is stopped, or gone without a hangup). */
    static final int STALL_MS = 10_000;

    final EthDev port;
    final int ifId, snaplen;
    final String filterText;
    final long startNanos;
    private final UnixSocket socket;
    private final List<CaptureQueue> queues = new ArrayList<>();
    private final List<EthDev.CallbackHandle> handles = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stopRequested;
    private volatile String endReason;
    private final Runnable onEnd;

    Capture(EthDev port, int ifId, int snaplen, String filterText, BpfProgram filter, UnixSocket socket, Runnable onEnd) {
        this.port = port;
        this.ifId = ifId;
        this.snaplen = snaplen;
        this.filterText = filterText;
        this.socket = socket;
        this.onEnd = onEnd;
        Instant now = Instant.now();
        long nano = System.nanoTime();
        this.startNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        long wallOffset = startNanos - nano;
        int rxq = port.nbRxQueues(), txq = port.nbTxQueues();
        try {
            for (int q = 0; q < rxq; q++) {
                CaptureQueue c = new CaptureQueue(q, true, ifId, snaplen, filter, RING_BYTES, wallOffset);
                handles.add(port.addRxCallback(q, c));
                queues.add(c);
            }
            for (int q = 0; q < txq; q++) {
                CaptureQueue c = new CaptureQueue(q, false, ifId, snaplen, filter, RING_BYTES, wallOffset);
                handles.add(port.addTxCallback(q, c));
                queues.add(c);
            }
        } catch (RuntimeException e) {
            removeCallbacks();
            throw e;
        }
        if (queues.isEmpty()) throw new IllegalStateException("port " + port.id() + " has no queues set up");
        this.thread = Thread.ofPlatform().daemon().name("pdump-" + port.id()).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    void requestStop() {
        stopRequested = true;
    }

    boolean isRunning() {
        return thread.isAlive();
    }

    /** Waits for the capture thread to end. */
    boolean join(long millis) throws InterruptedException {
        return thread.join(java.time.Duration.ofMillis(millis));
    }

    long accepted() {
        return queues.stream().mapToLong(CaptureQueue::accepted).sum();
    }

    long filtered() {
        return queues.stream().mapToLong(CaptureQueue::filtered).sum();
    }

    long ringFull() {
        return queues.stream().mapToLong(CaptureQueue::ringFull).sum();
    }

    /** The counts, as {@code /pdump/stats} reports them (DPDK's rte_pdump_stats names). */
    Map<String, Object> stats() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("port", port.id());
        m.put("name", port.name());
        m.put("snaplen", snaplen);
        m.put("filter", filterText);
        m.put("queues", queues.size());
        m.put("accepted", accepted());
        m.put("filtered", filtered());
        m.put("nombuf", 0L);
        m.put("ringfull", ringFull());
        return m;
    }

    private void removeCallbacks() {
        for (EthDev.CallbackHandle h : handles) {
            try {
                port.removeCallback(h);
            } catch (RuntimeException e) {
                // the port was closed under us: its queues (and callbacks) are gone already
            }
        }
        handles.clear();
    }

    private void run() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(8, 8);
            Sender sender = new Sender();
            long lastProgress = System.nanoTime();
            while (!stopRequested && endReason == null) {
                long moved = drainAll(sender);
                if (moved < 0) {
                    if (System.nanoTime() - lastProgress > STALL_MS * 1_000_000L) endReason = "the client stopped reading";
                    else waitSocket(pfd, Libc.POLLOUT);
                } else if (moved > 0) {
                    lastProgress = System.nanoTime();
                } else {
                    lastProgress = System.nanoTime();
                    waitSocket(pfd, 0);
                }
            }
            removeCallbacks();
            for (CaptureQueue q : queues) q.quiesce();
            if (endReason == null) finish(sender, pfd);
        } catch (RuntimeException e) {
            endReason = "capture failed: " + e;
        } finally {
            removeCallbacks();
            for (CaptureQueue q : queues) q.quiesce();
            socket.close();
            if (endReason != null) LOG.info("pdump: port " + port.id() + ": capture ended: " + endReason);
            onEnd.run();
        }
    }

    /** Drains every ring once; the bytes moved, or -1 when the socket took nothing and data waits. */
    private long drainAll(Sender sender) {
        long moved = 0;
        boolean blocked = false;
        for (CaptureQueue q : queues) {
            for (int i = 0; i < 16; i++) {
                long r = q.drain(sender, MAX_MESSAGE);
                if (r < 0) {
                    blocked = true;
                    break;
                }
                if (r == 0) break;
                moved += r;
            }
            if (endReason != null) return moved;
        }
        return moved == 0 && blocked ? -1 : moved;
    }

    /** After the callbacks are gone: the rest of the rings, then the statistics block, within a few seconds. */
    private void finish(Sender sender, MemorySegment pfd) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (endReason == null && System.nanoTime() < deadline) {
            long moved = drainAll(sender);
            if (moved == 0) break;
            if (moved < 0) waitSocket(pfd, Libc.POLLOUT);
        }
        if (endReason != null) return;
        Instant now = Instant.now();
        long nowNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        long acc = accepted(), filt = filtered(), full = ringFull();
        byte[] isb = Pcapng.isb(ifId, nowNanos, startNanos, acc + filt, full, acc, full);
        MemorySegment m = Arena.ofAuto().allocateFrom(java.lang.foreign.ValueLayout.JAVA_BYTE, isb);
        while (endReason == null && System.nanoTime() < deadline && !sender.take(m)) waitSocket(pfd, Libc.POLLOUT);
    }

    /** Waits up to {@link #IDLE_POLL_MS} for {@code events} on the socket; a hangup or any input (the client never writes) ends the capture. */
    private void waitSocket(MemorySegment pfd, int events) {
        pfd.set(JAVA_INT, 0, socket.fd());
        pfd.set(JAVA_SHORT, 4, (short) (events | Libc.POLLIN));
        pfd.set(JAVA_SHORT, 6, (short) 0);
        int r = Libc.poll(pfd, 1, IDLE_POLL_MS);
        if (r > 0) {
            int rev = pfd.get(JAVA_SHORT, 6);
            if ((rev & (Libc.POLLIN | Libc.POLLHUP | Libc.POLLERR | Libc.POLLNVAL)) != 0) {
                if (endReason == null) endReason = "the client went away";
            }
        }
    }

    /** Sends one run of blocks as one message. */
    private final class Sender implements CaptureQueue.Sink {
        @Override
        public boolean take(MemorySegment bytes) {
            long r = socket.send(bytes, -1);
            if (r == bytes.byteSize()) return true;
            if (r == -Errno.EAGAIN || r == -Errno.ENOBUFS) return false;
            if (endReason == null) endReason = "send to the client: " + (r < 0 ? Errno.name((int) -r) : "short send of " + r + " bytes");
            return false;
        }
    }
}
