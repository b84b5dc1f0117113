package org.jpdk.drivers.net.afxdp;

import org.jpdk.eal.EalArgumentException;
import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthDriver;
import org.jpdk.ethdev.LinkStatus;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.PortConf;
import org.jpdk.ethdev.RxQueue;
import org.jpdk.ethdev.TxQueue;
import org.jpdk.ethdev.Xstat;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Bpf;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.NetIf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * DPDK's net_af_xdp (alias eth_af_xdp): a port on a Linux interface through AF_XDP sockets, the
 * kernel's fastest socket path, for any interface with an XDP hook (native in the NIC driver, or
 * the kernel's generic one). Devargs as DPDK 22.11: {@code iface} (required), {@code start_queue}
 * (0), {@code queue_count} (1), {@code shared_umem} (0), {@code busy_budget} (64, 0 turns busy
 * polling off), {@code force_copy} (0), {@code xdp_prog} (an ELF object of the user's). All of it in
 * Java: the {@code bpf()} system call, an XDP program we assemble ourselves, the rings mapped
 * through FFM; no libbpf, no libxdp.
 *
 * <p>At probe the port makes an XSKMAP of {@code start_queue + queue_count} entries, loads the
 * program that redirects each frame to the entry of the queue it arrived on ({@link XdpProgram};
 * or the user's, with its own XSKMAP) and attaches it to the interface with a bpf link
 * ({@link XdpAttachment}), which the kernel removes by itself when the process dies. Port queue
 * {@code q} is interface queue {@code start_queue + q}. Each rx queue's setup opens its socket
 * ({@link XskSocket}), registers the rx pool as the UMEM ({@link Umem}: the kernel's unaligned-chunk
 * mode over the pool's own layout, so frames land in mbufs), binds it to the interface queue and
 * lends the pool a ring's worth of mbufs; start puts the socket in the XSKMAP, stop takes it out
 * (frames then go to the kernel's stack, as when no port is there). The tx queue of the same index
 * sends through the same socket and UMEM. Ring sizes are the rx queue's {@code nb_desc} (a power of
 * two); the tx queue's {@code nb_desc} caps the frames in flight. Everything is made in the network
 * namespace of the thread that probes the port (the interface's): a queue set up from another
 * thread enters it for the socket, since a socket binds to an ifindex of its own namespace.
 *
 * <p>The kernel picks zero-copy where the interface's driver has it and the pool sits on
 * hugepages (a chunk may cross 4 KiB pages, which a NIC can only DMA when they are physically
 * contiguous), copy mode otherwise or with {@code force_copy=1}; {@link Device#xdpMode} and a log
 * line at queue setup say which (veth: copy). With {@code shared_umem=1} the queues (of this port
 * and others) with the same pool share one UMEM registration (XDP_SHARED_UMEM, kernel 5.10),
 * which pins the pool once instead of once per queue. With {@code busy_budget=N} each socket asks
 * for preferred busy polling (SO_PREFER_BUSY_POLL, SO_BUSY_POLL 20 µs, SO_BUSY_POLL_BUDGET N), and
 * an empty rx poll kicks the kernel to drive it.
 *
 * <p>Statistics: the sockets' XDP_STATISTICS. imissed is what the kernel dropped for us (rx_dropped:
 * no fill buffer or a frame too large for one; rx_ring_full), ierrors also has the fill descriptors
 * it found invalid, oerrors the TX descriptors it found invalid; each counter is also an xstat per
 * queue ({@code rx_q0_xdp_rx_dropped}, ...). Link state, speed, MAC and MTU are the interface's;
 * MTU, promiscuous, all-multicast and MAC changes are made on it, and promiscuous and
 * all-multicast are put back as they were at probe when the port closes. Each rx queue's interrupt
 * fd is its socket (readable while its RX ring holds frames).
 */
public final class AfXdpDriver implements EthDriver {
    public static final int MAX_QUEUES = 64;
    public static final int DEFAULT_BUSY_BUDGET = 64, DEFAULT_DESC = 2048, MIN_DESC = 64, MAX_DESC = 16384;
    private static final int ETH_HLEN = 14, VLAN_HLEN = 4, MIN_MTU = 68;
    private static final String THREAD_NS = "/proc/thread-self/ns/net";
    /** Sockets by pool, for shared_umem: a new queue on a pool with a live socket shares its UMEM. */
    private static final Map<Mempool<Mbuf>, List<XskSocket>> UMEM_OWNERS = new IdentityHashMap<>();

    @Override
    public String name() {
        return "net_af_xdp";
    }

    @Override
    public List<String> aliases() {
        return List.of("eth_af_xdp");
    }

    @Override
    public Set<String> keys() {
        return Set.of("iface", "start_queue", "queue_count", "shared_umem", "busy_budget", "force_copy", "xdp_prog");
    }

    @Override
    public String usage() {
        return "iface=<ifname>,start_queue=<int>,queue_count=<1.." + MAX_QUEUES + ">,shared_umem=<0|1>,busy_budget=<int>,force_copy=<0|1>,xdp_prog=<file.o>";
    }

    /**
     * The checked devargs.
     *
     * @param iface      the interface
     * @param startQueue the interface queue of port queue 0
     * @param queueCount queues (one socket each)
     * @param sharedUmem share one UMEM among the queues with the same pool
     * @param busyBudget SO_BUSY_POLL_BUDGET, 0 for no busy polling
     * @param forceCopy  bind in copy mode even where zero-copy works
     * @param xdpProg    the user's XDP program (an ELF object), or null for ours
     */
    public record Config(String iface, int startQueue, int queueCount, boolean sharedUmem, int busyBudget, boolean forceCopy, Path xdpProg) {
        /** Parses and checks the devargs; each bad value is refused with a one-line error naming it. */
        public static Config parse(Devargs args) {
            String iface = args.get("iface");
            if (iface == null) throw new EalArgumentException("--vdev " + args.name() + ": iface is required; usage: iface=<ifname>[,queue_count=N,...]");
            try {
                NetIf.checkName(iface);
            } catch (IllegalArgumentException e) {
                throw args.error("iface", iface, e.getMessage());
            }
            int start = args.intValue("start_queue", 0, 0, 0xffff);
            int count = args.intValue("queue_count", 1, 1, MAX_QUEUES);
            boolean shared = args.boolValue("shared_umem", false);
            int budget = args.intValue("busy_budget", DEFAULT_BUSY_BUDGET, 0, 0xffff);
            boolean copy = args.boolValue("force_copy", false);
            String prog = args.get("xdp_prog");
            Path path = null;
            if (prog != null) {
                if (prog.isEmpty()) throw args.error("xdp_prog", prog, "empty; give the path of an ELF object (clang -O2 -target bpf -c prog.c)");
                path = args.path("xdp_prog", prog);
                if (!Files.isReadable(path)) throw args.error("xdp_prog", prog, "no such file, or not readable");
            }
            return new Config(iface, start, count, shared, budget, copy, path);
        }
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        Config c = Config.parse(args);
        String dev = "--vdev " + args.name() + ": ";
        NetIf nif;
        try {
            nif = NetIf.open(c.iface());
        } catch (LinuxException e) {
            if (e.errno() == Errno.ENODEV) {
                throw new EthDevException(dev + "iface=" + c.iface() + ": no such interface in this network namespace (ENODEV)");
            }
            throw new EthDevException(dev + e.getMessage(), e);
        }
        XdpProgram prog = null;
        XdpAttachment att = null;
        int nsFd = -1;
        try {
            int ifindex = nif.index();
            checkSocket(c.iface());
            prog = load(c);
            att = XdpAttachment.attach(prog, c.iface(), ifindex);
            EthDev.LOG.info(args.name() + ": " + prog.description + " (id " + prog.id() + ") attached to " + c.iface() + " in "
                    + att.modeName() + " mode" + (att.isLink() ? " by a bpf link" : " through netlink"));
            nsFd = Libc.open(THREAD_NS, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            return new Device(port, args.name(), c, nif, ifindex, prog, att, nsFd, currentNs());
        } catch (RuntimeException e) {
            if (nsFd >= 0) Libc.close(nsFd);
            if (att != null) att.close();
            if (prog != null) prog.close();
            nif.close();
            if (e instanceof EalArgumentException) throw e;
            throw new EthDevException(dev + message(e), e);
        }
    }

    /** The calling thread's network namespace, "net:[inode]". */
    static String currentNs() {
        try {
            return Files.readSymbolicLink(Path.of(THREAD_NS)).toString();
        } catch (IOException e) {
            throw new AfXdpException("readlink(" + THREAD_NS + "): " + e.getMessage(), e);
        }
    }

    /** The errno-specific hint for a bpf() call refused for lack of privilege. */
    private static String message(RuntimeException e) {
        if (e instanceof LinuxException le && le.errno() == Errno.EPERM && e.getMessage().startsWith("bpf(")) {
            return e.getMessage() + ": XDP programs and maps need CAP_BPF and CAP_NET_ADMIN (or root)";
        }
        return e.getMessage();
    }

    /** Opens and closes an AF_XDP socket, so that a missing CAP_NET_RAW or AF_XDP is refused at probe. */
    private static void checkSocket(String iface) {
        String what = "AF_XDP, iface=" + iface;
        try {
            Libc.close(Libc.socket(Libc.AF_XDP, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, 0, what));
        } catch (LinuxException e) {
            if (e.errno() == Errno.EPERM) throw new AfXdpException(e.getMessage() + ": AF_XDP sockets need CAP_NET_RAW (or root)", e);
            if (e.errno() == Errno.EAFNOSUPPORT) throw new AfXdpException(e.getMessage() + ": this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)", e);
            throw e;
        }
    }

    private static XdpProgram load(Config c) {
        int entries = c.startQueue() + c.queueCount();
        if (c.xdpProg() == null) return XdpProgram.redirect(entries);
        XdpProgram p = BpfObject.loadXdp(c.xdpProg());
        if (p.xskMapEntries < entries) {
            p.close();
            throw new AfXdpException("xdp_prog=" + c.xdpProg() + ": its XSKMAP has " + p.xskMapEntries + " entries; start_queue="
                    + c.startQueue() + ",queue_count=" + c.queueCount() + " needs " + entries);
        }
        return p;
    }

    /** The driver side of one net_af_xdp port. */
    public static final class Device extends EthDevOps {
        private final String name;
        private final Config c;
        private final NetIf nif;
        private final int ifindex;
        private final XdpProgram prog;
        private final XdpAttachment att;
        /** The network namespace the port was probed in (its interface's), and its identity. */
        private final int nsFd;
        private final String nsId;
        private final int initialFlags;
        private final MacAddr initialMac;
        private final XskSocket[] sockets;
        private final AfXdpRxQueue[] rxq;
        private final AfXdpTxQueue[] txq;
        /** Kernel counters of the sockets closed so far, per queue. */
        private final long[][] closedStats;
        private boolean closed;
        /** The interface went away (a kick said so); events raised. */
        private final java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
        /** The longest packet TX takes: the interface MTU plus header and tag. */
        volatile int txMaxLen;

        Device(EthDev port, String name, Config c, NetIf nif, int ifindex, XdpProgram prog, XdpAttachment att, int nsFd, String nsId) {
            super(port);
            this.name = name;
            this.nsFd = nsFd;
            this.nsId = nsId;
            this.c = c;
            this.nif = nif;
            this.ifindex = ifindex;
            this.prog = prog;
            this.att = att;
            this.initialFlags = nif.flags();
            this.initialMac = MacAddr.read(MemorySegment.ofArray(nif.mac()), 0);
            this.sockets = new XskSocket[c.queueCount()];
            this.rxq = new AfXdpRxQueue[c.queueCount()];
            this.txq = new AfXdpTxQueue[c.queueCount()];
            this.closedStats = new long[c.queueCount()][6];
            refreshTxMaxLen();
        }

        /** The checked devargs. */
        public Config config() {
            return c;
        }

        public int ifindex() {
            return ifindex;
        }

        /** Queue {@code q}'s socket descriptor (for tests and tools), -1 before its rx queue is set up. */
        public synchronized int socketFd(int q) {
            XskSocket s = sockets[q];
            return s == null || s.isClosed() ? -1 : s.fd;
        }

        /** Queue {@code q}'s rx queue as the driver made it (for tests), null before its setup. */
        synchronized AfXdpRxQueue rxQueue(int q) {
            return rxq[q];
        }

        /** Queue {@code q}'s tx queue as the driver made it (for tests), null before its setup. */
        synchronized AfXdpTxQueue txQueue(int q) {
            return txq[q];
        }

        /** "zero-copy" or "copy" for queue {@code q}'s socket (null before its setup), then the XDP hook's mode. */
        public synchronized String xdpMode(int q) {
            XskSocket s = sockets[q];
            if (s == null || s.isClosed()) return null;
            return (s.zeroCopy ? "zero-copy" : "copy") + ", " + att.modeName() + " XDP";
        }

        /** The kernel's id of the XDP program this port attached. */
        public int xdpProgramId() {
            return prog.id();
        }

        @Override
        public DevInfo info() {
            int page = (int) Libc.pageSize(), maxPkt = page - Umem.XDP_HEADROOM;
            return new DevInfo("net_af_xdp", c.iface(), c.queueCount(), c.queueCount(), Umem.MIN_CHUNK - Mbuf.DEFAULT_HEADROOM, maxPkt,
                    MIN_MTU, maxPkt - ETH_HLEN - VLAN_HLEN, 0, Offloads.TX_MULTI_SEGS, 0, 0, 0, MIN_DESC, MAX_DESC, DEFAULT_DESC,
                    Math.max(0, speed()));
        }

        private int speed() {
            try {
                return nif.speedMbps();
            } catch (RuntimeException e) {
                return -1;
            }
        }

        @Override
        public MacAddr initialMacAddr() {
            return initialMac;
        }

        @Override
        public void configure(int nbRxQueues, int nbTxQueues, PortConf conf) {
            if (nbTxQueues > nbRxQueues) {
                throw port.error("nb_tx_queues=" + nbTxQueues + " > nb_rx_queues=" + nbRxQueues + ": AF_XDP tx queue q sends through the socket"
                        + " (and the UMEM, the rx pool) of rx queue q; configure at least as many rx queues");
            }
            if (nbRxQueues < c.queueCount()) {
                EthDev.LOG.warning(port.error("queue_count=" + c.queueCount() + " but " + nbRxQueues + " rx queue(s) configured: frames on "
                        + c.iface() + " queues without a socket go to the kernel's stack").getMessage());
            }
            if (conf.mtu() != 0) setMtu(conf.mtu());
        }

        @Override
        public synchronized RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
            if (Integer.bitCount(nbDesc) != 1) {
                throw port.error("rx queue " + queue + ": nb_desc=" + nbDesc + ": AF_XDP rings are a power of two in size; e.g. "
                        + Integer.highestOneBit(nbDesc));
            }
            Umem umem;
            try {
                umem = Umem.of(pool);
            } catch (IllegalArgumentException e) {
                throw port.error("rx queue " + queue + ": " + e.getMessage());
            }
            int mtuFrame = txMaxLen;
            if (umem.maxRxFrame() < mtuFrame) {
                throw port.error("rx queue " + queue + ": mempool " + pool.name() + " takes frames of up to " + umem.maxRxFrame()
                        + " bytes after the kernel's 256-byte headroom; the MTU needs " + mtuFrame + ": give the pool larger buffers");
            }
            int ifq = c.startQueue() + queue;
            XskSocket s;
            synchronized (UMEM_OWNERS) {
                XskSocket owner = c.sharedUmem() ? liveOwner(pool) : null;
                try {
                    s = inPortNetns(() -> XskSocket.open(c.iface(), ifindex, ifq, umem, nbDesc, c.forceCopy(), owner, c.busyBudget()));
                } catch (RuntimeException e) {
                    throw port.error("rx queue " + queue + ": " + e.getMessage());
                }
                if (c.sharedUmem()) UMEM_OWNERS.computeIfAbsent(pool, p -> new ArrayList<>()).add(s);
            }
            AfXdpRxQueue q;
            try {
                q = new AfXdpRxQueue(this, queue, s);
            } catch (RuntimeException e) {
                forget(s);
                throw port.error("rx queue " + queue + ": " + e.getMessage());
            }
            sockets[queue] = s;
            rxq[queue] = q;
            EthDev.LOG.info(port.error("rx queue " + queue + " on " + c.iface() + " queue " + ifq + ": " + (s.zeroCopy ? "zero-copy" : "copy")
                    + " mode, " + att.modeName() + " XDP, " + nbDesc + " descriptors, UMEM " + (s.ownsUmem ? "registered" : "shared")
                    + " over mempool " + pool.name() + (s.busyPoll ? ", busy polling (budget " + c.busyBudget() + ")" : "")).getMessage());
            return q;
        }

        /**
         * Runs {@code r} in the port's network namespace: a socket binds to an ifindex of the
         * namespace it was made in, and queue setup may come from any thread.
         */
        private <T> T inPortNetns(Supplier<T> r) {
            if (nsId.equals(currentNs())) return r.get();
            int back = Libc.open(THREAD_NS, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            try {
                Libc.setns(nsFd, Libc.CLONE_NEWNET, "netns of " + c.iface());
                try {
                    return r.get();
                } finally {
                    Libc.setns(back, Libc.CLONE_NEWNET, "back from the netns of " + c.iface());
                }
            } finally {
                Libc.close(back);
            }
        }

        /** A live socket on {@code pool} whose UMEM a new socket can share, or null. */
        private static XskSocket liveOwner(Mempool<Mbuf> pool) {
            List<XskSocket> l = UMEM_OWNERS.get(pool);
            if (l == null) return null;
            l.removeIf(XskSocket::isClosed);
            return l.isEmpty() ? null : l.getFirst();
        }

        private static void forget(XskSocket s) {
            s.close();
            synchronized (UMEM_OWNERS) {
                List<XskSocket> l = UMEM_OWNERS.get(s.umem.pool);
                if (l != null) {
                    l.remove(s);
                    if (l.isEmpty()) UMEM_OWNERS.remove(s.umem.pool);
                }
            }
        }

        /** Whether the interface was seen deleted (then rx receives nothing, tx drops and counts every packet). */
        boolean isGone() {
            return gone.get();
        }

        /**
         * The interface the sockets are bound to was deleted ({@code why}: what showed it). Once
         * per port, from whichever lcore (or control thread) saw it first: one log line, then
         * LINK_STATE_CHANGE and DEVICE_REMOVED for the port's event callbacks; the link reads down
         * from now on.
         */
        void interfaceGone(String why) {
            if (gone.get() || !gone.compareAndSet(false, true)) return;
            EthDev.LOG.warning(port.error("interface " + c.iface() + " (ifindex " + ifindex + ") is gone: " + why + "; link down").getMessage());
            raiseEvent(org.jpdk.ethdev.EthEvent.LINK_STATE_CHANGE);
            raiseEvent(org.jpdk.ethdev.EthEvent.DEVICE_REMOVED);
        }

        /** A queue's socket refused a kick with {@code errno}: the interface is gone if no interface has our ifindex any more. */
        void socketError(String call, int errno) {
            if (!present()) interfaceGone(call + ": " + Errno.name(errno));
        }

        /** Closes queue {@code q}'s socket, keeping its kernel counters. */
        synchronized void releaseSocket(int q, XskSocket s) {
            long[] st = s.statistics();
            for (int i = 0; i < st.length; i++) closedStats[q][i] += st[i];
            forget(s);
            if (sockets[q] == s) {
                sockets[q] = null;
                rxq[q] = null;
            }
        }

        @Override
        public synchronized TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
            AfXdpTxQueue q = new AfXdpTxQueue(this, nbDesc);
            txq[queue] = q;
            return q;
        }

        /** Binds each tx queue to its socket, drops what came while stopped, and puts the sockets in the XSKMAP. */
        @Override
        public synchronized void start() {
            refreshTxMaxLen();
            for (int q = 0; q < port.nbRxQueues(); q++) {
                XskSocket s = sockets[q];
                rxq[q].discardStale();
                if (q < port.nbTxQueues() && txq[q] != null) txq[q].bind(s);
                int r = Bpf.mapUpdate(prog.xskMapFd, c.startQueue() + q, s.fd, Bpf.BPF_ANY);
                if (r < 0) {
                    stop();
                    throw port.error("bpf(BPF_MAP_UPDATE_ELEM, XSKMAP, key " + (c.startQueue() + q) + " = socket of rx queue " + q + "): " + Errno.name(-r));
                }
            }
        }

        /** Takes the sockets out of the XSKMAP: the interface's frames go to the kernel's stack again. */
        @Override
        public synchronized void stop() {
            for (int q = 0; q < sockets.length; q++) Bpf.mapDelete(prog.xskMapFd, c.startQueue() + q);
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            for (int q = 0; q < sockets.length; q++) if (sockets[q] != null) releaseSocket(q, sockets[q]);
            inPortNetns(() -> {
                att.close();                                  // a netlink detach acts in the namespace it is sent from
                return null;
            });
            prog.close();
            Libc.close(nsFd);
            try {
                int now = nif.flags(), modes = NetIf.IFF_PROMISC | NetIf.IFF_ALLMULTI;
                if ((now & modes) != (initialFlags & modes)) {
                    nif.setPromiscuous((initialFlags & NetIf.IFF_PROMISC) != 0);
                    nif.setAllMulticast((initialFlags & NetIf.IFF_ALLMULTI) != 0);
                }
            } catch (LinuxException e) {
                // the interface is gone: nothing to put back
            }
            nif.close();
        }

        /** Up when started and the interface (still the one the sockets are bound to) is up with carrier. */
        @Override
        public LinkStatus link(boolean started) {
            if (!started || gone.get() || !present()) return LinkStatus.DOWN;
            try {
                if (!nif.isRunning()) return LinkStatus.DOWN;
            } catch (LinuxException e) {
                return LinkStatus.DOWN;
            }
            int sp = speed();
            return new LinkStatus(sp > 0 ? sp : LinkStatus.SPEED_UNKNOWN, true, false, true);
        }

        private boolean present() {
            try {
                return nif.index() == ifindex;
            } catch (LinuxException e) {
                return false;
            }
        }

        @Override
        public void setMacAddr(MacAddr mac) {
            ifCall(() -> nif.setMac(mac.bytes()));
        }

        @Override
        public void setPromiscuous(boolean on) {
            ifCall(() -> nif.setPromiscuous(on));
        }

        @Override
        public void setAllMulticast(boolean on) {
            ifCall(() -> nif.setAllMulticast(on));
        }

        @Override
        public void setMtu(int mtu) {
            ifCall(() -> nif.setMtu(mtu));
            refreshTxMaxLen();
        }

        private void ifCall(Runnable r) {
            try {
                r.run();
            } catch (LinuxException e) {
                throw port.error(e.getMessage());
            }
        }

        private void refreshTxMaxLen() {
            int mtu;
            try {
                mtu = nif.mtu();
            } catch (LinuxException e) {
                mtu = (int) Libc.pageSize();
            }
            txMaxLen = mtu + ETH_HLEN + VLAN_HLEN;
        }

        /** Kernel counters of queue {@code q}: closed sockets' plus the live one's. */
        private synchronized long[] kernelStats(int q) {
            long[] s = sockets[q] == null ? new long[6] : sockets[q].statistics();
            for (int i = 0; i < s.length; i++) s[i] += closedStats[q][i];
            return s;
        }

        @Override
        public long imissed() {
            long sum = 0;
            for (int q = 0; q < sockets.length; q++) {
                long[] s = kernelStats(q);
                sum += s[XskSocket.RX_DROPPED] + s[XskSocket.RX_RING_FULL];
            }
            return sum;
        }

        @Override
        public long ierrors() {
            long sum = 0;
            for (int q = 0; q < sockets.length; q++) sum += kernelStats(q)[XskSocket.RX_INVALID];
            return sum;
        }

        @Override
        public long oerrors() {
            long sum = 0;
            for (int q = 0; q < sockets.length; q++) sum += kernelStats(q)[XskSocket.TX_INVALID];
            return sum;
        }

        @Override
        public List<Xstat> xstats() {
            List<Xstat> l = new ArrayList<>();
            for (int q = 0; q < sockets.length; q++) {
                long[] s = kernelStats(q);
                l.add(new Xstat("rx_q" + q + "_xdp_rx_dropped", s[XskSocket.RX_DROPPED]));
                l.add(new Xstat("rx_q" + q + "_xdp_rx_ring_full", s[XskSocket.RX_RING_FULL]));
                l.add(new Xstat("rx_q" + q + "_xdp_fill_ring_empty", s[XskSocket.FILL_EMPTY]));
                l.add(new Xstat("rx_q" + q + "_xdp_rx_invalid_descs", s[XskSocket.RX_INVALID]));
                l.add(new Xstat("tx_q" + q + "_xdp_tx_invalid_descs", s[XskSocket.TX_INVALID]));
                l.add(new Xstat("tx_q" + q + "_xdp_tx_ring_empty", s[XskSocket.TX_RING_EMPTY]));
            }
            return l;
        }

        @Override
        public String toString() {
            return name + " on " + c.iface();
        }
    }
}
