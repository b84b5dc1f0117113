package org.jpdk.drivers.net.vhost;

import org.jpdk.eal.Log;
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
import org.jpdk.sys.Epoll;
import org.jpdk.sys.Errno;
import org.jpdk.sys.EventFd;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.UnixSocket;
import org.jpdk.virtio.VhostUserChannel;
import org.jpdk.virtio.VhostUserException;

import java.util.Arrays;
import java.util.List;

/**
 * The driver side of one net_vhost port: its queues, its vhost-user socket and the thread that
 * serves it (as DPDK's vhost-events thread), and the {@link VhostSession} of the front end now
 * connected. The thread sleeps in epoll on the listener (or, with {@code client=1}, retries a
 * connect every second), the connection and an eventfd other threads ring (a port started, an
 * lcore that saw the front end break the rules on a ring); it reads whole messages and hands
 * them to the session. One lock (this object) guards the control state: the thread holds it while
 * it handles an event, the port's control calls while they start or stop.
 *
 * <p>A front end that breaks the protocol (a malformed message, a bad index, a missing
 * descriptor, a ring it corrupts) is disconnected with the reason logged and counted in
 * {@code vhost_protocol_errors}; the port goes link-down and waits for the next front end.
 * Link state follows the front end: up while the first queue pair's vrings run.
 */
final class VhostDevice extends EthDevOps implements Runnable {
    static final Log.Type LOG = Log.register("pmd.net.vhost", "VHOST");
    static final long QUIESCE_NANOS = 500_000_000L, RECONNECT_NANOS = 1_000_000_000L;
    static final int MESSAGE_TIMEOUT_MILLIS = 1000;
    private static final long WAKE_TAG = 0, LISTEN_TAG = 1, CONN_TAG = 2;

    final VhostConfig cfg;
    final MacAddr mac = MacAddr.random();
    final ExtBuffers extBuffers = new ExtBuffers();
    private final Epoll epoll = new Epoll(4);
    private final EventFd wake = new EventFd();
    private final Thread thread;
    private UnixSocket listener;
    // guarded by this
    private VhostRxQueue[] rxq = new VhostRxQueue[0];
    private VhostTxQueue[] txq = new VhostTxQueue[0];
    private boolean started, stopping;
    private VhostSession session;
    private long nextAttempt;
    /** When the listener, taken out of the epoll set by a failed accept (EMFILE and the like), goes back in; 0: it is in. */
    private long listenAgainAt;
    private String lastConnectError;
    // read by any thread
    private volatile boolean linkUp;
    private volatile String fault;
    private volatile long rarpMac = -1;
    volatile long connects, disconnects, protocolErrors;
    volatile String lastDisconnectReason;

