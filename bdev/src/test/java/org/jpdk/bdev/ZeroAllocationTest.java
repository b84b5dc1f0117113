package org.jpdk.bdev;

import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Submission and completion allocate nothing per I/O after warm-up: registered and unregistered
 * buffers, a split request, a vectored one, a flush now and then, with timeouts armed (a clock
 * read per request), requests waiting in the qpair beyond its depth, and sleeps in the kernel
 * ({@link Qpair#awaitCompletions}) between completions.
 */
class ZeroAllocationTest {
    /** Counts completions; one instance, no capture per I/O. */
    static final class Count implements IoCallback {
        int n, errors;

        @Override
        public void complete(Object arg, int status) {
            n++;
            if (status != 0) errors++;
        }
    }

    @Test
    void submitAndCompleteAllocateNothing() throws IOException {
        try (Scratch s = new Scratch(); Arena a = Arena.ofShared()) {
            Path f = s.file(8 << 20);
            MemorySegment registered = BdevMemory.allocate("zero-alloc", 64 << 10, 4096);
            try (Bdev b = Bdev.open(f.toString(), BdevOptions.defaults().withMaxTransferBytes(16 << 10))) {
                b.registerTimeoutCallback(60_000_000, (q, request, arg) -> fail("nothing should be late"));
                Qpair q = b.allocQpair(4);
                MemorySegment plain = a.allocate(64 << 10, 4096);
                MemorySegment[] iov = {plain.asSlice(0, 4096), plain.asSlice(8192, 8192)};
                Count c = new Count();
                long[] lba = {0};
                int[] round = {0};
                Runnable oneRound = () -> {
                    int before = c.n, want = 5;
                    long l = lba[0];
                    lba[0] = (l + 128) % (b.blockCount() - 128);
                    q.read(registered, l, 8, c, null);
                    q.write(plain, l + 16, 8, c, null);
                    q.read(registered, l, 96, c, null); // 48 KiB: three parts
                    q.readv(iov, 2, l + 32, 24, c, null);
                    q.read(plain, l + 64, 8, c, null); // at depth 4: one waits in the qpair
                    if ((++round[0] & 63) == 0) { // a flush costs the disk a cache flush: now and then
                        q.flush(c, null);
                        want++;
                    }
                    boolean sleep = (round[0] & 7) == 0; // one round in eight sleeps in the kernel when idle
                    while (c.n - before < want) {
                        if (q.processCompletions(0) == 0 && sleep) q.awaitCompletions(10_000_000L);
                    }
                };
                AllocationMeter.assertNoAllocation("rounds of five requests", 3_000, 100, oneRound);
                assertEquals(0, c.errors);
                assertEquals(0, q.spuriousCompletions());
            } finally {
                BdevMemory.free(registered);
            }
        }
    }
}
