package org.jpdk.bdev;

import org.jpdk.sys.Errno;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Requests that never complete, reported by the timeout callback within the limit and aborted.
 *
 * <p>The stalled source is a FIFO opened read-write, as a bdev without O_DIRECT (which a FIFO
 * does not take) and with its geometry given. A read of an empty pipe is parked by io_uring on
 * the pipe's wait queue (it arms a poll, IORING_FEAT_FAST_POLL) until data arrives; since our own
 * descriptor is a writer, the pipe never reaches end-of-file, so the request genuinely stays in
 * the kernel for as long as nobody writes, needs no root and no FUSE, and is cancelled by
 * IORING_OP_ASYNC_CANCEL (-ECANCELED) as a disk request in a queue would be.
 */
class TimeoutTest {
    static final long LIMIT_US = 200_000;

    static Bdev fifo(Scratch s) throws IOException {
        Path p = s.name(".fifo");
        Scratch.run("mkfifo", p.toString());
        return Bdev.open(p.toString(), BdevOptions.defaults().withDirect(false).withBlockSize(512).withBlockCount(1024));
    }

    @Test
    void aStalledReadIsReportedWithinTheLimitAndAbortedWithECANCELED() throws IOException {
        try (Scratch s = new Scratch(); Bdev b = fifo(s); Arena a = Arena.ofShared()) {
            assertEquals("FIFO", b.kind());
            List<Long> reported = new ArrayList<>();
            long[] at = new long[1];
            b.registerTimeoutCallback(LIMIT_US, (q, request, arg) -> {
                at[0] = System.nanoTime();
                reported.add(request);
                assertEquals(0, q.abort(request));
                assertEquals(-Errno.EALREADY, q.abort(request));
            });
            Qpair q = b.allocQpair(4);
            Waiter w = new Waiter();
            long t0 = System.nanoTime();
            assertEquals(0, q.read(a.allocate(512), 0, 1, w, "stalled"));
            w.await(q, 1, 10);
            double ms = (at[0] - t0) / 1e6;
            assertEquals(1, reported.size());
            assertTrue(ms >= LIMIT_US / 1000.0 && ms < LIMIT_US / 1000.0 + 1000, "reported after " + ms + " ms");
            assertEquals(-Errno.ECANCELED, w.of("stalled"));
            assertEquals(1, q.timedOut());
            assertEquals(0, q.outstanding());
            assertEquals(-Errno.ENOENT, q.abort(reported.get(0)), "an id of a finished request no longer matches");
        }
    }

    @Test
    void lateRequestsAreReportedOnceEachInSubmissionOrder() throws Exception {
        try (Scratch s = new Scratch(); Bdev b = fifo(s); Arena a = Arena.ofShared()) {
            List<Object> order = new ArrayList<>();
            b.registerTimeoutCallback(LIMIT_US, (q, request, arg) -> order.add(arg));
            Qpair q = b.allocQpair(8);
            Waiter w = new Waiter();
            for (int i = 0; i < 3; i++) {
                assertEquals(0, q.read(a.allocate(512), 0, 1, w, i));
                long until = System.nanoTime() + 30_000_000L;
                while (System.nanoTime() < until) q.processCompletions(0);
            }
            long until = System.nanoTime() + 3 * LIMIT_US * 1000;
            while (System.nanoTime() < until) q.processCompletions(0);
            assertEquals(List.of(0, 1, 2), order, "each reported once, oldest first");
            assertEquals(0, w.completions, "a timeout reports; it does not complete the request");
            // data arrives: the parked reads complete normally, late as they are
            try (OutputStream out = Files.newOutputStream(Path.of(b.path()))) {
                out.write(new byte[3 * 512]);
            }
            w.await(q, 3, 10);
            for (int i = 0; i < 3; i++) assertEquals(0, w.of(i));
            assertEquals(3, order.size());
        }
    }

    @Test
    void closingAQpairCancelsWhatTheKernelHolds() throws IOException {
        try (Scratch s = new Scratch(); Bdev b = fifo(s); Arena a = Arena.ofShared()) {
            Qpair q = b.allocQpair(2);
            Waiter w = new Waiter();
            for (int i = 0; i < 5; i++) assertEquals(0, q.read(a.allocate(512), 0, 1, w, i)); // 2 in the kernel, 3 waiting
            q.processCompletions(0);
            assertEquals(2, q.inflight());
            q.close();
            assertEquals(5, w.completions);
            for (int i = 0; i < 5; i++) assertEquals(-Errno.ECANCELED, w.of(i));
            assertThrows(IllegalStateException.class, () -> q.processCompletions(0));
        }
    }
}
