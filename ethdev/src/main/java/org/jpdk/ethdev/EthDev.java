package org.jpdk.ethdev;

import org.jpdk.eal.EalArgumentException;
import org.jpdk.eal.Log;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.time.Duration;
import java.util.List;

/**
 * An Ethernet port, as DPDK's {@code rte_ethdev}: created from a {@code --vdev} device string by the
 * driver whose name it starts with, numbered in creation order, then configured, given queues,
 * started and polled with {@link #rxBurst}/{@link #txBurst}.
 *
 * <pre>
 *   probe ─▶ UNCONFIGURED ─configure─▶ CONFIGURED ─queue setup, start─▶ STARTED
 *                 ▲   reset               ▲  │configure again                │ stop
 *                 └───────────────────────┴──┴───────────────────────────────┘
 *   close (from any state) ─▶ CLOSED: every call but name/id is refused
 * </pre>
 *
 * A call in the wrong state, or with a queue index, descriptor count, offload or MTU the port
 * cannot take, throws {@link EthDevException} with a one-line message and changes nothing. Control
 * calls are synchronized on the port. The burst calls are not: a queue is polled by one lcore at a
 * time, and a port is stopped only after its lcores stopped polling it. A burst on a port that is
 * not started, or on a queue out of range, is refused by the same single bounds check the hot path
 * needs anyway: the live queue arrays are empty unless the port is started.
 *
 * <p>This class is the state machine and the one entry point applications call; each other concern
 * is a class of its own that a driver author can read alone: {@link PortRegistry} (ports and
 * drivers), {@link PortStats} (statistics and xstats), {@link PortRss} (RSS), {@link PortEvents}
 * (event callbacks), and the queues themselves ({@link RxQueue}: counters, rx interrupts, callbacks).
 */
public final class EthDev implements AutoCloseable {
    public static final Log.Type LOG = Log.register("lib.ethdev", "ETHDEV");
    /** As RTE_MAX_ETHPORTS. */
    public static final int MAX_PORTS = 32;

    /** A port's life stage. */
    public enum State { UNCONFIGURED, CONFIGURED, STARTED, CLOSED }

    private static final RxQueue[] NO_RXQ = new RxQueue[0];
    private static final TxQueue[] NO_TXQ = new TxQueue[0];

    private final int id;
    private final String name;
    private final EthDriver driver;
    private final Devargs devargs;
    private EthDevOps ops; // set once, by the registry, right after the driver's probe

    // the hot path reads only these two arrays: empty unless started
    private RxQueue[] rxLive = NO_RXQ;
    private TxQueue[] txLive = NO_TXQ;

    private volatile State state = State.UNCONFIGURED;
    private RxQueue[] rxq = NO_RXQ;
    private TxQueue[] txq = NO_TXQ;
    private PortConf conf = PortConf.defaults();
    private MacAddr mac;
    private int mtu = PortConf.DEFAULT_MTU;
    private boolean promiscuous = true, allMulticast;
    private final PortRss rss = new PortRss(this);
    private final PortStats stats = new PortStats();

    EthDev(int id, Devargs devargs, EthDriver driver) {
        this.id = id;
        this.name = devargs.name();
        this.devargs = devargs;
        this.driver = driver;
    }

    /** Completes the port with its driver side, once the probe returned it. */
    void attach(EthDevOps ops) {
        this.ops = ops;
        this.mac = ops.initialMacAddr();
    }

    // ------------------------------------------------------------------ registry (PortRegistry)

    /** The drivers on the class path, by {@link EthDriver#name()}. */
    public static List<EthDriver> drivers() {
        return PortRegistry.drivers();
    }

    /**
     * Probes a virtual device from a DPDK device string ({@code net_null0,size=128}) and returns
     * its new port, as {@code rte_dev_probe}. The port is closed at EAL cleanup at the latest.
     *
     * @throws EalArgumentException for an unknown driver, a duplicate name, an unknown key or a bad value
     * @throws EthDevException      when the driver cannot get what it needs (a file, an interface)
     */
    public static EthDev create(String deviceString) {
        return PortRegistry.create(deviceString);
    }

    /** Port {@code portId}; throws naming the valid ids if there is none. */
    public static EthDev get(int portId) {
        return PortRegistry.get(portId);
    }

    /** The port named {@code name}, or null. */
    public static EthDev byName(String name) {
        return PortRegistry.byName(name);
    }

