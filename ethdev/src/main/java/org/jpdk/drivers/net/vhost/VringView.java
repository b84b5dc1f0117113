package org.jpdk.drivers.net.vhost;

import org.jpdk.sys.Libc;
import org.jpdk.virtio.GuestMemory;
import org.jpdk.virtio.PackedRing;
import org.jpdk.virtio.SplitRing;
import org.jpdk.virtio.VirtioFeatures;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * One vring as its polling lcore uses it for the life of one guest memory table: the ring views
 * (split or packed), the memory its descriptors point into, the kick and call eventfds, and the
 * cursors only the lcore writes. Built by the control thread when the vring becomes ready,
 * published to its queue ({@link VringSlot}), taken back when the front end stops the ring, changes
 * the memory table or leaves; the cursors then go back to the control thread's {@link Vring}.
 *
 * <p>The front end is untrusted, and every check is here: a chain is walked into a scratch list
 * of (region, offset, length, flags) before a byte is copied, and the walk refuses a descriptor
 * index beyond its table, a chain longer than the ring (a loop), an address range outside every
 * region or spanning two, an indirect table that is empty, misaligned in length, nested, chained
 * or longer than the ring, and (packed) a buffer id beyond the ring. Any of these faults the ring:
 * it is not touched again and the control thread disconnects the front end with the reason.
 */
