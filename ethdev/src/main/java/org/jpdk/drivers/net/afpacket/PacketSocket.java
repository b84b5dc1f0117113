package org.jpdk.drivers.net.afpacket;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.Mapping;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One AF_PACKET socket of a net_af_packet port with its PACKET_MMAP rings (TPACKET_V2): an RX
 * ring and a TX ring of {@code framecnt} frames each, mapped by one {@code mmap}, RX first.
 * Frame {@code i} of a ring starts at {@code (i / fpb) * blocksz + (i % fpb) * framesz}, where
 * {@code fpb = blocksz / framesz}; {@link #frameOffsets} holds those offsets for both rings.
 *
 * <pre>
 * struct tpacket2_hdr (32 bytes) at the start of every frame        writer
 *   +0   u32 tp_status     RX: KERNEL 0 / USER 1 (| LOSING 4, VLAN_VALID 0x10, VLAN_TPID_VALID 0x40)
 *                          TX: AVAILABLE 0 / SEND_REQUEST 1 / SENDING 2 / WRONG_FORMAT 4     both
 *   +4   u32 tp_len        length on the wire (RX: before snapping; TX: bytes to send)      both
 *   +8   u32 tp_snaplen    bytes stored in the frame (RX)                                   kernel
 *   +12  u16 tp_mac        offset of the Ethernet header from the frame start (RX)          kernel
 *   +14  u16 tp_net        offset of the network header (RX)                                kernel
 *   +16  u32 tp_sec, +20 u32 tp_nsec   receive time (RX)                                    kernel
 *   +24  u16 tp_vlan_tci, +26 u16 tp_vlan_tpid   the tag the kernel took out (RX)           kernel
 * TX data starts at frame + 32 (TPACKET2_HDRLEN 52 - sizeof(sockaddr_ll) 20, no TX_HAS_OFF).
 * RX data of an Ethernet frame starts at tp_mac = 66 (TPACKET_ALIGN(52 + 16) - 14).
 * </pre>
 *
 * Ownership of a frame passes with its status word: the kernel writes a frame's header and data
 * before it release-stores USER, and takes a frame back when it reads KERNEL; so the reader
 * acquire-loads the status (A1, pairs with the kernel's smp_wmb before the status store) and
 * release-stores KERNEL/SEND_REQUEST after it is done with the frame (R1, pairs with the kernel's
 * smp_rmb after its status load). Cursors ({@link #rxNext}, {@link #txNext}) are plain fields
 * written by the one polling lcore, or by the control thread while the port is stopped.
 */
final class PacketSocket implements AutoCloseable {
    static final int SOL_PACKET = 263, ETH_P_ALL = 0x0003;
    static final int PACKET_RX_RING = 5, PACKET_STATISTICS = 6, PACKET_VERSION = 10, PACKET_TX_RING = 13,
            PACKET_LOSS = 14, PACKET_FANOUT = 18, PACKET_QDISC_BYPASS = 20, PACKET_IGNORE_OUTGOING = 23;
    static final int TPACKET_V2 = 1;
    static final int PACKET_FANOUT_HASH = 0, PACKET_FANOUT_FLAG_ROLLOVER = 0x1000,
            PACKET_FANOUT_FLAG_UNIQUEID = 0x2000, PACKET_FANOUT_FLAG_DEFRAG = 0x8000;
    static final int TP_STATUS_KERNEL = 0, TP_STATUS_USER = 1, TP_STATUS_LOSING = 4, TP_STATUS_VLAN_VALID = 0x10,
            TP_STATUS_VLAN_TPID_VALID = 0x40;
    static final int TP_STATUS_AVAILABLE = 0, TP_STATUS_SEND_REQUEST = 1, TP_STATUS_SENDING = 2,
            TP_STATUS_WRONG_FORMAT = 4;
    /** sizeof(struct tpacket2_hdr) + sizeof(struct sockaddr_ll). */
    static final int TPACKET2_HDRLEN = 52;
    /** Where TX data goes in a frame, and where RX data of an Ethernet frame lands. */
    static final int TX_DATA_OFFSET = TPACKET2_HDRLEN - 20, RX_MAC_OFFSET = 66;
    static final int OFF_STATUS = 0, OFF_LEN = 4, OFF_SNAPLEN = 8, OFF_MAC = 12, OFF_SEC = 16, OFF_NSEC = 20,
            OFF_VLAN_TCI = 24, OFF_VLAN_TPID = 26;

    /** tp_status, read with acquire and written with release (see the class comment). */
    static final VarHandle STATUS = JAVA_INT.varHandle();

    /** The socket; -1 once closed, so a late kick fails with EBADF instead of reaching a reused descriptor. */
    volatile int fd;
    final String what;
    /** Owns {@link #map}: closed first on close, so an lcore still polling gets IllegalStateException, never a fault. */
    private final Arena rings;
    /** Both rings, RX then TX: exactly the bytes mapped. */
    final MemorySegment map;
    /** Frame offsets: RX ring frames at [0, framecnt), TX ring frames at [framecnt, 2 framecnt). */
    final long[] frameOffsets;
    /**
     * TX frame i's data area ({@code framesz - 32} bytes from frame + 32), a slice of {@link #map}
     * made once: transmit copies into it, so no length can carry a copy into the next frame.
     */
    final MemorySegment[] txData;
    final int frameCount, frameSize;
    /** The next RX frame to look at, and the next TX frame to fill. */
    int rxNext, txNext;
    /** Kernel drops (tp_drops) read so far; PACKET_STATISTICS resets on each read. */
    long drops;
    /**
     * A struct pollfd on this socket asking for no event (poll then reports only POLLERR, POLLHUP,
     * POLLNVAL). Not in {@link #rings}: a poll running while the port closes would hold that arena
     * open and make the close fail; a late poll on a closed descriptor only reads state.
     */
    private final MemorySegment errorPoll;
    private boolean closed;

    private PacketSocket(int fd, String what, Arena rings, MemorySegment map, long[] frameOffsets, int frameCount, int frameSize) {
        this.fd = fd;
        this.what = what;
        this.rings = rings;
        this.map = map;
        this.frameOffsets = frameOffsets;
        this.frameCount = frameCount;
        this.frameSize = frameSize;
        this.errorPoll = Arena.ofAuto().allocate(8, 4);
        errorPoll.set(JAVA_INT, 0, fd);
        this.txData = new MemorySegment[frameCount];
        for (int i = 0; i < frameCount; i++) txData[i] = map.asSlice(frameOffsets[frameCount + i] + TX_DATA_OFFSET, frameSize - TX_DATA_OFFSET);
    }

    /**
     * Opens a socket bound to {@code ifindex} with both rings mapped; throws {@link LinuxException}
     * naming the call, e.g. {@code socket(AF_PACKET, iface=veth0): EPERM}.
     */
    static PacketSocket open(String iface, int ifindex, int queue, AfPacketDriver.Config c) {
        String what = "AF_PACKET, iface=" + iface + ", queue " + queue;
        // protocol 0: the socket receives nothing until bind names the interface and ETH_P_ALL, so no
        // frame of another interface slips in, and setting up the rings needs no RCU grace period
        int fd = Libc.socket(Libc.AF_PACKET, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, 0, what);
        Arena rings = Arena.ofShared();
        MemorySegment map;
        try (Arena a = Arena.ofConfined()) {
            check(Libc.setsockopt(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2), "PACKET_VERSION=TPACKET_V2", what);
            // a full TX ring or a malformed frame must not stop the kernel: skip the frame instead
            check(Libc.setsockopt(fd, SOL_PACKET, PACKET_LOSS, 1), "PACKET_LOSS", what);
            if (c.qdiscBypass()) check(Libc.setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1), "PACKET_QDISC_BYPASS", what);
            // a NIC does not receive what it sends: without this every queue would also see the frames
            // the other queues (and the host's stack) transmit on the interface
            check(Libc.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1), "PACKET_IGNORE_OUTGOING", what);
            MemorySegment req = a.allocate(16, 4);
            req.set(JAVA_INT, 0, c.blockSize());
            req.set(JAVA_INT, 4, c.frameCount() / c.framesPerBlock());
            req.set(JAVA_INT, 8, c.frameSize());
            req.set(JAVA_INT, 12, c.frameCount());
            check(Libc.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req), "PACKET_RX_RING " + c.ringDescription(), what);
            check(Libc.setsockopt(fd, SOL_PACKET, PACKET_TX_RING, req), "PACKET_TX_RING " + c.ringDescription(), what);
            long len = 2L * c.ringBytes();
            // bounded: the rings' bytes, in an arena whose close (with the socket) makes any late access throw, then unmaps
            map = Mapping.map(rings, len, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0, what + ", rings of " + len + " bytes");
            MemorySegment sll = a.allocate(20, 4);
            sll.set(JAVA_SHORT, 0, (short) Libc.AF_PACKET);
            sll.set(JAVA_SHORT, 2, (short) htons(ETH_P_ALL));
            sll.set(JAVA_INT, 4, ifindex);
            Libc.bind(fd, sll, what);
        } catch (RuntimeException e) {
            rings.close();
            Libc.close(fd);
            throw e;
        }
        int n = c.frameCount(), fpb = c.framesPerBlock();
        long[] offs = new long[2 * n];
        for (int i = 0; i < n; i++) {
            offs[i] = (long) (i / fpb) * c.blockSize() + (long) (i % fpb) * c.frameSize();
            offs[n + i] = c.ringBytes() + offs[i];
        }
        return new PacketSocket(fd, what, rings, map, offs, n, c.frameSize());
    }

    /**
     * Joins fanout group {@code groupId} (HASH with DEFRAG and ROLLOVER), or with -1 makes a new
     * group whose id the kernel picks (FLAG_UNIQUEID), so that two ports on one interface never
     * share a group. Returns the group id, for the other queue pairs to join.
     */
    int joinFanout(int groupId) {
        int flags = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG | PACKET_FANOUT_FLAG_ROLLOVER;
        int arg = groupId < 0 ? (flags | PACKET_FANOUT_FLAG_UNIQUEID) << 16 : (groupId & 0xffff) | flags << 16;
        check(Libc.setsockopt(fd, SOL_PACKET, PACKET_FANOUT, arg), "PACKET_FANOUT=0x" + Integer.toHexString(arg), what);
        if (groupId >= 0) return groupId;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            int r = Libc.getsockopt(fd, SOL_PACKET, PACKET_FANOUT, v);
            if (r < 0) throw new LinuxException("getsockopt", "PACKET_FANOUT, " + what, -r);
            return v.get(JAVA_INT, 0) & 0xffff;
        }
    }

    /** Reads and accumulates the kernel's drop counter; returns the total so far. Control thread only. */
    synchronized long readDrops() {
        if (closed) return drops;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(8, 4);
            int r = Libc.getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, st);
            if (r >= 8) drops += st.get(JAVA_INT, 4) & 0xffffffffL;
        }
        return drops;
    }

    /** Forgets the kernel's counters since the last read (drops while the port was stopped). */
    synchronized void discardStatistics() {
        long keep = drops;
        readDrops();
        drops = keep;
    }

    /**
     * Whether the socket has an error pending, by a {@code poll} with timeout 0 that allocates
     * nothing: the kernel sets one (ENETDOWN) when the bound interface goes down or is deleted.
     * For the rx lcore, now and then; {@link #takeError} reads and clears it.
     */
    boolean errorPending() {
        errorPoll.set(JAVA_SHORT, 6, (short) 0);
        return Libc.pollNoErrno(errorPoll, 1, 0) > 0
                && (errorPoll.get(JAVA_SHORT, 6) & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0;
    }

    /** Reads and clears the socket's pending error (SO_ERROR); returns the errno, 0 for none. Allocates: not per burst. */
    int takeError() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            int r = Libc.getsockopt(fd, Libc.SOL_SOCKET, Libc.SO_ERROR, v);
            return r < 0 ? -r : v.get(JAVA_INT, 0);
        }
    }

    /** Hands every filled RX frame back to the kernel unread; returns how many. Port stopped only. */
    int flushRx() {
        int n = 0, i = rxNext;
        while (n < frameCount) {
            long f = frameOffsets[i];
            if (((int) STATUS.getAcquire(map, f) & TP_STATUS_USER) == 0) break;
            STATUS.setRelease(map, f, TP_STATUS_KERNEL);
            i = i + 1 == frameCount ? 0 : i + 1;
            n++;
        }
        rxNext = i;
        return n;
    }

    /**
     * Unmaps the rings, then closes the socket. The port has stopped and released its queues by
     * now; an lcore that polls one anyway (a bug) gets IllegalStateException from the closed
     * rings, and a kick it had already begun fails with EBADF.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        int s = fd;
        fd = -1;
        rings.close();
        Libc.close(s);
    }

    static int htons(int v) {
        return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
    }

    private static void check(int r, String option, String what) {
        if (r < 0) throw new LinuxException("setsockopt", option + ", " + what, -r);
    }

    /** errno values of a kick that mean "try again", not "the device is gone". */
    static boolean retryable(long r) {
        return r == -Errno.EAGAIN || r == -Errno.ENOBUFS || r == -Errno.EINTR;
    }
}
