package org.jpdk.drivers.net.memif;

import org.jpdk.eal.Log;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.sys.Epoll;
import org.jpdk.sys.Errno;
import org.jpdk.sys.EventFd;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.UnixSocket;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * memif's control plane: one thread per process (as DPDK's interrupt thread) that listens for
 * clients, runs every handshake, connects and reconnects clients, and tears connections down. It
 * sleeps in epoll on the listeners, the control channels and an eventfd that other threads ring
 * (a port started, an lcore that saw a peer break the protocol), with a timeout for the timers: a
 * client retries a refused connect every second; a handshake not done in five seconds is dropped.
 *
 * <p>The peer is untrusted. Every message must be exactly 128 bytes and of a type its phase
 * expects; every field is checked before use (version, interface id, mode, secret, region index
 * and size, ring index and size, that the descriptor a message needs came with it). A peer that
 * breaks a rule gets a DISCONNECT with the reason, which is logged, and the connection is closed;
 * nothing it did reaches another port. One lock (this object) guards all memif state: the control
 * thread holds it while it handles events, the ports' control calls while they start or stop.
 */
final class MemifControl implements Runnable {
    static final Log.Type LOG = Log.register("pmd.net.memif", "MEMIF");
    static final long HANDSHAKE_NANOS = 5_000_000_000L, RECONNECT_NANOS = 1_000_000_000L;
    /** How long a client that came before its server port started is held (AWAIT_START). */
    static final long START_WAIT_NANOS = 60_000_000_000L;
    /** The highest region index a server takes (as DPDK: 256 regions). */
    static final int MAX_REGIONS = 256;
    private static final long WAKE_TAG = 0;
    private static MemifControl current;

    private final Epoll epoll = new Epoll(64);
    private final EventFd wake = new EventFd();
    private final Map<Long, Object> byTag = new HashMap<>();
    private final Map<String, MemifSocket> sockets = new HashMap<>();
    private final Set<MemifDevice> devices = new LinkedHashSet<>();
    private final int[] fds = new int[1];
    private long nextTag = 1;
    private boolean stopping;
    private final Thread thread;

