package org.jpdk.drivers.net.afxdp;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Libc;

/**
 * The UMEM of a net_af_xdp socket: the rx mempool's own memory, registered with the kernel in
 * unaligned-chunk mode, so that a frame is received straight into an mbuf's buffer and an mbuf
 * of that pool is sent from where it lies.
 *
 * <p>Why unaligned chunks: XDP_UMEM_REG wants a page-aligned area cut into equal chunks of a
 * power-of-two size, while a jpdk pool lays its objects out at a stride of an odd number of cache
 * lines (2240 bytes for the default 2176-byte buffer, see {@link Mempool}), which keeps the mbufs
 * spread over cache sets and which the pool's other users rely on. With
 * XDP_UMEM_UNALIGNED_CHUNK_FLAG (kernel 5.4) a fill entry may be any offset in the area and a
 * chunk only needs to fit in it; so the area registered is the pool's region rounded out to whole
 * pages (the edges may belong to other zones; the kernel writes only into chunks we hand it), and
 * each fill entry is the offset of one mbuf's buffer. The chunk size is the buffer size, capped at
 * the page size (the kernel's limit) and at least 2048 (its minimum).
 *
 * <pre>
 * UMEM offset   pool region (stride s, private area p, buffer of bufLen bytes)
 *   lead        [page start .. region start)          not ours: never in a ring
 *   lead+p      mbuf 0's buffer: fill entry e0 = lead + p
 *   lead+s+p    mbuf 1's buffer: e1 = e0 + s
 *   ...
 * received frame: data at e + XDP_PACKET_HEADROOM (256), so an rx mbuf has 256 bytes of headroom;
 * the rx descriptor's addr is e | 256 &lt;&lt; 48 (unaligned mode puts the data offset in the top 16 bits)
 * </pre>
 *
 * An address the kernel hands back is mapped to its mbuf by one division by the stride; it must
 * hit a buffer start exactly (fill) or fall inside a buffer (completion), else it is refused.
 */
final class Umem {
    static final int MIN_CHUNK = 2048;
    /** XDP_PACKET_HEADROOM: where the kernel puts a received frame in its chunk. */
    static final int XDP_HEADROOM = 256;
    /** XSK_UNALIGNED_BUF_OFFSET_SHIFT: the data offset of an unaligned-mode address sits above bit 48. */
    static final int OFFSET_SHIFT = 48;
    static final long ADDR_MASK = (1L << OFFSET_SHIFT) - 1;

    final Mempool<Mbuf> pool;
    /** Start (page-aligned) and length (whole pages) of the registered area. */
    final long base, len;
    /** UMEM offset of mbuf 0's buffer. */
    final long firstBuf;
    final long stride;
    final int bufLen, chunkSize, count;
    /** Whether the pool sits on hugepages (zero-copy needs physically contiguous chunks). */
    final boolean hugepages;

    private Umem(Mempool<Mbuf> pool, long base, long len, long firstBuf, long stride, int bufLen, int chunkSize, boolean hugepages) {
        this.pool = pool;
        this.base = base;
        this.len = len;
        this.firstBuf = firstBuf;
        this.stride = stride;
        this.bufLen = bufLen;
        this.chunkSize = chunkSize;
        this.count = pool.size();
        this.hugepages = hugepages;
    }

    /** The UMEM for {@code pool}; throws IllegalArgumentException when its buffers are too small for a chunk. */
    static Umem of(Mempool<Mbuf> pool) {
        long page = Libc.pageSize();
        int bufLen = Mbuf.dataRoomSize(pool);
        if (bufLen < MIN_CHUNK) {
            throw new IllegalArgumentException("mempool " + pool.name() + " has " + bufLen + "-byte buffers; AF_XDP needs at least "
                    + MIN_CHUNK + " per chunk (XDP_UMEM_MIN_CHUNK_SIZE)");
        }
        long region = pool.region().address(), end = region + pool.region().byteSize();
        long base = region & -page, top = (end + page - 1) & -page;
        int priv = pool.object(0).privSize();
        return new Umem(pool, base, top - base, region - base + priv, pool.stride(), bufLen, (int) Math.min(bufLen, page),
                pool.memzone().hugepageSize() > page);
    }

    /** The fill entry of mbuf {@code index}: its buffer's start. */
    long chunk(int index) {
        return firstBuf + index * stride;
    }

    /** The mbuf whose buffer starts exactly at {@code off}, or -1. */
    int indexOfChunk(long off) {
        long rel = off - firstBuf;
        if (rel < 0) return -1;
        long i = rel / stride;
        return i < count && i * stride == rel ? (int) i : -1;
    }

    /** The mbuf whose buffer holds offset {@code off} with {@code len} bytes after it, or -1. */
    int indexOfData(long off, int len) {
        long rel = off - firstBuf;
        if (rel < 0) return -1;
        long i = rel / stride;
        return i < count && rel - i * stride + len <= bufLen ? (int) i : -1;
    }

    /** The largest frame a chunk receives: what follows the kernel's headroom. */
    int maxRxFrame() {
        return chunkSize - XDP_HEADROOM;
    }
}
