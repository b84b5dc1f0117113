package org.jpdk.drivers.net.virtio;

import org.jpdk.eal.Log;
import org.jpdk.eal.Memzone;
import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthEvent;
import org.jpdk.ethdev.LinkStatus;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.PortConf;
import org.jpdk.ethdev.RxQueue;
import org.jpdk.ethdev.TxQueue;
import org.jpdk.ethdev.Xstat;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.UnixSocket;
import org.jpdk.virtio.VirtioFeatures;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The driver side of one net_virtio_user port: a virtio-net front end with no VM around it, as
 * DPDK's virtio_user. Its rings and the buffers they point at are jpdk's own EAL memory, shown to
 * the back end whole (every memseg a region of SET_MEM_TABLE, passed as its file descriptor), so
 * the back end reads and writes mbufs in place.
 *
 * <p>A control thread of the port's own runs the session: it connects to the back end's socket
 * (or, with {@code server=1}, accepts the back end's connection), negotiates features, hands over
 * the memory, fills the rx rings and sets up every vring with its kick and call eventfds, then
 * publishes the rings to the queues ({@link RingSlot}): link up. It then watches the socket: when
 * the back end goes away, or an lcore reports that the back end broke a ring, it takes the rings
 * back, frees the mbufs they held, and the link goes down (one log line); in client mode it tries
 * to connect again every second, in server mode it waits for the next connection. The lcores never
 * block and never make a syscall but the kick the back end asks for.
 */
final class VirtioUserDevice extends EthDevOps {
    static final Log.Type LOG = Log.register("pmd.net.virtio_user", "VIRTIO_USER");
    /** The virtio-net header with VIRTIO_F_VERSION_1 (num_buffers included). */
    static final int NET_HDR_SIZE = 12;
    static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);
    static final long QUIESCE_NANOS = 500_000_000L;
    static final int MAX_FRAME = 9728;

    static {
        ONE.set(JAVA_LONG, 0, 1L);
    }

    final VirtioUserConfig cfg;
    private final MacAddr mac;
    private VirtioRxQueue[] rxq = new VirtioRxQueue[0];
    private VirtioTxQueue[] txq = new VirtioTxQueue[0];
    private final List<Memzone> zones = new ArrayList<>();
    // control thread state
    private Thread thread;
    private volatile boolean running;
    private UnixSocket listener;
    private VhostBackend backend;
    private int[] eventFds = new int[0];
    private String lastError;
    private final MemorySegment pollfd = Arena.ofAuto().allocate(8, 8);
    // read by any thread
    private volatile boolean linkUp, mergeable;
    private volatile long negotiated;
    private volatile String fault;
    private volatile long connects, disconnects, ringFaults;

    VirtioUserDevice(EthDev port, VirtioUserConfig cfg) {
        super(port);
        this.cfg = cfg;
        this.mac = cfg.mac() != null ? cfg.mac() : MacAddr.random();
    }

    @Override
    public DevInfo info() {
        return new DevInfo("net_virtio_user", null, cfg.queues(), cfg.queues(), 64, MAX_FRAME, 68, MAX_FRAME - 18,
                cfg.mrgRxbuf() ? Offloads.RX_SCATTER : 0, Offloads.TX_MULTI_SEGS, 0, 0, 0, 1, VirtioUserConfig.MAX_QUEUE_SIZE,
                cfg.queueSize(), LinkStatus.SPEED_10G);
    }

    @Override
    public MacAddr initialMacAddr() {
        return mac;
    }

    @Override
    public synchronized void configure(int nbRxQueues, int nbTxQueues, PortConf conf) {
        rxq = Arrays.copyOf(rxq, nbRxQueues);
        txq = Arrays.copyOf(txq, nbTxQueues);
    }

    /** The ring memory of one vring, in EAL memory (shown to the back end with the rest). */
    private Memzone ringZone(String dir, int queue, boolean headers) {
        String name = "vu" + port.id() + dir + queue + "_" + Long.toHexString(System.nanoTime() & 0xffffff);
        long bytes = Math.max(SplitVring.bytes(cfg.queueSize(), headers), PackedVring.bytes(cfg.queueSize(), headers));
        Memzone z = Memzone.reserve(name, bytes, Memzone.SOCKET_ID_ANY, 4096);
        zones.add(z);
        return z;
    }

    @Override
    public synchronized RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
        if (Mbuf.dataRoomSize(pool) < Mbuf.DEFAULT_HEADROOM + 64 || pool.memzone() == null) {
            throw port.error("rx queue " + queue + ": mempool " + pool.name() + " has no room for frames");
        }
        VirtioRxQueue q = new VirtioRxQueue(this, queue, pool, ringZone("rx", queue, false));
        rxq[queue] = q;
        return q;
    }

    @Override
    public synchronized TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
        VirtioTxQueue q = new VirtioTxQueue(this, queue, ringZone("tx", queue, true));
        txq[queue] = q;
        return q;
    }

    synchronized void queueReleased(Object q) {
        for (int i = 0; i < rxq.length; i++) if (rxq[i] == q) rxq[i] = null;
        for (int i = 0; i < txq.length; i++) if (txq[i] == q) txq[i] = null;
    }

    @Override
    public void start() {
        VhostBackend kernel = null;
        if (cfg.kernel()) kernel = new VhostKernelBackend(cfg.path(), Math.max(rxq.length, txq.length), cfg.iface());
        if (cfg.server()) {
            try {
                listener = UnixSocket.listen(cfg.path(), false, 1, Libc.SOCK_STREAM);
            } catch (LinuxException e) {
                throw port.error("listen on path=" + cfg.path() + ": " + Errno.name(e.errno()));
            }
        }
        running = true;
        lastError = null;
        VhostBackend first = kernel;
        thread = Thread.ofPlatform().daemon().name("virtio-user-" + port.id()).start(() -> run(first));
    }

    @Override
    public void stop() {
        running = false;
        Thread t = thread;
        thread = null;
        if (t != null) {
            t.interrupt();
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (listener != null) {
            listener.close();
            listener = null;
        }
    }

    @Override
    public void close() {
        stop();
        for (Memzone z : zones) z.free();
        zones.clear();
    }

    @Override
    public LinkStatus link(boolean started) {
        return started && linkUp ? new LinkStatus(LinkStatus.SPEED_10G, true, false, true) : LinkStatus.DOWN;
    }

    @Override
    public List<Xstat> xstats() {
        long outside = 0;
        for (VirtioTxQueue q : txq) if (q != null) outside += q.outsideMemory;
        return List.of(new Xstat("virtio_user_connects", connects), new Xstat("virtio_user_disconnects", disconnects),
                new Xstat("virtio_user_ring_faults", ringFaults), new Xstat("virtio_user_tx_outside_memory", outside),
                new Xstat("virtio_user_features", negotiated));
    }

    boolean mergeable() {
        return mergeable;
    }

    /**
     * From an lcore: the back end broke {@code r} ({@code why}); the ring is not touched again and
     * the control thread disconnects. Allocates (the reason): once per ring at most.
     */
    void fault(Vring r, String why) {
        if (r.faulted) return;
        r.faulted = true;
        ringFaults++;
        if (fault == null) fault = why;
    }

    // ---------------------------------------------------------------- the control thread

    private void run(VhostBackend kernel) {
        try {
            while (running) {
                if (backend == null) {
                    VhostBackend b = kernel != null ? kernel : open();
                    kernel = null;
                    if (b == null) continue;
                    try {
                        connect(b);
                    } catch (RuntimeException e) {
                        note(Log.WARNING, "cannot set up the back end: " + e.getMessage());
                        teardown(null, false);
                        if (cfg.kernel()) return; // nothing to retry: the reason is logged
                        sleep(1000);
                    }
                } else {
                    String f = fault;
                    String why = f != null ? "the back end broke a ring: " + f
                            : backend.hungUp(100) ? "the back end closed the connection" : null;
                    if (why != null) {
                        teardown(why, false);
                        if (!cfg.server()) sleep(1000); // a client comes back once a second, not in a loop with a bad back end
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.log(Log.ERR, "%s: control thread: %s", port.name(), e.toString());
        } finally {
            if (backend != null) teardown("device stopped", true);
        }
    }

    /** Logs {@code msg} once until another message or a connection comes. */
    private void note(int level, String msg) {
        if (msg.equals(lastError)) return;
        lastError = msg;
        LOG.log(level, "%s: %s", port.name(), msg);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The next back end to talk to: a connection made (client) or accepted (server), or null after a short wait. */
    private VhostBackend open() {
        if (cfg.server()) {
            pollfd.set(JAVA_INT, 0, listener.fd());
            pollfd.set(JAVA_SHORT, 4, (short) Libc.POLLIN);
            pollfd.set(JAVA_SHORT, 6, (short) 0);
            if (Libc.pollNoErrno(pollfd, 1, 200) <= 0) return null;
            UnixSocket s = listener.accept();
            return s == null ? null : new VhostUserBackend(cfg.path(), s);
        }
        try {
            return new VhostUserBackend(cfg.path(), UnixSocket.connect(cfg.path(), false, Libc.SOCK_STREAM));
        } catch (LinuxException e) {
            note(Log.NOTICE, "cannot connect to path=" + cfg.path() + ": " + Errno.name(e.errno()) + "; trying again every second");
            sleep(1000);
            return null;
        }
    }

    /** The features this front end asks for, from its devargs. */
    private long wanted() {
        long f = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1) | VirtioFeatures.bit(VirtioFeatures.F_PROTOCOL_FEATURES);
        if (cfg.mrgRxbuf()) f |= VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF);
        if (cfg.packed()) f |= VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED);
        else if (cfg.inOrder()) f |= VirtioFeatures.bit(VirtioFeatures.F_IN_ORDER); // packed rings here never in order
        return f;
    }

    /** Runs the session's setup with {@code b}; the rings go live at the end. Throws with a reason. */
    private void connect(VhostBackend b) {
        backend = b;
        VirtioRxQueue[] rx;
        VirtioTxQueue[] tx;
        synchronized (this) {
            rx = rxq.clone();
            tx = txq.clone();
        }
        int pairs = Math.max(rx.length, tx.length);
        b.setOwner();
        long offered = b.features();
        long f = offered & wanted();
        if (!VirtioFeatures.has(f, VirtioFeatures.F_VERSION_1)) {
            throw new EthDevException(b.describe() + " does not offer VIRTIO_F_VERSION_1 (features 0x" + Long.toHexString(offered)
                    + "); legacy virtio is not supported");
        }
        if (cfg.packed() && !VirtioFeatures.has(f, VirtioFeatures.F_RING_PACKED)) {
            throw new EthDevException(b.describe() + " does not offer VIRTIO_F_RING_PACKED, which packed_vq=1 asks for");
        }
        if (pairs > b.maxQueuePairs()) {
            throw new EthDevException(b.describe() + " takes " + b.maxQueuePairs() + " queue pair(s); the port has " + pairs);
        }
        List<VhostBackend.MemRegion> regions = FrontendMemory.regions();
        VhostBackend.MemRegion[] shown = regions.toArray(new VhostBackend.MemRegion[0]);
        eventFds = new int[4 * pairs];
        Arrays.fill(eventFds, -1);
        for (int i = 0; i < eventFds.length; i++) eventFds[i] = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        // vring v: kick fd eventFds[2v], call fd eventFds[2v+1]
        for (int v = 0; v < 2 * pairs; v++) if (present(rx, tx, v)) b.setVringCall(v, eventFds[2 * v + 1]);
        b.setFeatures(f);
        negotiated = f;
        mergeable = VirtioFeatures.has(f, VirtioFeatures.NET_F_MRG_RXBUF);
        boolean inOrder = VirtioFeatures.has(f, VirtioFeatures.F_IN_ORDER);
        boolean packed = VirtioFeatures.has(f, VirtioFeatures.F_RING_PACKED);
        b.setMemTable(regions);
        Vring[] rings = new Vring[2 * pairs];
        pending = rings;
        for (int v = 0; v < 2 * pairs; v++) {
            if (!present(rx, tx, v)) continue;
            boolean isRx = v % 2 == 0;
            Memzone z = isRx ? rx[v / 2].mem : tx[v / 2].mem;
            Vring r = packed ? PackedVring.in(z.segment(), cfg.queueSize(), eventFds[2 * v], !isRx, shown)
                    : SplitVring.in(z.segment(), cfg.queueSize(), eventFds[2 * v], !isRx, inOrder, shown);
            if (FrontendMemory.find(shown, z.segment().address(), z.len()) < 0) {
                throw new EthDevException("vring " + v + " is outside the memory shown to the back end");
            }
            if (isRx) {
                VirtioRxQueue q = rx[v / 2];
                if (FrontendMemory.find(shown, q.pool.memzone().segment().address(), q.pool.memzone().len()) < 0) {
                    throw new EthDevException("rx queue " + (v / 2) + ": mempool " + q.pool.name() + " is outside the memory shown to the back end");
                }
                rings[v] = r; // registered before priming, so that a failure frees what was posted
                if (!q.prime(r)) throw new EthDevException("rx queue " + (v / 2) + ": mempool " + q.pool.name() + " has no free mbuf");
            } else {
                r.noInterrupts();
                rings[v] = r;
            }
            b.setVring(v, r.size, r.base(), r.descAddr, r.availAddr, r.usedAddr);
            b.setVringKick(v, eventFds[2 * v]);
        }
        for (int q = 0; q < pairs; q++) b.enable(q, true);
        for (int v = 0; v < rings.length; v++) {
            if (rings[v] == null) continue;
            if (v % 2 == 0) rx[v / 2].slot.attach(rings[v]);
            else tx[v / 2].slot.attach(rings[v]);
        }
        pending = null;
        connects++;
        lastError = null;
        linkUp = true;
        LOG.log(Log.NOTICE, "%s: connected to %s, features %s", port.name(), b.describe(), VirtioFeatures.names(f));
        raiseEvent(EthEvent.LINK_STATE_CHANGE);
    }

    /** Rings set up but not yet attached (a failed setup frees their mbufs). */
    private Vring[] pending;

    private static boolean present(VirtioRxQueue[] rx, VirtioTxQueue[] tx, int v) {
        int q = v / 2;
        return v % 2 == 0 ? q < rx.length && rx[q] != null : q < tx.length && tx[q] != null;
    }

    /**
     * Takes the rings back from the lcores and frees what they held, closes the eventfds and the
     * back end; link down if it was up. {@code reason} null: a setup that failed (already logged).
     * {@code graceful}: stop each vring first (the back end is asked to leave the rings alone).
     */
    private void teardown(String reason, boolean graceful) {
        VhostBackend b = backend;
        backend = null;
        VirtioRxQueue[] rx;
        VirtioTxQueue[] tx;
        synchronized (this) {
            rx = rxq.clone();
            tx = txq.clone();
        }
        if (graceful && b != null && linkUp) {
            try {
                for (int v = 0; v < 2 * Math.max(rx.length, tx.length); v++) if (present(rx, tx, v)) b.stopVring(v);
            } catch (RuntimeException e) {
                LOG.log(Log.DEBUG, "%s: stopping the rings: %s", port.name(), e.getMessage());
            }
        }
        boolean leaked = false;
        List<RingSlot> slots = new ArrayList<>();
        for (VirtioRxQueue q : rx) if (q != null) slots.add(q.slot);
        for (VirtioTxQueue q : tx) if (q != null) slots.add(q.slot);
        for (RingSlot s : slots) {
            Vring had = s.current(), r = s.detach(QUIESCE_NANOS);
            if (r != null) VirtioTxQueue.release(r);
            else leaked |= had != null;
        }
        if (pending != null) { // a setup that failed before the rings went to the lcores
            for (Vring r : pending) if (r != null) VirtioTxQueue.release(r);
            pending = null;
        }
        if (leaked) LOG.log(Log.WARNING, "%s: an lcore stayed in a burst; its ring's mbufs are left unfreed", port.name());
        for (int fd : eventFds) if (fd >= 0) Libc.close(fd);
        eventFds = new int[0];
        if (b != null) b.close();
        fault = null;
        if (linkUp) {
            linkUp = false;
            disconnects++;
            LOG.log(Log.NOTICE, "%s: link down: %s", port.name(), reason == null ? "setup failed" : reason);
            peerDisconnected(reason == null ? "setup failed" : reason, false);
            raiseEvent(EthEvent.LINK_STATE_CHANGE);
        }
    }
}