final class VringView {
    static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);

    static {
        ONE.set(JAVA_LONG, 0, 1L);
    }

    final boolean packed;
    final SplitRing split;
    final PackedRing ring;
    final GuestMemory mem;
    final int size, mask;
    final int kickFd, callFd;
    final boolean eventIdx, indirect, mergeable;
    final int hdrSize;
    final long features;
    final String what;
    /** The virtio-net header of the frame being received (it may span descriptors). */
    final MemorySegment hdr;

    // the walked chain(s): the lcore's scratch
    final int[] bufRegion;
    final long[] bufOff, bufLen;
    final int[] bufFlags;
    /** Mergeable receive buffers: the heads one frame spans, their capacity and (packed) descriptors. */
    final int[] headId, headDescs;
    final long[] headCap;
    /**
     * Split bursts are walked whole before a byte is copied (so that the cache misses on the
     * front end's descriptors overlap, and so do the copies' stores): frame {@code f} of a chunk
     * took heads {@code [frameHeads[f], frameHeads[f + 1])} and buffers {@code [frameBufs[f],
     * frameBufs[f + 1])} of the scratch lists. A frame starts only while fewer than {@code size}
     * buffers are taken, so each frame has the {@code size + 64} buffers one chain may need.
     */
    static final int CHUNK = 64;
    final int[] frameHeads = new int[CHUNK + 1], frameBufs = new int[CHUNK + 1];
    /** Packed: descriptors each walked head took from the ring (1 with indirect). */
    int chainDescs;
    /** Packed: the buffer id of the last walked chain. */
    int chainId;

    // cursors: the lcore's; handed to and from the control thread through the slot
    int lastAvail, lastUsed;
    boolean availWrap = true, usedWrap = true;
    int signalledUsed;
    boolean signalledValid;
    /** Whether the lcore wants kicks (rx interrupt mode); else the front end is told not to kick. */
    boolean notify;
    boolean faulted;
    String faultReason;

    VringView(boolean packed, SplitRing split, PackedRing ring, GuestMemory mem, int size, int kickFd, int callFd, long features,
              int hdrSize, String what, Arena arena) {
        this.packed = packed;
        this.split = split;
        this.ring = ring;
        this.mem = mem;
        this.size = size;
        this.mask = size - 1;
        this.kickFd = kickFd;
        this.callFd = callFd;
        this.features = features;
        this.eventIdx = VirtioFeatures.has(features, VirtioFeatures.F_EVENT_IDX);
        this.indirect = VirtioFeatures.has(features, VirtioFeatures.F_INDIRECT_DESC);
        this.mergeable = VirtioFeatures.has(features, VirtioFeatures.NET_F_MRG_RXBUF);
        this.hdrSize = hdrSize;
        this.what = what;
        this.hdr = arena.allocate(16, 8);
        int scratch = 2 * size + 64;
        bufRegion = new int[scratch];
        bufOff = new long[scratch];
        bufLen = new long[scratch];
        bufFlags = new int[scratch];
        headId = new int[size];
        headDescs = new int[size];
        headCap = new long[size];
    }

    /** Records the first fault and returns -1. Allocates the reason: once per ring at most. */
    int fault(String why) {
        if (!faulted) {
            faulted = true;
            faultReason = what + ": " + why;
        }
        return -1;
    }

    // ---------------------------------------------------------------- chains

    /**
     * {@link #walkSplit} for the usual chain, one direct descriptor inside one region, in a method
     * small enough to be compiled into the burst loop; any other chain, and every fault, goes to
     * {@link #walkSplit}, which reads the descriptor again and decides.
     */
    int walkSplitOne(int head, int at) {
        if (head < size && at < bufRegion.length) {
            MemorySegment table = split.desc;
            long d = 16L * head;
            long rest = table.get(JAVA_LONG_UNALIGNED, d + 8);              // len u32, flags u16, next u16
            long len = rest & 0xffffffffL;
            int flags = (int) (rest >>> 32) & 0xffff;
            if ((flags & (SplitRing.DESC_F_NEXT | SplitRing.DESC_F_INDIRECT)) == 0 && len != 0) {
                long addr = table.get(JAVA_LONG_UNALIGNED, d);
                int r = mem.regionOfGpa(addr, len);
                if (r >= 0) {
                    bufRegion[at] = r;
                    bufOff[at] = addr - mem.gpa(r);
                    bufLen[at] = len;
                    bufFlags[at] = flags;
                    return at + 1;
                }
            }
        }
        return walkSplit(head, at);
    }

    /**
     * Walks the split chain from {@code head} into the scratch list from position {@code at};
     * returns the new end of the list, or -1 after a fault. Reads each descriptor once.
     */
    int walkSplit(int head, int at) {
        if (head >= size) return fault("head descriptor " + head + " beyond a ring of " + size);
        MemorySegment table = split.desc;
        long base = 0;
        int tableSize = size, idx = head, visited = 0, n = at;
        while (true) {
            if (idx >= tableSize) return fault("descriptor " + idx + " beyond a table of " + tableSize + " (chain from " + head + ")");
            if (++visited > tableSize) return fault("the chain from head " + head + " loops (more than " + tableSize + " descriptors)");
            long d = base + 16L * idx;
            long addr = table.get(JAVA_LONG_UNALIGNED, d);
            long len = table.get(JAVA_INT_UNALIGNED, d + 8) & 0xffffffffL;
            int flags = table.get(JAVA_SHORT_UNALIGNED, d + 12) & 0xffff;
            int next = table.get(JAVA_SHORT_UNALIGNED, d + 14) & 0xffff;
            if ((flags & SplitRing.DESC_F_INDIRECT) != 0) {
                if (!indirect) return fault("indirect descriptor without INDIRECT_DESC negotiated");
                if (table != split.desc || visited != 1) return fault("indirect descriptor not at the head of its chain");
                if ((flags & SplitRing.DESC_F_NEXT) != 0) return fault("indirect descriptor with NEXT set");
                if (len == 0 || (len & 15) != 0 || len / 16 > size) return fault("indirect table of " + len + " bytes");
                int r = mem.regionOfGpa(addr, len);
                if (r < 0) return fault("indirect table at 0x" + Long.toHexString(addr) + " (" + len + " bytes) outside guest memory");
                table = mem.segment(r);
                base = addr - mem.gpa(r);
                tableSize = (int) (len / 16);
                idx = 0;
                visited = 0;
                continue;
            }
            if (n == bufRegion.length) return fault("chains longer than " + bufRegion.length + " buffers");
            if (len != 0) {
                int r = mem.regionOfGpa(addr, len);
                if (r < 0) return fault("descriptor " + idx + " at 0x" + Long.toHexString(addr) + " (" + len + " bytes) outside guest memory");
                bufRegion[n] = r;
                bufOff[n] = addr - mem.gpa(r);
                bufLen[n] = len;
                bufFlags[n] = flags;
                n++;
            }
            if ((flags & SplitRing.DESC_F_NEXT) == 0) return n;
            idx = next;
        }
    }

    /**
     * Walks the packed chain whose first descriptor is at ring slot {@code slot} (already seen
     * available) into the scratch list from {@code at}; sets {@link #chainDescs} and
     * {@link #chainId}; returns the new end of the list, or -1 after a fault, or -2 when the chain
     * is not yet wholly available (the driver is still writing it: try again on the next burst).
     */
    int walkPacked(int slot, int at, boolean wrap) {
        int n = at, descs = 0, s = slot;
        boolean w = wrap;
        while (true) {
            if (descs == size) return fault("a packed chain longer than the ring of " + size);
            int flags = ring.descFlagsAcquire(s);
            if (descs > 0 && !PackedRing.isAvail(flags, w)) return -2;
            long addr = ring.descAddr(s);
            long len = ring.descLen(s) & 0xffffffffL;
            int id = ring.descId(s);
            descs++;
            if (++s == size) {
                s = 0;
                w = !w;
            }
            if ((flags & PackedRing.DESC_F_INDIRECT) != 0) {
                if (!indirect) return fault("indirect descriptor without INDIRECT_DESC negotiated");
                if (descs != 1 || (flags & PackedRing.DESC_F_NEXT) != 0) return fault("indirect descriptor inside a chain");
                if (len == 0 || (len & 15) != 0 || len / 16 > size) return fault("indirect table of " + len + " bytes");
                int r = mem.regionOfGpa(addr, len);
                if (r < 0) return fault("indirect table at 0x" + Long.toHexString(addr) + " (" + len + " bytes) outside guest memory");
                MemorySegment table = mem.segment(r);
                long base = addr - mem.gpa(r);
                int entries = (int) (len / 16);
                for (int i = 0; i < entries; i++) {
                    long d = base + 16L * i;
                    long a = table.get(JAVA_LONG_UNALIGNED, d);
                    long l = table.get(JAVA_INT_UNALIGNED, d + 8) & 0xffffffffL;
                    int f = table.get(JAVA_SHORT_UNALIGNED, d + 14) & 0xffff;
                    if (n == bufRegion.length) return fault("chains longer than " + bufRegion.length + " buffers");
                    if (l == 0) continue;
                    int rr = mem.regionOfGpa(a, l);
                    if (rr < 0) return fault("indirect descriptor " + i + " at 0x" + Long.toHexString(a) + " (" + l + " bytes) outside guest memory");
                    bufRegion[n] = rr;
                    bufOff[n] = a - mem.gpa(rr);
                    bufLen[n] = l;
                    bufFlags[n] = f;
                    n++;
                }
                chainDescs = 1;
                if (id >= size) return fault("buffer id " + id + " beyond a ring of " + size);
                chainId = id;
                return n;
            }
            if (n == bufRegion.length) return fault("chains longer than " + bufRegion.length + " buffers");
            if (len != 0) {
                int r = mem.regionOfGpa(addr, len);
                if (r < 0) return fault("descriptor at slot " + ((s - 1) & 0x7fff) + " at 0x" + Long.toHexString(addr) + " (" + len
                        + " bytes) outside guest memory");
                bufRegion[n] = r;
                bufOff[n] = addr - mem.gpa(r);
                bufLen[n] = len;
                bufFlags[n] = flags;
                n++;
            }
            if ((flags & PackedRing.DESC_F_NEXT) == 0) {
                if (id >= size) return fault("buffer id " + id + " beyond a ring of " + size);
                chainDescs = descs;
                chainId = id;
                return n;
            }
        }
    }

    // ---------------------------------------------------------------- notifications

    /** After used entries up to {@link #lastUsed} were published: calls the front end if it asked to be told. */
    void callSplit() {
        if (callFd < 0) return;
        VarHandle.fullFence(); // StoreLoad: used idx published before the look at used_event / flags
        int now = lastUsed & 0xffff;
        boolean need;
        if (eventIdx) {
            int old = signalledUsed;
            need = !signalledValid || SplitRing.needEvent(split.usedEvent(), now, old);
            signalledUsed = now;
            signalledValid = true;
        } else {
            need = (split.availFlags() & SplitRing.AVAIL_F_NO_INTERRUPT) == 0;
        }
        if (need) Libc.writeNoErrno(callFd, ONE, 8);
    }

    /** Packed: after used descriptors up to {@link #lastUsed} were published, calls the front end unless its driver area says not to. */
    void callPacked() {
        if (callFd < 0) return;
        VarHandle.fullFence(); // StoreLoad: the used flags published before the look at the driver area
        int ev = ring.driverEvent();
        int flags = (ev >>> 16) & 0xffff;
        int now = lastUsed, old = signalledUsed;
        boolean valid = signalledValid;
        signalledUsed = now;
        signalledValid = true;
        boolean need;
        if (flags != PackedRing.EVENT_DESC || !eventIdx) {
            need = flags != PackedRing.EVENT_DISABLE;
        } else if (!valid) {
            need = true;
        } else {
            // event offsets of the previous lap sit one ring back, as the cursor before a wrap does
            int offWrap = ev & 0xffff, off = offWrap & 0x7fff;
            if (now <= old) old -= size;
            if (((offWrap >>> 15) != 0) != usedWrap) off -= size;
            need = SplitRing.needEvent(off & 0xffff, now & 0xffff, old & 0xffff);
        }
        if (need) Libc.writeNoErrno(callFd, ONE, 8);
    }

    /** Tells the front end whether to kick this vring: on for rx interrupts, off while polled. Lcore (or control before attach). */
    void kicks(boolean on) {
        notify = on;
        if (packed) {
            if (on && eventIdx) ring.deviceEvent(lastAvail | (availWrap ? 0x8000 : 0), PackedRing.EVENT_DESC);
            else ring.deviceEvent(0, on ? PackedRing.EVENT_ENABLE : PackedRing.EVENT_DISABLE);
        } else {
            split.usedFlags(on ? 0 : SplitRing.USED_F_NO_NOTIFY);
            if (on && eventIdx) split.availEvent(lastAvail);
        }
    }

    /** Whether the front end made something available past the cursor (acquire). */
    boolean pending() {
        if (packed) return PackedRing.isAvail(ring.descFlagsAcquire(lastAvail), availWrap);
        return split.availIdx() != (lastAvail & 0xffff);
    }
}
