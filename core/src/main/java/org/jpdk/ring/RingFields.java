package org.jpdk.ring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

// Padding by inheritance (JCTools, Agrona): HotSpot lays out superclass fields first, so each
// pad class puts 128 bytes (two lines, against the adjacent-line prefetcher) between its
// neighbours. The field layout is drawn in Ring's class comment.

abstract class RingPad0 {
    long p00, p01, p02, p03, p04, p05, p06, p07; //  64 bytes
    long p08, p09, p10, p11, p12, p13, p14, p15; // 128 bytes
}

/** Producer state: written by producers, read by consumers only through {@link #lvProdTail()}. */
abstract class RingProducer extends RingPad0 {
    private static final VarHandle PROD_HEAD;
    private static final VarHandle PROD_TAIL;
    private static final VarHandle PROD_HTS;
    private static final VarHandle PROD_RTS_HEAD;
    private static final VarHandle PROD_RTS_TAIL;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PROD_HEAD = l.findVarHandle(RingProducer.class, "prodHead", int.class);
            PROD_TAIL = l.findVarHandle(RingProducerTail.class, "prodTail", int.class);
            PROD_HTS = l.findVarHandle(RingProducer.class, "prodHts", long.class);
            PROD_RTS_HEAD = l.findVarHandle(RingProducer.class, "prodRtsHead", long.class);
            PROD_RTS_TAIL = l.findVarHandle(RingProducer.class, "prodRtsTail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** HTS mode: head in the low 32 bits, tail in the high 32 bits, moved by one CAS. */
    long prodHts;
    /** RTS mode: (pos, cnt) pairs, see {@link Ring#pos(long)}. */
    long prodRtsHead, prodRtsTail;
    /** Next slot to claim (MT/ST modes). */
    int prodHead;
    /**
     * A consumer tail seen earlier (by the ST path or the last MT claim), so the ST path reads the
     * consumer's line only when this says full. Never ahead of the real tail, so never unsafe;
     * like DPDK's head CAS, it assumes no thread stalls for 2^31 ring operations mid-call.
     */
    int consTailCache;

    final int lvProdHead() { return (int) PROD_HEAD.getAcquire(this); }
    final int lvProdTail() { return (int) PROD_TAIL.getAcquire(this); }
    final void soProdTail(int v) { PROD_TAIL.setRelease(this, v); }
    final boolean casProdHead(int expect, int v) { return PROD_HEAD.compareAndSet(this, expect, v); }
    final int caxProdTail(int expect, int v) { return (int) PROD_TAIL.compareAndExchange(this, expect, v); }
    final long lvProdHts() { return (long) PROD_HTS.getAcquire(this); }
    final void soProdHts(long v) { PROD_HTS.setRelease(this, v); }
    final boolean casProdHts(long expect, long v) { return PROD_HTS.compareAndSet(this, expect, v); }
    final long lvProdRtsHead() { return (long) PROD_RTS_HEAD.getAcquire(this); }
    final long caxProdRtsHead(long expect, long v) { return (long) PROD_RTS_HEAD.compareAndExchange(this, expect, v); }
    final long lvProdRtsTail() { return (long) PROD_RTS_TAIL.getAcquire(this); }
    final long caxProdRtsTail(long expect, long v) { return (long) PROD_RTS_TAIL.compareAndExchange(this, expect, v); }
}

abstract class RingPadP extends RingProducer {
    long p30, p31, p32, p33, p34, p35, p36, p37; //  64 bytes
    long p38, p39, p3a, p3b, p3c, p3d, p3e, p3f; // 128 bytes
}

/**
 * The producer tail, alone on its line: consumers poll it, and producer-private writes (head,
 * cached consumer tail) would otherwise invalidate their copy on every enqueue.
 */
abstract class RingProducerTail extends RingPadP {
    /** Slots before this are published to consumers (every mode). */
    int prodTail;
}

abstract class RingPad1 extends RingProducerTail {
    long p10, p11, p12, p13, p14, p15, p16, p17; //  64 bytes
    long p18, p19, p1a, p1b, p1c, p1d, p1e, p1f; // 128 bytes
}

/** Consumer state, the mirror of {@link RingProducer}. */
abstract class RingConsumer extends RingPad1 {
    private static final VarHandle CONS_HEAD;
    private static final VarHandle CONS_TAIL;
    private static final VarHandle CONS_HTS;
    private static final VarHandle CONS_RTS_HEAD;
    private static final VarHandle CONS_RTS_TAIL;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            CONS_HEAD = l.findVarHandle(RingConsumer.class, "consHead", int.class);
            CONS_TAIL = l.findVarHandle(RingConsumerTail.class, "consTail", int.class);
            CONS_HTS = l.findVarHandle(RingConsumer.class, "consHts", long.class);
            CONS_RTS_HEAD = l.findVarHandle(RingConsumer.class, "consRtsHead", long.class);
            CONS_RTS_TAIL = l.findVarHandle(RingConsumer.class, "consRtsTail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    long consHts;
    long consRtsHead, consRtsTail;
    int consHead;
    /** A producer tail seen earlier; see {@link RingProducer#consTailCache}. */
    int prodTailCache;

    final int lvConsHead() { return (int) CONS_HEAD.getAcquire(this); }
    final int lvConsTail() { return (int) CONS_TAIL.getAcquire(this); }
    final void soConsTail(int v) { CONS_TAIL.setRelease(this, v); }
    final boolean casConsHead(int expect, int v) { return CONS_HEAD.compareAndSet(this, expect, v); }
    final int caxConsTail(int expect, int v) { return (int) CONS_TAIL.compareAndExchange(this, expect, v); }
    final long lvConsHts() { return (long) CONS_HTS.getAcquire(this); }
    final void soConsHts(long v) { CONS_HTS.setRelease(this, v); }
    final boolean casConsHts(long expect, long v) { return CONS_HTS.compareAndSet(this, expect, v); }
    final long lvConsRtsHead() { return (long) CONS_RTS_HEAD.getAcquire(this); }
    final long caxConsRtsHead(long expect, long v) { return (long) CONS_RTS_HEAD.compareAndExchange(this, expect, v); }
    final long lvConsRtsTail() { return (long) CONS_RTS_TAIL.getAcquire(this); }
    final long caxConsRtsTail(long expect, long v) { return (long) CONS_RTS_TAIL.compareAndExchange(this, expect, v); }
}

abstract class RingPadC extends RingConsumer {
    long p40, p41, p42, p43, p44, p45, p46, p47; //  64 bytes
    long p48, p49, p4a, p4b, p4c, p4d, p4e, p4f; // 128 bytes
}

/** The consumer tail, alone on its line for the same reason as {@link RingProducerTail}. */
abstract class RingConsumerTail extends RingPadC {
    int consTail;
}

abstract class RingPad2 extends RingConsumerTail {
    long p20, p21, p22, p23, p24, p25, p26, p27; //  64 bytes
    long p28, p29, p2a, p2b, p2c, p2d, p2e, p2f; // 128 bytes
}
