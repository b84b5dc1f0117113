package org.jpdk.drivers.net.afxdp;

import org.jpdk.ethdev.RxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

/**
 * The receive side of one net_af_xdp queue: the socket's RX ring hands over mbufs the kernel has
 * written a frame into, and the fill ring gets fresh ones in exchange. No copy: the buffer a frame
 * lands in is the mbuf the app gets.
 *
 * <p>A burst: read up to {@code n} RX descriptors (A1), check each (the address must be the
 * start of a buffer this queue lent and not yet got back, the frame must fit the buffer), set the
 * mbuf's data window to what the kernel wrote (offset from the address's top 16 bits, 256 in copy
 * mode), give the descriptors back (R1), then refill: allocate as many mbufs as came out and post
 * their buffers to the fill ring (R2). The queue keeps {@link #target} buffers lent (the ring
 * size); the RX ring is as large, so it can never overflow, and when the app holds every mbuf the
 * kernel drops for an empty fill ring instead (imissed). A pool that is dry makes the refill wait
 * for the next burst and counts rx_nombuf. The kernel is kicked (recvfrom) at most once per burst:
 * when it set need-wakeup on the fill ring after we posted to it, or, with busy polling, when a
 * burst found nothing. A bad descriptor is counted in ierrors and skipped; a frame shorter than an
 * Ethernet header is counted and its mbuf freed. Allocates nothing on the heap.
 */
final class AfXdpRxQueue extends RxQueue {
    private static final int ETH_HLEN = 14, REFILL_BATCH = 64;
    /** Empty bursts between two looks at whether the socket is still bound (a power of two). */
    static final int ERROR_CHECK_INTERVAL = 16384;
    private static final byte LENT = 1;

    private final AfXdpDriver.Device dev;
    private final int queue;
    final XskSocket sock;
    private final XskRing rx, fill;
    private final Umem umem;
    private final Mempool<Mbuf> pool;
    private final byte[] held;
    private final Mbuf[] refill = new Mbuf[REFILL_BATCH];
    private final int target, bufLen;
    private final boolean busyPoll;
    /** Buffers in the fill and RX rings. */
    private int lent;
    private int emptyBursts;

    /** Takes {@code sock} (closed with the queue) and fills its fill ring; throws if the pool cannot lend a ring's worth. */
    AfXdpRxQueue(AfXdpDriver.Device dev, int queue, XskSocket sock) {
        this.dev = dev;
        this.queue = queue;
        this.sock = sock;
        this.rx = sock.rx;
        this.fill = sock.fill;
        this.umem = sock.umem;
        this.pool = umem.pool;
        this.held = sock.rxHeld;
        this.target = fill.size;
        this.bufLen = umem.bufLen;
        this.busyPoll = sock.busyPoll;
        refill();
        if (lent < target) {
            int had = lent;
            throw new AfXdpException("mempool " + pool.name() + " lent " + had + " of the " + target + " mbufs the fill ring takes ("
                    + pool.availCount() + " free of " + pool.size() + "); give the pool more mbufs or the queue fewer descriptors");
        }
    }

    @Override
    public int rxBurst(Mbuf[] pkts, int off, int n) {
        XskRing r = rx;
        int avail = r.available(n);
        int got = 0, bad = 0;
        long bytes = 0;
        if (avail > 0) {
            Umem u = umem;
            byte[] h = held;
            int port = portId;
            for (int i = 0; i < avail; i++) {
                long at = r.entry(i);
                long addr = r.addr(at);
                int len = r.len(at);
                int idx = u.indexOfChunk(addr & Umem.ADDR_MASK);
                int dataOff = (int) (addr >>> Umem.OFFSET_SHIFT);
                if (idx < 0 || h[idx] != LENT || len < 0 || dataOff + len > bufLen) {
                    bad++;
                    continue;
                }
                h[idx] = 0;
                Mbuf m = pool.object(idx);
                if (len < ETH_HLEN) {
                    m.free();
                    bad++;
                    continue;
                }
                m.setData(dataOff, len);
                m.setPktLen(len);
                m.port = port;
                pkts[off + got++] = m;
                bytes += len;
            }
            r.release(avail);                                              // R1
            lent -= avail;
        }
        int posted = lent < target ? refill() : 0;
        if ((got == 0 && busyPoll) || (posted > 0 && fill.needWakeup())) XskCalls.kickRx(sock.fd);
        if (got > 0) countRx(got, bytes);
        if (bad > 0) countErrors(bad);
        if (got == 0 && (++emptyBursts & (ERROR_CHECK_INTERVAL - 1)) == 0) checkSocket();
        return got;
    }

    /**
     * Every {@link #ERROR_CHECK_INTERVAL} empty bursts: is the socket still bound? The kernel
     * unbinds it when its interface is deleted, and a kick then fails with ENXIO (an AF_XDP socket
     * reports no error through poll); only a failed kick is repeated with errno, which allocates.
     */
    private void checkSocket() {
        if (dev.isGone() || XskCalls.kickRx(sock.fd) >= 0) return;
        long r = org.jpdk.sys.Libc.recv(sock.fd, java.lang.foreign.MemorySegment.NULL, 0, XskCalls.MSG_DONTWAIT);
        if (r < 0 && r != -org.jpdk.sys.Errno.EAGAIN && r != -org.jpdk.sys.Errno.EINTR) dev.socketError("recvfrom", (int) -r);
    }

    /** Lends fresh mbufs to the fill ring until {@link #target} are lent or the pool is dry; returns how many. */
    private int refill() {
        int posted = 0;
        while (lent < target) {
            int k = fill.free(Math.min(target - lent, REFILL_BATCH));
            if (k <= 0) break;                                             // the kernel has not consumed: later
            if (!Mbuf.allocBulk(pool, refill, 0, k)) {
                countNombuf(k);
                break;
            }
            for (int j = 0; j < k; j++) {
                int idx = refill[j].index();
                held[idx] = LENT;
                fill.putAddr(fill.slot(j), umem.chunk(idx));
            }
            fill.submit(k);                                                // R2
            lent += k;
            posted += k;
        }
        return posted;
    }

    /**
     * Hands the frames that arrived before the port started back to the fill ring unread (their
     * buffers stay lent). Port stopped only.
     */
    void discardStale() {
        int n = rx.available(rx.size);
        int back = 0;
        for (int i = 0; i < n; i++) {
            long at = rx.entry(i);
            int idx = umem.indexOfChunk(rx.addr(at) & Umem.ADDR_MASK);
            if (idx >= 0 && held[idx] == LENT && fill.free(back + 1) > back) fill.putAddr(fill.slot(back++), umem.chunk(idx));
            else lent--;
        }
        rx.release(n);
        fill.submit(back);
        refill();
    }

    /** Readable (POLLIN) while the RX ring holds a frame: the socket itself. */
    @Override
    protected int interruptFd() {
        return sock.fd;
    }

    /** Closes the socket: the kernel lets go of the rings and chunks, and every mbuf it held goes back to the pool. */
    @Override
    protected void release() {
        dev.releaseSocket(queue, sock);
    }
}
