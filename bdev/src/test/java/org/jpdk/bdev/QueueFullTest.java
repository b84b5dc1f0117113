package org.jpdk.bdev;

import org.jpdk.sys.Errno;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** More submissions than the ring's depth wait in the qpair and all complete; beyond the request pool, -ENOMEM. */
class QueueFullTest {
    @Test
    void fiftyTimesTheDepthAllComplete() throws IOException {
        try (Scratch s = new Scratch(); Arena a = Arena.ofShared()) {
            Path f = s.file(4 << 20);
            try (Bdev b = Bdev.open(f.toString())) {
                Qpair q = b.allocQpair(QpairOptions.of(4).withRequests(256));
                MemorySegment buf = a.allocate(4096, 4096);
                Waiter w = new Waiter();
                for (int i = 0; i < 200; i++) assertEquals(0, q.read(buf, (i * 8L) % b.blockCount(), 8, w, i), "read " + i);
                assertEquals(200, q.outstanding());
                assertTrue(q.inflight() <= 4);
                long deadline = System.nanoTime() + 30_000_000_000L;
                int maxInflight = 0;
                while (w.completions < 200 && System.nanoTime() < deadline) {
                    q.processCompletions(0);
                    maxInflight = Math.max(maxInflight, q.inflight());
                }
                assertEquals(200, w.completions);
                for (int i = 0; i < 200; i++) assertEquals(0, w.of(i));
                assertTrue(maxInflight <= 4, "in flight: " + maxInflight);
                assertEquals(0, q.outstanding());
            }
        }
    }

    @Test
    void beyondTheRequestPoolSubmissionsAreRefusedUntilSomeComplete() throws IOException {
        try (Scratch s = new Scratch(); Arena a = Arena.ofShared()) {
            Path f = s.file(1 << 20);
            try (Bdev b = Bdev.open(f.toString())) {
                Qpair q = b.allocQpair(QpairOptions.of(2).withRequests(8));
                MemorySegment buf = a.allocate(4096, 4096);
                Waiter w = new Waiter();
                for (int i = 0; i < 8; i++) assertEquals(0, q.read(buf, i, 1, w, i));
                assertEquals(-Errno.ENOMEM, q.read(buf, 0, 1, w, 99));
                w.await(q, 8, 30);
                assertEquals(0, q.read(buf, 0, 1, w, 8));
                w.await(q, 9, 30);
                assertEquals(9, w.status.size());
            }
        }
    }
}
