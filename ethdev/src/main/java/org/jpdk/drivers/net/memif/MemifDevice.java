package org.jpdk.drivers.net.memif;

import org.jpdk.eal.Memseg;
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
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.Mapping;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The driver side of one net_memif port: its queues, and the shared memory of its current
 * connection. A client builds that memory itself when the server says HELLO (region 0: the rings
 * and, in copy mode, their buffers, in a dedicated memzone, sealed against shrinking; in zero-copy
 * mode also each rx pool's own memory as a region), and publishes the rings to its queues at
 * CONNECTED. A server maps what the client announced, each region a segment bounded to its size in
 * one shared arena per connection, checks every ring (inside its region, cookie) and publishes them
 * at CONNECT. Taking a connection down is the reverse, after each lcore has left the rings
 * ({@link MemifRxQueue}): free what the queues held, close the eventfds, unmap.
 *
 * <p>Everything here but the data path runs under {@link MemifControl}'s lock, on the control thread
 * or on the thread that calls the port's control API. Link state follows the connection, and each
 * change raises {@link EthEvent#LINK_STATE_CHANGE}.
 */
final class MemifDevice extends EthDevOps {
    /** How long a disconnect waits for an lcore to leave a burst before unmapping under it. */
    static final long QUIESCE_NANOS = 500_000_000L;
    static final int MAX_QUEUES = 255;
    /** The largest region a server maps: offsets are 32-bit, and a peer must not make us map terabytes. */
    static final long MAX_REGION_SIZE = 1L << 32;

    final MemifConfig cfg;
    final MemifControl ctl;
    final MacAddr mac;
    private MemifRxQueue[] rxq = new MemifRxQueue[0];
    private MemifTxQueue[] txq = new MemifTxQueue[0];
    // guarded by ctl
    boolean started;
    MemifChannel channel;
    private Connection conn;
    long nextAttempt;
    /** The last reason a connect or handshake failed, logged once until another comes or the link goes up. */
    String lastConnectError;
    private int sessions;
    // read by any thread
    private volatile boolean linkUp;
    private volatile String fault;
    private volatile long connects, disconnects, protocolErrors;

    /** The memory and descriptors of one connection, freed together. */
    private static final class Connection {
        Arena peerMemory;                  // server: the client's regions, mapped
        Memzone region0;                   // client: our region 0
        MemorySegment[] regions = new MemorySegment[0];
        long[] regionBase = new long[0];
        final List<Integer> fds = new ArrayList<>(); // eventfds and region fds to close
        RingView[] rx = new RingView[0], tx = new RingView[0];
    }

    MemifDevice(EthDev port, MemifConfig cfg, MemifControl ctl) {
        super(port);
        this.cfg = cfg;
        this.ctl = ctl;
        this.mac = cfg.mac() != null ? cfg.mac() : MacAddr.random();
    }

    String name() {
        return port.name();
    }

    @Override
    public DevInfo info() {
        return new DevInfo("net_memif", null, MAX_QUEUES, MAX_QUEUES, 0, ServerRxQueue.MAX_FRAME, 68, ServerRxQueue.MAX_FRAME - 18,
                Offloads.RX_SCATTER, Offloads.TX_MULTI_SEGS, 0, 0, 0, 1, 1 << MemifRing.MAX_LOG2_SIZE, 1 << cfg.log2Ring(), 100_000);
    }

    @Override
    public MacAddr initialMacAddr() {
        return mac;
    }

    @Override
    public void configure(int nbRxQueues, int nbTxQueues, PortConf conf) {
        synchronized (ctl) {
            rxq = Arrays.copyOf(rxq, nbRxQueues);
            txq = Arrays.copyOf(txq, nbTxQueues);
        }
    }

    @Override
    public RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
        MemifRxQueue q;
        if (cfg.server()) {
            q = new ServerRxQueue(this, queue, pool);
        } else if (cfg.zeroCopy()) {
            if (!pool.memzone().dedicated()) {
                throw port.error("rx queue " + queue + ": zero-copy=yes shows the rx pool's memory to the server, and mempool "
                        + pool.name() + " shares its memory with the rest of the heap; create it with Mempool.F_DEDICATED_MEMORY");
            }
            if (pool.memzone().memseg().len() > MAX_REGION_SIZE) {
                throw port.error("rx queue " + queue + ": mempool " + pool.name() + " is " + pool.memzone().memseg().len()
                        + " bytes; memif offsets reach 4 GiB");
            }
            q = new ZeroCopyRxQueue(this, queue, pool);
        } else {
            q = new ClientRxQueue(this, queue, pool);
        }
        synchronized (ctl) {
            rxq[queue] = q;
        }
        return q;
    }

    @Override
    public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
        MemifTxQueue q = cfg.server() ? new ServerTxQueue(this, queue)
                : cfg.zeroCopy() ? new ZeroCopyTxQueue(this, queue) : new ClientTxQueue(this, queue);
        synchronized (ctl) {
            txq[queue] = q;
        }
        return q;
    }

    void queueReleased(Object q) {
        synchronized (ctl) {
            for (int i = 0; i < rxq.length; i++) if (rxq[i] == q) rxq[i] = null;
            for (int i = 0; i < txq.length; i++) if (txq[i] == q) txq[i] = null;
        }
    }

    @Override
    public void start() {
        synchronized (ctl) {
            started = true;
            nextAttempt = System.nanoTime();
            lastConnectError = null;
        }
        ctl.wake();
    }

    @Override
    public void stop() {
        synchronized (ctl) {
            started = false;
            ctl.disconnect(this, "Device stopped", true, false);
        }
    }

    @Override
    public void close() {
        synchronized (ctl) {
            started = false;
            ctl.disconnect(this, "Device closed", true, false);
        }
        ctl.unregister(this);
    }

    @Override
    public LinkStatus link(boolean portStarted) {
        return portStarted && linkUp ? new LinkStatus(100_000, true, true, true) : LinkStatus.DOWN;
    }

    @Override
    public List<Xstat> xstats() {
        return List.of(new Xstat("memif_connects", connects), new Xstat("memif_disconnects", disconnects),
                new Xstat("memif_protocol_errors", protocolErrors));
    }

    boolean connected() {
        return linkUp;
    }

    /** Configured queue counts: the server takes a client's rings up to these. */
    int nbRxQueues() {
        return rxq.length;
    }

    int nbTxQueues() {
        return txq.length;
    }

    // ---------------------------------------------------------------- faults from the lcores

    /** From a polling lcore: the peer broke the protocol on a ring; the control thread disconnects. */
    void fault(String why) {
        if (fault == null) fault = why;
        ctl.wake();
    }

    /** The fault an lcore reported, cleared. Control thread. */
    String takeFault() {
        String f = fault;
        fault = null;
        return f;
    }

    // ---------------------------------------------------------------- client: build the memory at HELLO

    /**
     * Makes region 0 (and the zero-copy regions) and the eventfds for {@code c2s} transmit and
     * {@code s2c} receive rings of {@code 2^log2} slots, and queues the messages that announce them.
     * Throws with a reason for the peer and the log when it cannot.
     */
    void prepareClient(MemifChannel ch, int c2s, int s2c, int log2) {
        Connection c = new Connection();
        conn = c;
        int size = 1 << log2, bsize = cfg.bufferSize();
        long ringBytes = MemifRing.bytes(log2), rings = (long) (c2s + s2c) * ringBytes;
        long buffers = (long) (cfg.zeroCopy() ? c2s : c2s + s2c) * size * bsize;
        if (rings + buffers > MAX_REGION_SIZE) {
            throw new EthDevException("rings and buffers need " + (rings + buffers) + " bytes; memif offsets reach 4 GiB (lower bsize or rsize)");
        }
        String zone = "memif" + port.id() + "_" + (++sessions);
        try {
            c.region0 = Memzone.reserve(zone, rings + buffers, Memzone.SOCKET_ID_ANY, Memzone.MEMZONE_DEDICATED, 64);
        } catch (RuntimeException e) {
            throw new EthDevException("cannot make region 0 of " + (rings + buffers) + " bytes: " + e.getMessage(), e);
        }
        Memseg seg0 = c.region0.memseg();
        List<MemorySegment> regions = new ArrayList<>(List.of(c.region0.segment()));
        List<Long> bases = new ArrayList<>(List.of(0L));
        List<Memseg> shown = new ArrayList<>(List.of(seg0));
        Map<Mempool<Mbuf>, Integer> poolRegion = new LinkedHashMap<>();
        if (cfg.zeroCopy()) {
            for (int i = 0; i < s2c; i++) {
                Mempool<Mbuf> pool = rxq[i].pool;
                if (poolRegion.containsKey(pool)) continue;
                Memseg m = pool.memzone().memseg();
                poolRegion.put(pool, regions.size());
                regions.add(pool.memzone().segment());
                bases.add(m.address());
                shown.add(m);
            }
        }
        c.regions = regions.toArray(new MemorySegment[0]);
        c.regionBase = bases.stream().mapToLong(Long::longValue).toArray();
        MemorySegment r0 = c.region0.segment();
        c.tx = new RingView[c2s];
        c.rx = new RingView[s2c];
        for (int t = 0; t < 2; t++) {
            int n = t == 0 ? c2s : s2c;
            for (int i = 0; i < n; i++) {
                int g = i + t * c2s;
                long ringOff = g * ringBytes;
                MemorySegment ring = r0.asSlice(ringOff, ringBytes);
                MemifRing.init(ring);
                boolean hasBuffers = !cfg.zeroCopy() || t == 0;
                long bufBase = rings + (long) g * size * bsize;
                if (hasBuffers) {
                    for (int j = 0; j < size; j++) {
                        long d = MemifRing.desc(j);
                        ring.set(JAVA_SHORT, d + MemifRing.D_REGION, (short) 0);
                        ring.set(JAVA_INT, d + MemifRing.D_LENGTH, bsize);
                        ring.set(JAVA_INT, d + MemifRing.D_OFFSET, (int) (bufBase + (long) j * bsize));
                    }
                }
                int efd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
                c.fds.add(efd);
                String what = (t == 0 ? "C2S" : "S2C") + " ring " + i;
                if (t == 0) {
                    c.tx[i] = new RingView(ring, log2, c.regions, efd, bufBase, bsize, cfg.zeroCopy(), c.regionBase, 0, what);
                } else {
                    int pr = cfg.zeroCopy() ? poolRegion.get(rxq[i].pool) : 0;
                    c.rx[i] = new RingView(ring, log2, c.regions, efd, bufBase, bsize, cfg.zeroCopy(), c.regionBase, pr, what);
                }
                MemorySegment msg = ch.newMessage();
                MemifMessage.addRing(msg, t == 0, i, 0, ringOff, log2);
                ch.outbox.add(new MemifChannel.Outgoing(msg, efd));
            }
        }
        // INIT, then the regions, then (already queued) the rings, then CONNECT
        List<MemifChannel.Outgoing> head = new ArrayList<>();
        MemorySegment init = ch.newMessage();
        MemifMessage.init(init, cfg.id(), cfg.secret(), "jpdk");
        head.add(new MemifChannel.Outgoing(init, -1));
        for (int k = 0; k < shown.size(); k++) {
            MemorySegment msg = ch.newMessage();
            MemifMessage.addRegion(msg, k, shown.get(k).len());
            head.add(new MemifChannel.Outgoing(msg, shown.get(k).fd()));
        }
        for (int k = head.size() - 1; k >= 0; k--) ch.outbox.addFirst(head.get(k));
        MemorySegment connect = ch.newMessage();
        MemifMessage.connect(connect, MemifMessage.CONNECT, port.name());
        ch.outbox.add(new MemifChannel.Outgoing(connect, -1));
    }

    /** Client, at CONNECTED: the rings go live. */
    void connectClient() {
        Connection c = conn;
        for (int i = 0; i < c.rx.length; i++) {
            if (rxq[i] == null) continue;
            rxq[i].prime(c.rx[i]); // the server reset the counters before CONNECTED: offer the buffers now
            rxq[i].attach(c.rx[i]);
        }
        for (int i = 0; i < c.tx.length; i++) if (txq[i] != null) txq[i].attach(c.tx[i]);
        up();
    }

    // ---------------------------------------------------------------- server: map what the client announced at CONNECT

    /** Server, at CONNECT: maps the regions, checks and publishes the rings; throws with a reason for the peer. */
    void connectServer(MemifChannel ch) {
        Connection c = new Connection();
        conn = c;
        c.peerMemory = Arena.ofShared();
        c.regions = new MemorySegment[ch.regions.size()];
        for (int i = 0; i < c.regions.length; i++) c.regions[i] = map(ch.regions.get(i), i, c.peerMemory);
        RingView[] rx = rings(ch.c2s, rxq.length, c, "C2S"), tx = rings(ch.s2c, txq.length, c, "S2C");
        // all checked: the connection owns the descriptors from here (the channel closes what it still holds)
        for (MemifChannel.Region r : ch.regions) c.fds.add(r.fd());
        for (MemifChannel.Ring r : ch.c2s) c.fds.add(r.eventFd());
        for (MemifChannel.Ring r : ch.s2c) c.fds.add(r.eventFd());
        ch.regions.clear();
        ch.c2s.clear();
        ch.s2c.clear();
        c.rx = rx;
        c.tx = tx;
        for (int i = 0; i < c.rx.length; i++) if (c.rx[i] != null && rxq[i] != null) rxq[i].attach(c.rx[i]);
        for (int i = 0; i < c.tx.length; i++) if (c.tx[i] != null && txq[i] != null) txq[i].attach(c.tx[i]);
        up();
    }

    /** Maps region {@code index} as a segment bounded to its size, in the connection's arena, whose close unmaps it. */
    private MemorySegment map(MemifChannel.Region r, int index, Arena arena) {
        long size = r.size();
        try {
            long fileSize = Files.size(Path.of("/proc/self/fd/" + r.fd()));
            if (fileSize < size) throw new EthDevException("Region " + index + " is " + size + " bytes but its file has " + fileSize);
        } catch (IOException e) {
            throw new EthDevException("Region " + index + ": cannot stat its fd (" + e.getMessage() + ")");
        }
        // best effort: a region sealed against shrinking cannot be truncated under us (a memfd made
        // without MFD_ALLOW_SEALING, or a hugetlbfs file, refuses; an access beyond a truncation then
        // throws InternalError, which the burst turns into a fault)
        Libc.fcntl(r.fd(), Libc.F_ADD_SEALS, Libc.F_SEAL_SHRINK);
        try {
            return Mapping.map(arena, size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, r.fd(), 0,
                    "memif region " + index + " of " + port.name() + ", size=" + size);
        } catch (LinuxException e) {
            throw new EthDevException("Cannot map region " + index + ": " + e.getMessage(), e);
        }
    }

    /** The views of the announced rings of one direction, checked: region, bounds, cookie. */
    private RingView[] rings(List<MemifChannel.Ring> announced, int queues, Connection c, String dir) {
        RingView[] views = new RingView[queues];
        for (MemifChannel.Ring a : announced) {
            String what = dir + " ring " + a.index();
            if (a.region() >= c.regions.length) throw new EthDevException("Wrong ring: " + what + " is in region " + a.region()
                    + ", of " + c.regions.length);
            long bytes = MemifRing.bytes(a.log2());
            if (a.offset() + bytes > c.regions[a.region()].byteSize()) {
                throw new EthDevException("Wrong ring: " + what + " at offset " + a.offset() + " (" + bytes + " bytes) runs past region "
                        + a.region());
            }
            MemorySegment ring = c.regions[a.region()].asSlice(a.offset(), bytes);
            int cookie = MemifRing.cookie(ring);
            if (cookie != MemifRing.COOKIE) {
                throw new EthDevException("Wrong ring: " + what + " has cookie 0x" + Integer.toHexString(cookie));
            }
            MemifRing.head(ring, 0);
            MemifRing.tail(ring, 0);
            views[a.index()] = new RingView(ring, a.log2(), c.regions, a.eventFd(), 0, 0, false, null, 0, what);
        }
        return views;
    }

    private void up() {
        connects++;
        linkUp = true;
        raiseEvent(EthEvent.LINK_STATE_CHANGE);
    }

    /**
     * Takes the connection's memory away from the queues (waiting for their lcores to leave it),
     * frees what the queues held in it, closes its descriptors and unmaps it. Link down if it was up.
     */
    void teardown(String reason, boolean protocolError) {
        Connection c = conn;
        conn = null;
        if (protocolError) protocolErrors++;
        if (c != null) {
            for (int i = 0; i < rxq.length; i++) {
                if (rxq[i] == null) continue;
                RingView v = rxq[i].detach(QUIESCE_NANOS);
                if (v != null) rxq[i].releaseView(v);
            }
            for (int i = 0; i < txq.length; i++) {
                if (txq[i] == null) continue;
                RingView v = txq[i].detach(QUIESCE_NANOS);
                if (v != null) txq[i].releaseView(v);
            }
            // views never attached (a handshake that failed half-way) hold nothing
            for (int fd : c.fds) Libc.close(fd);
            if (c.peerMemory != null) c.peerMemory.close();
            if (c.region0 != null) c.region0.free();
        }
        fault = null;
        if (linkUp) {
            linkUp = false;
            disconnects++;
            peerDisconnected(reason, protocolError);
            raiseEvent(EthEvent.LINK_STATE_CHANGE);
        }
    }
}
