package org.jpdk.mbuf;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;
import org.jpdk.eal.Memzone;
import org.jpdk.mempool.Mempool;
import org.jpdk.mempool.MempoolCache;

/**
 * A packet buffer, as DPDK's {@code rte_mbuf} (itself the BSD mbuf of Stevens, <i>TCP/IP
 * Illustrated</i> Vol. 2, ch. 2: a header, a data area with headroom, chains through
 * {@code next}, clusters shared by reference count). Every Mbuf is created once with its pool by
 * {@link #createPool}; its metadata lives in plain Java fields and its buffer is a
 * {@link MemorySegment} slice of the pool's region, so every byte access is bounds-checked
 * against this buffer: a bug throws IndexOutOfBoundsException and never touches a neighbour.
 * An indirect mbuf ({@link #clone}) points at a direct mbuf's buffer and holds a reference on it;
 * the direct mbuf goes back to its pool when the last reference goes. An mbuf may also carry an
 * external buffer ({@link #attachExtbuf}, rte_pktmbuf_attach_extbuf): memory someone else owns,
 * such as a slice of a peer's region, counted by an {@link ExtSharedInfo} whose callback gives it
 * back when the last mbuf carrying it is freed. Either way the mbuf's buffer is a segment bounded
 * to the buffer it carries, so the bounds stay enforced.
 *
 * <p>Pool object layout (one object per mbuf in the pool's region, staggered by {@link Mempool}):
 * <pre>
 *   offset       size           content                          segment
 *   0            privSize       application private area         priv()
 *   privSize     dataRoomSize   buffer: headroom | data | tail   buffer()
 *                               (dataOff)  (dataLen)
 * </pre>
 * The rte_mbuf header itself is this Java object, not off-heap bytes.
 *
 * <p>Thread contract: an mbuf has one owner at a time, as in DPDK; only the reference count is
 * updated atomically, and only when it is above 1 (a count of 1 means the caller is the only
 * owner, so plain stores suffice). A free mbuf has refcnt 0 (DPDK keeps 1), which is what lets a
 * double free be seen. Fast paths ({@link #alloc}, {@link #allocBulk}, {@link #free},
 * {@link #freeBulk}, {@link #appendOffset}, {@link #prependOffset}, {@link #adj}, {@link #trim},
 * the read/write accessors) allocate nothing and report failure by return value.
 */
public final class Mbuf {
    /** Bytes kept free before the data of a fresh mbuf (RTE_PKTMBUF_HEADROOM). */
    public static final int DEFAULT_HEADROOM = 128;
    /** Default data room after the headroom. */
    public static final int DEFAULT_DATAROOM = 2048;
    /** Default buffer size: data room plus headroom (RTE_MBUF_DEFAULT_BUF_SIZE). */
    public static final int DEFAULT_BUF_SIZE = DEFAULT_DATAROOM + DEFAULT_HEADROOM;
    /** Most segments in one packet (RTE_MBUF_MAX_NB_SEGS). */
    public static final int MAX_NB_SEGS = 0xffff;
    /** Largest buffer: buf_len is 16 bits in DPDK. */
    public static final int MAX_BUF_SIZE = 0xffff;
    /** The private area size must be a multiple of this (RTE_MBUF_PRIV_ALIGN). */
    public static final int PRIV_ALIGN = 8;
    /** {@link #port} of an mbuf that came from no port (RTE_MBUF_PORT_INVALID). */
    public static final int PORT_INVALID = 0xffff;

