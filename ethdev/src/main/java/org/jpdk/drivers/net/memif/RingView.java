package org.jpdk.drivers.net.memif;

import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;

/**
 * One queue's ring for the life of one connection, as its lcore uses it: the ring in shared
 * memory, the regions its descriptors may point into (each a segment bounded to the region, owned
 * by the connection's arena), the eventfd of the ring, and the cursors only the polling lcore
 * writes. Built by the control thread when the connection is up and published to the queue with a
 * release store; never shared by two connections, so a reconnect starts from fresh cursors.
 */
final class RingView {
    final MemorySegment ring;
    final int size, mask;
    /** The regions of the connection by index; a descriptor's region is checked against {@code regions.length}. */
    final MemorySegment[] regions;
    /** {@code regions[i].byteSize()}, read once. */
    final long[] regionSize;
    /** The ring's eventfd: signalled by the producer after a burst unless the consumer masked it. */
    final int eventFd;
    /** Buffers this side owns for the ring (client copy mode, zero-copy fallback): region 0 from {@code bufBase}, {@code bsize} per slot. */
    final long bufBase;
    final int bsize;
    /** Zero-copy: the mbufs whose buffers the slots point at, by slot; and room to allocate or free a ring's worth at once. */
    final Mbuf[] slots, scratch;
    /** Zero-copy: the region of each shown pool, by its base address ({@code regionBase[i]} for region i; 0 for region 0). */
    final long[] regionBase;
    /** Zero-copy rx: the region index of the queue's pool. */
    final int poolRegion;
    final String what;

    // cursors: the polling lcore's only (the control thread reads them once lcores left the ring)
    int head, tail;
    /** Set by the lcore when the peer broke the protocol on this ring; the ring is not touched again. */
    boolean faulted;
    /** Zero-copy tx: the region the last mbuf was found in. */
    int lastRegion = 1;

    RingView(MemorySegment ring, int log2, MemorySegment[] regions, int eventFd, long bufBase, int bsize, boolean zeroCopy,
             long[] regionBase, int poolRegion, String what) {
        this.ring = ring;
        this.size = 1 << log2;
        this.mask = size - 1;
        this.regions = regions;
        this.regionSize = new long[regions.length];
        for (int i = 0; i < regions.length; i++) regionSize[i] = regions[i].byteSize();
        this.eventFd = eventFd;
        this.bufBase = bufBase;
        this.bsize = bsize;
        this.slots = zeroCopy ? new Mbuf[size] : null;
        this.scratch = zeroCopy ? new Mbuf[size] : null;
        this.regionBase = regionBase;
        this.poolRegion = poolRegion;
        this.what = what;
    }
}