    VhostDevice(EthDev port, VhostConfig cfg) {
        super(port);
        this.cfg = cfg;
        epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE_TAG);
        if (!cfg.client()) {
            try {
                listener = UnixSocket.listen(cfg.iface(), false, 1, Libc.SOCK_STREAM);
            } catch (LinuxException | IllegalArgumentException e) {
                epoll.close();
                wake.close();
                throw new EthDevException("--vdev " + port.name() + ": iface=" + cfg.iface() + ": " + e.getMessage()
                        + (e instanceof LinuxException le && le.errno() == Errno.EADDRINUSE ? "; another back end listens there" : ""), e);
            }
            epoll.add(listener.fd(), Epoll.EPOLLIN, LISTEN_TAG);
        }
        thread = Thread.ofPlatform().daemon().name("vhost-" + port.name()).unstarted(this);
        thread.start();
    }

    String name() {
        return port.name();
    }

    @Override
    public DevInfo info() {
        int maxFrame = VhostRxQueue.MAX_FRAME;
        return new DevInfo("net_vhost", null, cfg.queues(), cfg.queues(), 0, maxFrame, 68, maxFrame - 18,
                Offloads.RX_SCATTER, Offloads.TX_MULTI_SEGS, 0, 0, 0, 1, 32768, 1024, 10_000);
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

    @Override
    public RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
        VhostRxQueue q = new VhostRxQueue(this, queue, pool);
        synchronized (this) {
            rxq[queue] = q;
        }
        return q;
    }

    @Override
    public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
        VhostTxQueue q = new VhostTxQueue(this, queue);
        synchronized (this) {
            txq[queue] = q;
        }
        return q;
    }

    synchronized void queueReleased(Object q) {
        for (int i = 0; i < rxq.length; i++) {
            if (rxq[i] == q) {
                if (session != null) session.detachQueue(2 * i + 1);
                rxq[i] = null;
            }
        }
        for (int i = 0; i < txq.length; i++) {
            if (txq[i] == q) {
                if (session != null) session.detachQueue(2 * i);
                txq[i] = null;
            }
        }
    }

    @Override
    public void start() {
        synchronized (this) {
            started = true;
            nextAttempt = System.nanoTime();
            lastConnectError = null;
            if (session != null) session.update();
        }
        wakeUp();
    }

    @Override
    public synchronized void stop() {
        started = false;
        if (session != null) session.detachAll();
    }

    @Override
    public void close() {
        synchronized (this) {
            started = false;
            stopping = true;
            if (session != null) disconnect("the port is closing", false);
        }
        wakeUp();
        if (Thread.currentThread() != thread) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!thread.isAlive()) {
            if (listener != null) listener.close();
            epoll.close();
            wake.close();
        }
    }

    @Override
    public LinkStatus link(boolean portStarted) {
        return portStarted && linkUp ? new LinkStatus(10_000, true, true, true) : LinkStatus.DOWN;
    }

    @Override
    public List<Xstat> xstats() {
        return List.of(new Xstat("vhost_connects", connects), new Xstat("vhost_disconnects", disconnects),
                new Xstat("vhost_protocol_errors", protocolErrors));
    }

    // ---------------------------------------------------------------- for the session (under this lock)

    boolean portStarted() {
        return started;
    }

    /** The queue that serves vring {@code v}: its tx queue for an even (front-end rx) vring, its rx queue for an odd one; or null. */
    Object queueOf(int v) {
        int q = v >> 1;
        if ((v & 1) == 0) return q < txq.length ? txq[q] : null;
        return q < rxq.length ? rxq[q] : null;
    }

    /** Sets the link from the session's view of the first queue pair, raising an event on a change. */
    void setLink(boolean up) {
        if (up == linkUp) return;
        linkUp = up;
        LOG.log(Log.INFO, "%s: link %s", name(), up ? "up" : "down");
        raiseEvent(EthEvent.LINK_STATE_CHANGE);
    }

    /** SEND_RARP: the next burst of rx queue 0 delivers a RARP frame from {@code mac}. */
    void rarp(long macValue) {
        rarpMac = macValue;
    }

    // ---------------------------------------------------------------- from the lcores

    /** A polling lcore found the front end breaking the rules on a ring; the thread disconnects it. One eventfd write. */
    void fault(String why) {
        if (fault == null) fault = why;
        wakeUp();
    }

    private void wakeUp() {
        Libc.writeNoErrno(wake.fd(), VringView.ONE, 8);
    }

    /**
     * Rx queue 0: if a RARP announcement is pending, builds it into a fresh mbuf at {@code pkts[off]}
     * and returns 1 (DPDK's vhost injects it the same way after a live migration). Else 0.
     */
    int takeRarp(Mbuf[] pkts, int off, int n, Mempool<Mbuf> pool) {
        if (rarpMac < 0 || n <= 0) return 0;
        long m = rarpMac;
        rarpMac = -1;
        Mbuf f = Mbuf.alloc(pool);
        if (f == null) return 0;
        f.append(60).fill((byte) 0);
        for (int i = 0; i < 6; i++) f.writeByte(i, 0xff);
        for (int i = 0; i < 6; i++) {
            int b = (int) (m >>> (40 - 8 * i)) & 0xff;
            f.writeByte(6 + i, b);
            f.writeByte(22 + i, b); // sender hardware address
            f.writeByte(32 + i, b); // target hardware address
        }
        f.writeShort(12, 0x8035);   // RARP
        f.writeShort(14, 1);        // Ethernet
        f.writeShort(16, 0x0800);   // IPv4
        f.writeByte(18, 6);
        f.writeByte(19, 4);
        f.writeShort(20, 3);        // reverse request
        f.port = port.id();
        pkts[off] = f;
        return 1;
    }

    // ---------------------------------------------------------------- the thread

    @Override
    public void run() {
        while (true) {
            int timeout;
            synchronized (this) {
                if (stopping) break;
                timeout = cfg.client() && session == null && started
                        ? (int) Math.max(0, Math.min(1000, (nextAttempt - System.nanoTime()) / 1_000_000)) : 1000;
                if (listenAgainAt != 0) timeout = (int) Math.clamp((listenAgainAt - System.nanoTime()) / 1_000_000, 0, timeout);
            }
            int n = epoll.await(timeout);
            synchronized (this) {
                if (stopping) break;
                for (int i = 0; i < n; i++) {
                    long tag = epoll.tag(i);
                    try {
                        if (tag == WAKE_TAG) wake.clear();
                        else if (tag == LISTEN_TAG) accept();
                        else if (tag == CONN_TAG && session != null) receive();
                    } catch (RuntimeException e) { // a bug of ours: lose that connection, never the thread
                        LOG.err(name() + ": control thread: " + e);
                        if (session != null) disconnect("internal error: " + e, false);
                    }
                }
                String f = fault;
                if (f != null) {
                    fault = null;
                    if (session != null) disconnect(f, true);
                }
                if (cfg.client() && session == null && started && System.nanoTime() - nextAttempt >= 0) connect();
                if (listenAgainAt != 0 && System.nanoTime() - listenAgainAt >= 0) {
                    listenAgainAt = 0;
                    epoll.add(listener.fd(), Epoll.EPOLLIN, LISTEN_TAG);
                }
            }
        }
        synchronized (this) {
            if (session != null) disconnect("the port is closing", false);
        }
    }

    /**
     * Takes the front ends waiting on the listener. When the process is out of descriptors (or
     * the kernel of memory), the listener leaves the epoll set for a second, with one log line,
     * rather than wake the thread again at once for the same error.
     */
    private void accept() {
        UnixSocket s;
        while (true) {
            try {
                s = listener.accept();
            } catch (LinuxException e) {
                int errno = e.errno();
                if (errno != Errno.EMFILE && errno != Errno.ENFILE && errno != Errno.ENOBUFS && errno != Errno.ENOMEM) throw e;
                LOG.log(Log.WARNING, "%s: cannot accept a front end on %s: %s; listening again in 1 s", name(), cfg.iface(), Errno.name(errno));
                epoll.remove(listener.fd());
                listenAgainAt = System.nanoTime() + 1_000_000_000L;
                return;
            }
            if (s == null) return;
            if (session != null) {
                LOG.log(Log.WARNING, "%s: a second front end connected to %s; refused (one at a time)", name(), cfg.iface());
                s.close();
                continue;
            }
            open(s);
        }
    }

    private void connect() {
        try {
            open(UnixSocket.connect(cfg.iface(), false, Libc.SOCK_STREAM));
        } catch (LinuxException | IllegalArgumentException e) {
            String msg = e.getMessage();
            if (!msg.equals(lastConnectError)) {
                LOG.log(Log.NOTICE, "%s: %s; trying again every second", name(), msg);
                lastConnectError = msg;
            }
            nextAttempt = System.nanoTime() + RECONNECT_NANOS;
        }
    }

    private void open(UnixSocket s) {
        VhostUserChannel ch = new VhostUserChannel(s, MESSAGE_TIMEOUT_MILLIS);
        session = new VhostSession(this, ch);
        epoll.add(s.fd(), Epoll.EPOLLIN, CONN_TAG);
        connects++;
        lastConnectError = null;
        LOG.log(Log.INFO, "%s: front end connected on %s", name(), cfg.iface());
    }

    private void receive() {
        try {
            session.receiveAll();
        } catch (VhostUserException e) {
            disconnect(e.getMessage(), !e.closed());
        }
    }

    /** Drops the front end: every vring stopped and its memory unmapped; logs and counts the reason. */
    void disconnect(String reason, boolean protocolError) {
        VhostSession s = session;
        if (s == null) return;
        session = null;
        // counted before the link goes down, so that whoever sees the link down sees the count
        disconnects++;
        if (protocolError) protocolErrors++;
        lastDisconnectReason = reason;
        epoll.remove(s.channel.socket().fd());
        s.close();
        LOG.log(protocolError ? Log.ERR : Log.INFO, "%s: front end disconnected: %s", name(), reason);
        peerDisconnected(reason, protocolError);
        setLink(false);
        if (cfg.client()) nextAttempt = System.nanoTime() + RECONNECT_NANOS;
    }
}
