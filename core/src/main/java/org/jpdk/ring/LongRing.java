package org.jpdk.ring;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Objects;

/**
 * A lockless FIFO of 64-bit values in a caller-supplied {@link MemorySegment}, so another thread
 * or another process mapping the same memory can {@link #attach} and use it: {@link Ring}'s
 * algorithm (DPDK rte_ring: claim by moving the head, copy, publish by a release store of the
 * tail after earlier claimers) on int and long views of the segment, with no Java object shared.
 * MP/MC or SP/SC per side, and {@link Ring#F_EXACT_SZ}; HTS/RTS are not offered here. The
 * geometry (size, mask, capacity) is read and checked once, at create/attach, and kept in final
 * fields; the peer's indexes are read on every call and trusted for nothing: what they say is
 * free or filled is clamped to the capacity, and every slot index is masked with the size. So a
 * corrupt or hostile peer can stall the ring (or make it hand out values it never wrote), but never
 * make a call read or write outside the slots.
 * <p>
 * <b>A peer that dies mid-call.</b> An MP/MC call publishes its slots only after every earlier
 * claimer on its side has published (the tail moves in claim order), so a producer or consumer
 * killed between its head CAS and its tail store (SIGKILL, a crash) would leave every later claimer
 * on that side waiting for a tail that never moves; DPDK's rte_ring waits there forever
 * ({@code rte_wait_until_equal_32} on the tail; HTS waits for head = tail, RTS for head - tail to
 * shrink, equally without bound), since it counts a dead process of a multi-process application as
 * fatal to all of them. Here the wait is bounded: a claimer that sees the tail stand still for
 * {@link #stallTimeout()} (default {@link #DEFAULT_STALL_TIMEOUT}, per handle) marks the ring
 * broken in its header and throws {@link BrokenRingException} naming the side and the index the
 * tail stopped at; every later claimer on either side that has to wait sees the mark and throws
 * too, and {@link #attach} refuses the ring. The other side is never blocked by it: consumers of a
 * ring whose producer died see it empty from the dead claim on, producers of a ring whose consumer
 * died see it fill up. The timeout counts from the last time the tail came closer to the waiting
 * claim, so a slow but live peer (descheduled, stopped in a GC pause) never trips it unless it
 * stalls longer than the timeout (set it above the longest pause the application tolerates), and a
 * scribbling peer's tail that jumps about does not restart it. The bound costs
 * nothing on the fast path: an uncontended claim finds the tail already at its head and never
 * reads the clock or the mark; a waiting claimer reads them once every {@value #CHECK_EVERY}
 * spins. SP/SC sides never wait, so they never throw it.
 * <pre>
 * offset  size  field     written by
 *      0     4  magic     create ("JPRL", 0x4C52504A)
 *      4     4  version   create (1)
 *      8     4  size      create: slot count, a power of two
 *     12     4  mask      create: size - 1
 *     16     4  capacity  create: size - 1, or count with F_EXACT_SZ
 *     20     4  flags     create
 *     24     8  broken    0, or the side (high half: 1 producers, 2 consumers) and the
 *                         index its tail stopped at (low half), set once by the claimer
 *                         that gave up waiting (CAS)
 *     32    96  reserved
 *    128     4  prodHead  producers (CAS in MP mode)
 *    132     4  prodTail  producers (release), polled by consumers
 *    136   120  pad
 *    256     4  consHead  consumers
 *    260     4  consTail  consumers (release), polled by producers
 *    264   120  pad
 *    384  8*size slots    producers write, consumers read
 * </pre>
 * Thread contract as {@link Ring}: any number of producers and consumers on an MP/MC side, one at
 * a time on an SP/SC side, across all processes attached.
 */