    /** Ports ever created in this EAL, closed ones included (ids are not reused). */
    public static int count() {
        return PortRegistry.count();
    }

    /** The ports that are not closed, in id order (RTE_ETH_FOREACH_DEV). */
    public static List<EthDev> all() {
        return PortRegistry.all();
    }

    /** Closes every port and forgets them; EAL cleanup calls this before memory goes. */
    public static void closeAll() {
        PortRegistry.closeAll();
    }

    // ------------------------------------------------------------------ identity and info

    public int id() {
        return id;
    }

    public String name() {
        return name;
    }

    public String driverName() {
        return driver.name();
    }

    public Devargs devargs() {
        return devargs;
    }

    public State state() {
        return state;
    }

    public boolean isStarted() {
        return state == State.STARTED;
    }

    public synchronized DevInfo info() {
        checkNotClosed("info");
        return ops.info();
    }

    /** The driver side, for driver-specific calls ({@code (PcapDevice) port.ops()}). */
    public EthDevOps ops() {
        return ops;
    }

    public synchronized int nbRxQueues() {
        return rxq.length;
    }

    public synchronized int nbTxQueues() {
        return txq.length;
    }

    public synchronized PortConf conf() {
        return conf;
    }

    /** The socket the port's memory sits on; -1 (any) for virtual devices. */
    public int socketId() {
        return -1;
    }

    // ------------------------------------------------------------------ configure and queues

    /**
     * Sets the number of queues and the port configuration (rte_eth_dev_configure). Allowed when
     * the port is not started; previously set up queues are released.
     */
    public synchronized void configure(int nbRxQueues, int nbTxQueues, PortConf conf) {
        checkNotClosed("configure");
        if (state == State.STARTED) throw error("configure while started; stop the port first");
        DevInfo info = ops.info();
        if (nbRxQueues < 0 || nbRxQueues > info.maxRxQueues()) {
            throw error("nb_rx_queues=" + nbRxQueues + ": allowed 0.." + info.maxRxQueues());
        }
        if (nbTxQueues < 0 || nbTxQueues > info.maxTxQueues()) {
            throw error("nb_tx_queues=" + nbTxQueues + ": allowed 0.." + info.maxTxQueues());
        }
        if (nbRxQueues == 0 && nbTxQueues == 0) throw error("nb_rx_queues=0 and nb_tx_queues=0: a port needs a queue");
        long badRx = conf.rxOffloads() & ~info.rxOffloadCapa();
        if (badRx != 0) {
            throw error("rx offloads " + Offloads.rxNames(badRx) + " requested; driver " + driver.name() + " offers "
                    + (info.rxOffloadCapa() == 0 ? "none" : Offloads.rxNames(info.rxOffloadCapa())));
        }
        long badTx = conf.txOffloads() & ~info.txOffloadCapa();
        if (badTx != 0) {
            throw error("tx offloads " + Offloads.txNames(badTx) + " requested; driver " + driver.name() + " offers "
                    + (info.txOffloadCapa() == 0 ? "none" : Offloads.txNames(info.txOffloadCapa())));
        }
        PortRss.check(this, info, conf);
        int newMtu = conf.mtu() == 0 ? Math.min(PortConf.DEFAULT_MTU, info.maxMtu()) : conf.mtu();
        checkMtu(info, newMtu);
        ops.configure(nbRxQueues, nbTxQueues, conf);
        releaseQueues();
        this.conf = conf;
        this.mtu = newMtu;
        this.rxq = new RxQueue[nbRxQueues];
        this.txq = new TxQueue[nbTxQueues];
        rss.configure(info, conf, nbRxQueues, ops);
        state = State.CONFIGURED;
    }

    /** {@link #rxQueueSetup(int, int, int, Mempool)} on any socket. */
    public void rxQueueSetup(int queue, int nbDesc, Mempool<Mbuf> pool) {
        rxQueueSetup(queue, nbDesc, -1, pool);
    }

