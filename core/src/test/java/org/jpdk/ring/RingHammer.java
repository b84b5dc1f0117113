package org.jpdk.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs producers and consumers against a ring through {@link Port} and checks that every value
 * (producer id in the high half, sequence in the low half) arrives once, and that each consumer
 * sees each producer's values in increasing order.
 */
final class RingHammer {
    /** How a test thread moves values: mode 0 single, 1 bulk, 2 burst. */
    interface Port {
        int put(long[] vals, int n, int mode);
        int take(long[] vals, int n, int mode);
    }

    private static final long STALL_LIMIT_NS = 10_000_000_000L, TOTAL_LIMIT_NS = 50_000_000_000L;

    private RingHammer() {
    }

    static void run(Port port, int producers, int consumers, int perProducer) {
        long total = (long) producers * perProducer;
        AtomicLong received = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<BitSet[]> seen = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            final long id = p;
            threads.add(Thread.ofPlatform().daemon().unstarted(() -> produce(port, id, perProducer, failure)));
        }
        for (int c = 0; c < consumers; c++) {
            BitSet[] mine = new BitSet[producers];
            for (int p = 0; p < producers; p++) mine[p] = new BitSet(perProducer);
            seen.add(mine);
            threads.add(Thread.ofPlatform().daemon().unstarted(() -> consume(port, mine, received, total, failure)));
        }
        for (Thread t : threads) {
            t.setUncaughtExceptionHandler((th, e) -> failure.compareAndSet(null, e));
            t.start();
        }
        // A stuck tail or a lost value shows as no progress at all; a loaded machine only slows
        // progress down. So the limit is on time without progress, with an overall cap below the
        // test's own timeout.
        long start = System.nanoTime(), lastMove = start, lastCount = -1;
        for (Thread t : threads) {
            try {
                while (!t.join(java.time.Duration.ofMillis(200))) {
                    long now = System.nanoTime(), count = received.get();
                    if (count != lastCount) {
                        lastCount = count;
                        lastMove = now;
                    }
                    if (now - lastMove > STALL_LIMIT_NS || now - start > TOTAL_LIMIT_NS) {
                        failure.compareAndSet(null, new AssertionError("stalled: " + count + " of " + total + " values received after "
                                + (now - start) / 1_000_000_000 + " s, none in the last " + (now - lastMove) / 1_000_000_000
                                + " s (lost values or a stuck tail)"));
                        t.join(java.time.Duration.ofSeconds(5));
                        break;
                    }
                }
            } catch (InterruptedException e) {
                fail("interrupted");
            }
        }
        if (failure.get() != null) throw new AssertionError("a ring thread failed", failure.get());
        assertEquals(total, received.get(), "values received");
        for (int p = 0; p < producers; p++) {
            BitSet all = new BitSet(perProducer);
            long sum = 0;
            for (BitSet[] s : seen) {
                sum += s[p].cardinality();
                all.or(s[p]);
            }
            assertEquals(perProducer, all.cardinality(), "distinct values of producer " + p);
            assertEquals(perProducer, sum, "values of producer " + p + " counted over consumers (a duplicate?)");
        }
    }

    private static void produce(Port port, long id, int count, AtomicReference<Throwable> failure) {
        long[] buf = new long[32];
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int seq = 0;
        while (seq < count && failure.get() == null) {
            int mode = rnd.nextInt(3);
            int n = mode == 0 ? 1 : Math.min(1 + rnd.nextInt(32), count - seq);
            for (int i = 0; i < n; i++) buf[i] = id << 32 | (seq + i);
            int done = port.put(buf, n, mode);
            assertTrue(done == 0 || done == n || mode == 2, "bulk moved " + done + " of " + n);
            seq += done;
            if (done == 0) Thread.yield();
        }
    }

    private static void consume(Port port, BitSet[] seen, AtomicLong received, long total, AtomicReference<Throwable> failure) {
        long[] buf = new long[32];
        int[] last = new int[seen.length];
        java.util.Arrays.fill(last, -1);
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        while (received.get() < total && failure.get() == null) {
            int mode = rnd.nextInt(3);
            int n = mode == 0 ? 1 : 1 + rnd.nextInt(32);
            int got = port.take(buf, n, mode);
            assertTrue(got == 0 || got == n || mode == 2, "bulk took " + got + " of " + n);
            for (int i = 0; i < got; i++) {
                int p = (int) (buf[i] >>> 32);
                int seq = (int) buf[i];
                if (seq <= last[p]) throw new AssertionError("producer " + p + ": seq " + seq + " after " + last[p]);
                last[p] = seq;
                seen[p].set(seq);
            }
            if (got == 0) Thread.yield();
            else received.addAndGet(got);
        }
    }

    /** A Port over an object ring; sync chooses the generic (0), mp/mc (1) or sp/sc (2) calls. */
    static Port of(Ring<Long> r, int sync) {
        return new Port() {
            @Override
            public int put(long[] vals, int n, int mode) {
                Long[] objs = new Long[n];
                for (int i = 0; i < n; i++) objs[i] = vals[i];
                if (mode == 0) {
                    return (sync == 0 ? r.enqueue(objs[0]) : sync == 1 ? r.mpEnqueue(objs[0]) : r.spEnqueue(objs[0])) ? 1 : 0;
                }
                return switch (sync * 2 + mode - 1) {
                    case 0 -> r.enqueueBulk(objs, 0, n);
                    case 1 -> r.enqueueBurst(objs, 0, n);
                    case 2 -> r.mpEnqueueBulk(objs, 0, n);
                    case 3 -> r.mpEnqueueBurst(objs, 0, n);
                    case 4 -> r.spEnqueueBulk(objs, 0, n);
                    default -> r.spEnqueueBurst(objs, 0, n);
                };
            }

            @Override
            public int take(long[] vals, int n, int mode) {
                Long[] objs = new Long[n];
                int got;
                if (mode == 0) {
                    objs[0] = sync == 0 ? r.dequeue() : sync == 1 ? r.mcDequeue() : r.scDequeue();
                    got = objs[0] == null ? 0 : 1;
                } else {
                    got = switch (sync * 2 + mode - 1) {
                        case 0 -> r.dequeueBulk(objs, 0, n);
                        case 1 -> r.dequeueBurst(objs, 0, n);
                        case 2 -> r.mcDequeueBulk(objs, 0, n);
                        case 3 -> r.mcDequeueBurst(objs, 0, n);
                        case 4 -> r.scDequeueBulk(objs, 0, n);
                        default -> r.scDequeueBurst(objs, 0, n);
                    };
                }
                for (int i = 0; i < got; i++) vals[i] = objs[i];
                return got;
            }
        };
    }

    /** A Port over an off-heap ring; sync chooses the generic (0), mp/mc (1) or sp/sc (2) calls. */
    static Port of(LongRing r, int sync) {
        return new Port() {
            @Override
            public int put(long[] vals, int n, int mode) {
                if (mode == 0) return r.enqueue(vals[0]) ? 1 : 0;
                return switch (sync * 2 + mode - 1) {
                    case 0 -> r.enqueueBulk(vals, 0, n);
                    case 1 -> r.enqueueBurst(vals, 0, n);
                    case 2 -> r.mpEnqueueBulk(vals, 0, n);
                    case 3 -> r.mpEnqueueBurst(vals, 0, n);
                    case 4 -> r.spEnqueueBulk(vals, 0, n);
                    default -> r.spEnqueueBurst(vals, 0, n);
                };
            }

            @Override
            public int take(long[] vals, int n, int mode) {
                if (mode == 0) {
                    long v = r.dequeue(-1);
                    vals[0] = v;
                    return v == -1 ? 0 : 1;
                }
                return switch (sync * 2 + mode - 1) {
                    case 0 -> r.dequeueBulk(vals, 0, n);
                    case 1 -> r.dequeueBurst(vals, 0, n);
                    case 2 -> r.mcDequeueBulk(vals, 0, n);
                    case 3 -> r.mcDequeueBurst(vals, 0, n);
                    case 4 -> r.scDequeueBulk(vals, 0, n);
                    default -> r.scDequeueBurst(vals, 0, n);
                };
            }
        };
    }
}
