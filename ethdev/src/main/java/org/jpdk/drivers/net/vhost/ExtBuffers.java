package org.jpdk.drivers.net.vhost;

import org.jpdk.eal.Malloc;
import org.jpdk.mbuf.ExtSharedInfo;
import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;

/**
 * {@code ext-buffer=1}: a frame from the front end longer than an mbuf's room gets one external
 * buffer from the EAL heap instead of a chain (DPDK's vhost does the same with rte_malloc), freed
 * back to the heap when its mbuf is freed. The slow path of long frames only: it allocates a
 * shared-info object per frame.
 */
final class ExtBuffers {
    private static final ExtSharedInfo.FreeCallback FREE = (buf, opaque) -> Malloc.free((MemorySegment) opaque);

    /** Attaches a heap buffer for {@code frameLen} bytes (after the usual headroom) to the fresh mbuf {@code m}; false if it cannot. */
    boolean attach(Mbuf m, int frameLen) {
        long size = (long) frameLen + Mbuf.DEFAULT_HEADROOM;
        if (size > Mbuf.MAX_BUF_SIZE || m.hasExtbuf() || m.next() != null) return false;
        MemorySegment buf;
        try {
            buf = Malloc.malloc("vhost_extbuf", size, 64);
        } catch (RuntimeException e) {
            return false;
        }
        if (buf == null) return false;
        m.attachExtbuf(buf, buf.address(), new ExtSharedInfo(FREE, buf));
        return true;
    }
}
