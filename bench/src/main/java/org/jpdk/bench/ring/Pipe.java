package org.jpdk.bench.ring;

import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpmcArrayQueue;
import org.jctools.queues.SpscArrayQueue;
import org.jpdk.ring.Ring;

/**
 * One queue under test behind the two calls the benchmarks make: put {@code n} objects and take
 * {@code n} (n = 1 uses each library's single-object call, larger n its batch call). A fork runs one
 * implementation only, so the calls stay monomorphic and C2 inlines through them.
 */
abstract class Pipe {
    static final int SIZE = 4096; // DPDK ring_perf_autotest's RING_SIZE

    /** Moves up to n objects from a[0..n) in; returns how many. */
    abstract int put(Object[] a, int n);

    /** Moves up to n objects out into a[0..n); returns how many. */
    abstract int take(Object[] a, int n);

    /** lib: jpdk, jctools, agrona; mode: spsc or mpmc. */
    static Pipe of(String lib, String mode) {
        boolean sp = mode.equals("spsc");
        return switch (lib) {
            case "jpdk" -> new JpdkPipe(Ring.create("bench_" + mode, SIZE, sp ? Ring.F_SP_ENQ | Ring.F_SC_DEQ : 0));
            case "jctools" -> new JctoolsPipe(sp ? new SpscArrayQueue<>(SIZE) : new MpmcArrayQueue<>(SIZE));
            case "agrona" -> sp ? new AgronaPipe(new OneToOneConcurrentArrayQueue<>(SIZE))
                                : new AgronaPipe(new ManyToOneConcurrentArrayQueue<>(SIZE));
            default -> throw new IllegalArgumentException("lib: '" + lib + "' must be jpdk, jctools or agrona");
        };
    }

    void close() {
    }

    /** A single poll's result as a count, the object in a[0]. */
    static int one(Object o, Object[] a) {
        a[0] = o;
        return o == null ? 0 : 1;
    }

    static final class JpdkPipe extends Pipe {
        private final Ring<Object> ring;

        JpdkPipe(Ring<Object> ring) {
            this.ring = ring;
        }

        @Override
        int put(Object[] a, int n) {
            return n == 1 ? (ring.enqueue(a[0]) ? 1 : 0) : ring.enqueueBulk(a, 0, n);
        }

        @Override
        int take(Object[] a, int n) {
            return n == 1 ? one(ring.dequeue(), a) : ring.dequeueBulk(a, 0, n);
        }

        @Override
        void close() {
            ring.close();
        }
    }

    /** JCTools: offer/poll, and fill/drain for batches. */
    static final class JctoolsPipe extends Pipe {
        private final MessagePassingQueue<Object> q;
        private final ArrayIo putIo = new ArrayIo(); // one per side: producer and consumer may be two threads
        private final ArrayIo takeIo = new ArrayIo();

        JctoolsPipe(MessagePassingQueue<Object> q) {
            this.q = q;
        }

        @Override
        int put(Object[] a, int n) {
            if (n == 1) return q.offer(a[0]) ? 1 : 0;
            putIo.reset(a);
            return q.fill(putIo, n);
        }

        @Override
        int take(Object[] a, int n) {
            if (n == 1) return one(q.poll(), a);
            takeIo.reset(a);
            return q.drain(takeIo, n);
        }
    }

    /** Agrona: offer/poll, offer in a loop and drain for batches (it has no batch offer). */
    static final class AgronaPipe extends Pipe {
        private final org.agrona.concurrent.QueuedPipe<Object> q;
        private final ArrayIo takeIo = new ArrayIo();

        AgronaPipe(org.agrona.concurrent.QueuedPipe<Object> q) {
            this.q = q;
        }

        @Override
        int put(Object[] a, int n) {
            int i = 0;
            while (i < n && q.offer(a[i])) i++;
            return i;
        }

        @Override
        int take(Object[] a, int n) {
            if (n == 1) return one(q.poll(), a);
            takeIo.reset(a);
            return q.drain(takeIo, n);
        }
    }

    /** A reusable supplier/consumer over an array, so batch calls allocate nothing. */
    static final class ArrayIo implements MessagePassingQueue.Supplier<Object>, MessagePassingQueue.Consumer<Object>,
            java.util.function.Consumer<Object> {
        private Object[] a;
        private int i;

        void reset(Object[] a) {
            this.a = a;
            this.i = 0;
        }

        @Override
        public Object get() {
            return a[i++];
        }

        @Override
        public void accept(Object e) {
            a[i++] = e;
        }
    }
}
