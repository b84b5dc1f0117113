package org.jpdk.ring;

import java.io.PrintStream;
import java.lang.reflect.Array;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A fixed-size lockless FIFO of object references, DPDK's {@code rte_ring} (itself after FreeBSD's
 * {@code bufring.h}) on the Java heap: a power-of-two slot array and, per side, a head (next slot
 * to claim) and a tail (slots before it are done). An enqueue is three steps: move the producer
 * head to claim {@code n} slots ({@link #moveProdHeadMt CAS} for many producers, a plain store for
 * one), copy the references into them, then update the producer tail with a release store, after
 * earlier claimers have updated theirs; dequeue mirrors it on the consumer side. A consumer's
 * acquire of the producer tail therefore sees every slot written before it (and a producer's
 * acquire of the consumer tail sees every slot read), which is the whole ordering argument;
 * the labelled A/R comments in the code pair each acquire with its release. Indexes are 32-bit
 * ints that wrap; all distances are computed modulo 2^32, so capacity is at most 2^28.
 * <p>
 * Progress: MP/MC is lock-free for the claim and blocking for the tail update (a claimer
 * preempted between its claim and its tail update stalls later claimers of its side, as in DPDK;
 * waiters spin briefly, then yield the core to it); SP/SC is wait-free and keeps a private copy
 * of the other side's tail, reading the shared one only when the copy says full (empty). Like
 * DPDK, a CAS that sees the same head after 2^32 operations (ABA) is assumed not to happen.
 * Modes per side, fixed at {@link #create}: MP/MC (default), SP/SC ({@link #F_SP_ENQ},
 * {@link #F_SC_DEQ}), HTS ({@link #F_MP_HTS_ENQ}, {@link #F_MC_HTS_DEQ}: one CAS on a 64-bit
 * head+tail pair, so claimers of a side run one at a time; no tail wait) and RTS
 * ({@link #F_MP_RTS_ENQ}, {@link #F_MC_RTS_DEQ}: head and tail are 64-bit (pos, cnt) pairs, the
 * last claimer to finish moves the tail, and the head may run at most {@code htdMax} slots ahead
 * of the tail). The {@code sp/mp/sc/mc} per-call methods choose ST or MT sync for one call, as
 * {@code rte_ring_sp_enqueue_bulk} does; on an HTS or RTS side they use that side's mode.
 * <p>
 * Thread contract: any thread may call any method of an MP/MC/HTS/RTS side; an SP (SC) side, or
 * an {@code sp}/{@code sc} call, must have one producer (consumer) at a time. A dequeued slot keeps
 * its reference until a later enqueue overwrites it (as in DPDK; rings normally carry pooled
 * objects); {@code null} may be enqueued, but then {@link #dequeue()} cannot tell it from empty.
 * <pre>
 * Field layout (class hierarchy; 128-byte pads against false sharing and adjacent-line prefetch)
 *   RingPad0          128 B  pad
 *   RingProducer             prodHts, prodRtsHead, prodRtsTail (long), prodHead,
 *                            consTailCache (int)                    written by producers only
 *   RingPadP          128 B  pad
 *   RingProducerTail         prodTail (int)                         written by producers, polled by consumers
 *   RingPad1          128 B  pad
 *   RingConsumer             consHts, consRtsHead, consRtsTail, consHead,
 *                            prodTailCache (int)                    written by consumers only
 *   RingPadC          128 B  pad
 *   RingConsumerTail         consTail (int)                         written by consumers, polled by producers
 *   RingPad2          128 B  pad
 *   Ring                     name, slots, mask, capacity, flags, sync modes, htdMax   read-only
 * </pre>
 *
 * @param <T> the element type
 */
public final class Ring<T> extends RingPad2 implements AutoCloseable {
    public static final int F_SP_ENQ = 0x1;
    public static final int F_SC_DEQ = 0x2;
    public static final int F_EXACT_SZ = 0x4;
    public static final int F_MP_RTS_ENQ = 0x8;
    public static final int F_MC_RTS_DEQ = 0x10;
    public static final int F_MP_HTS_ENQ = 0x20;
    public static final int F_MC_HTS_DEQ = 0x40;
    private static final int F_ALL = 0x7f;

    /** Largest slot count (2^28), as DPDK's RTE_RING_SZ_MASK bounds it below 2^31. */
    public static final int MAX_SIZE = 1 << 28;
    /** Longest name, as DPDK's RTE_RING_NAMESIZE - 1. */
    public static final int NAME_MAX = 28;

    static final int SYNC_MT = 0, SYNC_ST = 1, SYNC_HTS = 2, SYNC_RTS = 3;
    private static final String[] SYNC_NAMES = {"MT", "ST", "HTS", "RTS"};
    private static final ConcurrentHashMap<String, Ring<?>> REGISTRY = new ConcurrentHashMap<>();

    private final String name;
    private final Class<?> type;
    /** Typed as {@link #type}[] at run time, so copies to and from arrays of that type skip per-element checks. */
    private final Object[] slots;
    private final int mask;
    private final int capacity;
    private final int flags;
    private final int prodSync;
    private final int consSync;
    private int prodHtdMax;
    private int consHtdMax;

    private Ring(String name, int count, int flags, int start, Class<?> type) {
        boolean exact = (flags & F_EXACT_SZ) != 0;
        int size = exact ? Integer.highestOneBit(count) << 1 : count;
        this.name = name;
        this.type = type;
        this.slots = type == Object.class ? new Object[size] : (Object[]) Array.newInstance(type, size);
        this.mask = size - 1;
        this.capacity = exact ? count : count - 1;
        this.flags = flags;
        this.prodSync = sync(flags, F_SP_ENQ, F_MP_HTS_ENQ, F_MP_RTS_ENQ);
        this.consSync = sync(flags, F_SC_DEQ, F_MC_HTS_DEQ, F_MC_RTS_DEQ);
        this.prodHtdMax = this.consHtdMax = Math.max(1, capacity / 8);
        prodHead = prodTail = consTailCache = start;
        consHead = consTail = prodTailCache = start;
        prodHts = hts(start, start);
        consHts = hts(start, start);
        prodRtsHead = prodRtsTail = consRtsHead = consRtsTail = rts(start, 0);
    }

    /**
     * Creates and registers a ring. Without {@link #F_EXACT_SZ}, {@code count} is the slot count, a
     * power of two in [2, 2^28], and the ring holds count - 1 objects; with it, the ring holds
     * exactly {@code count} objects, 1 to 2^28 - 1, in the next power of two above it.
     *
     * @throws IllegalArgumentException for a bad name, count or flags
     * @throws IllegalStateException if a ring of that name exists
     */
    public static <T> Ring<T> create(String name, int count, int flags) {
        return create(name, count, flags, 0, Object.class);
    }

    /**
     * As {@link #create(String, int, int)}, for elements of class {@code type}: the slots are a
     * {@code type[]}, so a bulk call whose array is a {@code type[]} too copies with one type check
     * per call instead of one per element (a {@code Mbuf[]} burst through an {@code Object[]} ring
     * pays a checkcast copy, several times slower at bulk 32). Every element enqueued must be an
     * instance of {@code type} (the compiler sees to it unless unchecked casts polluted the heap;
     * such an element fails the copy with ArrayStoreException).
     */
    public static <T> Ring<T> create(String name, int count, int flags, Class<T> type) {
        return create(name, count, flags, 0, Objects.requireNonNull(type, "type"));
    }

    /** As {@link #create(String, int, int)}, every index starting at {@code start} (tests of the 2^32 wrap). */
    static <T> Ring<T> create(String name, int count, int flags, int start) {
        return create(name, count, flags, start, Object.class);
    }

    private static <T> Ring<T> create(String name, int count, int flags, int start, Class<?> type) {
        checkName(name);
        checkFlags(flags);
        checkCount(count, flags);
        if (type.isPrimitive()) throw new IllegalArgumentException("type: " + type + " is primitive; a ring holds references");
        Ring<T> r = new Ring<>(name, count, flags, start, type);
        if (REGISTRY.putIfAbsent(name, r) != null) {
            throw new IllegalStateException("ring name '" + name + "' is already in use; close that ring or pick another name");
        }
        return r;
    }

    /** Every open ring, by name (as {@code rte_ring_list_dump} walks them); a snapshot. */
    public static java.util.List<Ring<?>> list() {
        return REGISTRY.values().stream().sorted(java.util.Comparator.comparing(Ring::name)).toList();
    }

    /** The open ring called {@code name}, or null (as {@code rte_ring_lookup}). */
    @SuppressWarnings("unchecked")
    public static <T> Ring<T> lookup(String name) {
        return name == null ? null : (Ring<T>) REGISTRY.get(name);
    }

    static void checkName(String name) {
        if (name == null || name.isEmpty() || name.length() > NAME_MAX) {
            throw new IllegalArgumentException("name: '" + name + "' must be 1 to " + NAME_MAX + " characters");
        }
    }

    static void checkFlags(int flags) {
        if ((flags & ~F_ALL) != 0) {
            throw new IllegalArgumentException(String.format("flags: 0x%x has unknown bits 0x%x; allowed are F_SP_ENQ, F_SC_DEQ, "
                    + "F_EXACT_SZ, F_MP_RTS_ENQ, F_MC_RTS_DEQ, F_MP_HTS_ENQ, F_MC_HTS_DEQ", flags, flags & ~F_ALL));
        }
        if (Integer.bitCount(flags & (F_SP_ENQ | F_MP_HTS_ENQ | F_MP_RTS_ENQ)) > 1) {
            throw new IllegalArgumentException(String.format("flags: 0x%x names more than one producer mode; "
                    + "pick at most one of F_SP_ENQ, F_MP_HTS_ENQ, F_MP_RTS_ENQ", flags));
        }
        if (Integer.bitCount(flags & (F_SC_DEQ | F_MC_HTS_DEQ | F_MC_RTS_DEQ)) > 1) {
            throw new IllegalArgumentException(String.format("flags: 0x%x names more than one consumer mode; "
                    + "pick at most one of F_SC_DEQ, F_MC_HTS_DEQ, F_MC_RTS_DEQ", flags));
        }
    }

    static void checkCount(int count, int flags) {
        if ((flags & F_EXACT_SZ) != 0) {
            if (count < 1 || count > MAX_SIZE - 1) {
                throw new IllegalArgumentException("count: " + count + " must be 1 to " + (MAX_SIZE - 1) + " with F_EXACT_SZ");
            }
        } else if (count < 2 || count > MAX_SIZE || Integer.bitCount(count) != 1) {
            throw new IllegalArgumentException("count: " + count + " must be a power of two from 2 to " + MAX_SIZE
                    + " (or any count up to " + (MAX_SIZE - 1) + " with F_EXACT_SZ)");
        }
    }

    private static int sync(int flags, int st, int hts, int rts) {
        return (flags & st) != 0 ? SYNC_ST : (flags & hts) != 0 ? SYNC_HTS : (flags & rts) != 0 ? SYNC_RTS : SYNC_MT;
    }

    public String name() { return name; }
    /** The class every element is an instance of: the slots are an array of it ({@code Object} for an untyped ring). */
    public Class<?> elementType() { return type; }
    /** Most objects the ring holds. */
    public int capacity() { return capacity; }
    /** Slot count, a power of two (rte_ring_get_size). */
    public int size() { return mask + 1; }
    public int flags() { return flags; }

    /** Objects in the ring: exact when quiescent, a snapshot between the tails otherwise. */
    public int count() {
        int c = lvConsTail(); // consumer first: the producer tail read after it is never behind it
        int n = lvProdTail() - c;
        return n < 0 ? 0 : Math.min(n, capacity);
    }

    public int freeCount() { return capacity - count(); }
    public boolean isEmpty() { return count() == 0; }
    public boolean isFull() { return freeCount() == 0; }

    /** RTS producer head-to-tail distance limit (rte_ring_set_prod_htd_max); default capacity / 8. */
    public void setProdHtdMax(int v) { prodHtdMax = checkHtd("prod", prodSync, v); }
    /** RTS consumer head-to-tail distance limit (rte_ring_set_cons_htd_max); default capacity / 8. */
    public void setConsHtdMax(int v) { consHtdMax = checkHtd("cons", consSync, v); }

    private int checkHtd(String side, int sync, int v) {
        if (sync != SYNC_RTS) throw new IllegalStateException("ring '" + name + "': " + side + " side is not RTS; htdMax only applies to RTS");
        if (v < 1 || v > capacity) throw new IllegalArgumentException("htdMax: " + v + " must be 1 to capacity " + capacity);
        return v;
    }

    // ---------------------------------------------------------------- public enqueue/dequeue
    // All of them: no allocation; return the count moved (0..n) and leave the ring untouched when
    // they move nothing. IndexOutOfBoundsException only for off/n outside objs, before any change.

    /** Enqueues all {@code n} objects from {@code objs[off..off+n)} or none; returns n or 0. Release: the objects are visible to the consumer that dequeues them. */
    public int enqueueBulk(T[] objs, int off, int n) { return doEnqueue(objs, off, n, true, prodSync); }
    /** Enqueues as many of {@code n} as fit; returns how many (0..n). */
    public int enqueueBurst(T[] objs, int off, int n) { return doEnqueue(objs, off, n, false, prodSync); }
    /** Dequeues exactly {@code n} into {@code objs[off..)} or none; returns n or 0. Acquire: sees what the producer wrote. */
    public int dequeueBulk(T[] objs, int off, int n) { return doDequeue(objs, off, n, true, consSync); }
    /** Dequeues up to {@code n}; returns how many (0..n). */
    public int dequeueBurst(T[] objs, int off, int n) { return doDequeue(objs, off, n, false, consSync); }

    public int mpEnqueueBulk(T[] objs, int off, int n) { return doEnqueue(objs, off, n, true, prodMode(SYNC_MT)); }
    public int spEnqueueBulk(T[] objs, int off, int n) { return doEnqueue(objs, off, n, true, prodMode(SYNC_ST)); }
    public int mpEnqueueBurst(T[] objs, int off, int n) { return doEnqueue(objs, off, n, false, prodMode(SYNC_MT)); }
    public int spEnqueueBurst(T[] objs, int off, int n) { return doEnqueue(objs, off, n, false, prodMode(SYNC_ST)); }
    public int mcDequeueBulk(T[] objs, int off, int n) { return doDequeue(objs, off, n, true, consMode(SYNC_MT)); }
    public int scDequeueBulk(T[] objs, int off, int n) { return doDequeue(objs, off, n, true, consMode(SYNC_ST)); }
    public int mcDequeueBurst(T[] objs, int off, int n) { return doDequeue(objs, off, n, false, consMode(SYNC_MT)); }
    public int scDequeueBurst(T[] objs, int off, int n) { return doDequeue(objs, off, n, false, consMode(SYNC_ST)); }

    /** Enqueues one object; false if the ring is full. */
    public boolean enqueue(T obj) { return enqueueOne(obj, prodSync); }
    public boolean mpEnqueue(T obj) { return enqueueOne(obj, prodMode(SYNC_MT)); }
    public boolean spEnqueue(T obj) { return enqueueOne(obj, prodMode(SYNC_ST)); }
    /** Dequeues one object; null if the ring is empty. */
    public T dequeue() { return dequeueOne(consSync); }
    public T mcDequeue() { return dequeueOne(consMode(SYNC_MT)); }
    public T scDequeue() { return dequeueOne(consMode(SYNC_ST)); }

    private int prodMode(int callSync) { return prodSync >= SYNC_HTS ? prodSync : callSync; }
    private int consMode(int callSync) { return consSync >= SYNC_HTS ? consSync : callSync; }

    // ---------------------------------------------------------------- the three steps, joined

    private int doEnqueue(Object[] objs, int off, int n, boolean fixed, int sync) {
        Objects.checkFromIndexSize(off, n, objs.length);
        if (n == 0) return 0;
        if (objs.getClass() != slots.getClass()) checkIn(objs, off, n);
        long c = moveProdHead(n, fixed, sync);
        int got = claimed(c);
        if (got == 0) return 0;
        int head = claimHead(c);
        enqueueElems(head, objs, off, got);
        updateProdTail(head, got, sync);
        return got;
    }

    private int doDequeue(Object[] objs, int off, int n, boolean fixed, int sync) {
        Objects.checkFromIndexSize(off, n, objs.length);
        if (n == 0) return 0;
        if (objs.getClass() != slots.getClass()) checkOut(objs);
        long c = moveConsHead(n, fixed, sync);
        int got = claimed(c);
        if (got == 0) return 0;
        int head = claimHead(c);
        dequeueElems(head, objs, off, got);
        updateConsTail(head, got, sync);
        return got;
    }

    // A copy that failed half-way would leave a claimed range unpublished and the ring stuck, so a
    // typed ring checks before it claims: nothing when the caller's array is of its own type (the
    // usual case, one class compare), each element otherwise (an Object[] burst into a typed ring).
    private void checkIn(Object[] objs, int off, int n) {
        if (type == Object.class) return;
        for (int i = off, end = off + n; i < end; i++) {
            Object o = objs[i];
            if (o != null && !type.isInstance(o)) throw storeError(o);
        }
    }

    private void checkOut(Object[] objs) {
        Class<?> into = objs.getClass().getComponentType();
        if (type != Object.class && !into.isAssignableFrom(type)) {
            throw new ArrayStoreException("ring '" + name + "' holds " + type.getName() + ", which a " + into.getName()
                    + "[] cannot take");
        }
    }

    private ArrayStoreException storeError(Object o) {
        return new ArrayStoreException("ring '" + name + "' holds " + type.getName() + ", not " + o.getClass().getName());
    }

    private boolean enqueueOne(T obj, int sync) {
        if (type != Object.class && obj != null && !type.isInstance(obj)) throw storeError(obj);
        if (sync == SYNC_ST) return enqueueOneSt(obj);
        long c = moveProdHead(1, true, sync);
        if (c == 0) return false;
        int head = claimHead(c);
        Object[] r = slots;
        r[head & (r.length - 1)] = obj;
        updateProdTail(head, 1, sync);
        return true;
    }

    @SuppressWarnings("unchecked")
    private T dequeueOne(int sync) {
        if (sync == SYNC_ST) return dequeueOneSc();
        long c = moveConsHead(1, true, sync);
        if (c == 0) return null;
        int head = claimHead(c);
        Object[] r = slots;
        T obj = (T) r[head & (r.length - 1)];
        updateConsTail(head, 1, sync);
        return obj;
    }

    /**
     * One step of waiting for another thread of this side. DPDK spins, for lcores that are never
     * preempted; Java threads usually are, and a waiter that keeps spinning on a busy core only
     * delays the preempted thread it waits for, so after a short spin it yields the core.
     */
    static int pause(int spins) {
        if (spins < SPINS_BEFORE_YIELD) Thread.onSpinWait();
        else Thread.yield();
        return spins + 1;
    }

    private static final int SPINS_BEFORE_YIELD = 256;

    // The single-object SP and SC calls: the three steps with n = 1 written out, so the SPSC
    // enqueue+dequeue pair is a handful of plain loads and stores (measured at JCTools' speed).
    private boolean enqueueOneSt(T obj) {
        int head = prodHead;
        if (capacity + consTailCache - head < 1 && capacity + (consTailCache = lvConsTail()) - head < 1) return false; // A1
        prodHead = head + 1;
        Object[] r = slots;
        r[head & (r.length - 1)] = obj; // masking by the length lets C2 drop the range check
        soProdTail(head + 1); // R0
        return true;
    }

    @SuppressWarnings("unchecked")
    private T dequeueOneSc() {
        int head = consHead;
        if (prodTailCache - head < 1 && (prodTailCache = lvProdTail()) - head < 1) return null; // A2
        consHead = head + 1;
        Object[] r = slots;
        T obj = (T) r[head & (r.length - 1)];
        soConsTail(head + 1); // R1
        return obj;
    }

    // A claim is (old head, count) in one long so the head movers return both without allocating.
    static long claim(int head, int n) { return ((long) head << 32) | n; }
    static int claimHead(long c) { return (int) (c >>> 32); }
    static int claimed(long c) { return (int) c; }

    /** How many of n to take given what is free (or filled): n or 0 for bulk, up to n for burst. */
    static int fit(int n, int avail, boolean fixed) {
        return n <= avail ? n : fixed || avail < 0 ? 0 : avail;
    }

    // ---------------------------------------------------------------- step 1: move the head

    private long moveProdHead(int n, boolean fixed, int sync) {
        return switch (sync) {
            case SYNC_ST -> moveProdHeadSt(n, fixed);
            case SYNC_MT -> moveProdHeadMt(n, fixed);
            case SYNC_HTS -> moveProdHeadHts(n, fixed);
            default -> moveProdHeadRts(n, fixed);
        };
    }

    private long moveProdHeadSt(int n, boolean fixed) {
        int head = prodHead; // plain: no other producer runs now
        int free = capacity + consTailCache - head;
        if (free < n) {
            // A1 (as in moveProdHeadMt) pairs with R1. The cache is an earlier consumer tail, so
            // it can only under-state what is free; re-read the real one before saying full.
            free = capacity + (consTailCache = lvConsTail()) - head;
        }
        int got = fit(n, free, fixed);
        if (got == 0) return 0;
        prodHead = head + got;
        return claim(head, got);
    }

    private long moveProdHeadMt(int n, boolean fixed) {
        int head, got, consTail;
        do {
            // A0: the head is read before the consumer tail (LoadLoad); a head gone stale since then
            // can make free look too large, and the CAS below then fails.
            head = lvProdHead();
            // A1 pairs with R1 (updateConsTail): consumers are done reading the slots we will overwrite.
            consTail = lvConsTail();
            got = fit(n, capacity + consTail - head, fixed);
            if (got == 0) return 0;
        } while (!casProdHead(head, head + got));
        // Keep the ST cache within reach of the head for later sp calls; the line is ours after the CAS.
        consTailCache = consTail;
        return claim(head, got);
    }

    private long moveProdHeadHts(int n, boolean fixed) {
        long ht;
        int head, got;
        do {
            // A3 pairs with R3 (updateProdTail HTS): wait until the previous claimer has finished.
            for (int spins = 0; htsHead(ht = lvProdHts()) != htsTail(ht); ) spins = pause(spins);
            head = htsHead(ht);
            got = fit(n, capacity + lvConsTail() - head, fixed); // A1
            if (got == 0) return 0;
        } while (!casProdHts(ht, hts(head + got, head)));
        return claim(head, got);
    }

    private long moveProdHeadRts(int n, boolean fixed) {
        long oh = lvProdRtsHead();
        for (;;) {
            // Bound how far claims run ahead of completions, so one stalled producer cannot leave a
            // long run of finished but unpublished slots behind it.
            for (int spins = 0; pos(oh) - pos(lvProdRtsTail()) > prodHtdMax; ) {
                spins = pause(spins);
                oh = lvProdRtsHead();
            }
            int head = pos(oh);
            int got = fit(n, capacity + lvConsTail() - head, fixed); // A1
            if (got == 0) return 0;
            long w = caxProdRtsHead(oh, rts(head + got, cnt(oh) + 1));
            if (w == oh) return claim(head, got);
            oh = w;
        }
    }

    private long moveConsHead(int n, boolean fixed, int sync) {
        return switch (sync) {
            case SYNC_ST -> moveConsHeadSt(n, fixed);
            case SYNC_MT -> moveConsHeadMt(n, fixed);
            case SYNC_HTS -> moveConsHeadHts(n, fixed);
            default -> moveConsHeadRts(n, fixed);
        };
    }

    private long moveConsHeadSt(int n, boolean fixed) {
        int head = consHead;
        int entries = prodTailCache - head;
        if (entries < n) {
            // A2 (as in moveConsHeadMt) pairs with R0; the cache can only under-state what is filled.
            entries = (prodTailCache = lvProdTail()) - head;
        }
        int got = fit(n, entries, fixed);
        if (got == 0) return 0;
        consHead = head + got;
        return claim(head, got);
    }

    private long moveConsHeadMt(int n, boolean fixed) {
        int head, got, prodTail;
        do {
            head = lvConsHead(); // A0, as for the producer
            // A2 pairs with R0 (updateProdTail): the slots up to the producer tail are written.
            prodTail = lvProdTail();
            got = fit(n, prodTail - head, fixed);
            if (got == 0) return 0;
        } while (!casConsHead(head, head + got));
        prodTailCache = prodTail;
        return claim(head, got);
    }

    private long moveConsHeadHts(int n, boolean fixed) {
        long ht;
        int head, got;
        do {
            // A4 pairs with R4 (updateConsTail HTS).
            for (int spins = 0; htsHead(ht = lvConsHts()) != htsTail(ht); ) spins = pause(spins);
            head = htsHead(ht);
            got = fit(n, lvProdTail() - head, fixed); // A2
            if (got == 0) return 0;
        } while (!casConsHts(ht, hts(head + got, head)));
        return claim(head, got);
    }

    private long moveConsHeadRts(int n, boolean fixed) {
        long oh = lvConsRtsHead();
        for (;;) {
            for (int spins = 0; pos(oh) - pos(lvConsRtsTail()) > consHtdMax; ) {
                spins = pause(spins);
                oh = lvConsRtsHead();
            }
            int head = pos(oh);
            int got = fit(n, lvProdTail() - head, fixed); // A2
            if (got == 0) return 0;
            long w = caxConsRtsHead(oh, rts(head + got, cnt(oh) + 1));
            if (w == oh) return claim(head, got);
            oh = w;
        }
    }

    // ---------------------------------------------------------------- step 2: copy the elements
    // System.arraycopy, not an unrolled loop: with G1 a loop pays a store check and a card-mark
    // barrier per reference (measured 2.3 ns per object at bulk 32 against 0.7 ns for arraycopy,
    // which checks the array types and marks the cards once per call).

    private void enqueueElems(int head, Object[] objs, int off, int n) {
        int idx = head & mask;
        if (n <= slots.length - idx) {
            System.arraycopy(objs, off, slots, idx, n);
        } else {
            enqueueElemsWrap(idx, objs, off, n);
        }
    }

    private void enqueueElemsWrap(int idx, Object[] objs, int off, int n) {
        int first = slots.length - idx;
        System.arraycopy(objs, off, slots, idx, first);
        System.arraycopy(objs, off + first, slots, 0, n - first);
    }

    private void dequeueElems(int head, Object[] objs, int off, int n) {
        int idx = head & mask;
        if (n <= slots.length - idx) {
            System.arraycopy(slots, idx, objs, off, n);
        } else {
            dequeueElemsWrap(idx, objs, off, n);
        }
    }

    private void dequeueElemsWrap(int idx, Object[] objs, int off, int n) {
        int first = slots.length - idx;
        System.arraycopy(slots, idx, objs, off, first);
        System.arraycopy(slots, 0, objs, off + first, n - first);
    }

    // ---------------------------------------------------------------- step 3: update the tail

    private void updateProdTail(int head, int n, int sync) {
        int tail = head + n;
        switch (sync) {
            case SYNC_ST -> soProdTail(tail); // R0 pairs with A2 (moveConsHead*): publishes our slots
            case SYNC_MT -> {
                // Earlier claimers publish first; A5 pairs with their R0 so our R0 carries their slots too.
                for (int spins = 0; lvProdTail() != head; ) spins = pause(spins);
                soProdTail(tail); // R0
            }
            case SYNC_HTS -> {
                soProdTail(tail);            // R0
                soProdHts(hts(tail, tail));  // R3 pairs with A3: the next claimer may start
            }
            default -> updateProdTailRts();
        }
    }

    private void updateConsTail(int head, int n, int sync) {
        int tail = head + n;
        switch (sync) {
            case SYNC_ST -> soConsTail(tail); // R1 pairs with A1 (moveProdHead*): frees our slots
            case SYNC_MT -> {
                for (int spins = 0; lvConsTail() != head; ) spins = pause(spins); // A5
                soConsTail(tail); // R1
            }
            case SYNC_HTS -> {
                soConsTail(tail);            // R1
                soConsHts(hts(tail, tail));  // R4 pairs with A4
            }
            default -> updateConsTailRts();
        }
    }

    private void updateProdTailRts() {
        long ot = lvProdRtsTail();
        for (;;) {
            long h = lvProdRtsHead();
            int done = cnt(ot) + 1;
            // The last of the claimers so far to finish moves the tail to the head.
            long nt = rts(done == cnt(h) ? pos(h) : pos(ot), done);
            // R5: a CAS chain, so the producer that moves the tail has seen every finished slot write.
            long w = caxProdRtsTail(ot, nt);
            if (w == ot) {
                if (pos(nt) != pos(ot)) publishProdTail(pos(nt));
                return;
            }
            ot = w;
        }
    }

    private void updateConsTailRts() {
        long ot = lvConsRtsTail();
        for (;;) {
            long h = lvConsRtsHead();
            int done = cnt(ot) + 1;
            long nt = rts(done == cnt(h) ? pos(h) : pos(ot), done);
            long w = caxConsRtsTail(ot, nt); // R5
            if (w == ot) {
                if (pos(nt) != pos(ot)) publishConsTail(pos(nt));
                return;
            }
            ot = w;
        }
    }

    // Two RTS finishers may publish out of order; the int tail the other side reads only moves forward.
    private void publishProdTail(int tail) {
        int cur = lvProdTail();
        while (tail - cur > 0) {
            int w = caxProdTail(cur, tail); // R0
            if (w == cur) return;
            cur = w;
        }
    }

    private void publishConsTail(int tail) {
        int cur = lvConsTail();
        while (tail - cur > 0) {
            int w = caxConsTail(cur, tail); // R1
            if (w == cur) return;
            cur = w;
        }
    }

    // HTS pair: head low, tail high. RTS pair: pos high, cnt low.
    static long hts(int head, int tail) { return ((long) tail << 32) | (head & 0xffff_ffffL); }
    static int htsHead(long v) { return (int) v; }
    static int htsTail(long v) { return (int) (v >>> 32); }
    static long rts(int pos, int cnt) { return ((long) pos << 32) | (cnt & 0xffff_ffffL); }
    static int pos(long v) { return (int) (v >>> 32); }
    static int cnt(long v) { return (int) v; }

    /** Prints the ring's indexes and counts, as {@code rte_ring_dump}. */
    public void dump(PrintStream out) {
        out.printf("ring <%s>%n  flags=0x%x prod=%s cons=%s%n  size=%d%n  capacity=%d%n", name, flags,
                SYNC_NAMES[prodSync], SYNC_NAMES[consSync], mask + 1, capacity);
        out.printf("  ct=%d%n  ch=%d%n  pt=%d%n  ph=%d%n", Integer.toUnsignedLong(lvConsTail()),
                Integer.toUnsignedLong(headOf(consSync, consHead, consHts, consRtsHead)),
                Integer.toUnsignedLong(lvProdTail()), Integer.toUnsignedLong(headOf(prodSync, prodHead, prodHts, prodRtsHead)));
        out.printf("  used=%d%n  avail=%d%n", count(), freeCount());
    }

    private static int headOf(int sync, int head, long ht, long rtsHead) {
        return sync == SYNC_HTS ? htsHead(ht) : sync == SYNC_RTS ? pos(rtsHead) : head;
    }

    /** Unregisters the name (rte_ring_free); the object stays usable by threads still holding it. Idempotent. */
    @Override
    public void close() {
        REGISTRY.remove(name, this);
    }

    @Override
    public String toString() {
        return "Ring[" + name + ", capacity " + capacity + ", prod " + SYNC_NAMES[prodSync] + ", cons " + SYNC_NAMES[consSync] + "]";
    }
}
