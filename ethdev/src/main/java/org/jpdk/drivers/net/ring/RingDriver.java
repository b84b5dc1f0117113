package org.jpdk.drivers.net.ring;

import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthDriver;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.RxQueue;
import org.jpdk.ethdev.TxQueue;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.ring.Ring;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * DPDK's net_ring: a port whose queues are jpdk {@link Ring}s of mbufs, so that lcores (or two
 * ports) can be wired together in memory. Transmit enqueues (the caller keeps what does not fit,
 * counted in oerrors as DPDK does); receive dequeues. Rings are single-producer/single-consumer:
 * one lcore transmits on a queue, another (or the same) receives from it.
 * <ul>
 * <li>{@code net_ring0} alone: one queue pair on one ring, {@code ETH_RXTX0_net_ring0}; what it
 * sends comes back on its receive side (DPDK's default).
 * <li>{@code nodeaction=NAME:NODE:CREATE|ATTACH} (DPDK's): CREATE makes rings
 * {@code ETH_RXTX<q>_NAME}; ATTACH uses those another port created.
 * <li>{@code rx_ring=R,tx_ring=T} (jpdk's, repeatable, one per queue): named rings, created on
 * first use with {@code size} slots (default 1024). Two ports wired back to back:
 * {@code net_ring0,rx_ring=ba,tx_ring=ab} and {@code net_ring1,rx_ring=ab,tx_ring=ba}.
 * </ul>
 * {@link #fromRings} is rte_eth_from_rings for code that already holds rings.
 * <p>
 * Rx interrupt mode: each ring has a {@link RingDoorbell}. The tx queue that enqueues into a ring
 * rings it after each burst, and the rx queue that dequeues from it wakes its lcore if that lcore
 * armed the interrupt and sleeps; {@link RingDoorbell} explains the ordering that makes a lost
 * wake-up impossible. An app that enqueues into a port's ring itself uses
 * {@link #doorbell(Ring)}{@code .enqueueBurst(...)} (or calls {@code notifyConsumer()} after its own
 * enqueue) to wake a sleeping consumer; a bare {@link Ring#enqueueBurst} is seen only when the
 * consumer next polls (at the latest when its wait times out).
 */
public final class RingDriver implements EthDriver {
    private static final int MAX_QUEUES = 16;
    private static final Map<Ring<Mbuf>, Integer> USERS = new HashMap<>(); // rings this driver created, by user count
    private static final Map<Ring<Mbuf>, RingDoorbell> DOORBELLS = new IdentityHashMap<>(); // every ring a device uses; guarded by USERS

    @Override
    public String name() {
        return "net_ring";
    }

    @Override
    public List<String> aliases() {
        return List.of("eth_ring");
    }

    @Override
    public Set<String> keys() {
        return Set.of("nodeaction", "rx_ring", "tx_ring", "size");
    }

    @Override
    public String usage() {
        return "nodeaction=<name>:<node>:<CREATE|ATTACH>,rx_ring=<name>,tx_ring=<name>,size=<pow2>";
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        Given given = PENDING.get();
        if (given != null) return new Device(port, given.rx(), given.tx(), false);
        int size = args.intValue("size", 1024, 2, Ring.MAX_SIZE);
        if (Integer.bitCount(size) != 1) throw args.error("size", args.get("size"), "not a power of two");
        List<Ring<Mbuf>> rx = new ArrayList<>(), tx = new ArrayList<>();
        List<String> rxNames = args.all("rx_ring"), txNames = args.all("tx_ring");
        String nodeaction = args.get("nodeaction");
        if (nodeaction != null && (!rxNames.isEmpty() || !txNames.isEmpty())) {
            throw args.error("nodeaction", nodeaction, "cannot be combined with rx_ring/tx_ring");
        }
        synchronized (USERS) {
            if (!rxNames.isEmpty() || !txNames.isEmpty()) {
                for (String n : rxNames) rx.add(named(args, "rx_ring", n, size, true));
                for (String n : txNames) tx.add(named(args, "tx_ring", n, size, true));
            } else {
                String base = args.name();
                boolean attach = false;
                if (nodeaction != null) {
                    String[] p = nodeaction.split(":");
                    if (p.length != 3 || p[0].isEmpty()) throw args.error("nodeaction", nodeaction, "expected <name>:<node>:<CREATE|ATTACH>");
                    try {
                        Integer.parseInt(p[1]);
                    } catch (NumberFormatException e) {
                        throw args.error("nodeaction", nodeaction, "node '" + p[1] + "' is not a number");
                    }
                    if (!p[2].equals("CREATE") && !p[2].equals("ATTACH")) throw args.error("nodeaction", nodeaction, "action must be CREATE or ATTACH");
                    base = p[0];
                    attach = p[2].equals("ATTACH");
                }
                Ring<Mbuf> r = named(args, "nodeaction", "ETH_RXTX0_" + base, size, !attach);
                rx.add(r);
                tx.add(r);
            }
            for (Ring<Mbuf> r : rx) USERS.merge(r, 1, Integer::sum);
            for (Ring<Mbuf> r : tx) USERS.merge(r, 1, Integer::sum);
        }
        return new Device(port, rx, tx, true);
    }

    private static Ring<Mbuf> named(Devargs args, String key, String name, int size, boolean create) {
        if (name.isEmpty() || name.length() > Ring.NAME_MAX) {
            throw args.error(key, name, "a ring name of 1.." + Ring.NAME_MAX + " characters");
        }
        Ring<Mbuf> r = Ring.lookup(name);
        if (r != null) {
            if (!r.elementType().isAssignableFrom(Mbuf.class)) {
                throw args.error(key, name, "that ring holds " + r.elementType().getSimpleName() + ", not mbufs");
            }
            if (!USERS.containsKey(r)) USERS.put(r, 0); // a ring the application made: never closed by us
            return r;
        }
        if (!create) throw args.error(key, name, "no ring of that name to attach to");
        r = Ring.create(name, size, Ring.F_SP_ENQ | Ring.F_SC_DEQ, Mbuf.class);
        USERS.put(r, 0);
        return r;
    }

    /**
     * Creates a port over rings the caller owns (rte_eth_from_rings): rx queue i dequeues from
     * {@code rx[i]}, tx queue i enqueues to {@code tx[i]}. Closing the port leaves the rings open.
     */
    public static EthDev fromRings(String name, List<Ring<Mbuf>> rx, List<Ring<Mbuf>> tx) {
        if (rx.isEmpty() && tx.isEmpty()) throw new EalArgumentException("net_ring " + name + ": no rings given");
        PENDING.set(new Given(rx, tx));
        try {
            return EthDev.create(name.startsWith("net_ring") ? name : "net_ring_" + name);
        } finally {
            PENDING.remove();
        }
    }

    /** The caller's rings, handed from {@link #fromRings} to the probe it triggers. */
    private record Given(List<Ring<Mbuf>> rx, List<Ring<Mbuf>> tx) {
    }

    private static final ThreadLocal<Given> PENDING = new ThreadLocal<>();

    /**
     * The doorbell of {@code ring}, a ring that a net_ring port uses: enqueue through it (or ring
     * it after your own enqueue) to wake the port's rx queue when its lcore sleeps on the interrupt.
     *
     * @throws IllegalArgumentException when no net_ring port uses the ring
     */
    public static RingDoorbell doorbell(Ring<Mbuf> ring) {
        synchronized (USERS) {
            RingDoorbell d = DOORBELLS.get(ring);
            if (d == null) throw new IllegalArgumentException("ring " + ring.name() + ": no net_ring port uses it");
            return d;
        }
    }

    private static List<RingDoorbell> acquireDoorbells(List<Ring<Mbuf>> rings) {
        synchronized (USERS) {
            List<RingDoorbell> l = new ArrayList<>(rings.size());
            for (Ring<Mbuf> r : rings) {
                RingDoorbell d = DOORBELLS.computeIfAbsent(r, RingDoorbell::new);
                d.users++;
                l.add(d);
            }
            return l;
        }
    }

    private static void releaseDoorbells(List<RingDoorbell> bells) {
        synchronized (USERS) {
            for (RingDoorbell d : bells) {
                if (--d.users == 0) DOORBELLS.remove(d.ring());
            }
        }
    }

    static final class Device extends EthDevOps {
        final List<Ring<Mbuf>> rx, tx;
        final List<RingDoorbell> rxBells, txBells;
        final boolean ownsRings;
        private boolean closed;

        Device(EthDev port, List<Ring<Mbuf>> rx, List<Ring<Mbuf>> tx, boolean ownsRings) {
            super(port);
            this.rx = List.copyOf(rx);
            this.tx = List.copyOf(tx);
            this.ownsRings = ownsRings;
            this.rxBells = acquireDoorbells(this.rx);
            this.txBells = acquireDoorbells(this.tx);
        }

        @Override
        public DevInfo info() {
            return new DevInfo("net_ring", null, rx.size(), tx.size(), 0, Mbuf.MAX_BUF_SIZE, 68, 65535 - 18,
                    0, Offloads.TX_MULTI_SEGS, 0, 0, 0, 1, 65535, 1024, 10_000);
        }

        @Override
        public RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
            return new RingRxQueue(rx.get(queue), rxBells.get(queue));
        }

        @Override
        public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
            return new RingTxQueue(tx.get(queue), txBells.get(queue));
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            releaseDoorbells(rxBells);
            releaseDoorbells(txBells);
            if (!ownsRings) return;
            synchronized (USERS) {
                List<Ring<Mbuf>> all = new ArrayList<>(rx);
                all.addAll(tx);
                for (Ring<Mbuf> r : all) {
                    Integer users = USERS.get(r);
                    if (users == null) continue;
                    if (users > 1) {
                        USERS.put(r, users - 1);
                        continue;
                    }
                    USERS.remove(r);
                    Mbuf[] left = new Mbuf[64];
                    int k;
                    while ((k = r.dequeueBurst(left, 0, left.length)) > 0) Mbuf.freeBulk(left, 0, k);
                    r.close();
                }
            }
        }
    }

    static final class RingRxQueue extends RxQueue {
        private final Ring<Mbuf> ring;
        private final RingDoorbell doorbell;

        RingRxQueue(Ring<Mbuf> ring, RingDoorbell doorbell) {
            this.ring = ring;
            this.doorbell = doorbell;
            doorbell.attach(this);
        }

        /** Armed and just fenced: acquire of the producer tail, after which a producer must see the flag. */
        @Override
        protected boolean rxPending() {
            return !ring.isEmpty();
        }

        /** From the producer side, after its fence. */
        void wake() {
            rxInterrupt();
        }

        @Override
        protected void release() {
            doorbell.detach(this);
        }

        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            int k = ring.dequeueBurst(pkts, off, n);
            if (k == 0) return 0;
            long bytes = 0;
            int port = portId;
            for (int i = off; i < off + k; i++) {
                Mbuf m = pkts[i];
                m.port = port;
                bytes += m.pktLen();
            }
            countRx(k, bytes);
            return k;
        }
    }

    static final class RingTxQueue extends TxQueue {
        private final Ring<Mbuf> ring;
        private final RingDoorbell doorbell;

        RingTxQueue(Ring<Mbuf> ring, RingDoorbell doorbell) {
            this.ring = ring;
            this.doorbell = doorbell;
        }

        @Override
        public int txBurst(Mbuf[] pkts, int off, int n) {
            if (n <= 0) return 0;
            long bytes = 0;
            for (int i = off; i < off + n; i++) bytes += pkts[i].pktLen();
            int k = ring.enqueueBurst(pkts, off, n);
            if (k < n) {
                for (int i = off + k; i < off + n; i++) bytes -= pkts[i].pktLen();
                countErrors(n - k);
            }
            countTx(k, bytes);
            if (k > 0) doorbell.notifyConsumer();
            return k;
        }
    }
}