public final class LongRing {
    public static final int MAGIC = 0x4C52504A;
    public static final int VERSION = 1;
    public static final int HEADER_BYTES = 384;
    static final long OFF_MAGIC = 0, OFF_VERSION = 4, OFF_SIZE = 8, OFF_MASK = 12, OFF_CAPACITY = 16, OFF_FLAGS = 20;
    static final long OFF_BROKEN = 24;
    static final long OFF_PROD_HEAD = 128, OFF_PROD_TAIL = 132, OFF_CONS_HEAD = 256, OFF_CONS_TAIL = 260;
    private static final int FLAGS_ALLOWED = Ring.F_SP_ENQ | Ring.F_SC_DEQ | Ring.F_EXACT_SZ;
    /** How long an MP/MC claimer waits for a tail that does not move before it declares the ring broken. */
    public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofSeconds(5);
    /** A waiting claimer reads the clock and the broken mark once per this many spins (a power of two). */
    static final int CHECK_EVERY = 64;
    private static final int SIDE_PRODUCER = 1, SIDE_CONSUMER = 2;

    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment seg;
    private final int mask;
    private final int capacity;
    private final int flags;
    private final boolean sp;
    private final boolean sc;
    /** Read only by a claimer that has to wait: never on the fast path. */
    private volatile long stallNanos = DEFAULT_STALL_TIMEOUT.toNanos();

    private LongRing(MemorySegment seg, int size, int capacity, int flags) {
        this.seg = seg;
        this.mask = size - 1;
        this.capacity = capacity;
        this.flags = flags;
        this.sp = (flags & Ring.F_SP_ENQ) != 0;
        this.sc = (flags & Ring.F_SC_DEQ) != 0;
    }

    /** Bytes a ring of {@code count} slots needs (a power of two, as {@link Ring#create}). */
    public static long bytesFor(int count) {
        return bytesFor(count, 0);
    }

    /** Bytes a ring of {@code count} needs with these flags ({@link Ring#F_EXACT_SZ} changes the slot count). */
    public static long bytesFor(int count, int flags) {
        Ring.checkCount(count, flags);
        return HEADER_BYTES + 8L * slotsFor(count, flags);
    }

    private static int slotsFor(int count, int flags) {
        return (flags & Ring.F_EXACT_SZ) != 0 ? Integer.highestOneBit(count) << 1 : count;
    }

    /**
     * Initialises a ring at the start of {@code seg} (which needs {@link #bytesFor} bytes, 8-byte
     * aligned) and returns a handle on it. Flags: {@link Ring#F_SP_ENQ}, {@link Ring#F_SC_DEQ},
     * {@link Ring#F_EXACT_SZ}.
     *
     * @throws IllegalArgumentException for a bad count, flags or segment
     */
    public static LongRing create(MemorySegment seg, int count, int flags) {
        return create(seg, count, flags, 0);
    }

    /** As {@link #create(MemorySegment, int, int)}, the indexes starting at {@code start} (tests of the 2^32 wrap). */
    static LongRing create(MemorySegment seg, int count, int flags, int start) {
        Objects.requireNonNull(seg, "seg");
        if ((flags & ~FLAGS_ALLOWED) != 0) {
            throw new IllegalArgumentException(String.format("flags: 0x%x not allowed for a LongRing; allowed are F_SP_ENQ, "
                    + "F_SC_DEQ and F_EXACT_SZ (HTS/RTS modes exist only in Ring)", flags));
        }
        long need = bytesFor(count, flags);
        checkSegment(seg, need);
        int size = slotsFor(count, flags);
        int capacity = (flags & Ring.F_EXACT_SZ) != 0 ? count : count - 1;
        seg.asSlice(0, HEADER_BYTES).fill((byte) 0);
        INT.set(seg, OFF_VERSION, VERSION);
        INT.set(seg, OFF_SIZE, size);
        INT.set(seg, OFF_MASK, size - 1);
        INT.set(seg, OFF_CAPACITY, capacity);
        INT.set(seg, OFF_FLAGS, flags);
        INT.set(seg, OFF_PROD_HEAD, start);
        INT.set(seg, OFF_PROD_TAIL, start);
        INT.set(seg, OFF_CONS_HEAD, start);
        INT.set(seg, OFF_CONS_TAIL, start);
        INT.setRelease(seg, OFF_MAGIC, MAGIC); // last: an attacher that sees the magic (acquire) sees the header
        return new LongRing(seg, size, capacity, flags);
    }

