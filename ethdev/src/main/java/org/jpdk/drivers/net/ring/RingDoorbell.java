package org.jpdk.drivers.net.ring;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.ring.Ring;

import java.lang.invoke.VarHandle;

/**
 * The wake-up side of one ring that net_ring ports use: whoever enqueues into the ring (the tx
 * queue of a net_ring port, or an app's own producer through {@link #enqueueBurst}) rings it, and
 * the net_ring rx queue that dequeues from the ring wakes if its lcore sleeps in rx interrupt mode.
 * <p>
 * Ordering (a Dekker pair, no lost wake-up): the consumer lcore arms its interrupt with a store,
 * a full fence, then looks at the ring (acquire of the producer tail, {@link Ring#isEmpty()}); if
 * it is empty it sleeps. The producer publishes its packets (the ring's release store of the
 * producer tail), a full fence, then reads the armed flag and, if set, clears it with a CAS and
 * writes the consumer's eventfd. With both fences, the two "store, then load the other side's
 * store" sequences cannot both miss: either the consumer sees the packets and does not sleep, or
 * the producer sees the flag and signals. The fence here also comes before the read of
 * {@code consumer}, so a producer that finds no consumer yet has published its packets before an
 * rx queue set up afterwards can arm and look. One fence per burst that moved packets; a syscall
 * only when the consumer is armed.
 */
public final class RingDoorbell {
    private final Ring<Mbuf> ring;
    private volatile RingDriver.RingRxQueue consumer;
    int users; // net_ring devices using the ring; guarded by RingDriver's registry lock

    RingDoorbell(Ring<Mbuf> ring) {
        this.ring = ring;
    }

    /** The ring. */
    public Ring<Mbuf> ring() {
        return ring;
    }

    /**
     * Enqueues as many of {@code pkts[off..off+n)} as fit (as {@link Ring#enqueueBurst}) and wakes
     * the consumer if it sleeps; returns how many. Allocates nothing. The ring's producer sync mode
     * applies (net_ring's own rings are single-producer: one producer at a time).
     */
    public int enqueueBurst(Mbuf[] pkts, int off, int n) {
        int k = ring.enqueueBurst(pkts, off, n);
        if (k > 0) notifyConsumer();
        return k;
    }

    /** After packets were enqueued into the ring by other means: wakes the consumer if it sleeps. */
    public void notifyConsumer() {
        VarHandle.fullFence(); // StoreLoad: the producer tail before the read of consumer (and, in rxInterrupt, of its flag)
        RingDriver.RingRxQueue c = consumer;
        if (c != null) c.wake();
    }

    void attach(RingDriver.RingRxQueue q) {
        consumer = q;
    }

    void detach(RingDriver.RingRxQueue q) {
        if (consumer == q) consumer = null;
    }
}
