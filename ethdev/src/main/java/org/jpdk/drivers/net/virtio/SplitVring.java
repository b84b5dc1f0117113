package org.jpdk.drivers.net.virtio;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.virtio.SplitRing;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A split virtqueue (virtio 1.2, 2.7) on the driver's side: the three areas ({@link SplitRing})
 * and a free list of descriptors kept in {@link #next}, never read back from the shared table.
 * An id is the chain's head descriptor. With IN_ORDER the device returns chains in the order they
 * were made available and may write one used entry for a batch, so tx completions are counted by
 * the used index and taken from {@link #order}; without it each used entry names its head.
 * <pre>
 *   offset 0                  descriptor table, 16 x size
 *   16 x size                 available ring, 6 + 2 x size
 *   align(.., 4096)           used ring, 6 + 8 x size
 *   align(.., 64)             tx only: header slots, 12 x size
 * </pre>
 * Ordering: descriptors and available entries are plain stores, then the available index a
 * release store ({@link #publish}, R1 of {@link SplitRing}). The descriptors of what was added
 * since the last publish are staged on the heap and written together by {@link #publish}, one
 * after another: each line of the table was last read by the device, so a store into it waits for
 * the line to come back, and stores leave the store buffer in order. Back to back, the lines'
 * ownership requests overlap; between the per-frame bookkeeping they came one at a time (our
 * virtio-user into DPDK's vhost: 17.2-17.9 -> 22.2 Mpps). The device's used index is read with
 * acquire before the entries it covers. Whether to kick reads the used flags after a full fence
 * (the StoreLoad the spec asks between publishing and reading VRING_USED_F_NO_NOTIFY).
 */
final class SplitVring extends Vring {
    final SplitRing ring;
    private final int mask;
    private final short[] next, order;
    private int orderHead, orderTail, freeHead, freeTail;
    /** Shadow of the available index (free-running u16) and the next used index to read. */
    private int availIdx, lastUsed;
    /** The device's used index as last read: tx reads the shared line again only when it has taken all entries up to it. */
    private int usedSeen;
    /** Descriptors added and not yet written to the table: {@link #publish} writes them together. */
    private final short[] stagedId, stagedFlags, stagedNext;
    private final long[] stagedAddr;
    private final int[] stagedLen;
    private int staged;

    static long bytes(int size, boolean headers) {
        return headersOffset(size) + (headers ? (long) size * VirtioUserDevice.NET_HDR_SIZE : 0);
    }

    private static long usedOffset(int size) {
        return align(SplitRing.descBytes(size) + SplitRing.availBytes(size), 4096);
    }

    private static long headersOffset(int size) {
        return align(usedOffset(size) + SplitRing.usedBytes(size), 64);
    }

    static SplitVring in(MemorySegment mem, int size, int kickFd, boolean hasHeaders, boolean inOrder, VhostBackend.MemRegion[] regions) {
        mem.fill((byte) 0);
        long d = SplitRing.descBytes(size);
        SplitRing ring = new SplitRing(size, mem.asSlice(0, d), mem.asSlice(d, SplitRing.availBytes(size)),
                mem.asSlice(usedOffset(size), SplitRing.usedBytes(size)));
        MemorySegment headers = hasHeaders ? mem.asSlice(headersOffset(size), (long) size * VirtioUserDevice.NET_HDR_SIZE) : null;
        return new SplitVring(ring, kickFd, inOrder, regions, headers);
    }

    private SplitVring(SplitRing ring, int kickFd, boolean inOrder, VhostBackend.MemRegion[] regions, MemorySegment headers) {
        super(ring.size, kickFd, inOrder, regions, headers, ring.desc.address(), ring.avail.address(), ring.used.address());
        this.ring = ring;
        this.mask = ring.mask;
        next = new short[size];
        order = new short[size];
        stagedId = new short[size];
        stagedFlags = new short[size];
        stagedNext = new short[size];
        stagedAddr = new long[size];
        stagedLen = new int[size];
        for (int i = 0; i < size; i++) next[i] = (short) (i + 1);
        freeTail = size - 1;
    }

    @Override
    int base() {
        return 0;
    }

    @Override
    void noInterrupts() {
        ring.availFlags(SplitRing.AVAIL_F_NO_INTERRUPT);
    }

    /**
     * Stages descriptor {@code d} for {@link #publish}. At most {@code size} are staged: each is a
     * descriptor taken from the free list, and none returns to it before it is published, unless
     * the device moves its used index over chains it was never shown. That is the one way to fill
     * the stage, and it throws, so the queue faults and the port disconnects.
     */
    private void stage(int d, long addr, int len, int flags, int next) {
        int k = staged;
        if (k == stagedId.length) throw new IllegalStateException("the device returned descriptors it was not yet given");
        staged = k + 1;
        stagedId[k] = (short) d;
        stagedAddr[k] = addr;
        stagedLen[k] = len;
        stagedFlags[k] = (short) flags;
        stagedNext[k] = (short) next;
    }

    private int takeDesc() {
        int d = freeHead;
        freeHead = next[d] & 0xffff;
        numFree--;
        return d;
    }

    /**
     * Returns a chain to the tail of the free list, so that descriptors are taken in turn around
     * the table (as DPDK's vq_ring_free_chain): with IN_ORDER and one descriptor per frame, frame k
     * uses descriptor k mod size, and its available entry already holds that number from the lap
     * before (see {@link #putAvail}).
     */
    private void freeChain(int head, int len) {
        int last = head;
        for (int k = 1; k < len; k++) last = next[last] & 0xffff;
        if (numFree == 0) freeHead = head;
        else next[freeTail] = (short) head;
        freeTail = last;
        numFree += len;
    }

    /**
     * Makes {@code head} available, storing the entry only where it differs: the device reads the
     * available ring's lines for every frame, and a line left unchanged stays in its cache.
     */
    private void putAvail(int head) {
        if (ring.availRing(availIdx) != head) ring.availRing(availIdx, head);
        availIdx = (availIdx + 1) & 0xffff;
    }

    @Override
    void addTx(Mbuf m, boolean pushed, int segs) {
        int head = takeDesc(), cur = head;
        long addr = firstAddr(m, pushed, head);
        int len = firstLen(m, pushed);
        for (Mbuf seg = pushed ? m.next() : m; seg != null; seg = seg.next()) {
            int d = takeDesc();
            stage(cur, addr, len, SplitRing.DESC_F_NEXT, d);
            next[cur] = (short) d;
            cur = d;
            addr = seg.buffer().address() + seg.dataOff();
            len = seg.dataLen();
        }
        stage(cur, addr, len, 0, 0);
        chainLen[head] = (short) segs;
        mbufs[head] = m;
        inFlight++;
        if (inOrder) order[orderTail++ & mask] = (short) head;
        putAvail(head);
    }

    @Override
    int nextUsedTx() {
        int pending = (usedSeen - lastUsed) & 0xffff;
        if (pending == 0) {
            usedSeen = ring.usedIdx();
            pending = (usedSeen - lastUsed) & 0xffff;
            if (pending == 0) return NONE;
        }
        if (pending > inFlight) {
            why = "the used index moved " + pending + " entries with " + inFlight + " frames in flight";
            return FAULT;
        }
        int head;
        if (inOrder) {
            head = order[orderHead++ & mask] & 0xffff;
        } else {
            long id = usedId(lastUsed);
            if (id >= size || mbufs[(int) id] == null) {
                why = "used entry " + lastUsed + " names descriptor " + id + ", no frame in flight";
                return FAULT;
            }
            head = (int) id;
        }
        freeChain(head, chainLen[head]);
        inFlight--;
        lastUsed = (lastUsed + 1) & 0xffff;
        return head;
    }

    @Override
    void addRx(Mbuf m, long addr, int len) {
        int d = takeDesc();
        stage(d, addr, len, SplitRing.DESC_F_WRITE, 0);
        chainLen[d] = 1;
        mbufs[d] = m;
        inFlight++;
        putAvail(d);
    }

    @Override
    int usedRx(int max) {
        int pending = (ring.usedIdx() - lastUsed) & 0xffff;
        if (pending > inFlight) {
            why = "the used index moved " + pending + " entries with " + inFlight + " buffers posted";
            return FAULT;
        }
        return Math.min(pending, max);
    }

    @Override
    long usedRxId(int k) {
        return usedId(lastUsed + k);
    }

    @Override
    long usedRxLen(int k) {
        return ring.usedElemLen(lastUsed + k) & 0xffffffffL;
    }

    @Override
    void consumeRx(int n) {
        lastUsed = (lastUsed + n) & 0xffff;
    }

    @Override
    void freeRx(int id) {
        mbufs[id] = null;
        freeChain(id, 1);
        inFlight--;
    }

    private long usedId(int idx) {
        return ring.usedElemId(idx) & 0xffffffffL;
    }

    @Override
    void publish() {
        for (int k = 0, n = staged; k < n; k++) {
            ring.desc(stagedId[k] & 0xffff, stagedAddr[k], stagedLen[k], stagedFlags[k] & 0xffff, stagedNext[k] & 0xffff);
        }
        staged = 0;
        ring.availIdx(availIdx);
    }

    @Override
    boolean wantsKick() {
        VarHandle.fullFence();
        return (ring.usedFlags() & SplitRing.USED_F_NO_NOTIFY) == 0;
    }
}
