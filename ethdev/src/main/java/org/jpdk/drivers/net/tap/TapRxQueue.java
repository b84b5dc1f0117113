package org.jpdk.drivers.net.tap;

import org.jpdk.ethdev.RxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Uio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One tap receive queue: each {@code readv} on its non-blocking fd returns one whole frame, read
 * straight into the data room of an mbuf from the queue's pool. The read gathers into two places:
 * the mbuf's tailroom, then a 64 KiB overflow area of the queue, so a frame longer than the data
 * room is never cut by the kernel. Such a frame becomes a chain (the rest copied into more mbufs,
 * with no headroom) when the port was configured with {@code RX_SCATTER}, as DPDK; without it, it
 * is dropped and counted in {@code ierrors}.
 *
 * <p>The queue keeps one spare mbuf between bursts, so an empty poll costs one {@code readv} and
 * no pool traffic. EAGAIN ends a burst; EBADFD (the interface was deleted) tells the port and ends
 * it, and later bursts return nothing at once; any other read error counts one {@code ierrors}
 * and ends it; a pool running dry counts {@code rx_nombuf}. Allocates nothing after setup.
 */
final class TapRxQueue extends RxQueue {
    /** The largest frame a tap hands out: MAX_MTU plus the Ethernet header. */
    static final int OVERFLOW_SIZE = 65536;

    private final TapDriver.Device dev;
    private final int fd;
    private final Mempool<Mbuf> pool;
    private final boolean scatter;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment iov;       // iovec[2]: the mbuf's tailroom, then the overflow area
    private final MemorySegment overflow;
    private Mbuf spare;                    // allocated, empty, not yet filled

    TapRxQueue(TapDriver.Device dev, int fd, Mempool<Mbuf> pool, boolean scatter) {
        this.dev = dev;
        this.fd = fd;
        this.pool = pool;
        this.scatter = scatter;
        this.iov = arena.allocate(2L * Uio.IOVEC_SIZE, 8);
        this.overflow = arena.allocate(OVERFLOW_SIZE, 64);
        // bounded: the queue's own OVERFLOW_SIZE bytes, freed with the iovec when the queue is released
        iov.set(JAVA_LONG, 16, overflow.address());
        iov.set(JAVA_LONG, 24, OVERFLOW_SIZE);
    }

    @Override
    public int rxBurst(Mbuf[] pkts, int off, int n) {
        if (dev.isGone()) return 0;
        int got = 0;
        long bytes = 0;
        while (got < n) {
            Mbuf m = spare;
            if (m == null) {
                m = Mbuf.alloc(pool);
                if (m == null) {
                    countNombuf(1);
                    break;
                }
                spare = m;
            }
            int room = m.tailroom();
            // bounded: the mbuf's tailroom (inside its buffer, mapped while the mbuf is out of its pool)
            iov.set(JAVA_LONG, 0, m.buffer().address() + m.dataOff() + m.dataLen());
            iov.set(JAVA_LONG, 8, room);
            long r = Uio.readv(fd, iov, 2);
            if (r < 0) {
                if (r == -Errno.EBADFD) dev.interfaceGone("readv: EBADFD");  // deleted: not an error per poll
                else if (r != -Errno.EAGAIN && r != -Errno.EINTR) countErrors(1);
                break;
            }
            int len = (int) r;
            if (len <= room) {
                m.appendOffset(len);
            } else if (!scatter) {
                countErrors(1); // longer than the data room and no RX_SCATTER: dropped, spare kept
                continue;
            } else if (!chainOverflow(m, room, len - room)) {
                continue;
            }
            spare = null;
            m.port = portId;
            pkts[off + got++] = m;
            bytes += len;
        }
        if (got > 0) countRx(got, bytes);
        return got;
    }

    /** Fills {@code head}'s room and chains the {@code rest} bytes of the overflow area behind it; false (head untouched) when the pool runs dry. */
    private boolean chainOverflow(Mbuf head, int room, int rest) {
        Mbuf tail = null;
        int done = 0;
        while (done < rest) {
            Mbuf seg = Mbuf.alloc(pool);
            if (seg == null) {
                countNombuf(1);
                if (tail != null) tail.free();
                return false;
            }
            seg.setData(0, 0);
            int k = Math.min(rest - done, seg.tailroom());
            MemorySegment.copy(overflow, done, seg.buffer(), 0, k);
            seg.appendOffset(k);
            if (tail == null) tail = seg;
            else tail.chain(seg);
            done += k;
        }
        head.appendOffset(room);
        head.chain(tail);
        return true;
    }

    /** The queue fd: it polls readable while frames wait, for rx interrupt mode. */
    @Override
    protected int interruptFd() {
        return fd;
    }

    @Override
    protected void release() {
        if (spare != null) {
            spare.free();
            spare = null;
        }
        arena.close();
    }
}