    // Offload flags: the bit positions of DPDK's RTE_MBUF_F_* so values match across the two.
    public static final long F_RX_VLAN = 1L << 0;
    public static final long F_RX_RSS_HASH = 1L << 1;
    public static final long F_RX_FDIR = 1L << 2;
    public static final long F_RX_L4_CKSUM_BAD = 1L << 3;
    public static final long F_RX_IP_CKSUM_BAD = 1L << 4;
    public static final long F_RX_OUTER_IP_CKSUM_BAD = 1L << 5;
    public static final long F_RX_VLAN_STRIPPED = 1L << 6;
    public static final long F_RX_IP_CKSUM_GOOD = 1L << 7;
    public static final long F_RX_IP_CKSUM_NONE = F_RX_IP_CKSUM_BAD | F_RX_IP_CKSUM_GOOD;
    public static final long F_RX_IP_CKSUM_MASK = F_RX_IP_CKSUM_NONE;
    public static final long F_RX_L4_CKSUM_GOOD = 1L << 8;
    public static final long F_RX_L4_CKSUM_NONE = F_RX_L4_CKSUM_BAD | F_RX_L4_CKSUM_GOOD;
    public static final long F_RX_L4_CKSUM_MASK = F_RX_L4_CKSUM_NONE;
    public static final long F_RX_IEEE1588_PTP = 1L << 9;
    public static final long F_RX_IEEE1588_TMST = 1L << 10;
    public static final long F_RX_QINQ_STRIPPED = 1L << 15;
    public static final long F_RX_LRO = 1L << 16;
    /** {@link #timestamp} is valid. DPDK 22.11 registers this as a dynamic flag; jpdk keeps its historic fixed bit. */
    public static final long F_RX_TIMESTAMP = 1L << 17;
    public static final long F_RX_QINQ = 1L << 20;
    public static final long F_TX_TCP_SEG = 1L << 50;
    public static final long F_TX_IEEE1588_TMST = 1L << 51;
    public static final long F_TX_TCP_CKSUM = 1L << 52;
    public static final long F_TX_SCTP_CKSUM = 2L << 52;
    public static final long F_TX_UDP_CKSUM = 3L << 52;
    public static final long F_TX_L4_MASK = 3L << 52;
    public static final long F_TX_IP_CKSUM = 1L << 54;
    public static final long F_TX_IPV4 = 1L << 55;
    public static final long F_TX_IPV6 = 1L << 56;
    public static final long F_TX_VLAN = 1L << 57;
    public static final long F_TX_OUTER_IP_CKSUM = 1L << 58;
    public static final long F_TX_OUTER_IPV4 = 1L << 59;
    public static final long F_TX_OUTER_IPV6 = 1L << 60;
    /** This mbuf carries an external buffer (RTE_MBUF_F_EXTERNAL). */
    public static final long F_EXTERNAL = 1L << 61;
    /** This mbuf is indirect: attached to another mbuf's buffer (RTE_MBUF_F_INDIRECT). */
    public static final long F_INDIRECT = 1L << 62;

    /**
     * Debug checks, from {@code -Djpdk.mbuf.debug=true|false}, by default on exactly when
     * assertions are (so on in tests). On: freeing a free mbuf throws IllegalStateException naming
     * the pool and the mbuf's index, and alloc checks that every mbuf it takes is free (one load
     * and compare per mbuf). Off: the refcnt load that every free needs anyway still sees the
     * double free and drops it, so the pool is never corrupted; the only cost saved is that alloc
     * check. Bounds checks on packet bytes are never switched off.
     */
    public static final boolean DEBUG = debugDefault();