    /**
     * A handle on the ring another party created in {@code seg}, after checking its header.
     *
     * @throws IllegalArgumentException naming the first header field that is wrong
     * @throws BrokenRingException if a claimer gave up on the ring (a peer died mid-call)
     */
    public static LongRing attach(MemorySegment seg) {
        Objects.requireNonNull(seg, "seg");
        checkSegment(seg, HEADER_BYTES);
        int magic = (int) INT.getAcquire(seg, OFF_MAGIC);
        if (magic != MAGIC) {
            throw new IllegalArgumentException(String.format("segment: magic 0x%08x, expected 0x%08x: not a LongRing, "
                    + "or not yet initialised by LongRing.create", magic, MAGIC));
        }
        int version = (int) INT.get(seg, OFF_VERSION);
        int size = (int) INT.get(seg, OFF_SIZE);
        int mask = (int) INT.get(seg, OFF_MASK);
        int capacity = (int) INT.get(seg, OFF_CAPACITY);
        int flags = (int) INT.get(seg, OFF_FLAGS);
        if (version != VERSION) throw bad("version", version, "must be " + VERSION);
        if (size < 2 || size > Ring.MAX_SIZE || Integer.bitCount(size) != 1) throw bad("size", size, "must be a power of two from 2 to " + Ring.MAX_SIZE);
        if (mask != size - 1) throw bad("mask", mask, "must be size - 1 = " + (size - 1));
        if (capacity < 1 || capacity > size - 1) throw bad("capacity", capacity, "must be 1 to size - 1 = " + (size - 1));
        if ((flags & ~FLAGS_ALLOWED) != 0) throw bad("flags", flags, "may only hold F_SP_ENQ, F_SC_DEQ, F_EXACT_SZ");
        long need = HEADER_BYTES + 8L * size;
        if (seg.byteSize() < need) {
            throw new IllegalArgumentException("segment: " + seg.byteSize() + " bytes, but the header's size " + size + " needs " + need);
        }
        long broken = (long) LONG.getAcquire(seg, OFF_BROKEN);
        if (broken != 0) throw brokenMark(broken, "attach");
        return new LongRing(seg, size, capacity, flags);
    }

    private static IllegalArgumentException bad(String field, int value, String allowed) {
        return new IllegalArgumentException("segment header: " + field + " " + value + " " + allowed);
    }

    private static void checkSegment(MemorySegment seg, long need) {
        if (seg.byteSize() < need) {
            throw new IllegalArgumentException("segment: " + seg.byteSize() + " bytes, needs at least " + need);
        }
        if (seg.maxByteAlignment() < 8) {
            throw new IllegalArgumentException("segment: aligned to " + seg.maxByteAlignment()
                    + " bytes, needs 8 (atomic int/long access); use native memory or a long[]-backed segment");
        }
        if (seg.isReadOnly()) throw new IllegalArgumentException("segment: read-only; a ring needs write access");
    }

    public MemorySegment segment() { return seg; }
    public int capacity() { return capacity; }
    public int size() { return mask + 1; }
    public int flags() { return flags; }

    /**
     * How long a multi-producer or multi-consumer call waits for the earlier claimers on its side to
     * publish, counted from the last time their tail moved, before it marks the ring broken and
     * throws {@link BrokenRingException}. This handle only; other handles and processes keep their own.
     */
    public Duration stallTimeout() { return Duration.ofNanos(stallNanos); }

