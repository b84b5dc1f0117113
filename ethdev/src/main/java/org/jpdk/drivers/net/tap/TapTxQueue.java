package org.jpdk.drivers.net.tap;

import org.jpdk.ethdev.TxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Uio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One tap transmit queue: each mbuf is one {@code writev} on the queue's non-blocking fd, its
 * segments gathered in place (no copy), after which it is freed. EAGAIN means the kernel will take
 * no more now: the burst ends and the caller keeps the rest. Any other failure (a runt the kernel
 * refuses, a chain of more than {@link #MAX_SEGS} segments, a chain whose segments do not add up
 * to its pktLen) frees the mbuf and counts one {@code oerrors}; EBADFD (the interface was deleted)
 * also tells the port, and later bursts are dropped and counted at once. Allocates nothing after
 * setup.
 */
final class TapTxQueue extends TxQueue {
    /** Most segments of one packet (the iovec array is made once). */
    static final int MAX_SEGS = 64;

    private final TapDriver.Device dev;
    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment iov;

    TapTxQueue(TapDriver.Device dev, int fd) {
        this.dev = dev;
        this.fd = fd;
        this.iov = arena.allocate((long) MAX_SEGS * Uio.IOVEC_SIZE, 8);
    }

    @Override
    public int txBurst(Mbuf[] pkts, int off, int n) {
        if (dev.isGone()) return dropAll(pkts, off, n);
        int done = 0, sent = 0, errors = 0;
        long bytes = 0;
        for (; done < n; done++) {
            Mbuf m = pkts[off + done];
            int segs = 0;
            Mbuf s = m;
            // bounded: each iovec is one segment's data, inside its mbuf's buffer (dataOff + dataLen
            // <= bufLen, kept by Mbuf), which stays mapped while the mbuf is out of its pool
            for (; s != null && segs < MAX_SEGS; s = s.next(), segs++) {
                iov.set(JAVA_LONG, (long) segs * Uio.IOVEC_SIZE, s.buffer().address() + s.dataOff());
                iov.set(JAVA_LONG, (long) segs * Uio.IOVEC_SIZE + 8, s.dataLen());
            }
            if (s == null && m.lengthsConsistent()) {
                long r = Uio.writev(fd, iov, segs);
                if (r == -Errno.EAGAIN) break;
                if (r >= 0) {
                    sent++;
                    bytes += m.pktLen();
                } else {
                    if (r == -Errno.EBADFD) dev.interfaceGone("writev: EBADFD");
                    errors++;
                }
            } else {
                errors++;
            }
            m.free();
        }
        if (sent > 0) countTx(sent, bytes);
        if (errors > 0) countErrors(errors);
        return done;
    }

    @Override
    protected void release() {
        arena.close();
    }

    /** The interface is gone: every packet is freed and counted, no syscall. */
    private int dropAll(Mbuf[] pkts, int off, int n) {
        if (n <= 0) return 0;
        Mbuf.freeBulk(pkts, off, n);
        countErrors(n);
        return n;
    }
}