    private MemifControl() {
        epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE_TAG);
        thread = Thread.ofPlatform().daemon().name("memif-ctl").unstarted(this);
    }

    /** The control plane, started if it is not running; the caller registers a device next. */
    static synchronized MemifControl get() {
        if (current == null) {
            current = new MemifControl();
            current.thread.start();
        }
        return current;
    }

    // ---------------------------------------------------------------- ports

    /** Adds a probed port to its socket (a server's listener is made now, so a bad path fails the probe). */
    synchronized void register(MemifDevice d) {
        MemifConfig c = d.cfg;
        MemifSocket s = sockets.get(c.socketKey());
        if (s == null) s = new MemifSocket(c.socketKey(), c.socket(), c.abstractSocket());
        for (MemifDevice o : s.devices) {
            if (o.cfg.id() == c.id() && o.cfg.server() == c.server()) {
                throw new EthDevException("--vdev " + d.name() + ": id=" + c.id() + ": port " + o.name() + " is the " + c.role()
                        + " of that id on " + s.name() + " already; two interfaces of one role need different ids");
            }
        }
        if (c.server() && s.listener == null) {
            try {
                s.listener = UnixSocket.listen(c.socket(), c.abstractSocket(), 1);
            } catch (LinuxException | IllegalArgumentException e) {
                throw new EthDevException("--vdev " + d.name() + ": " + e.getMessage()
                        + (e instanceof LinuxException le && le.errno() == Errno.EADDRINUSE ? "; another server listens there" : ""), e);
            }
            s.listenerTag = nextTag++;
            byTag.put(s.listenerTag, s);
            epoll.add(s.listener.fd(), Epoll.EPOLLIN, s.listenerTag);
        }
        s.devices.add(d);
        sockets.put(s.key, s);
        devices.add(d);
    }

    /** Removes a closed port; the last one stops the thread. */
    void unregister(MemifDevice d) {
        synchronized (MemifControl.class) {
            synchronized (this) {
                devices.remove(d);
                MemifSocket s = sockets.get(d.cfg.socketKey());
                if (s != null) {
                    s.devices.remove(d);
                    if (!s.hasServers() && s.listener != null) {
                        // connections that came in on it and found no port yet go with it
                        for (Object o : new ArrayList<>(byTag.values())) {
                            if (o instanceof MemifChannel ch && ch.owner == s && ch.dev == null) closeChannel(ch, "Server closed", true);
                        }
                        epoll.remove(s.listener.fd());
                        byTag.remove(s.listenerTag);
                        s.listener.close();
                        s.listener = null;
                    }
                    if (s.devices.isEmpty()) sockets.remove(s.key);
                }
                if (devices.isEmpty()) {
                    stopping = true;
                    if (current == this) current = null;
                }
            }
        }
        wake();
        if (stopping && Thread.currentThread() != thread) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            // only once the thread is gone: a wake() after the eventfd's number was reused would write into another file
            if (!thread.isAlive()) {
                epoll.close();
                wake.close();
            }
        }
    }

    /** Rings the control thread (from any thread, a polling lcore included: one eventfd write, no allocation). */
    void wake() {
        Libc.writeNoErrno(wake.fd(), MemifRxQueue.ONE, 8);
    }

    // ---------------------------------------------------------------- the thread

    @Override
    public void run() {
        while (true) {
            int timeout;
            synchronized (this) {
                if (stopping) break;
                timeout = timeoutMillis();
            }
            int n = epoll.await(timeout);
            synchronized (this) {
                if (stopping) break;
                long[] tags = new long[n];
                for (int i = 0; i < n; i++) tags[i] = epoll.tag(i);
                for (int i = 0; i < n; i++) {
                    try {
                        dispatch(tags[i]);
                    } catch (RuntimeException e) { // a bug of ours: lose that connection, never the thread
                        LOG.err("control thread: " + e + (byTag.get(tags[i]) instanceof MemifChannel ch ? "; dropping " + ch.who() : ""));
                        if (byTag.get(tags[i]) instanceof MemifChannel ch) lost(ch, "internal error: " + e);
                    }
                }
                timers();
                for (MemifDevice d : new ArrayList<>(devices)) {
                    String f = d.takeFault();
                    if (f != null) disconnect(d, "Protocol error: " + f, true, true);
                }
            }
        }
        synchronized (this) {
            for (Object o : new ArrayList<>(byTag.values())) if (o instanceof MemifChannel ch) closeChannel(ch, "Closing", true);
            for (MemifSocket s : sockets.values()) if (s.listener != null) s.listener.close();
        }
    }

    private int timeoutMillis() {
        long now = System.nanoTime(), next = now + RECONNECT_NANOS;
        for (Object o : byTag.values()) if (o instanceof MemifChannel ch && ch.deadline != 0) next = Math.min(next, ch.deadline);
        for (MemifDevice d : devices) {
            if (!d.cfg.server() && d.started && d.channel == null) next = Math.min(next, d.nextAttempt);
        }
        return (int) Math.max(0, Math.min(1000, (next - now + 999_999) / 1_000_000));
    }

    private void dispatch(long tag) {
        if (tag == WAKE_TAG) {
            wake.clear();
            return;
        }
        Object o = byTag.get(tag);
        if (o instanceof MemifSocket s) {
            accept(s);
        } else if (o instanceof MemifChannel ch) {
            receive(ch);
        }
    }

    private void timers() {
        long now = System.nanoTime();
        for (Object o : new ArrayList<>(byTag.values())) {
            if (o instanceof MemifChannel ch && ch.phase == MemifChannel.Phase.AWAIT_START && !ch.closed) {
                MemifDevice d = ch.owner.server(MemifMessage.u32(ch.parkedInit, MemifMessage.INIT_ID));
                if (d == null) {
                    fail(ch, "ID not found");
                } else if (d.started) {
                    ch.phase = MemifChannel.Phase.AWAIT_INIT;
                    ch.deadline = now + HANDSHAKE_NANOS;
                    int left = handleServer(ch, MemifMessage.INIT, ch.parkedInit, -1);
                    if (left >= 0) Libc.close(left);
                }
            }
        }
        for (Object o : new ArrayList<>(byTag.values())) {
            if (o instanceof MemifChannel ch && ch.deadline != 0 && now - ch.deadline > 0) {
                fail(ch, "Handshake timed out in phase " + ch.phase);
            }
        }
        for (MemifDevice d : devices) {
            if (!d.cfg.server() && d.started && d.channel == null && now - d.nextAttempt >= 0) connectClient(d);
        }
    }

    // ---------------------------------------------------------------- connections

    private void accept(MemifSocket s) {
        if (s.listener == null) return;
        UnixSocket conn;
        while ((conn = s.listener.accept()) != null) {
            long tag = nextTag++;
            MemifChannel ch = new MemifChannel(conn, s, true, tag, MemifChannel.Phase.AWAIT_INIT, System.nanoTime() + HANDSHAKE_NANOS);
            byTag.put(tag, ch);
            epoll.add(conn.fd(), Epoll.EPOLLIN, tag);
            MemifMessage.hello(ch.out, "jpdk", MAX_REGIONS - 1, MemifDevice.MAX_QUEUES, MemifRing.MAX_LOG2_SIZE);
            send(ch, ch.out, -1);
        }
    }

    private void connectClient(MemifDevice d) {
        UnixSocket sock;
        try {
            sock = UnixSocket.connect(d.cfg.socket(), d.cfg.abstractSocket());
        } catch (LinuxException | IllegalArgumentException e) {
            String msg = e.getMessage();
            if (!msg.equals(d.lastConnectError)) {
                LOG.log(Log.NOTICE, "%s: %s; trying again every second", d.name(), msg);
                d.lastConnectError = msg;
            }
            d.nextAttempt = System.nanoTime() + RECONNECT_NANOS;
            return;
        }
        long tag = nextTag++;
        MemifChannel ch = new MemifChannel(sock, null, false, tag, MemifChannel.Phase.AWAIT_HELLO, System.nanoTime() + HANDSHAKE_NANOS);
        ch.dev = d;
        d.channel = ch;
        byTag.put(tag, ch);
        epoll.add(sock.fd(), Epoll.EPOLLIN, tag);
    }

    /** Reads every message waiting on {@code ch}. */
    private void receive(MemifChannel ch) {
        while (!ch.closed) {
            long r = ch.sock.receive(ch.in, fds);
            int fd = fds[0];
            if (r == -Errno.EAGAIN) return;
            if (r <= 0) {
                if (fd >= 0) Libc.close(fd);
                lost(ch, r == 0 ? "the peer closed the connection" : "recvmsg: " + Errno.name((int) -r));
                return;
            }
            try {
                if (r != MemifMessage.SIZE) {
                    fail(ch, "Invalid message size " + r + " (want " + MemifMessage.SIZE + ")");
                } else {
                    fd = handle(ch, fd);
                }
            } finally {
                if (fd >= 0) Libc.close(fd); // a descriptor the message did not need, or that came with a refused one
            }
        }
    }

    /** Handles one 128-byte message; returns the descriptor if it was not taken (the caller closes it). */
    private int handle(MemifChannel ch, int fd) {
        MemorySegment m = ch.in;
        int type = MemifMessage.type(m);
        if (type == MemifMessage.DISCONNECT) {
            String reason = MemifMessage.string(m, MemifMessage.DISCONNECT_REASON, MemifMessage.REASON_SIZE);
            if (reason.isEmpty()) reason = "(no reason given)";
            if (ch.dev != null && ch.dev.channel == ch) {
                disconnect(ch.dev, "peer: " + reason, false, false); // logs it
            } else {
                LOG.log(Log.NOTICE, "%s: the peer disconnects: %s", who(ch), reason);
                closeChannel(ch, null, false);
            }
            return fd;
        }
        return ch.serverSide ? handleServer(ch, type, m, fd) : handleClient(ch, type, m, fd);
    }

    private int handleServer(MemifChannel ch, int type, MemorySegment m, int fd) {
        switch (ch.phase) {
            case AWAIT_INIT -> {
                if (type != MemifMessage.INIT) return unexpected(ch, type, fd);
                int version = MemifMessage.u16(m, MemifMessage.INIT_VERSION);
                if (version != MemifMessage.VERSION) {
                    return failed(ch, "Incompatible memif version 0x" + Integer.toHexString(version), fd);
                }
                long id = MemifMessage.u32(m, MemifMessage.INIT_ID);
                MemifDevice d = ch.owner.server(id);
                if (d == null) return failed(ch, "ID not found", fd);
                if (!d.started) {
                    // The port exists but has not started (testpmd probes, then configures and
                    // starts): hold the connection until it does, as DPDK's server serves a client
                    // that came early; DPDK's client connects only once, so a refusal here would
                    // leave it down for good. timers() replays the INIT once the port starts.
                    ch.parkedInit = MemorySegment.ofArray(m.asSlice(0, MemifMessage.SIZE).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                    ch.phase = MemifChannel.Phase.AWAIT_START;
                    ch.deadline = System.nanoTime() + START_WAIT_NANOS;
                    LOG.log(Log.DEBUG, "%s: interface %d has not started; the connection waits for it", who(ch), id);
                    return fd;
                }
                if (d.channel != null) return failed(ch, "Already connected", fd);
                if (MemifMessage.u8(m, MemifMessage.INIT_MODE) != MemifMessage.MODE_ETHERNET) {
                    return failed(ch, "Only ethernet mode supported", fd);
                }
                if (d.cfg.secret() != null) {
                    byte[] given = MemifMessage.bytes(m, MemifMessage.INIT_SECRET, MemifMessage.SECRET_SIZE);
                    if (given.length == 0) return failed(ch, "Secret required", fd);
                    if (!Arrays.equals(given, d.cfg.secret().getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                        return failed(ch, "Incorrect secret", fd);
                    }
                }
                ch.dev = d;
                d.channel = ch;
                ch.peerName = MemifMessage.string(m, MemifMessage.INIT_NAME, MemifMessage.NAME_SIZE);
                ch.phase = MemifChannel.Phase.AWAIT_CONNECT;
                ack(ch);
            }
            case AWAIT_CONNECT -> {
                switch (type) {
                    case MemifMessage.ADD_REGION -> {
                        if (fd < 0) return failed(ch, "Missing region fd", fd);
                        int index = MemifMessage.u16(m, MemifMessage.REGION_INDEX);
                        long size = MemifMessage.u64(m, MemifMessage.REGION_SIZE);
                        if (index != ch.regions.size() || index >= MAX_REGIONS) return failed(ch, "Invalid region index " + index, fd);
                        if (size <= 0 || size > MemifDevice.MAX_REGION_SIZE) return failed(ch, "Invalid region size " + Long.toUnsignedString(size), fd);
                        ch.regions.add(new MemifChannel.Region(fd, size));
                        ack(ch);
                        return -1;
                    }
                    case MemifMessage.ADD_RING -> {
                        if (fd < 0) return failed(ch, "Missing interrupt fd", fd);
                        boolean c2s = (MemifMessage.u16(m, MemifMessage.RING_FLAGS) & MemifMessage.ADD_RING_FLAG_C2S) != 0;
                        int index = MemifMessage.u16(m, MemifMessage.RING_INDEX);
                        int log2 = MemifMessage.u8(m, MemifMessage.RING_LOG2_SIZE);
                        List<MemifChannel.Ring> rings = c2s ? ch.c2s : ch.s2c;
                        int queues = c2s ? ch.dev.nbRxQueues() : ch.dev.nbTxQueues();
                        if (index >= queues) return failed(ch, "Invalid ring index " + index + " (" + queues + " queues)", fd);
                        for (MemifChannel.Ring r : rings) if (r.index() == index) return failed(ch, "Ring " + index + " added twice", fd);
                        if (log2 > MemifRing.MAX_LOG2_SIZE) return failed(ch, "Invalid ring size 2^" + log2, fd);
                        if (MemifMessage.u16(m, MemifMessage.RING_PRIVATE_HDR_SIZE) != 0) return failed(ch, "Private header not supported", fd);
                        rings.add(new MemifChannel.Ring(index, MemifMessage.u16(m, MemifMessage.RING_REGION),
                                MemifMessage.u32(m, MemifMessage.RING_OFFSET), log2, fd));
                        ack(ch);
                        return -1;
                    }
                    case MemifMessage.CONNECT -> {
                        ch.peerIfName = MemifMessage.string(m, MemifMessage.CONNECT_IF_NAME, MemifMessage.NAME_SIZE);
                        try {
                            ch.dev.connectServer(ch);
                        } catch (EthDevException e) {
                            return failed(ch, e.getMessage(), fd);
                        }
                        ch.phase = MemifChannel.Phase.CONNECTED;
                        ch.deadline = 0;
                        MemifMessage.connect(ch.out, MemifMessage.CONNECTED, ch.dev.name());
                        if (send(ch, ch.out, -1)) connected(ch);
                    }
                    default -> {
                        return unexpected(ch, type, fd);
                    }
                }
            }
            case CONNECTED -> {
                if (type != MemifMessage.ACK) return unexpected(ch, type, fd);
            }
            default -> {
                return unexpected(ch, type, fd);
            }
        }
        return fd;
    }

    private int handleClient(MemifChannel ch, int type, MemorySegment m, int fd) {
        MemifDevice d = ch.dev;
        switch (ch.phase) {
            case AWAIT_HELLO -> {
                if (type != MemifMessage.HELLO) return unexpected(ch, type, fd);
                int min = MemifMessage.u16(m, MemifMessage.HELLO_MIN_VERSION), max = MemifMessage.u16(m, MemifMessage.HELLO_MAX_VERSION);
                if (min > MemifMessage.VERSION || max < MemifMessage.VERSION) {
                    return failed(ch, "Incompatible memif version (peer speaks 0x" + Integer.toHexString(min) + " to 0x"
                            + Integer.toHexString(max) + ")", fd);
                }
                ch.peerName = MemifMessage.string(m, MemifMessage.HELLO_NAME, MemifMessage.NAME_SIZE);
                int c2s = Math.min(MemifMessage.u16(m, MemifMessage.HELLO_MAX_C2S_RING) + 1, d.nbTxQueues());
                int s2c = Math.min(MemifMessage.u16(m, MemifMessage.HELLO_MAX_S2C_RING) + 1, d.nbRxQueues());
                int log2 = Math.min(MemifMessage.u8(m, MemifMessage.HELLO_MAX_LOG2_RING_SIZE), d.cfg.log2Ring());
                if (MemifMessage.u16(m, MemifMessage.HELLO_MAX_REGION) + 1 < (d.cfg.zeroCopy() ? 2 : 1)) {
                    return failed(ch, "The server takes too few regions", fd);
                }
                if (c2s < d.nbTxQueues() || s2c < d.nbRxQueues()) {
                    LOG.log(Log.WARNING, "%s: the server takes %s rings; the other queues stay idle", d.name(), c2s + " C2S and " + s2c + " S2C");
                }
                try {
                    d.prepareClient(ch, c2s, s2c, log2);
                } catch (EthDevException | LinuxException e) {
                    return failed(ch, e.getMessage(), fd);
                }
                ch.phase = MemifChannel.Phase.SENDING;
                sendNext(ch);
            }
            case SENDING -> {
                if (type != MemifMessage.ACK) return unexpected(ch, type, fd);
                sendNext(ch);
            }
            case AWAIT_CONNECTED -> {
                if (type != MemifMessage.CONNECTED) return unexpected(ch, type, fd);
                ch.peerIfName = MemifMessage.string(m, MemifMessage.CONNECT_IF_NAME, MemifMessage.NAME_SIZE);
                ch.phase = MemifChannel.Phase.CONNECTED;
                ch.deadline = 0;
                d.connectClient();
                connected(ch);
            }
            case CONNECTED -> {
                if (type != MemifMessage.ACK) return unexpected(ch, type, fd);
            }
            default -> {
                return unexpected(ch, type, fd);
            }
        }
        return fd;
    }

    /** Client: sends the next queued message; CONNECT, the last, waits for CONNECTED instead of an ACK. */
    private void sendNext(MemifChannel ch) {
        MemifChannel.Outgoing o = ch.outbox.poll();
        if (o == null) {
            fail(ch, "Unexpected ACK");
            return;
        }
        if (MemifMessage.type(o.msg()) == MemifMessage.CONNECT) ch.phase = MemifChannel.Phase.AWAIT_CONNECTED;
        send(ch, o.msg(), o.fd());
    }

    private void connected(MemifChannel ch) {
        MemifDevice d = ch.dev;
        LOG.log(Log.NOTICE, "%s: connected to %s", d.name(), "'" + ch.peerIfName + "' (" + ch.peerName + ") as " + d.cfg.role()
                + " of id " + d.cfg.id() + " on " + d.cfg.socketName());
    }

    private void ack(MemifChannel ch) {
        MemifMessage.begin(ch.out, MemifMessage.ACK);
        send(ch, ch.out, -1);
    }

    /** Sends one message; on failure the connection is lost. */
    private boolean send(MemifChannel ch, MemorySegment msg, int fd) {
        long r = ch.sock.send(msg, fd);
        if (r == MemifMessage.SIZE) return true;
        lost(ch, "sendmsg(" + ch.who() + "): " + (r < 0 ? Errno.name((int) -r) : "sent " + r + " bytes of " + MemifMessage.SIZE));
        return false;
    }

    private int unexpected(MemifChannel ch, int type, int fd) {
        return failed(ch, "Unexpected message " + MemifMessage.typeName(type) + " in phase " + ch.phase, fd);
    }

    private int failed(MemifChannel ch, String reason, int fd) {
        fail(ch, reason);
        return fd;
    }

    /** The peer broke the protocol: it gets DISCONNECT with {@code reason}, which is logged, and the connection goes. */
    private void fail(MemifChannel ch, String reason) {
        if (ch.dev != null && ch.dev.channel == ch) disconnect(ch.dev, reason, true, true);
        else closeChannel(ch, reason, true);
    }

    /** The channel died under us (end of file, a failed send): no DISCONNECT to send. */
    private void lost(MemifChannel ch, String reason) {
        if (ch.dev != null && ch.dev.channel == ch) disconnect(ch.dev, reason, false, false);
        else closeChannel(ch, reason, false);
    }

    /**
     * Ends {@code d}'s connection: tells the peer {@code reason} (when {@code tell}), closes the
     * channel, tears the shared memory down, logs, and has a client try again in a second. Lock held.
     */
    synchronized void disconnect(MemifDevice d, String reason, boolean tell, boolean protocolError) {
        MemifChannel ch = d.channel;
        boolean wasUp = d.connected();
        if (ch == null && !wasUp) {
            d.teardown(reason, false);
            return;
        }
        d.channel = null;
        if (ch != null) closeChannel(ch, tell ? reason : null, tell);
        d.teardown(reason, protocolError);
        // a client refused the same way every second says so once, until something changes
        boolean repeat = !d.cfg.server() && !wasUp && reason.equals(d.lastConnectError);
        LOG.log(repeat ? Log.DEBUG : protocolError ? Log.WARNING : Log.NOTICE, "%s: disconnected%s: %s", d.name(),
                wasUp ? "" : " during the handshake", reason);
        d.lastConnectError = wasUp ? null : reason;
        if (!d.cfg.server()) d.nextAttempt = System.nanoTime() + (d.started ? RECONNECT_NANOS : 0);
    }

    private void closeChannel(MemifChannel ch, String reason, boolean tell) {
        if (ch.closed) return;
        if (tell && reason != null) {
            MemifMessage.disconnect(ch.out, 0, reason);
            ch.sock.send(ch.out, -1); // best effort: the peer may be gone already
        }
        if (ch.dev == null && reason != null) LOG.log(Log.WARNING, "%s: refused: %s", who(ch), reason);
        byTag.remove(ch.tag);
        epoll.remove(ch.sock.fd());
        ch.close();
    }

    private static String who(MemifChannel ch) {
        return ch.dev != null ? ch.dev.name() : "connection on " + ch.owner.name();
    }
}
