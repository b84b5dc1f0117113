package org.jpdk.drivers.net.afxdp;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.Mapping;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One AF_XDP socket of a net_af_xdp port, bound to one interface queue, with its UMEM (the rx
 * pool, see {@link Umem}) and its four rings mapped: fill and RX for the rx queue, TX and
 * completion for the tx queue of the same index. Made when the rx queue is set up and bound at
 * once (so a queue another socket holds is refused there), closed when the queue is released.
 *
 * <pre>
 * struct xdp_umem_reg (32)   +0 u64 addr  +8 u64 len  +16 u32 chunk_size  +20 u32 headroom
 *                            +24 u32 flags (UNALIGNED_CHUNK 1)  +28 u32 tx_metadata_len (0)
 * struct sockaddr_xdp (16)   +0 u16 family (44)  +2 u16 flags  +4 u32 ifindex  +8 u32 queue_id
 *                            +12 u32 shared_umem_fd          flags: SHARED_UMEM 1, COPY 2,
 *                                                            ZEROCOPY 4, USE_NEED_WAKEUP 8
 * struct xdp_mmap_offsets (128): rx, tx, fill, completion, each {producer, consumer, desc, flags} u64
 * mmap page offsets: RX 0, TX 0x80000000, FILL 0x100000000, COMPLETION 0x180000000
 * struct xdp_statistics (48): rx_dropped, rx_invalid_descs, tx_invalid_descs, rx_ring_full,
 *                            rx_fill_ring_empty_descs, tx_ring_empty_descs (u64 each)
 * struct xdp_options (4):    flags (ZEROCOPY 1)
 * </pre>
 *
 * Which mbufs the kernel holds is kept here, one byte per pool index in {@link #rxHeld} (lent to
 * the fill ring, until they come back on the RX ring) and {@link #txHeld} (sent, until they come
 * back on the completion ring); so an address the kernel returns twice, or one it was never
 * given, is refused instead of handing one mbuf out twice, and {@link #close} returns to the pool
 * every mbuf the kernel still had. The rx queue's lcore alone writes rxHeld, the tx queue's
 * lcore alone txHeld.
 */
final class XskSocket implements AutoCloseable {
    static final int SOL_XDP = 283;
    static final int XDP_MMAP_OFFSETS = 1, XDP_RX_RING = 2, XDP_TX_RING = 3, XDP_UMEM_REG = 4, XDP_UMEM_FILL_RING = 5,
            XDP_UMEM_COMPLETION_RING = 6, XDP_STATISTICS = 7, XDP_OPTIONS = 8;
    static final int XDP_SHARED_UMEM = 1, XDP_COPY = 2, XDP_ZEROCOPY = 4, XDP_USE_NEED_WAKEUP = 8;
    static final int XDP_UMEM_UNALIGNED_CHUNK_FLAG = 1, XDP_OPTIONS_ZEROCOPY = 1;
    static final long PGOFF_RX = 0, PGOFF_TX = 0x80000000L, PGOFF_FILL = 0x100000000L, PGOFF_COMPLETION = 0x180000000L;
    static final int SO_BUSY_POLL = 46, SO_PREFER_BUSY_POLL = 69, SO_BUSY_POLL_BUDGET = 70;
    /** How long a bind waits for a queue the kernel is still letting go of. */
    static final long BUSY_WAIT_MILLIS = 500;
    /** Microseconds a busy-polling syscall spins (SO_BUSY_POLL), as DPDK. */
    static final int BUSY_POLL_USECS = 20;
    /** Statistics indexes in {@link #statistics()}. */
    static final int RX_DROPPED = 0, RX_INVALID = 1, TX_INVALID = 2, RX_RING_FULL = 3, FILL_EMPTY = 4, TX_RING_EMPTY = 5;

    /** The socket; -1 once closed, so a late kick fails with EBADF instead of reaching a reused descriptor. */
    volatile int fd;
    final String what;
    final Umem umem;
    final XskRing fill, rx, tx, completion;
    final boolean zeroCopy;
    /** The UMEM registered by this socket (false: it shares another socket's). */
    final boolean ownsUmem;
    final boolean busyPoll;
    final byte[] rxHeld, txHeld;
    /** Owns the four ring mappings: closed first on close, so an lcore still polling gets IllegalStateException, never a fault. */
    private final Arena rings;
    private volatile boolean closed;

    private XskSocket(int fd, String what, Umem umem, XskRing fill, XskRing rx, XskRing tx, XskRing completion, boolean zeroCopy,
                      boolean ownsUmem, boolean busyPoll, Arena rings) {
        this.fd = fd;
        this.what = what;
        this.umem = umem;
        this.fill = fill;
        this.rx = rx;
        this.tx = tx;
        this.completion = completion;
        this.zeroCopy = zeroCopy;
        this.ownsUmem = ownsUmem;
        this.busyPoll = busyPoll;
        this.rxHeld = new byte[umem.count];
        this.txHeld = new byte[umem.count];
        this.rings = rings;
    }

    /**
     * Opens a socket on queue {@code queueId} of {@code ifindex} with rings of {@code ringSize}
     * entries each. {@code sharedWith}: a live socket whose UMEM (the same pool) this one shares,
     * or null to register the pool itself. Throws {@link AfXdpException} with one line naming the
     * call, the errno and the remedy.
     */
    static XskSocket open(String iface, int ifindex, int queueId, Umem umem, int ringSize, boolean forceCopy, XskSocket sharedWith,
                          int busyBudget) {
        String what = "AF_XDP, iface=" + iface + ", queue " + queueId;
        int fd;
        try {
            fd = Libc.socket(Libc.AF_XDP, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, 0, what);
        } catch (LinuxException e) {
            if (e.errno() == Errno.EPERM) throw new AfXdpException(e.getMessage() + ": AF_XDP sockets need CAP_NET_RAW (or root)", e);
            if (e.errno() == Errno.EAFNOSUPPORT) throw new AfXdpException(e.getMessage() + ": this kernel has no AF_XDP (CONFIG_XDP_SOCKETS)", e);
            throw new AfXdpException(e.getMessage(), e);
        }
        MemorySegment[] maps = new MemorySegment[4];
        Arena rings = Arena.ofShared();
        try (Arena a = Arena.ofConfined()) {
            if (sharedWith == null) registerUmem(fd, umem, what, a);
            setRing(fd, XDP_UMEM_FILL_RING, "XDP_UMEM_FILL_RING", ringSize, what);
            setRing(fd, XDP_UMEM_COMPLETION_RING, "XDP_UMEM_COMPLETION_RING", ringSize, what);
            setRing(fd, XDP_RX_RING, "XDP_RX_RING", ringSize, what);
            setRing(fd, XDP_TX_RING, "XDP_TX_RING", ringSize, what);
            MemorySegment off = a.allocate(128, 8);
            int n = Libc.getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, off);
            if (n < 0) throw new AfXdpException("getsockopt(XDP_MMAP_OFFSETS, " + what + "): " + Errno.name(-n));
            if (n < 128) throw new AfXdpException("getsockopt(XDP_MMAP_OFFSETS, " + what + "): " + n + " bytes: this kernel has no need-wakeup flags (5.4 or later needed)");
            // off: rx at 0, tx at 32, fill at 64, completion at 96; each {producer, consumer, desc, flags}
            maps[0] = mapRing(rings, fd, PGOFF_RX, off.get(JAVA_LONG, 16) + 16L * ringSize, what + ", RX ring");
            maps[1] = mapRing(rings, fd, PGOFF_TX, off.get(JAVA_LONG, 48) + 16L * ringSize, what + ", TX ring");
            maps[2] = mapRing(rings, fd, PGOFF_FILL, off.get(JAVA_LONG, 80) + 8L * ringSize, what + ", fill ring");
            maps[3] = mapRing(rings, fd, PGOFF_COMPLETION, off.get(JAVA_LONG, 112) + 8L * ringSize, what + ", completion ring");
            XskRing rx = XskRing.consumer(maps[0], off.get(JAVA_LONG, 0), off.get(JAVA_LONG, 8), off.get(JAVA_LONG, 24), off.get(JAVA_LONG, 16), ringSize, 16);
            XskRing tx = XskRing.producer(maps[1], off.get(JAVA_LONG, 32), off.get(JAVA_LONG, 40), off.get(JAVA_LONG, 56), off.get(JAVA_LONG, 48), ringSize, 16);
            XskRing fill = XskRing.producer(maps[2], off.get(JAVA_LONG, 64), off.get(JAVA_LONG, 72), off.get(JAVA_LONG, 88), off.get(JAVA_LONG, 80), ringSize, 8);
            XskRing comp = XskRing.consumer(maps[3], off.get(JAVA_LONG, 96), off.get(JAVA_LONG, 104), off.get(JAVA_LONG, 120), off.get(JAVA_LONG, 112), ringSize, 8);
            // zero-copy only from hugepages: a chunk crossing two 4 KiB pages is DMA-able only when they are contiguous
            // a socket sharing a UMEM takes no other flag: mode and need-wakeup are the owner's
            boolean copy = forceCopy || !umem.hugepages;
            bind(fd, ifindex, queueId, sharedWith != null ? XDP_SHARED_UMEM : XDP_USE_NEED_WAKEUP | (copy ? XDP_COPY : 0),
                    sharedWith != null ? sharedWith.fd : 0, iface, what);
            MemorySegment opt = a.allocate(4, 4);
            boolean zc = Libc.getsockopt(fd, SOL_XDP, XDP_OPTIONS, opt) >= 4 && (opt.get(JAVA_INT, 0) & XDP_OPTIONS_ZEROCOPY) != 0;
            boolean busy = busyBudget > 0 && busyPoll(fd, busyBudget, what);
            return new XskSocket(fd, what, umem, fill, rx, tx, comp, zc, sharedWith == null, busy, rings);
        } catch (RuntimeException e) {
            rings.close();
            Libc.close(fd);
            throw e;
        }
    }

    private static void registerUmem(int fd, Umem umem, String what, Arena a) {
        MemorySegment reg = a.allocate(32, 8);
        // bounded: the pool's own memzone rounded out to whole pages, which stays mapped while the pool lives (a pool
        // with mbufs out cannot close); the kernel pins it and writes only into chunks we post: buffer starts of mbufs
        // lent to the fill ring, chunkSize <= their buffer length. The rounded edges are never posted.
        reg.set(JAVA_LONG, 0, umem.base);
        reg.set(JAVA_LONG, 8, umem.len);
        reg.set(JAVA_INT, 16, umem.chunkSize);
        reg.set(JAVA_INT, 20, 0);
        reg.set(JAVA_INT, 24, XDP_UMEM_UNALIGNED_CHUNK_FLAG);
        int r = Libc.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg);
        if (r == -Errno.ENOBUFS || r == -Errno.ENOMEM || r == -Errno.EPERM) {
            // the pinned UMEM counts against RLIMIT_MEMLOCK unless we have CAP_IPC_LOCK: lift the soft limit to the hard one, once
            if (Rlimit.raiseMemlock()) r = Libc.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg);
        }
        if (r == 0) return;
        String call = "setsockopt(XDP_UMEM_REG, " + what + ", mempool " + umem.pool.name() + ", " + umem.len + " bytes)";
        if (r == -Errno.ENOBUFS || r == -Errno.ENOMEM || r == -Errno.EPERM) {
            throw new AfXdpException(call + ": " + Errno.name(-r) + ": RLIMIT_MEMLOCK (" + Rlimit.memlockDescription()
                    + ") is below the " + umem.len + " bytes to pin; raise it (ulimit -l unlimited, or LimitMEMLOCK=infinity) or run with CAP_IPC_LOCK");
        }
        throw new AfXdpException(call + ": " + Errno.name(-r));
    }

    private static void setRing(int fd, int opt, String name, int size, String what) {
        int r = Libc.setsockopt(fd, SOL_XDP, opt, size);
        if (r < 0) throw new AfXdpException("setsockopt(" + name + "=" + size + ", " + what + "): " + Errno.name(-r));
    }

    /** Maps one ring into {@code rings}: closing that arena makes any late access throw, then unmaps. */
    static MemorySegment mapRing(Arena rings, int fd, long pgoff, long len, String what) {
        return Mapping.map(rings, len, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, pgoff, what + ", " + len + " bytes");
    }

    /**
     * Binds, retrying EBUSY for up to {@link #BUSY_WAIT_MILLIS}: the kernel lets go of a queue
     * from a work queue after its last socket closed, so a port closed and opened again finds it
     * taken for a moment.
     */
    private static void bind(int fd, int ifindex, int queueId, int flags, int sharedFd, String iface, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sxdp = a.allocate(16, 4);
            sxdp.set(JAVA_SHORT, 0, (short) Libc.AF_XDP);
            sxdp.set(JAVA_SHORT, 2, (short) flags);
            sxdp.set(JAVA_INT, 4, ifindex);
            sxdp.set(JAVA_INT, 8, queueId);
            sxdp.set(JAVA_INT, 12, sharedFd);
            long deadline = System.nanoTime() + BUSY_WAIT_MILLIS * 1_000_000L;
            while (true) {
                try {
                    Libc.bind(fd, sxdp, what);
                    return;
                } catch (LinuxException e) {
                    if (e.errno() != Errno.EBUSY || System.nanoTime() > deadline) throw e;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new AfXdpException("bind(" + what + "): interrupted while the queue was busy", ie);
                }
            }
        } catch (LinuxException e) {
            String why = switch (e.errno()) {
                case Errno.EBUSY -> ": another socket holds this queue";
                case Errno.EINVAL -> sharedFd != 0 ? ": sharing a UMEM between queues needs kernel 5.10 or later"
                        : ": iface=" + iface + " has no queue " + queueId + " (ethtool -l " + iface
                        + "; a veth gets more with numrxqueues N numtxqueues N)";
                case Errno.ENODEV -> ": no such interface any more";
                case Errno.EOPNOTSUPP -> ": the interface's driver cannot do this mode";
                case Errno.EPERM -> ": needs CAP_NET_RAW (or root)";
                default -> "";
            };
            throw new AfXdpException(e.getMessage() + why, e);
        }
    }

    /** SO_PREFER_BUSY_POLL, SO_BUSY_POLL and SO_BUSY_POLL_BUDGET; false (with a warning) when the kernel refuses them. */
    private static boolean busyPoll(int fd, int budget, String what) {
        int r = Libc.setsockopt(fd, Libc.SOL_SOCKET, SO_PREFER_BUSY_POLL, 1);
        String opt = "SO_PREFER_BUSY_POLL";
        if (r == 0) {
            r = Libc.setsockopt(fd, Libc.SOL_SOCKET, SO_BUSY_POLL, BUSY_POLL_USECS);
            opt = "SO_BUSY_POLL=" + BUSY_POLL_USECS;
        }
        if (r == 0) {
            r = Libc.setsockopt(fd, Libc.SOL_SOCKET, SO_BUSY_POLL_BUDGET, budget);
            opt = "SO_BUSY_POLL_BUDGET=" + budget;
        }
        if (r == 0) return true;
        org.jpdk.ethdev.EthDev.LOG.warning("setsockopt(" + opt + ", " + what + "): " + Errno.name(-r) + "; busy polling off for this queue");
        return false;
    }

    /**
     * The kernel's counters (XDP_STATISTICS), in the order of {@link #RX_DROPPED}..{@link #TX_RING_EMPTY};
     * zeros once closed. Control thread.
     */
    long[] statistics() {
        long[] s = new long[6];
        if (closed) return s;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(48, 8);
            int n = Libc.getsockopt(fd, SOL_XDP, XDP_STATISTICS, st);
            for (int i = 0; i < 6 && (i + 1) * 8 <= n; i++) s[i] = st.get(JAVA_LONG, i * 8L);
        }
        return s;
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Unmaps the rings (an lcore that polls a queue anyway, a bug, gets IllegalStateException and a
     * kick it had begun EBADF), closes the socket (the kernel unbinds it and stops writing into its
     * chunks), and frees every mbuf the kernel still held. The port has stopped by now.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        int s = fd;
        fd = -1;
        rings.close();
        Libc.close(s);
        if (zeroCopy) {
            // in zero-copy mode the kernel detaches the NIC from the UMEM from a work queue after close
            // returns; give the NIC that moment before its last buffers can go to someone else
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        returnHeld(rxHeld);
        returnHeld(txHeld);
    }

    private void returnHeld(byte[] held) {
        for (int i = 0; i < held.length; i++) {
            if (held[i] != 0) {
                held[i] = 0;
                umem.pool.object(i).free();
            }
        }
    }
}
