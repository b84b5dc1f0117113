package org.jpdk.drivers.net.tap;

import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthDriver;
import org.jpdk.ethdev.EthEvent;
import org.jpdk.ethdev.LinkStatus;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.PortConf;
import org.jpdk.ethdev.RxQueue;
import org.jpdk.ethdev.TxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.NetIf;
import org.jpdk.sys.Netns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * DPDK's net_tap (alias eth_tap): a port that is a Linux tap interface, so that what the app
 * sends enters the kernel's network stack as if received on that interface, and what the kernel
 * sends out of it reaches the app. Devargs, as DPDK:
 * <ul>
 * <li>{@code iface=NAME}: the interface (1 to 15 bytes, no '/', ':' or space); default
 * {@code dtap%d}, which the kernel numbers dtap0, dtap1, ... An existing multi-queue tap of that
 * name is attached to, anything else of that name is refused.
 * <li>{@code mac=fixed} (DPDK's 00:64:74:61:70:'0'+n, n counting fixed ports) or
 * {@code mac=xx:xx:xx:xx:xx:xx}; default random. The interface gets this address, as in DPDK.
 * <li>{@code persist=1}: keep the interface after the port is closed (TUNSETPERSIST).
 * <li>{@code netns=NAME} (jpdk only): create the interface in network namespace NAME
 * ({@code /run/netns/NAME}); every later fd and control call of the port acts there, whatever
 * namespace the calling thread is in.
 * <li>{@code remote} is refused: DPDK mirrors a remote netdev with tc flower rules over netlink,
 * which jpdk does not implement.
 * </ul>
 * The interface is created at probe and held by a keep-alive fd detached from the queue set (so
 * the kernel never sends to it); each queue pair i is one more fd on the same name
 * ({@code IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE}, non-blocking), opened at configure. Start brings
 * the interface up, stop takes it down; close releases every fd, which removes the interface
 * unless {@code persist=1} or it existed before the probe (then it is left as found). One frame
 * per read and per write: see {@link TapRxQueue} and {@link TapTxQueue}.
 *
 * <p>If the interface is deleted under the port ({@code ip link del}), the queue fds fail every
 * read and write with EBADFD: the first queue to see it logs one line naming the tap and raises
 * LINK_STATE_CHANGE and DEVICE_REMOVED; from then on the link reads down, rx receives nothing and tx
 * drops and counts every packet, without a syscall. (An rx interrupt wait on such a queue keeps
 * waking, as the kernel reports the fd in error: stop polling the port on DEVICE_REMOVED.)
 */
public final class TapDriver implements EthDriver {
    /** Queue pairs per port (RTE_PMD_TAP_MAX_QUEUES). */
    public static final int MAX_QUEUES = 16;
    /** The kernel's MTU limits for a tap (ETH_MIN_MTU, MAX_MTU less the Ethernet header). */
    public static final int MIN_MTU = 68, MAX_MTU = 65535 - 14;
    static final String DEFAULT_IFACE = "dtap%d";
    private static final AtomicInteger FIXED_MAC_INDEX = new AtomicInteger();

    @Override
    public String name() {
        return "net_tap";
    }

    @Override
    public List<String> aliases() {
        return List.of("eth_tap");
    }

    @Override
    public Set<String> keys() {
        return Set.of("iface", "mac", "persist", "remote", "netns");
    }

    @Override
    public String usage() {
        return "iface=<name>,mac=<fixed|xx:xx:xx:xx:xx:xx>,persist=<0|1>,netns=<name>";
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        return probe(port, args, Tun.DEVICE);
    }

    /** {@link #probe(EthDev, Devargs)} with another tun device path (tests of a missing /dev/net/tun). */
    static Device probe(EthDev port, Devargs args, String tunPath) {
        String remote = args.get("remote");
        if (remote != null) {
            throw args.error("remote", remote, "not supported: DPDK mirrors a remote netdev with tc flower rules over netlink, which jpdk does not implement");
        }
        String iface = args.get("iface", DEFAULT_IFACE);
        if (!validIface(iface)) throw args.error("iface", iface, "not an interface name; 1 to 15 bytes, no '/', ':' or space");
        MacAddr mac = parseMac(args);
        boolean persist = args.boolValue("persist", false);
        String netns = args.get("netns");
        if (netns != null && (netns.isEmpty() || netns.contains("/") || !Netns.exists(netns))) {
            throw args.error("netns", netns, "no such network namespace (/run/netns/" + netns + "); create it with ip netns add");
        }
        return Device.create(port, args.name(), tunPath, iface, mac, persist, netns);
    }

    /** DPDK's is_valid_iface. */
    static boolean validIface(String name) {
        if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length >= NetIf.IFNAMSIZ) return false;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == ':' || Character.isWhitespace(c)) return false;
        }
        return true;
    }

    private static MacAddr parseMac(Devargs args) {
        String v = args.get("mac");
        if (v == null) return MacAddr.random();
        if (v.equalsIgnoreCase("fixed")) {
            int idx = FIXED_MAC_INDEX.getAndIncrement();
            return new MacAddr(0x00_64_74_61_70_00L | (('0' + idx) & 0xff)); // "\0dtap" + '0'+n
        }
        MacAddr m;
        try {
            m = MacAddr.parse(v);
        } catch (IllegalArgumentException e) {
            throw args.error("mac", v, "expected fixed or xx:xx:xx:xx:xx:xx");
        }
        if (m.isMulticast() || m.isZero()) throw args.error("mac", v, "not a unicast address");
        return m;
    }

    /** The driver side of one net_tap port. */
    public static final class Device extends EthDevOps {
        private static final String THREAD_NS = "/proc/thread-self/ns/net";
        private final String devName, tunPath, ifName;
        private final boolean persist, existed;
        private final int nsFd;          // the namespace the interface was created in
        private final String nsId;       // its identity, "net:[inode]"
        private final int keepAliveFd;
        private final NetIf nif;
        private final MacAddr mac;
        private int[] fds = new int[0];  // queue pair i reads and writes fds[i]
        private boolean rxScatter;
        private boolean closed;
        /** Set once, by whichever thread first sees that the interface was deleted. */
        private final AtomicBoolean gone = new AtomicBoolean();

        private Device(EthDev port, String devName, String tunPath, String ifName, boolean persist, boolean existed, int nsFd,
                       String nsId, int keepAliveFd, NetIf nif, MacAddr mac) {
            super(port);
            this.devName = devName;
            this.tunPath = tunPath;
            this.ifName = ifName;
            this.persist = persist;
            this.existed = existed;
            this.nsFd = nsFd;
            this.nsId = nsId;
            this.keepAliveFd = keepAliveFd;
            this.nif = nif;
            this.mac = mac;
        }

        static Device create(EthDev port, String devName, String tunPath, String iface, MacAddr mac, boolean persist, String netns) {
            Netns entered = netns == null ? null : Netns.enter(netns);
            int nsFd = -1, ka = -1;
            NetIf nif = null;
            try {
                nsFd = Libc.open(THREAD_NS, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
                String nsId = currentNs();
                boolean existed = !iface.contains("%") && NetIf.exists(iface);
                String[] got = new String[1];
                ka = Tun.openQueue(devName, tunPath, iface, got);
                String name = got[0];
                Tun.setQueueAttached(devName, ka, name, false);
                if (persist) Tun.setPersist(devName, ka, name, true);
                nif = NetIf.open(name);
                nif.setMtu(PortConf.DEFAULT_MTU);
                nif.setMac(mac.bytes());
                EthDev.LOG.info("--vdev " + devName + ": tap " + name + (existed ? " (attached)" : " (created)")
                        + (netns == null ? "" : " in netns " + netns));
                return new Device(port, devName, tunPath, name, persist, existed, nsFd, nsId, ka, nif, mac);
            } catch (LinuxException e) {
                closeQuietly(nif, ka, nsFd);
                throw new EthDevException("--vdev " + devName + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                closeQuietly(nif, ka, nsFd);
                throw e;
            } finally {
                if (entered != null) entered.close();
            }
        }

        private static void closeQuietly(NetIf nif, int ka, int nsFd) {
            if (nif != null) nif.close();
            if (ka >= 0) Libc.close(ka);
            if (nsFd >= 0) Libc.close(nsFd);
        }

        private static String currentNs() {
            try {
                return Files.readSymbolicLink(Path.of(THREAD_NS)).toString();
            } catch (IOException e) {
                throw new EthDevException("readlink(" + THREAD_NS + "): " + e.getMessage(), e);
            }
        }

        /** The kernel's name of the interface ({@code dtap0}). */
        public String ifName() {
            return ifName;
        }

        /** The fd of queue pair {@code queue}, for tests and for polling it. */
        public int queueFd(int queue) {
            return fds[queue];
        }

        @Override
        public DevInfo info() {
            return new DevInfo("net_tap", ifName, MAX_QUEUES, MAX_QUEUES, 64, MAX_MTU + 14, MIN_MTU, MAX_MTU,
                    Offloads.RX_SCATTER, Offloads.TX_MULTI_SEGS, 0, 0, 0, 1, 65535, 1024, LinkStatus.SPEED_10G);
        }

        /** Applies the MTU and opens (or closes) queue fds until there is one per queue pair. */
        @Override
        public void configure(int nbRxQueues, int nbTxQueues, PortConf conf) {
            control(() -> nif.setMtu(conf.mtu() == 0 ? PortConf.DEFAULT_MTU : conf.mtu()));
            rxScatter = (conf.rxOffloads() & Offloads.RX_SCATTER) != 0;
            setQueueCount(Math.max(nbRxQueues, nbTxQueues));
        }

        private void setQueueCount(int want) {
            while (fds.length > want) {
                Libc.close(fds[fds.length - 1]);
                fds = Arrays.copyOf(fds, fds.length - 1);
            }
            while (fds.length < want) {
                int fd = openQueueFd();
                int[] next = Arrays.copyOf(fds, fds.length + 1);
                next[fds.length] = fd;
                fds = next;
            }
        }

        /** One more queue fd, opened in the interface's namespace (a fd opened elsewhere would make a new tap there). */
        private int openQueueFd() {
            String[] got = new String[1];
            if (nsId.equals(currentNs())) return Tun.openQueue(devName, tunPath, ifName, got);
            int back = Libc.open(THREAD_NS, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            try {
                Libc.setns(nsFd, Libc.CLONE_NEWNET, "netns of " + ifName);
                try {
                    return Tun.openQueue(devName, tunPath, ifName, got);
                } finally {
                    Libc.setns(back, Libc.CLONE_NEWNET, "back from the netns of " + ifName);
                }
            } finally {
                Libc.close(back);
            }
        }

        @Override
        public RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
            return new TapRxQueue(this, fds[queue], pool, rxScatter);
        }

        @Override
        public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
            return new TapTxQueue(this, fds[queue]);
        }

        /** Brings the interface up with the port's promiscuous and all-multicast modes (DPDK's tap_link_set_up). */
        @Override
        public void start() {
            control(() -> {
                nif.setPromiscuous(port.promiscuous());
                nif.setAllMulticast(port.allMulticast());
                nif.setUp(true);
            });
        }

        @Override
        public void stop() {
            if (gone.get()) return;
            try {
                nif.setUp(false);
            } catch (LinuxException e) {
                if (e.errno() != Errno.ENODEV) throw port.error(e.getMessage());
                interfaceGone(e.getMessage());                          // nothing left to take down
            }
        }

        @Override
        public void reset() {
            setQueueCount(0);
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            setQueueCount(0);
            nif.close();
            Libc.close(keepAliveFd); // the last fd: the kernel removes the interface unless it is persistent
            Libc.close(nsFd);
            EthDev.LOG.info("--vdev " + devName + ": tap " + ifName + (gone.get() ? " was deleted already" : persist || existed ? " kept" : " removed"));
        }

        /** Whether the interface was seen deleted (then rx receives nothing, tx drops and counts every packet). */
        boolean isGone() {
            return gone.get();
        }

        /**
         * The tap interface was deleted under the port ({@code why}: what showed it; the queue fds
         * then fail every read and write with EBADFD). Once per port, from whichever thread saw it
         * first: one log line, then LINK_STATE_CHANGE and DEVICE_REMOVED for the port's event
         * callbacks.
         */
        void interfaceGone(String why) {
            if (gone.get() || !gone.compareAndSet(false, true)) return;
            EthDev.LOG.warning(port.error("tap " + ifName + " is gone: " + why + "; link down").getMessage());
            raiseEvent(EthEvent.LINK_STATE_CHANGE);
            raiseEvent(EthEvent.DEVICE_REMOVED);
        }

        /** Up when the interface is up and has carrier (a queue attached), as DPDK's tap_link_update. */
        @Override
        public LinkStatus link(boolean started) {
            if (gone.get()) return LinkStatus.DOWN;
            try {
                return new LinkStatus(LinkStatus.SPEED_10G, true, false, nif.isRunning());
            } catch (LinuxException e) {
                return LinkStatus.DOWN;
            }
        }

        @Override
        public MacAddr initialMacAddr() {
            return mac;
        }

        @Override
        public void setMacAddr(MacAddr addr) {
            control(() -> nif.setMac(addr.bytes()));
        }

        @Override
        public void setPromiscuous(boolean on) {
            control(() -> nif.setPromiscuous(on));
        }

        @Override
        public void setAllMulticast(boolean on) {
            control(() -> nif.setAllMulticast(on));
        }

        @Override
        public void setMtu(int mtu) {
            control(() -> nif.setMtu(mtu));
        }

        private void control(Runnable call) {
            try {
                call.run();
            } catch (LinuxException e) {
                throw port.error(e.getMessage());
            }
        }
    }
}
