package org.jpdk.drivers.net.afpacket;

import org.jpdk.eal.EalArgumentException;
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
import org.jpdk.ethdev.Xstat;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.NetIf;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * DPDK's net_af_packet (alias eth_af_packet): a port on a Linux network interface through
 * AF_PACKET sockets with PACKET_MMAP rings, for any interface the kernel has (veth, tap, a NIC
 * without a DPDK driver) at kernel-socket speed. Devargs as DPDK 22.11: {@code iface} (required),
 * {@code qpairs} (1), {@code blocksz} (page size), {@code framesz} (2048), {@code framecnt} (512),
 * {@code qdisc_bypass} (1).
 *
 * <p>Each queue pair is one socket bound to the interface with a TPACKET_V2 RX ring and TX ring
 * of {@code framecnt} frames each, mapped with one mmap ({@link PacketSocket}). With more than one
 * queue pair the sockets form a PACKET_FANOUT group (HASH with DEFRAG and ROLLOVER, as DPDK): the
 * kernel hashes each flow to one socket, and a full ring rolls over to the next. Unlike DPDK, whose
 * group id is {@code (pid ^ ifindex) & 0xffff}, the kernel picks a free id (FLAG_UNIQUEID), so two
 * ports on one interface never merge into one group. Options as DPDK: PACKET_LOSS (the kernel
 * skips a bad TX frame instead of stalling the ring) and PACKET_QDISC_BYPASS (unless
 * {@code qdisc_bypass=0}); and PACKET_IGNORE_OUTGOING, which DPDK does not set: a socket sees every
 * frame sent on its interface otherwise, so with two queue pairs each would receive what the
 * other transmits (and the host's own ARP/ND), which a NIC never does, and the kernel would copy
 * every sent frame into the other RX rings.
 *
 * <p>Why TPACKET_V2, not V3: measured with AfPacketRingVersionExperiment (ethdev tests): one
 * thread floods 64-byte frames into a veth pair between two namespaces, one thread polls a bare
 * socket at the other end and copies each frame out, 3 s per run, 2-core machine loaded by other
 * jobs (two runs at load average 13, two at 7). Received Mpps: V2 with 1 MiB (512 frames) 0.018,
 * 0.031, 0.070, 0.078; V3 with 1 MiB (8 blocks of 128 KiB) 0.124, 0.099, 0.178, 0.241; V2 with
 * 8 MiB (4096 frames) 0.117, 0.091, 0.123, 0.348; the rest of what was offered was dropped by the
 * kernel for a full ring (README has the table). The starved receiver made ring capacity
 * decide: V3 packs small frames densely (about 6,500 in 1 MiB), and V2 given nearly as many frames
 * received about as much. V2 stays because its frame count is what DPDK's devargs
 * describe (raise framecnt for bursts), a frame goes back to the kernel as soon as it is copied
 * (a V3 block only when all of it is read, and a partly filled block is retired only after a
 * timeout of a millisecond or more, which adds latency at low rates), and TX is a V2 ring either
 * way. DPDK 22.11 uses V2 too.
 *
 * <p>Why copy, not zero-copy: the ring belongs to the socket, not to the app's mempool; an mbuf
 * must come from the queue's pool and may be held by the app for any time and freed by any lcore,
 * while a ring frame has to go back to the kernel in ring order (V2 fills frames strictly in
 * order, so one held frame stalls the whole ring at the wrap and everything behind it is dropped).
 * Lending frames as external buffers would also need a per-frame refcount object. The copy is one
 * cache-hot memcpy of the frame, small next to the kernel's own per-frame work (it already copied
 * the skb into the ring).
 *
 * <p>Sockets are opened at probe, in the network namespace of the probing thread, so a missing
 * interface (ENODEV) and a missing CAP_NET_RAW (EPERM) are refused there with one line, and stay
 * open until the port is closed; frames and kernel drop counts gathered while the port was stopped
 * are discarded at start. Kernel drops (a full ring: PACKET_STATISTICS tp_drops, which the kernel
 * resets on each read, so they are accumulated) are reported as imissed and as the xstat
 * {@code rx_q<i>_kernel_drops}. Link state, speed and MAC come from the interface; MTU,
 * promiscuous, all-multicast and MAC changes are made on the interface. Promiscuous and
 * all-multicast are put back as they were at probe when the port is closed.
 *
 * <p>If the interface is deleted, the port says so once: a log line naming the interface and what
 * showed it, then the events LINK_STATE_CHANGE and DEVICE_REMOVED. What shows it, without a syscall
 * per packet: a transmit kick failing with ENXIO (the kernel's socket has no device any more), or,
 * on a port that only receives, the socket's pending error (ENETDOWN), which the rx lcore looks for
 * with one poll every {@link AfPacketRxQueue#ERROR_CHECK_INTERVAL} empty bursts. From then on the
 * link reads down, rx receives nothing and tx drops and counts every packet as an error, without
 * touching the rings or the kernel.
 */
public final class AfPacketDriver implements EthDriver {
    /** As DPDK's RTE_PMD_AF_PACKET_MAX_RINGS. */
    public static final int MAX_QPAIRS = 16;
    public static final int DEFAULT_FRAME_SIZE = 2048, DEFAULT_FRAME_COUNT = 512, MAX_FRAME_COUNT = 1 << 20;
    /** Least frame: the 66 bytes before an Ethernet frame's data in an RX frame, plus a 60-byte frame, aligned. */
    public static final int MIN_FRAME_SIZE = 128;
    /** TPACKET_ALIGNMENT. */
    public static final int FRAME_ALIGN = 16;
    private static final int ETH_HLEN = 14, VLAN_HLEN = 4, MIN_MTU = 68;

    @Override
    public String name() {
        return "net_af_packet";
    }

    @Override
    public List<String> aliases() {
        return List.of("eth_af_packet");
    }

    @Override
    public Set<String> keys() {
        return Set.of("iface", "qpairs", "blocksz", "framesz", "framecnt", "qdisc_bypass");
    }

    @Override
    public String usage() {
        return "iface=<ifname>,qpairs=<1.." + MAX_QPAIRS + ">,blocksz=<bytes>,framesz=<bytes>,framecnt=<frames>,qdisc_bypass=<0|1>";
    }

    /**
     * The checked devargs.
     *
     * @param iface       the interface name
     * @param qpairs      queue pairs, one socket each
     * @param blockSize   ring block size: a multiple of the page size, at least {@code frameSize}
     * @param frameSize   ring frame size: a multiple of 16, at least {@link #MIN_FRAME_SIZE}
     * @param frameCount  frames per ring: a multiple of the frames per block
     * @param qdiscBypass PACKET_QDISC_BYPASS on TX
     */
    public record Config(String iface, int qpairs, int blockSize, int frameSize, int frameCount, boolean qdiscBypass) {
        /** Parses and checks the devargs; each bad value is refused with a one-line error naming it. */
        public static Config parse(Devargs args) {
            String iface = args.get("iface");
            if (iface == null) throw new EalArgumentException("--vdev " + args.name() + ": iface is required; usage: iface=<ifname>[,qpairs=N,...]");
            try {
                NetIf.checkName(iface);
            } catch (IllegalArgumentException e) {
                throw args.error("iface", iface, e.getMessage());
            }
            int qpairs = args.intValue("qpairs", 1, 1, MAX_QPAIRS);
            int page = (int) Libc.pageSize();
            int frameSize = args.intValue("framesz", DEFAULT_FRAME_SIZE, MIN_FRAME_SIZE, 1 << 24);
            if (frameSize % FRAME_ALIGN != 0) throw args.error("framesz", args.get("framesz"), "not a multiple of " + FRAME_ALIGN + " (TPACKET_ALIGNMENT)");
            int blockSize = args.intValue("blocksz", page, page, 1 << 30);
            if (blockSize % page != 0) throw args.error("blocksz", args.get("blocksz"), "not a multiple of the page size " + page);
            if (blockSize < frameSize) throw args.error("blocksz", String.valueOf(blockSize), "smaller than framesz=" + frameSize + "; a block holds whole frames");
            int fpb = blockSize / frameSize;
            int frameCount = args.intValue("framecnt", DEFAULT_FRAME_COUNT, 1, MAX_FRAME_COUNT);
            if (frameCount % fpb != 0) {
                throw args.error("framecnt", String.valueOf(frameCount), "not a multiple of the " + fpb + " frames per block (blocksz=" + blockSize
                        + " / framesz=" + frameSize + "); e.g. " + Math.max(fpb, frameCount / fpb * fpb));
            }
            if ((long) frameCount / fpb * blockSize > 1L << 31) {
                throw args.error("framecnt", String.valueOf(frameCount), "rings of " + (long) frameCount / fpb * blockSize + " bytes; at most 2 GiB per ring");
            }
            boolean bypass = args.boolValue("qdisc_bypass", true);
            return new Config(iface, qpairs, blockSize, frameSize, frameCount, bypass);
        }

        int framesPerBlock() {
            return blockSize / frameSize;
        }

        /** Bytes of one ring. */
        long ringBytes() {
            return (long) frameCount / framesPerBlock() * blockSize;
        }

        /** The longest frame RX stores whole. */
        int maxRxPktLen() {
            return frameSize - PacketSocket.RX_MAC_OFFSET;
        }

        /** The longest frame a TX frame holds. */
        int maxTxPktLen() {
            return frameSize - PacketSocket.TX_DATA_OFFSET;
        }

        String ringDescription() {
            return "blocksz=" + blockSize + " framesz=" + frameSize + " framecnt=" + frameCount;
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
        PacketSocket[] socks = new PacketSocket[c.qpairs()];
        try {
            int ifindex = nif.index();
            int group = -1;
            for (int q = 0; q < socks.length; q++) {
                socks[q] = PacketSocket.open(c.iface(), ifindex, q, c);
                if (socks.length > 1) group = socks[q].joinFanout(group);
            }
            return new Device(port, args.name(), c, nif, ifindex, socks);
        } catch (RuntimeException e) {
            for (PacketSocket s : socks) if (s != null) s.close();
            nif.close();
            if (e instanceof LinuxException le && le.errno() == Errno.EPERM) {
                throw new EthDevException(dev + "AF_PACKET sockets need root or CAP_NET_RAW (" + e.getMessage() + ")", e);
            }
            throw new EthDevException(dev + e.getMessage(), e);
        }
    }

    /** The driver side of one net_af_packet port. */
    public static final class Device extends EthDevOps {
        private final String name;
        private final Config c;
        private final NetIf nif;
        private final int ifindex;
        private final PacketSocket[] socks;
        private final int initialFlags;
        private final MacAddr initialMac;
        private boolean vlanStrip, timestamps, closed;
        /** The longest packet TX takes: a frame's room and the interface MTU (plus header and tag). */
        volatile int txMaxLen;
        /** Set once, by whichever thread first sees that the interface was deleted. */
        private final AtomicBoolean gone = new AtomicBoolean();

        Device(EthDev port, String name, Config c, NetIf nif, int ifindex, PacketSocket[] socks) {
            super(port);
            this.name = name;
            this.c = c;
            this.nif = nif;
            this.ifindex = ifindex;
            this.socks = socks;
            this.initialFlags = nif.flags();
            this.initialMac = MacAddr.read(MemorySegment.ofArray(nif.mac()), 0);
            refreshTxMaxLen();
        }

        /** The checked devargs. */
        public Config config() {
            return c;
        }

        /** The interface index the sockets are bound to. */
        public int ifindex() {
            return ifindex;
        }

        /** Queue pair {@code q}'s socket descriptor (for tests and tools). */
        public int socketFd(int q) {
            return socks[q].fd;
        }

        /** Queue pair {@code q}'s socket with its rings (tests). */
        PacketSocket socket(int q) {
            return socks[q];
        }

        @Override
        public DevInfo info() {
            int maxMtu = Math.min(c.maxRxPktLen(), c.maxTxPktLen() - VLAN_HLEN) - ETH_HLEN;
            return new DevInfo("net_af_packet", c.iface(), c.qpairs(), c.qpairs(), 64, c.maxRxPktLen(), MIN_MTU, Math.max(MIN_MTU, maxMtu),
                    Offloads.RX_VLAN_STRIP | Offloads.RX_SCATTER | Offloads.RX_TIMESTAMP, Offloads.TX_MULTI_SEGS,
                    0, 0, 0, 1, c.frameCount(), c.frameCount(), Math.max(0, speed()));
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
            if (nbRxQueues < c.qpairs()) {
                EthDev.LOG.warning(port.error("qpairs=" + c.qpairs() + " but " + nbRxQueues + " rx queue(s) configured: the kernel still spreads flows over "
                        + c.qpairs() + " rings; those of unpolled rings roll over once they are full").getMessage());
            }
            if (conf.mtu() != 0) setMtu(conf.mtu());
            vlanStrip = (conf.rxOffloads() & Offloads.RX_VLAN_STRIP) != 0;
            timestamps = (conf.rxOffloads() & Offloads.RX_TIMESTAMP) != 0;
        }

        @Override
        public RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
            return new AfPacketRxQueue(this, socks[queue], pool, vlanStrip, timestamps);
        }

        @Override
        public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
            return new AfPacketTxQueue(this, socks[queue]);
        }

        /** Drops what arrived while stopped (frames and kernel drop counts) and rereads the MTU. */
        @Override
        public void start() {
            for (PacketSocket s : socks) {
                s.flushRx();
                s.discardStatistics();
            }
            refreshTxMaxLen();
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            try {
                int now = nif.flags(), modes = NetIf.IFF_PROMISC | NetIf.IFF_ALLMULTI;
                if ((now & modes) != (initialFlags & modes)) {
                    nif.setPromiscuous((initialFlags & NetIf.IFF_PROMISC) != 0);
                    nif.setAllMulticast((initialFlags & NetIf.IFF_ALLMULTI) != 0);
                }
            } catch (LinuxException e) {
                // the interface is gone: nothing to put back
            }
            for (PacketSocket s : socks) s.close();
            nif.close();
        }

        /** Whether the interface was seen deleted (then rx receives nothing, tx drops and counts every packet). */
        boolean isGone() {
            return gone.get();
        }

        /**
         * The interface the sockets are bound to was deleted ({@code why}: what showed it). Once
         * per port, from whichever lcore (or control thread) saw it first: one log line, then
         * LINK_STATE_CHANGE and DEVICE_REMOVED for the port's event callbacks. The link reads down
         * from now on; an interface made again with the same name is another ifindex, which these
         * sockets never see.
         */
        void interfaceGone(String why) {
            if (gone.get() || !gone.compareAndSet(false, true)) return;
            EthDev.LOG.warning(port.error("interface " + c.iface() + " (ifindex " + ifindex + ") is gone: " + why + "; link down").getMessage());
            raiseEvent(EthEvent.LINK_STATE_CHANGE);
            raiseEvent(EthEvent.DEVICE_REMOVED);
        }

        /**
         * The rx lcore found an error pending on {@code s} (the kernel sets ENETDOWN when the
         * interface goes down or away): reads and clears it, so that an rx interrupt wait on the
         * socket does not wake for it again and again, and reports the interface gone if it is.
         * A link that only went down is left to {@link #link}: the kernel resumes delivery when it
         * comes back up.
         */
        void socketError(PacketSocket s) {
            int e = s.takeError();
            if (!present()) interfaceGone("socket error " + (e == 0 ? "(none left)" : Errno.name(e)) + " and no interface has ifindex " + ifindex);
        }

        /** Up when started and the interface (still the one bound) is up with carrier. */
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

        /** Whether the interface the sockets were bound to still exists. */
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
                mtu = Integer.MAX_VALUE - ETH_HLEN - VLAN_HLEN;
            }
            txMaxLen = Math.min(c.maxTxPktLen(), mtu + ETH_HLEN + VLAN_HLEN);
        }

        @Override
        public long imissed() {
            long sum = 0;
            for (PacketSocket s : socks) sum += s.readDrops();
            return sum;
        }

        @Override
        public List<Xstat> xstats() {
            List<Xstat> l = new ArrayList<>(socks.length);
            for (int q = 0; q < socks.length; q++) l.add(new Xstat("rx_q" + q + "_kernel_drops", socks[q].readDrops()));
            return l;
        }

        @Override
        public String toString() {
            return name + " on " + c.iface();
        }
    }
}
