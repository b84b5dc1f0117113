package org.jpdk.mbuf;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The shared part of an external buffer, as DPDK's {@code rte_mbuf_ext_shared_info}: a buffer that
 * belongs to someone else (a peer's shared region, a driver's ring) carried by one or more mbufs
 * ({@link Mbuf#attachExtbuf}), with a reference count over those mbufs and a callback that runs
 * when the last of them is freed, to give the buffer back to its owner.
 *
 * <p>As in DPDK, attaching does not count: whoever attaches sets the count to the number of mbufs
 * that will carry the buffer ({@link #setRefcnt}, 1 for one mbuf) before handing them out, and a
 * clone of such an mbuf ({@link Mbuf#clone}) adds its own reference. The callback runs on the
 * thread that frees the last mbuf, once per time the count falls to zero; an object may be reused
 * for another buffer after that (a driver keeps one per ring slot, so attaching allocates nothing).
 */
public final class ExtSharedInfo {
    /** Gives an external buffer back to its owner when its last mbuf is freed. */
    @FunctionalInterface
    public interface FreeCallback {
        /** {@code buf} is the buffer as attached; {@code opaque} what the shared info carries. */
        void free(MemorySegment buf, Object opaque);
    }

    private static final VarHandle REFCNT;

    static {
        try {
            REFCNT = MethodHandles.lookup().findVarHandle(ExtSharedInfo.class, "refcnt", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final FreeCallback freeCallback;
    private volatile Object opaque;
    private int refcnt;

    /** Shared info with count 1 (rte_pktmbuf_ext_shinfo_init_helper) calling {@code freeCallback} with {@code opaque}. */
    public ExtSharedInfo(FreeCallback freeCallback, Object opaque) {
        this.freeCallback = java.util.Objects.requireNonNull(freeCallback, "freeCallback");
        this.opaque = opaque;
        REFCNT.setRelease(this, 1);
    }

    /** The count of mbufs carrying the buffer (rte_mbuf_ext_refcnt_read). */
    public int refcnt() {
        return (int) REFCNT.getAcquire(this);
    }

    /** Sets the count, before the buffer is handed out (rte_mbuf_ext_refcnt_set). */
    public void setRefcnt(int n) {
        if (n < 0) throw new IllegalArgumentException("ext buffer refcnt=" + n + ": must be 0 or more");
        REFCNT.setRelease(this, n);
    }

    /** Adds {@code delta} atomically and returns the new count (rte_mbuf_ext_refcnt_update). */
    public int refcntUpdate(int delta) {
        return (int) REFCNT.getAndAdd(this, delta) + delta;
    }

    /** What the callback is given. */
    public Object opaque() {
        return opaque;
    }

    /** Changes what the callback is given, for reuse with another buffer. */
    public void setOpaque(Object opaque) {
        this.opaque = opaque;
    }

    /** Drops one reference; runs the callback when it was the last. */
    void release(MemorySegment buf) {
        int left = refcntUpdate(-1);
        if (left == 0) {
            freeCallback.free(buf, opaque);
        } else if (left < 0) {
            REFCNT.getAndAdd(this, 1);
            throw new IllegalStateException("external buffer freed more often than it was attached (refcnt " + left + ")");
        }
    }
}