    /**
     * Sets up receive queue {@code queue} with {@code nbDesc} descriptors (0 for the driver's
     * default) whose mbufs come from {@code pool} (rte_eth_rx_queue_setup). Allowed when configured
     * and not started.
     */
    public synchronized void rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
        checkQueueSetup("rx", queue, rxq.length);
        if (pool == null) throw error("rx queue " + queue + ": no mempool given");
        DevInfo info = ops.info();
        int room = Mbuf.dataRoomSize(pool) - Mbuf.DEFAULT_HEADROOM;
        if (room < info.minRxBufSize()) {
            throw error("rx queue " + queue + ": mempool " + pool.name() + " has " + room + " bytes of data room after headroom; driver "
                    + driver.name() + " needs at least " + info.minRxBufSize());
        }
        int n = checkDesc("rx", queue, nbDesc, info);
        RxQueue old = rxq[queue];
        if (old != null) {
            stats.released(old);
            old.releaseInterrupt();
            old.release();
            rxq[queue] = null;
        }
        RxQueue q = ops.rxQueueSetup(queue, n, socketId, pool);
        q.portId = id;
        q.queueId = queue;
        rxq[queue] = q;
    }

    /** {@link #txQueueSetup(int, int, int)} on any socket. */
    public void txQueueSetup(int queue, int nbDesc) {
        txQueueSetup(queue, nbDesc, -1);
    }

    /** Sets up transmit queue {@code queue} (rte_eth_tx_queue_setup); see {@link #rxQueueSetup}. */
    public synchronized void txQueueSetup(int queue, int nbDesc, int socketId) {
        checkQueueSetup("tx", queue, txq.length);
        int n = checkDesc("tx", queue, nbDesc, ops.info());
        TxQueue old = txq[queue];
        if (old != null) {
            stats.released(old);
            old.release();
            txq[queue] = null;
        }
        TxQueue q = ops.txQueueSetup(queue, n, socketId);
        q.portId = id;
        q.queueId = queue;
        txq[queue] = q;
    }

    private void checkQueueSetup(String dir, int queue, int configured) {
        checkNotClosed(dir + " queue setup");
        if (state == State.UNCONFIGURED) throw error(dir + " queue setup before configure");
        if (state == State.STARTED) throw error(dir + " queue setup while started; stop the port first");
        if (queue < 0 || queue >= configured) throw error(dir + " queue " + queue + " out of range; configured " + configured);
    }

    private int checkDesc(String dir, int queue, int nbDesc, DevInfo info) {
        if (nbDesc == 0) return info.defaultDesc();
        if (nbDesc < info.minDesc() || nbDesc > info.maxDesc()) {
            throw error(dir + " queue " + queue + ": nb_desc=" + nbDesc + ": allowed " + info.minDesc() + ".." + info.maxDesc());
        }
        return nbDesc;
    }

    // ------------------------------------------------------------------ start, stop, close, reset

    /** Starts the port (rte_eth_dev_start): every configured queue must be set up. Starting a started port does nothing. */
    public synchronized void start() {
        checkNotClosed("start");
        if (state == State.STARTED) return;
        if (state == State.UNCONFIGURED) throw error("start before configure");
        for (int i = 0; i < rxq.length; i++) if (rxq[i] == null) throw error("start: rx queue " + i + " is not set up");
        for (int i = 0; i < txq.length; i++) if (txq[i] == null) throw error("start: tx queue " + i + " is not set up");
        ops.start();
        rxLive = rxq.clone();
        txLive = txq.clone();
        state = State.STARTED;
    }

    /**
     * Stops the port (rte_eth_dev_stop); bursts are refused afterwards. Call it only once no lcore
     * polls the port. Stopping a stopped port does nothing.
     */
    public synchronized void stop() {
        checkNotClosed("stop");
        if (state != State.STARTED) return;
        rxLive = NO_RXQ;
        txLive = NO_TXQ;
        state = State.CONFIGURED;
        ops.stop();
    }

    /** Stops the port, releases its queues and the driver's resources (rte_eth_dev_close). Idempotent. */
    @Override
    public synchronized void close() {
        if (state == State.CLOSED) return;
        stop();
        releaseQueues();
        state = State.CLOSED;
        ops.close();
        PortEvents.raise(this, EthEvent.DESTROY);
        PortEvents.forget(this);
    }

    /** Stops the port and returns it to the unconfigured state (rte_eth_dev_reset); configure it again. */
    public synchronized void reset() {
        checkNotClosed("reset");
        stop();
        releaseQueues();
        ops.reset();
        rxq = NO_RXQ;
        txq = NO_TXQ;
        state = State.UNCONFIGURED;
    }

    private void releaseQueues() {
        for (int i = 0; i < rxq.length; i++) {
            if (rxq[i] != null) {
                stats.released(rxq[i]);
                rxq[i].releaseInterrupt();
                rxq[i].release();
                rxq[i] = null;
            }
        }
        for (int i = 0; i < txq.length; i++) {
            if (txq[i] != null) {
                stats.released(txq[i]);
                txq[i].release();
                txq[i] = null;
            }
        }
    }

    // ------------------------------------------------------------------ fast path

    /** {@link #rxBurst(int, Mbuf[], int, int)} into {@code pkts[0..n)}. */
    public int rxBurst(int queue, Mbuf[] pkts, int n) {
        return rxBurst(queue, pkts, 0, n);
    }

    /**
     * Receives up to {@code n} packets from {@code queue} into {@code pkts[off..off+n)} and
     * returns how many (rte_eth_rx_burst); the caller owns them. Allocates nothing. Refused with
     * {@link EthDevException} when the port is not started or the queue is out of range.
     */
    public int rxBurst(int queue, Mbuf[] pkts, int off, int n) {
        RxQueue[] live = rxLive;
        if (Integer.compareUnsigned(queue, live.length) >= 0) throw burstRefused("rx", queue);
        RxQueue q = live[queue];
        int nb = q.rxBurst(pkts, off, n);
        RxCallback[] cbs = q.callbacks;
        if (cbs != null && nb > 0) nb = q.runCallbacks(cbs, pkts, off, nb, n);
        return nb;
    }

    /** {@link #txBurst(int, Mbuf[], int, int)} from {@code pkts[0..n)}. */
    public int txBurst(int queue, Mbuf[] pkts, int n) {
        return txBurst(queue, pkts, 0, n);
    }

    /**
     * Sends the first {@code k} of {@code pkts[off..off+n)} on {@code queue} and returns k
     * (rte_eth_tx_burst): the port owns those now; the caller frees or retries the rest. Allocates
     * nothing. Refused when the port is not started or the queue is out of range.
     */
    public int txBurst(int queue, Mbuf[] pkts, int off, int n) {
        TxQueue[] live = txLive;
        if (Integer.compareUnsigned(queue, live.length) >= 0) throw burstRefused("tx", queue);
        TxQueue q = live[queue];
        TxCallback[] cbs = q.callbacks;
        if (cbs != null) n = q.runCallbacks(cbs, pkts, off, n);
        return q.txBurst(pkts, off, n);
    }

    private EthDevException burstRefused(String dir, int queue) {
        State s = state;
        if (s != State.STARTED) return error(dir + " burst on queue " + queue + " while the port is " + s.name().toLowerCase() + "; start it first");
        int configured = dir.equals("rx") ? rxq.length : txq.length;
        return error(dir + " queue " + queue + " out of range; configured " + configured);
    }

    // ------------------------------------------------------------------ rx interrupts

    /**
     * Enables the interrupt of rx queue {@code queue} (rte_eth_dev_rx_intr_enable): a
     * {@link RxWaitSet} holding the queue then wakes when the queue has packets, including packets
     * that arrived before this call. For the lcore that polls the queue, while the port is
     * started; checked like a burst, allocates nothing. For a queue without an fd of its own it is
     * a store and a fence (plus one eventfd write if packets are waiting); for a queue with one, an
     * epoll_ctl that re-arms it in its wait set.
     */
    public void rxIntrEnable(int queue) {
        RxQueue[] live = rxLive;
        if (Integer.compareUnsigned(queue, live.length) >= 0) throw intrRefused("rx intr enable", queue);
        live[queue].enableInterrupt();
    }

    /**
     * Disables the interrupt of rx queue {@code queue} (rte_eth_dev_rx_intr_disable), after the
     * lcore woke, before it polls again. A queue with an fd of its own was armed one-shot, so it
     * reports at most once more. Same checks as {@link #rxIntrEnable}.
     */
    public void rxIntrDisable(int queue) {
        RxQueue[] live = rxLive;
        if (Integer.compareUnsigned(queue, live.length) >= 0) throw intrRefused("rx intr disable", queue);
        live[queue].disarmInterrupt();
    }

    /**
     * The fd that polls readable while rx queue {@code queue} has packets and its interrupt is
     * enabled (rte_eth_dev_rx_intr_ctl_q_get_fd): the driver's own fd (socket, tap) or an eventfd
     * that ethdev creates for the queue on first use. For an app's own epoll: an eventfd stays
     * readable until read (8 bytes); {@link RxWaitSet} does that for you. The queue must be set up.
     */
    public synchronized int rxIntrFd(int queue) {
        return rxIntrSetUp(queue, "rx intr fd").intrFd;
    }

    /** The set-up queue {@code queue} with its interrupt fd ready (the eventfd made if it needs one). */
    synchronized RxQueue rxIntrSetUp(int queue, String what) {
        checkNotClosed(what);
        if (state == State.UNCONFIGURED) throw error(what + " on rx queue " + queue + " before configure");
        if (queue < 0 || queue >= rxq.length) throw error(what + ": rx queue " + queue + " out of range; configured " + rxq.length);
        RxQueue q = rxq[queue];
        if (q == null) throw error(what + ": rx queue " + queue + " is not set up");
        q.interruptSetUp();
        return q;
    }

    private EthDevException intrRefused(String what, int queue) {
        State s = state;
        if (s != State.STARTED) return error(what + " on rx queue " + queue + " while the port is " + s.name().toLowerCase() + "; start it first");
        return error(what + ": rx queue " + queue + " out of range; configured " + rxq.length);
    }

    // ------------------------------------------------------------------ callbacks

    /** A registered callback, for removal. */
    public record CallbackHandle(EthDev port, int queue, boolean rx, Object callback) {
    }

    /** Adds {@code cb} after the driver on rx queue {@code queue} (rte_eth_add_rx_callback); it takes effect on the next burst. */
    public synchronized CallbackHandle addRxCallback(int queue, RxCallback cb) {
        setUpQueue(rxq, "rx", queue).addCallback(cb);
        return new CallbackHandle(this, queue, true, cb);
    }

    /** Adds {@code cb} before the driver on tx queue {@code queue} (rte_eth_add_tx_callback). */
    public synchronized CallbackHandle addTxCallback(int queue, TxCallback cb) {
        setUpQueue(txq, "tx", queue).addCallback(cb);
        return new CallbackHandle(this, queue, false, cb);
    }

    /**
     * Removes a callback. An lcore in the middle of a burst may still run it once: free what it
     * uses only after that lcore's next burst.
     */
    public synchronized boolean removeCallback(CallbackHandle h) {
        if (h.port() != this) throw error("callback belongs to port " + h.port().id);
        if (h.rx()) {
            return h.queue() < rxq.length && rxq[h.queue()] != null && rxq[h.queue()].removeCallback((RxCallback) h.callback());
        }
        return h.queue() < txq.length && txq[h.queue()] != null && txq[h.queue()].removeCallback((TxCallback) h.callback());
    }

    /** A registered event callback, for {@link #removeEventCallback}. */
    public static final class EventHandle {
        final PortEvents.Registration registration;

        EventHandle(PortEvents.Registration registration) {
            this.registration = registration;
        }
    }

    /**
     * Calls {@code cb} on ethdev's event thread whenever this port raises {@code event}
     * (rte_eth_dev_callback_register). See {@link EthEventCallback} for where and how it runs.
     */
    public EventHandle addEventCallback(EthEvent event, EthEventCallback cb) {
        return new EventHandle(PortEvents.register(this, event, cb));
    }

    /** Calls {@code cb} for {@code event} of every port, present and future (RTE_ETH_ALL). */
    public static EventHandle addEventCallbackAll(EthEvent event, EthEventCallback cb) {
        return new EventHandle(PortEvents.register(null, event, cb));
    }

    /** Removes an event callback (rte_eth_dev_callback_unregister); false if it was removed already. */
    public static boolean removeEventCallback(EventHandle h) {
        return PortEvents.unregister(h.registration);
    }

    /** Queues {@code event} for this port's callbacks; for drivers, through {@link EthDevOps#raiseEvent}. */
    void raiseEvent(EthEvent event) {
        PortEvents.raise(this, event);
    }

    private <Q> Q setUpQueue(Q[] qs, String dir, int queue) {
        checkNotClosed(dir + " callback");
        if (queue < 0 || queue >= qs.length) throw error(dir + " queue " + queue + " out of range; configured " + qs.length);
        if (qs[queue] == null) throw error(dir + " queue " + queue + " is not set up");
        return qs[queue];
    }

    // ------------------------------------------------------------------ link, addresses, modes

    public synchronized LinkStatus link() {
        checkNotClosed("link");
        return ops.link(state == State.STARTED);
    }

    /** Polls the link until it is up or {@code timeout} passes (rte_eth_link_get with wait); returns the last status. */
    public LinkStatus waitLinkUp(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            LinkStatus l = link();
            if (l.up() || System.nanoTime() - deadline >= 0) return l;
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return l;
            }
        }
    }

    public synchronized MacAddr macAddr() {
        checkNotClosed("mac address");
        return mac;
    }

    /** Sets the port's address (rte_eth_dev_default_mac_addr_set); refuses multicast and zero. */
    public synchronized void setMacAddr(MacAddr addr) {
        checkNotClosed("set mac address");
        if (addr.isMulticast() || addr.isZero()) throw error("mac address " + addr + ": not a unicast address");
        ops.setMacAddr(addr);
        mac = addr;
    }

    public synchronized int mtu() {
        return mtu;
    }

    /** Sets the MTU within the driver's limits (rte_eth_dev_set_mtu). */
    public synchronized void setMtu(int newMtu) {
        checkNotClosed("set mtu");
        checkMtu(ops.info(), newMtu);
        ops.setMtu(newMtu);
        mtu = newMtu;
    }

    private void checkMtu(DevInfo info, int m) {
        if (m < info.minMtu() || m > info.maxMtu()) throw error("mtu " + m + ": allowed " + info.minMtu() + ".." + info.maxMtu());
    }

    public synchronized boolean promiscuous() {
        return promiscuous;
    }

    public synchronized void setPromiscuous(boolean on) {
        checkNotClosed("promiscuous");
        ops.setPromiscuous(on);
        promiscuous = on;
    }

    public synchronized boolean allMulticast() {
        return allMulticast;
    }

    public synchronized void setAllMulticast(boolean on) {
        checkNotClosed("allmulticast");
        ops.setAllMulticast(on);
        allMulticast = on;
    }

    // ------------------------------------------------------------------ RSS

    /** The RSS hash functions in use. */
    public synchronized long rssHashFunctions() {
        return rss.hashFunctions();
    }

    /** The RSS key in use, or null for the driver's default. */
    public synchronized byte[] rssKey() {
        return rss.key();
    }

    /** Changes hash functions and key (rte_eth_dev_rss_hash_update); key null keeps the current one. */
    public synchronized void rssHashUpdate(long hf, byte[] key) {
        checkNotClosed("rss hash update");
        rss.hashUpdate(ops.info(), hf, key, ops);
    }

    /** The redirection table: entry i is the rx queue for hash values whose low bits are i. */
    public synchronized int[] reta() {
        return rss.reta();
    }

    /** Replaces the redirection table (rte_eth_dev_rss_reta_update); every entry must name a configured rx queue. */
    public synchronized void retaUpdate(int[] table) {
        checkNotClosed("reta update");
        rss.retaUpdate(ops.info(), table, rxq.length, ops);
    }

    // ------------------------------------------------------------------ statistics

    /** Basic statistics since start or the last {@link #statsReset()} (rte_eth_stats_get). */
    public synchronized EthStats stats() {
        checkNotClosed("stats");
        return stats.stats(rxq, txq, ops);
    }

    /** Zeroes what {@link #stats()} and {@link #xstats()} report, without writing the lcores' counters. */
    public synchronized void statsReset() {
        checkNotClosed("stats reset");
        stats.reset(rxq, txq, ops);
    }

    /**
     * Extended statistics by name (rte_eth_xstats_get_names + get): DPDK's generic ones
     * (rx_good_packets, ..., rx_q0_packets, ...) then the driver's.
     */
    public synchronized List<Xstat> xstats() {
        checkNotClosed("xstats");
        return stats.xstats(rxq, txq, ops);
    }

    /** One extended statistic by name; throws naming the known names if there is none. */
    public long xstat(String xname) {
        List<Xstat> all = xstats();
        for (Xstat x : all) if (x.name().equals(xname)) return x.value();
        throw error("no xstat named " + xname + "; known: " + String.join(", ", all.stream().map(Xstat::name).toList()));
    }

    // ------------------------------------------------------------------ errors

    private void checkNotClosed(String what) {
        if (state == State.CLOSED) throw error(what + ": the port is closed");
    }

    /** An error about this port: {@code port 0 (net_null0): <what>}. */
    public EthDevException error(String what) {
        return new EthDevException("port " + id + " (" + name + "): " + what);
    }

    @Override
    public String toString() {
        return "port " + id + " (" + name + ", " + driver.name() + ", " + state.name().toLowerCase() + ")";
    }
}
