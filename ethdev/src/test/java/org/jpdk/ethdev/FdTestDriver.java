package org.jpdk.ethdev;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.EventFd;

import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test-only driver ({@code net_fdtest}) whose rx queue has a file descriptor of its own, as a
 * socket or tap queue does: an eventfd that polls readable while {@link #pending} is above zero
 * (the test is the "wire": it adds to pending, then signals). Exercises ethdev's one-shot re-arm
 * path without a namespace.
 */
public final class FdTestDriver implements EthDriver {
    static final AtomicInteger pending = new AtomicInteger();
    static volatile EventFd wire;

    @Override
    public String name() {
        return "net_fdtest";
    }

    @Override
    public Set<String> keys() {
        return Set.of();
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        return new EthDevOps(port) {
            @Override
            public DevInfo info() {
                return new DevInfo("net_fdtest", null, 1, 1, 0, Mbuf.MAX_BUF_SIZE, 68, 1500, 0, 0, 0, 0, 0, 1, 4096, 512, 10_000);
            }

            @Override
            public RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
                return new FdRxQueue(pool);
            }

            @Override
            public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
                return new TxQueue() {
                    @Override
                    public int txBurst(Mbuf[] pkts, int off, int n) {
                        Mbuf.freeBulk(pkts, off, n);
                        return n;
                    }
                };
            }
        };
    }

    static final class FdRxQueue extends RxQueue {
        private final Mempool<Mbuf> pool;
        private final EventFd fd = new EventFd();

        FdRxQueue(Mempool<Mbuf> pool) {
            this.pool = pool;
            wire = fd;
        }

        @Override
        protected int interruptFd() {
            return fd.fd();
        }

        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            int k = 0;
            while (k < n && pending.get() > 0) {
                Mbuf m = Mbuf.alloc(pool);
                if (m == null) break;
                pending.decrementAndGet();
                m.appendOffset(64);
                pkts[off + k++] = m;
            }
            if (k > 0 && pending.get() == 0) { // level-triggered: readable only while packets wait
                fd.clear();
                if (pending.get() > 0) fd.signal(); // the wire added one between the check and the clear
            }
            if (k > 0) countRx(k, 64L * k);
            return k;
        }

        @Override
        protected void release() {
            fd.close();
        }
    }
}