    /**
     * Sets {@link #stallTimeout()} for this handle: a positive duration, at most a day.
     *
     * @return this handle
     * @throws IllegalArgumentException for zero, a negative or a longer duration
     */
    public LongRing stallTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(Duration.ofDays(1)) > 0) {
            throw new IllegalArgumentException("stall timeout: " + timeout + ", must be more than 0 and at most a day");
        }
        stallNanos = timeout.toNanos();
        return this;
    }

    /** Whether a claimer (of any handle, in any process) marked this ring broken: see {@link BrokenRingException}. */
    public boolean isBroken() {
        return (long) LONG.getAcquire(seg, OFF_BROKEN) != 0;
    }

    /** Values in the ring: exact when quiescent, a snapshot otherwise. */
    public int count() {
        int c = lvConsTail();
        int n = lvProdTail() - c;
        return n < 0 ? 0 : Math.min(n, capacity);
    }

    public int freeCount() { return capacity - count(); }
    public boolean isEmpty() { return count() == 0; }
    public boolean isFull() { return freeCount() == 0; }

    // Hot calls: no allocation, return the count moved, leave the ring untouched when they move
    // nothing; IndexOutOfBoundsException only for off/n outside vals, before any change; an MP/MC
    // call throws BrokenRingException after a stall timeout spent waiting for a dead peer's tail.

    /** All {@code n} values of {@code vals[off..off+n)} or none; release: visible to the consumer that takes them. */
    public int enqueueBulk(long[] vals, int off, int n) { return doEnqueue(vals, off, n, true, sp); }
    public int enqueueBurst(long[] vals, int off, int n) { return doEnqueue(vals, off, n, false, sp); }
    /** Exactly {@code n} values or none; acquire: sees what the producer wrote. */
    public int dequeueBulk(long[] vals, int off, int n) { return doDequeue(vals, off, n, true, sc); }
    public int dequeueBurst(long[] vals, int off, int n) { return doDequeue(vals, off, n, false, sc); }
    public int mpEnqueueBulk(long[] vals, int off, int n) { return doEnqueue(vals, off, n, true, false); }
    public int spEnqueueBulk(long[] vals, int off, int n) { return doEnqueue(vals, off, n, true, true); }
    public int mpEnqueueBurst(long[] vals, int off, int n) { return doEnqueue(vals, off, n, false, false); }
    public int spEnqueueBurst(long[] vals, int off, int n) { return doEnqueue(vals, off, n, false, true); }
    public int mcDequeueBulk(long[] vals, int off, int n) { return doDequeue(vals, off, n, true, false); }
    public int scDequeueBulk(long[] vals, int off, int n) { return doDequeue(vals, off, n, true, true); }
    public int mcDequeueBurst(long[] vals, int off, int n) { return doDequeue(vals, off, n, false, false); }
    public int scDequeueBurst(long[] vals, int off, int n) { return doDequeue(vals, off, n, false, true); }

    /** Enqueues one value; false if full. */
    public boolean enqueue(long v) {
        long c = moveProdHead(1, true, sp);
        if (c == 0) return false;
        int head = Ring.claimHead(c);
        LONG.set(seg, slot(head), v);
        updateProdTail(head, 1, sp);
        return true;
    }

    /** Dequeues one value, or returns {@code ifEmpty} (pick a value producers never send). */
    public long dequeue(long ifEmpty) {
        long c = moveConsHead(1, true, sc);
        if (c == 0) return ifEmpty;
        int head = Ring.claimHead(c);
        long v = (long) LONG.get(seg, slot(head));
        updateConsTail(head, 1, sc);
        return v;
    }

    private int doEnqueue(long[] vals, int off, int n, boolean fixed, boolean single) {
        Objects.checkFromIndexSize(off, n, vals.length);
        if (n == 0) return 0;
        long c = moveProdHead(n, fixed, single);
        int got = Ring.claimed(c);
        if (got == 0) return 0;
        int head = Ring.claimHead(c);
        enqueueElems(head, vals, off, got);
        updateProdTail(head, got, single);
        return got;
    }

    private int doDequeue(long[] vals, int off, int n, boolean fixed, boolean single) {
        Objects.checkFromIndexSize(off, n, vals.length);
        if (n == 0) return 0;
        long c = moveConsHead(n, fixed, single);
        int got = Ring.claimed(c);
        if (got == 0) return 0;
        int head = Ring.claimHead(c);
        dequeueElems(head, vals, off, got);
        updateConsTail(head, got, single);
        return got;
    }

    private long slot(int idx) {
        return HEADER_BYTES + 8L * (idx & mask);
    }

    // One head mover per side, as DPDK's move_head: ST does a plain load and store, MT a CAS loop.
    private long moveProdHead(int n, boolean fixed, boolean st) {
        int head, got;
        do {
            head = (int) INT.getAcquire(seg, OFF_PROD_HEAD); // A0: head before the consumer tail
            // A1 pairs with R1 (updateConsTail): the slots we overwrite have been read.
            got = Ring.fit(n, clamp(capacity + (int) INT.getAcquire(seg, OFF_CONS_TAIL) - head), fixed);
            if (got == 0) return 0;
            if (st) {
                INT.set(seg, OFF_PROD_HEAD, head + got);
                break;
            }
        } while (!INT.compareAndSet(seg, OFF_PROD_HEAD, head, head + got));
        return Ring.claim(head, got);
    }

    private long moveConsHead(int n, boolean fixed, boolean st) {
        int head, got;
        do {
            head = (int) INT.getAcquire(seg, OFF_CONS_HEAD); // A0
            // A2 pairs with R0 (updateProdTail): the slots up to the producer tail are written.
            got = Ring.fit(n, clamp((int) INT.getAcquire(seg, OFF_PROD_TAIL) - head), fixed);
            if (got == 0) return 0;
            if (st) {
                INT.set(seg, OFF_CONS_HEAD, head + got);
                break;
            }
        } while (!INT.compareAndSet(seg, OFF_CONS_HEAD, head, head + got));
        return Ring.claim(head, got);
    }

    /**
     * What the indexes say is free (producer) or filled (consumer), at most the capacity fixed at
     * create/attach. A sane ring never says more, except for an instant in MP/MC mode when other
     * claimers moved on between our two loads (our CAS then fails and we look again); a corrupt
     * or hostile peer's indexes can say anything. Clamped, a claim is at most capacity (less than
     * the slot count), so the copy of one claim wraps at most once and never runs past the slots
     * into whatever the segment holds after them.
     */
    private int clamp(int avail) {
        return Math.min(avail, capacity);
    }

    private void enqueueElems(int head, long[] vals, int off, int n) {
        int idx = head & mask;
        if (n <= mask + 1 - idx) {
            MemorySegment.copy(vals, off, seg, ValueLayout.JAVA_LONG, slot(idx), n);
        } else {
            int first = mask + 1 - idx;
            MemorySegment.copy(vals, off, seg, ValueLayout.JAVA_LONG, slot(idx), first);
            MemorySegment.copy(vals, off + first, seg, ValueLayout.JAVA_LONG, HEADER_BYTES, n - first);
        }
    }

    private void dequeueElems(int head, long[] vals, int off, int n) {
        int idx = head & mask;
        if (n <= mask + 1 - idx) {
            MemorySegment.copy(seg, ValueLayout.JAVA_LONG, slot(idx), vals, off, n);
        } else {
            int first = mask + 1 - idx;
            MemorySegment.copy(seg, ValueLayout.JAVA_LONG, slot(idx), vals, off, first);
            MemorySegment.copy(seg, ValueLayout.JAVA_LONG, HEADER_BYTES, vals, off + first, n - first);
        }
    }

    private void updateProdTail(int head, int n, boolean st) {
        // Earlier claimers publish first; A5 pairs with their R0, so ours carries their slots.
        if (!st && (int) INT.getAcquire(seg, OFF_PROD_TAIL) != head) awaitTail(OFF_PROD_TAIL, head, n, SIDE_PRODUCER);
        INT.setRelease(seg, OFF_PROD_TAIL, head + n); // R0 pairs with A2
    }

    private void updateConsTail(int head, int n, boolean st) {
        if (!st && (int) INT.getAcquire(seg, OFF_CONS_TAIL) != head) awaitTail(OFF_CONS_TAIL, head, n, SIDE_CONSUMER); // A5
        INT.setRelease(seg, OFF_CONS_TAIL, head + n); // R1 pairs with A1
    }

    /**
     * The slow path of a tail update: waits (spinning, then yielding) for the earlier claimers to
     * bring the tail to {@code head}. Every {@link #CHECK_EVERY} spins it looks at the broken mark
     * (another claimer gave up: give up at once) and the clock; the timeout restarts whenever the
     * tail moves. When it runs out, marks the ring broken and throws. Our own claim stays
     * unpublished either way: the ring is lost, as it would be in DPDK.
     */
    private void awaitTail(long off, int head, int n, int side) {
        // Progress is the tail coming closer to our head. In a sane ring it is never more than the
        // capacity behind (unsigned: a tail past our head is as far as it gets), so a scribbled
        // tail that jumps about never restarts the timeout; only a peer that publishes does.
        int gap = head - (int) INT.getAcquire(seg, off);
        long since = System.nanoTime();
        for (int spins = 0; ; ) {
            spins = Ring.pause(spins);
            int tail = (int) INT.getAcquire(seg, off);
            if (tail == head) return;
            if ((spins & (CHECK_EVERY - 1)) != 0) continue;
            long broken = (long) LONG.getAcquire(seg, OFF_BROKEN);
            if (broken != 0) throw brokenMark(broken, (side == SIDE_PRODUCER ? "enqueue" : "dequeue") + " of " + n);
            long now = System.nanoTime();
            if (Integer.compareUnsigned(head - tail, gap) < 0) {
                gap = head - tail;
                since = now;
            } else if (now - since > stallNanos) {
                long mark = (long) side << 32 | (tail & 0xFFFF_FFFFL);
                LONG.compareAndSet(seg, OFF_BROKEN, 0L, mark); // the first to give up names the cause
                String who = side == SIDE_PRODUCER ? "producer" : "consumer";
                throw new BrokenRingException(String.format("LongRing: the %s tail has not moved toward this %s's slots for %d ms "
                        + "(it stands at %d; this %s waits to publish %d slot(s) from %d): a %s that claimed the slots from %d died "
                        + "(or stopped) before publishing them; the ring is marked broken; recreate it", who, who,
                        (now - since) / 1_000_000, Integer.toUnsignedLong(tail), who, n, Integer.toUnsignedLong(head), who,
                        Integer.toUnsignedLong(tail)));
            }
        }
    }

    private static String sideName(int side) {
        return side == SIDE_PRODUCER ? "producer" : side == SIDE_CONSUMER ? "consumer" : "side-" + side;
    }

    private static BrokenRingException brokenMark(long mark, String what) {
        int side = (int) (mark >>> 32);
        return new BrokenRingException(String.format("LongRing: %s refused: the ring is marked broken (the %s tail stopped at %d: "
                + "a peer died between claiming slots and publishing them); recreate it", what, sideName(side),
                mark & 0xFFFF_FFFFL));
    }

    private int lvProdTail() { return (int) INT.getAcquire(seg, OFF_PROD_TAIL); }
    private int lvConsTail() { return (int) INT.getAcquire(seg, OFF_CONS_TAIL); }

    /** Prints the header and indexes, as {@code rte_ring_dump}. */
    public void dump(PrintStream out) {
        long broken = (long) LONG.getAcquire(seg, OFF_BROKEN);
        out.printf("long ring @%s%n  flags=0x%x%n  size=%d%n  capacity=%d%n  broken=%s%n  ct=%d%n  ch=%d%n  pt=%d%n  ph=%d%n  used=%d%n  avail=%d%n",
                seg, flags, mask + 1, capacity,
                broken == 0 ? "no" : sideName((int) (broken >>> 32)) + " tail stuck at " + (broken & 0xFFFF_FFFFL), Integer.toUnsignedLong(lvConsTail()),
                Integer.toUnsignedLong((int) INT.getAcquire(seg, OFF_CONS_HEAD)), Integer.toUnsignedLong(lvProdTail()),
                Integer.toUnsignedLong((int) INT.getAcquire(seg, OFF_PROD_HEAD)), count(), freeCount());
    }
}