    private static final VarHandle REFCNT;
    private static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    static {
        try {
            REFCNT = MethodHandles.lookup().findVarHandle(Mbuf.class, "refcnt", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Mempool<Mbuf> pool;    // where this mbuf returns, always
    private final int index;             // its index in the pool, for messages
    private final MemorySegment ownBuf;  // this mbuf's own buffer (dataRoomSize bytes)
    private final long ownIova;          // IOVA of ownBuf
    private final MemorySegment priv;    // private area (privSize bytes)

    private MemorySegment buf;           // the buffer in use: ownBuf, or a direct mbuf's when indirect
    private long bufIova;                // IOVA of buf
    private int bufLen;                  // buf.byteSize(), as an int for the hot path
    private Mbuf direct;                 // the mbuf whose buffer this one is attached to, or null
    private ExtSharedInfo shinfo;        // the external buffer's shared info, or null
    private int dataOff;                 // start of data in buf (headroom)
    private int dataLen;                 // data bytes in this segment
    private int pktLen;                  // data bytes in the whole chain (first segment only)
    private int nbSegs;                  // segments in the chain (first segment only)
    private Mbuf next;                   // next segment, or null
    private int refcnt;                  // 0 free, 1 one owner, >1 shared (atomic then)

    /** Input port, or {@link #PORT_INVALID}. */
    public int port;
    /** Offload flags ({@code F_RX_*}, {@code F_TX_*}). */
    public long olFlags;
    /** Packet type (RTE_PTYPE_* bits). */
    public int packetType;
    /** RSS hash (hash.rss), valid with {@link #F_RX_RSS_HASH}. */
    public int rssHash;
    /** VLAN TCI, valid with {@link #F_RX_VLAN}; inserted on transmit with {@link #F_TX_VLAN}. */
    public int vlanTci;
    /** Outer VLAN TCI (QinQ). */
    public int vlanTciOuter;
    /**
     * Header lengths for transmit offloads (tx_offload). For a tunnelled packet, as in DPDK,
     * l2Len covers the outer L4 and tunnel headers and the inner L2 header, l3Len and l4Len are
     * the inner ones, and the outer headers are in {@link #outerL2Len} and {@link #outerL3Len}.
     */
    public int l2Len, l3Len, l4Len;
    /** TCP segment size for {@link #F_TX_TCP_SEG} (tso_segsz); for {@link #F_RX_LRO}, the size of the merged segments. */
    public int tsoSegsz;
    /** Outer L2 and L3 header lengths of a tunnelled packet (outer_l2_len, outer_l3_len), else 0. */
    public int outerL2Len, outerL3Len;
    /** Receive timestamp, valid with {@link #F_RX_TIMESTAMP}. */
    public long timestamp;
    /** Free for the application (userdata). */
    public long userData;

    private Mbuf(Mempool<Mbuf> pool, int index, MemorySegment object, long bufIova, int privSize) {
        this.pool = pool;
        this.index = index;
        this.priv = object.asSlice(0, privSize);
        this.ownBuf = object.asSlice(privSize);
        this.ownIova = bufIova;
        this.buf = ownBuf;
        this.bufIova = ownIova;
        this.bufLen = (int) ownBuf.byteSize();
        this.nbSegs = 1;
        this.dataOff = Math.min(DEFAULT_HEADROOM, bufLen);
    }

    // ---------------------------------------------------------------- pools

    /**
     * Creates a pool of {@code n} mbufs, as {@code rte_pktmbuf_pool_create}.
     *
     * @param privSize     application private bytes per mbuf, a multiple of {@link #PRIV_ALIGN}
     * @param dataRoomSize buffer bytes per mbuf including headroom (e.g. {@link #DEFAULT_BUF_SIZE}),
     *                     0 for a pool of mbufs used only as clones
     * @throws IllegalArgumentException naming the bad argument
     */
    public static Mempool<Mbuf> createPool(String name, int n, int cacheSize, int privSize, int dataRoomSize, int socketId) {
        return createPool(name, n, cacheSize, privSize, dataRoomSize, socketId, 0);
    }

    /**
     * {@link #createPool(String, int, int, int, int, int)} with {@link Mempool} flags, e.g.
     * {@link Mempool#F_DEDICATED_MEMORY} for a pool whose buffers a peer may be shown (memif
     * zero-copy) without the rest of the process.
     */
    public static Mempool<Mbuf> createPool(String name, int n, int cacheSize, int privSize, int dataRoomSize, int socketId,
                                           int poolFlags) {
        if (privSize < 0 || privSize % PRIV_ALIGN != 0) {
            throw new IllegalArgumentException("mbuf pool " + name + ": privSize=" + privSize + ", must be a non-negative multiple of " + PRIV_ALIGN);
        }
        if (dataRoomSize < 0 || dataRoomSize > MAX_BUF_SIZE) {
            throw new IllegalArgumentException("mbuf pool " + name + ": dataRoomSize=" + dataRoomSize + ", allowed 0.." + MAX_BUF_SIZE);
        }
        return Mempool.create(name, n, privSize + dataRoomSize, cacheSize, poolFlags, socketId, Mbuf.class,
                (pool, i, object, iova) -> new Mbuf(pool, i, object, dataRoomSize == 0 ? iova + privSize
                        // the buffer's own page: in PA mode it need not follow the private area's physically
                        : pool.memzone().iova(object.address() - pool.region().address() + privSize), privSize));
    }

    /** {@link #createPool(String, int, int, int, int, int)} without a private area. */
    public static Mempool<Mbuf> createPool(String name, int n, int cacheSize, int dataRoomSize, int socketId) {
        return createPool(name, n, cacheSize, 0, dataRoomSize, socketId);
    }

    /** {@link #createPool(String, int, int, int, int)} on any socket with the default buffer size. */
    public static Mempool<Mbuf> createPool(String name, int n, int cacheSize) {
        return createPool(name, n, cacheSize, 0, DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
    }

    /**
     * The data room of each mbuf of {@code mp}, headroom included, without the private area
     * (rte_pktmbuf_data_room_size).
     */
    public static int dataRoomSize(Mempool<Mbuf> mp) {
        return mp.size() == 0 ? 0 : (int) mp.object(0).ownBuf.byteSize();
    }

    // ---------------------------------------------------------------- alloc and free

    /** A fresh mbuf (reset, refcnt 1) from {@code mp}, or null if it is empty. Allocates nothing. */
    public static Mbuf alloc(Mempool<Mbuf> mp) {
        Mbuf m = mp.get();
        if (m != null) m.takeFromPool();
        return m;
    }

    /**
     * Fills {@code arr[off..off+n)} with fresh mbufs and returns true, or returns false leaving
     * the pool and the array as they were. Allocates nothing.
     */
    public static boolean allocBulk(Mempool<Mbuf> mp, Mbuf[] arr, int off, int n) {
        if (!mp.getBulk(arr, off, n)) return false;
        for (int i = off; i < off + n; i++) arr[i].takeFromPool();
        return true;
    }

    /** {@link #allocBulk(Mempool, Mbuf[], int, int)} through an explicit cache of {@code mp} (see {@link Mempool#genericGet}). */
    public static boolean allocBulk(Mempool<Mbuf> mp, Mbuf[] arr, int off, int n, MempoolCache cache) {
        if (!mp.genericGet(arr, off, n, cache)) return false;
        for (int i = off; i < off + n; i++) arr[i].takeFromPool();
        return true;
    }

    private void takeFromPool() {
        if (DEBUG && refcnt != 0) {
            throw new IllegalStateException("mbuf #" + index + " of pool " + pool.name() + " came out of the pool while in use (refcnt "
                    + refcnt + "): it was put into the mempool directly instead of freed");
        }
        refcnt = 1;
        reset();
    }

    /**
     * Makes this a fresh single-segment packet with no data and default headroom
     * (rte_pktmbuf_reset); keeps the buffer it is attached to. As DPDK's, it leaves {@link #rssHash}
     * and {@link #timestamp} alone: they are valid only with {@link #F_RX_RSS_HASH} and
     * {@link #F_RX_TIMESTAMP}, which it clears (every store here is paid per received packet).
     */
    public void reset() {
        next = null;
        pktLen = 0;
        dataLen = 0;
        nbSegs = 1;
        dataOff = Math.min(DEFAULT_HEADROOM, bufLen);
        port = PORT_INVALID;
        olFlags &= F_INDIRECT | F_EXTERNAL;
        packetType = 0;
        vlanTci = 0;
        vlanTciOuter = 0;
        l2Len = l3Len = l4Len = tsoSegsz = 0;
        outerL2Len = outerL3Len = 0;
        userData = 0;
    }

    /**
     * Frees the whole chain: each segment whose last reference this was goes back to its own
     * pool; an indirect segment drops its reference on the direct one (rte_pktmbuf_free).
     * Allocates nothing. Freeing a free mbuf: see {@link #DEBUG}.
     */
    public void free() {
        if (next == null && direct == null && shinfo == null && (int) REFCNT.getAcquire(this) == 1) {
            refcnt = 0;
            pool.put(this);
            return;
        }
        Mbuf m = this;
        while (m != null) {
            Mbuf nxt = m.next;
            m.freeSeg();
            m = nxt;
        }
    }

    /** Frees this segment only, ignoring {@link #next} (rte_pktmbuf_free_seg). */
    public void freeSeg() {
        if (prefreeSeg()) pool.put(this);
    }

    /** Drops one reference; true when it was the last and this mbuf must go back to its pool. */
    private boolean prefreeSeg() {
        int r = (int) REFCNT.getAcquire(this);
        if (r == 1) {
            refcnt = 0;
        } else if (r > 1) {
            if ((int) REFCNT.getAndAdd(this, -1) != 1) return false;
        } else {
            doubleFree(r);
            return false;
        }
        if (direct != null) detach();
        else if (shinfo != null) detachExtbuf();
        next = null;
        nbSegs = 1;
        return true;
    }

    private void doubleFree(int r) {
        if (DEBUG) {
            throw new IllegalStateException("mbuf #" + index + " of pool " + pool.name() + " freed twice (refcnt " + r
                    + "): it is already back in its pool");
        }
    }

    /**
     * Frees {@code arr[off..off+n)} (null entries skipped), each to its own pool. Runs of simple
     * mbufs (one segment, direct, one reference, same pool) go back in one bulk put straight from
     * {@code arr}; the array is only read. Allocates nothing.
     */
    public static void freeBulk(Mbuf[] arr, int off, int n) {
        freeBulk(arr, off, n, null);
    }

    /** {@link #freeBulk(Mbuf[], int, int)} putting mbufs of {@code cache.pool()} through {@code cache}. */
    public static void freeBulk(Mbuf[] arr, int off, int n, MempoolCache cache) {
        int end = off + n, start = off;
        Mempool<Mbuf> runPool = null;
        for (int i = off; i < end; i++) {
            Mbuf m = arr[i];
            if (m != null && m.next == null && m.direct == null && m.shinfo == null && (runPool == null || m.pool == runPool)
                    && (int) REFCNT.getAcquire(m) == 1) {
                m.refcnt = 0;
                runPool = m.pool;
                continue;
            }
            if (i > start) putRun(runPool, arr, start, i - start, cache);
            start = i + 1;
            runPool = null;
            if (m != null) m.free();
        }
        if (end > start) putRun(runPool, arr, start, end - start, cache);
    }

    private static void putRun(Mempool<Mbuf> mp, Mbuf[] arr, int off, int n, MempoolCache cache) {
        if (cache != null && cache.pool() == mp) mp.genericPut(arr, off, n, cache);
        else mp.putBulk(arr, off, n);
    }

    // ---------------------------------------------------------------- reference counting, clones

    /** The reference count: 0 free, 1 one owner, more when clones share the buffer. */
    public int refcnt() {
        return (int) REFCNT.getAcquire(this);
    }

    /** Adds {@code delta} references and returns the new count; atomic only when the count is above 1. */
    public int refcntUpdate(int delta) {
        int r = (int) REFCNT.getAcquire(this);
        if (r == 1) {
            REFCNT.setRelease(this, 1 + delta);
            return 1 + delta;
        }
        return (int) REFCNT.getAndAdd(this, delta) + delta;
    }

    /** True when attached to another mbuf's buffer (RTE_MBUF_CLONED). */
    public boolean isIndirect() {
        return direct != null;
    }

    /** True when carrying an external buffer (RTE_MBUF_HAS_EXTBUF). */
    public boolean hasExtbuf() {
        return shinfo != null;
    }

    /** The shared info of the external buffer carried, or null. */
    public ExtSharedInfo shinfo() {
        return shinfo;
    }

    /**
     * True when the data may be written in place: no other mbuf shares the buffer (one reference,
     * not indirect, and an external buffer carried by this mbuf alone).
     */
    public boolean isWritable() {
        return direct == null && refcnt() == 1 && (shinfo == null || shinfo.refcnt() == 1);
    }

    /**
     * Makes this mbuf carry the external buffer {@code buf} of IOVA {@code iova}
     * (rte_pktmbuf_attach_extbuf): data room is now {@code buf} (at most {@link #MAX_BUF_SIZE}
     * bytes), with the default headroom and no data. {@code shinfo}'s count is not changed: set it
     * to the number of mbufs that carry the buffer before they are handed out (see
     * {@link ExtSharedInfo}). Freeing this mbuf drops one reference, runs the callback on the last,
     * and gives the mbuf back to its pool with its own buffer. The mbuf must be a single-segment
     * direct one that carries no external buffer. Allocates nothing.
     *
     * @throws IllegalArgumentException if the buffer is too large
     * @throws IllegalStateException    if this mbuf is indirect, shared, chained or carries one already
     */
    public void attachExtbuf(MemorySegment buf, long iova, ExtSharedInfo shinfo) {
        if (buf.byteSize() > MAX_BUF_SIZE) {
            throw new IllegalArgumentException("mbuf #" + index + ": external buffer of " + buf.byteSize() + " bytes; at most " + MAX_BUF_SIZE);
        }
        if (direct != null || this.shinfo != null || next != null || refcnt() != 1) {
            throw new IllegalStateException("mbuf #" + index + " of pool " + pool.name()
                    + ": attach an external buffer only to a fresh single-segment direct mbuf");
        }
        this.buf = buf;
        this.bufIova = iova;
        this.bufLen = (int) buf.byteSize();
        this.shinfo = java.util.Objects.requireNonNull(shinfo, "shinfo");
        dataOff = Math.min(DEFAULT_HEADROOM, bufLen);
        dataLen = 0;
        olFlags |= F_EXTERNAL;
    }

    /** Goes back to its own buffer and drops the reference on the external one, running its callback if last. */
    private void detachExtbuf() {
        ExtSharedInfo s = shinfo;
        MemorySegment b = buf;
        shinfo = null;
        buf = ownBuf;
        bufIova = ownIova;
        bufLen = (int) ownBuf.byteSize();
        dataOff = Math.min(DEFAULT_HEADROOM, bufLen);
        dataLen = 0;
        olFlags &= ~F_EXTERNAL;
        s.release(b);
    }

    /** Attaches this fresh mbuf to {@code m}'s buffer (rte_pktmbuf_attach): an external one is shared through its shinfo. */
    private void attach(Mbuf m) {
        if (m.shinfo != null) {
            m.shinfo.refcntUpdate(1);
            shinfo = m.shinfo;
            buf = m.buf;
            bufIova = m.bufIova;
            bufLen = m.bufLen;
            copyMetadata(m, F_EXTERNAL);
            return;
        }
        Mbuf md = m.direct != null ? m.direct : m;
        md.refcntUpdate(1);
        buf = md.ownBuf;
        bufIova = md.ownIova;
        bufLen = md.bufLen;
        direct = md;
        copyMetadata(m, F_INDIRECT);
    }

    /** The data window and metadata of {@code m}, with {@code flag} added to its offload flags. */
    private void copyMetadata(Mbuf m, long flag) {
        next = null;
        dataOff = m.dataOff;
        dataLen = m.dataLen;
        pktLen = m.dataLen;
        nbSegs = 1;
        port = m.port;
        olFlags = m.olFlags | flag;
        packetType = m.packetType;
        rssHash = m.rssHash;
        vlanTci = m.vlanTci;
        vlanTciOuter = m.vlanTciOuter;
        l2Len = m.l2Len;
        l3Len = m.l3Len;
        l4Len = m.l4Len;
        tsoSegsz = m.tsoSegsz;
        outerL2Len = m.outerL2Len;
        outerL3Len = m.outerL3Len;
        timestamp = m.timestamp;
        userData = m.userData;
    }

    /** Goes back to its own buffer and drops the reference on the direct mbuf, freeing it if last. */
    private void detach() {
        Mbuf md = direct;
        direct = null;
        buf = ownBuf;
        bufIova = ownIova;
        bufLen = (int) ownBuf.byteSize();
        dataOff = Math.min(DEFAULT_HEADROOM, bufLen);
        dataLen = 0;
        olFlags &= ~F_INDIRECT;
        if (md.prefreeSeg()) md.pool.put(md);
    }

    /**
     * A clone of this packet (rte_pktmbuf_clone): a chain of indirect mbufs from {@code mp}
     * sharing this chain's buffers, or null (nothing changed) if {@code mp} runs out.
     */
    public Mbuf clone(Mempool<Mbuf> mp) {
        Mbuf mc = alloc(mp);
        if (mc == null) return null;
        Mbuf mi = mc, last = mc, md = this;
        while (true) {
            mi.attach(md);
            last = mi;
            md = md.next;
            if (md == null) break;
            mi = alloc(mp);
            if (mi == null) {
                mc.free();
                return null;
            }
            last.next = mi;
        }
        mc.pktLen = pktLen;
        mc.nbSegs = nbSegs;
        return mc;
    }

    /**
     * A deep copy of {@code len} bytes from {@code off} of this packet into new direct mbufs from
     * {@code mp}, chained as needed, with this packet's metadata (rte_pktmbuf_copy); len is cut
     * to what the packet has. Null if off is outside the packet or {@code mp} runs out (then
     * nothing is left allocated).
     */
    public Mbuf copy(Mempool<Mbuf> mp, int off, int len) {
        if (off < 0 || len < 0 || off > pktLen) return null;
        Mbuf mc = alloc(mp);
        if (mc == null) return null;
        mc.port = port;
        mc.olFlags = olFlags & ~(F_INDIRECT | F_EXTERNAL);
        mc.packetType = packetType;
        mc.rssHash = rssHash;
        mc.vlanTci = vlanTci;
        mc.vlanTciOuter = vlanTciOuter;
        mc.l2Len = l2Len;
        mc.l3Len = l3Len;
        mc.l4Len = l4Len;
        mc.tsoSegsz = tsoSegsz;
        mc.outerL2Len = outerL2Len;
        mc.outerL3Len = outerL3Len;
        mc.timestamp = timestamp;
        mc.userData = userData;
        len = Math.min(len, pktLen - off);
        Mbuf src = this, dst = mc;
        while (len > 0 && src != null) {
            if (off >= src.dataLen) {
                off -= src.dataLen;
                src = src.next;
                continue;
            }
            int room = dst.tailroom();
            if (room == 0) {
                Mbuf seg = mc.nbSegs < MAX_NB_SEGS ? alloc(mp) : null;
                if (seg == null || seg.tailroom() == 0) {
                    if (seg != null) seg.free();
                    mc.free();
                    return null;
                }
                dst.next = seg;
                dst = seg;
                mc.nbSegs++;
                room = seg.tailroom();
            }
            int k = Math.min(len, Math.min(src.dataLen - off, room));
            MemorySegment.copy(src.buf, src.dataOff + off, dst.buf, dst.dataOff + dst.dataLen, k);
            dst.dataLen += k;
            mc.pktLen += k;
            off += k;
            len -= k;
        }
        return mc;
    }

    // ---------------------------------------------------------------- chains

    /**
     * Whether {@code pktLen} is the sum of the segments' {@code dataLen} over a chain of at most
     * {@link #MAX_NB_SEGS} segments, as rte_mbuf_check demands. A driver that copies a packet
     * into room sized by {@code pktLen} checks this first: an app that chained or trimmed
     * segments by hand can leave the two disagreeing, and copying the segments would then run past
     * the room (or send stale bytes). Allocates nothing; one compare for a single segment.
     */
    public boolean lengthsConsistent() {
        if (next == null) return dataLen == pktLen;
        long sum = 0;
        int segs = 0;
        for (Mbuf m = this; m != null; m = m.next) {
            if (++segs > MAX_NB_SEGS) return false; // a loop in the chain, or more than a packet can have
            sum += m.dataLen;
        }
        return sum == pktLen;
    }

    /** The last segment of the chain. */
    public Mbuf lastSeg() {
        Mbuf m = this;
        while (m.next != null) m = m.next;
        return m;
    }

    /**
     * Appends the chain {@code tail} to this one (rte_pktmbuf_chain); false, nothing changed, if
     * the result would exceed {@link #MAX_NB_SEGS} segments.
     */
    public boolean chain(Mbuf tail) {
        if (nbSegs + tail.nbSegs > MAX_NB_SEGS) return false;
        lastSeg().next = tail;
        nbSegs += tail.nbSegs;
        pktLen += tail.pktLen;
        tail.pktLen = tail.dataLen;
        return true;
    }

    /**
     * Pulls the whole chain into this first segment and frees the others (rte_pktmbuf_linearize).
     * False, nothing changed, if the data does not fit in this segment's tailroom or the buffer
     * is shared (indirect or refcnt above 1).
     */
    public boolean linearize() {
        if (next == null) return true;
        if (!isWritable() || tailroom() < pktLen - dataLen) return false;
        for (Mbuf m = next; m != null; m = m.next) {
            MemorySegment.copy(m.buf, m.dataOff, buf, dataOff + dataLen, m.dataLen);
            dataLen += m.dataLen;
        }
        Mbuf rest = next;
        next = null;
        nbSegs = 1;
        rest.free();
        return true;
    }

    // ---------------------------------------------------------------- data room

    /** Free bytes before the data in this segment (rte_pktmbuf_headroom). */
    public int headroom() {
        return dataOff;
    }

    /** Free bytes after the data in this segment (rte_pktmbuf_tailroom). */
    public int tailroom() {
        return bufLen - dataOff - dataLen;
    }

    /**
     * Grows the packet by {@code len} bytes at its end (last segment) and returns the offset of
     * the new bytes in that segment's data (use {@code lastSeg().write*} or {@code data(off, len)}),
     * or -1 with nothing changed if they do not fit in its tailroom. Allocates nothing.
     */
    public int appendOffset(int len) {
        Mbuf last = next == null ? this : lastSeg();
        if (len < 0 || len > last.bufLen - last.dataOff - last.dataLen) return -1;
        int off = last.dataLen;
        last.dataLen = off + len;
        pktLen += len;
        return off;
    }

    /**
     * Grows the packet by {@code len} bytes at its front (first segment); returns 0 (the new
     * bytes are at data offset 0) or -1 with nothing changed if the headroom is too small.
     * Allocates nothing.
     */
    public int prependOffset(int len) {
        if (len < 0 || len > dataOff) return -1;
        dataOff -= len;
        dataLen += len;
        pktLen += len;
        return 0;
    }

    /**
     * {@link #appendOffset} returning the new bytes as a bounded segment (rte_pktmbuf_append), or
     * null with nothing changed. The slice is an object: the hot path should use appendOffset.
     */
    public MemorySegment append(int len) {
        int off = appendOffset(len);
        if (off < 0) return null;
        Mbuf last = lastSeg();
        return last.buf.asSlice(last.dataOff + off, len);
    }

    /** {@link #prependOffset} returning the new bytes as a bounded segment (rte_pktmbuf_prepend), or null. */
    public MemorySegment prepend(int len) {
        if (prependOffset(len) < 0) return null;
        return buf.asSlice(dataOff, len);
    }

    /** Removes {@code len} bytes from the front (first segment); false, nothing changed, if it has fewer (rte_pktmbuf_adj). */
    public boolean adj(int len) {
        if (len < 0 || len > dataLen) return false;
        dataOff += len;
        dataLen -= len;
        pktLen -= len;
        return true;
    }

    /** Removes {@code len} bytes from the end (last segment); false, nothing changed, if it has fewer (rte_pktmbuf_trim). */
    public boolean trim(int len) {
        Mbuf last = next == null ? this : lastSeg();
        if (len < 0 || len > last.dataLen) return false;
        last.dataLen -= len;
        pktLen -= len;
        return true;
    }

    // ---------------------------------------------------------------- bytes

    /** This segment's data, bounded to it (rte_pktmbuf_mtod with its length). */
    public MemorySegment data() {
        return buf.asSlice(dataOff, dataLen);
    }

    /** {@code len} bytes at {@code off} of this segment's data; IndexOutOfBoundsException if outside it. */
    public MemorySegment data(int off, int len) {
        Objects.checkFromIndexSize(off, len, dataLen);
        return buf.asSlice(dataOff + off, len);
    }

    /** The whole buffer in use (headroom, data, tailroom), bounded to it. */
    public MemorySegment buffer() {
        return buf;
    }

    /** The private area of privSize bytes. */
    public MemorySegment priv() {
        return priv;
    }

    /** The byte at {@code off} of this segment's data. IndexOutOfBoundsException outside the data. */
    public byte readByte(int off) {
        Objects.checkIndex(off, dataLen);
        return buf.get(ValueLayout.JAVA_BYTE, dataOff + off);
    }

    /** The big-endian (network order) 16 bits at {@code off}, as an unsigned value. */
    public int readShort(int off) {
        Objects.checkFromIndexSize(off, 2, dataLen);
        return Short.toUnsignedInt(buf.get(BE_SHORT, dataOff + off));
    }

    /** The big-endian 32 bits at {@code off}. */
    public int readInt(int off) {
        Objects.checkFromIndexSize(off, 4, dataLen);
        return buf.get(BE_INT, dataOff + off);
    }

    /** The big-endian 64 bits at {@code off}. */
    public long readLong(int off) {
        Objects.checkFromIndexSize(off, 8, dataLen);
        return buf.get(BE_LONG, dataOff + off);
    }

    public void writeByte(int off, int v) {
        Objects.checkIndex(off, dataLen);
        buf.set(ValueLayout.JAVA_BYTE, dataOff + off, (byte) v);
    }

    public void writeShort(int off, int v) {
        Objects.checkFromIndexSize(off, 2, dataLen);
        buf.set(BE_SHORT, dataOff + off, (short) v);
    }

    public void writeInt(int off, int v) {
        Objects.checkFromIndexSize(off, 4, dataLen);
        buf.set(BE_INT, dataOff + off, v);
    }

    public void writeLong(int off, long v) {
        Objects.checkFromIndexSize(off, 8, dataLen);
        buf.set(BE_LONG, dataOff + off, v);
    }

    // ---------------------------------------------------------------- fields

    public int dataOff() {
        return dataOff;
    }

    public int dataLen() {
        return dataLen;
    }

    public int pktLen() {
        return pktLen;
    }

    public int nbSegs() {
        return nbSegs;
    }

    public Mbuf next() {
        return next;
    }

    public int bufLen() {
        return bufLen;
    }

    /** IOVA of the buffer in use (buf_iova); the data starts at {@code bufIova() + dataOff()}. */
    public long bufIova() {
        return bufIova;
    }

    /** IOVA of the first data byte (rte_mbuf_data_iova). */
    public long dataIova() {
        return bufIova + dataOff;
    }

    public Mempool<Mbuf> pool() {
        return pool;
    }

    public int index() {
        return index;
    }

    public int privSize() {
        return (int) priv.byteSize();
    }

    /**
     * Sets this segment's data window, as a driver does on receive; throws
     * IllegalArgumentException if it does not fit in the buffer.
     */
    public void setData(int dataOff, int dataLen) {
        if (dataOff < 0 || dataLen < 0 || dataOff > bufLen - dataLen) {
            throw new IllegalArgumentException("mbuf #" + index + " of pool " + pool.name() + ": dataOff=" + dataOff + " dataLen="
                    + dataLen + " do not fit in buf_len " + bufLen);
        }
        this.dataOff = dataOff;
        this.dataLen = dataLen;
    }

    /** Sets the packet length (first segment) as a driver does after chaining segments itself. */
    public void setPktLen(int pktLen) {
        if (pktLen < 0) throw new IllegalArgumentException("mbuf #" + index + ": pktLen=" + pktLen + ", must be 0 or more");
        this.pktLen = pktLen;
    }

    /** For tests of the segment limit only. */
    void setNbSegs(int nbSegs) {
        this.nbSegs = nbSegs;
    }

    // ---------------------------------------------------------------- dump

    /** Prints the header fields of each segment and a hexdump of up to {@code dumpLen} data bytes (rte_pktmbuf_dump). */
    public void dump(PrintStream out, int dumpLen) {
        out.printf("dump mbuf #%d of pool %s, iova=0x%x, buf_len=%d%n", index, pool.name(), bufIova, bufLen);
        out.printf("  pkt_len=%d, ol_flags=0x%x, nb_segs=%d, port=%d, ptype=0x%x, refcnt=%d%s%n",
                pktLen, olFlags, nbSegs, port, packetType, refcnt(), direct != null ? ", indirect of #" + direct.index
                        : shinfo != null ? ", external buffer (refcnt " + shinfo.refcnt() + ")" : "");
        out.printf("  rss=0x%x, vlan_tci=%d, vlan_tci_outer=%d, timestamp=%d, priv_size=%d%n",
                rssHash, vlanTci, vlanTciOuter, timestamp, privSize());
        int left = dumpLen;
        for (Mbuf m = this; m != null && left > 0; m = m.next) {
            out.printf("  segment #%d: data_off=%d, data_len=%d%n", m.index, m.dataOff, m.dataLen);
            int k = Math.min(left, m.dataLen);
            for (int row = 0; row < k; row += 16) {
                StringBuilder line = new StringBuilder(String.format("  %08x:", row));
                for (int i = row; i < Math.min(k, row + 16); i++) line.append(String.format(" %02x", m.buf.get(ValueLayout.JAVA_BYTE, m.dataOff + i)));
                out.println(line);
            }
            left -= k;
        }
    }

    @Override
    public String toString() {
        return "mbuf #" + index + " of " + pool.name() + " (pkt_len " + pktLen + ", " + nbSegs + " segs, refcnt " + refcnt() + ")";
    }

    private static boolean debugDefault() {
        String v = System.getProperty("jpdk.mbuf.debug");
        if (v != null) return Boolean.parseBoolean(v);
        boolean assertions = false;
        assert assertions = true;
        return assertions;
    }
}
