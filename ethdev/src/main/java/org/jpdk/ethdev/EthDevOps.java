package org.jpdk.ethdev;

import org.jpdk.jfr.DriverErrorEvent;
import org.jpdk.jfr.PeerDisconnectEvent;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.util.List;

/**
 * A driver's side of one port (DPDK's eth_dev_ops). {@link EthDev} owns the state machine, checks
 * every argument against {@link #info()} and keeps the generic state (MAC, MTU, promiscuous, RSS,
 * statistics baselines); it calls these hooks only in a valid state with valid arguments, from
 * one control thread at a time. A hook refuses what its device cannot do by throwing
 * {@link EthDevException} with a one-line message; the port then stays as it was.
 */
public abstract class EthDevOps {
    /**
     * The port this driver instance serves, from the driver's probe on. During the probe only its
     * identity ({@link EthDev#id()}, {@link EthDev#name()}), {@link EthDev#error} and
     * {@link #raiseEvent} may be used; the rest of the port API works once the probe returned.
     */
    protected final EthDev port;

    /** @param port the port given to {@link EthDriver#probe} */
    protected EthDevOps(EthDev port) {
        this.port = port;
    }

    /**
     * Tells the port's event callbacks that {@code event} happened (e.g. the link went down because
     * the interface was deleted). Only queues the event: callable from any thread, a polling lcore
     * included, and never runs user code on the caller. Allocates a little: call it on a change,
     * not per burst.
     */
    protected final void raiseEvent(EthEvent event) {
        port.raiseEvent(event);
    }

    /**
     * Tells a flight recording that the port's peer went away ({@code org.jpdk.PeerDisconnect}, and
     * {@code org.jpdk.DriverError} too when {@code protocolError}: the driver cut a peer that broke
     * the protocol). Call it where the disconnect is counted, off the polling lcores; without a
     * recording it costs a check.
     */
    protected final void peerDisconnected(String reason, boolean protocolError) {
        PeerDisconnectEvent.emit(port.id(), port.name(), port.driverName(), reason, protocolError);
        if (protocolError) DriverErrorEvent.emit(port.id(), port.name(), port.driverName(), "peer broke the protocol: " + reason);
    }

    /** Capabilities and limits; may change after configure (e.g. queues of a tap). */
    public abstract DevInfo info();

    /** Applies a configuration that {@link EthDev} has already checked against {@link #info()}. */
    public void configure(int nbRxQueues, int nbTxQueues, PortConf conf) {
    }

    /** Creates receive queue {@code queue}; {@code nbDesc} is within the info limits. */
    public abstract RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool);

    /** Creates transmit queue {@code queue}. */
    public abstract TxQueue txQueueSetup(int queue, int nbDesc, int socketId);

    /** Starts the device; its queues exist. */
    public void start() {
    }

    /** Stops the device; no lcore polls it any more. */
    public void stop() {
    }

    /** Releases everything the device holds (after stop and after its queues were released). */
    public void close() {
    }

    /** Returns the device to its probed state (rte_eth_dev_reset), after stop. */
    public void reset() {
    }

    /** The link now; {@code started} says whether the port is started. Default: 10G full duplex, up when started. */
    public LinkStatus link(boolean started) {
        return started ? new LinkStatus(LinkStatus.SPEED_10G, true, false, true) : LinkStatus.DOWN;
    }

    /** The address the device is probed with. */
    public MacAddr initialMacAddr() {
        return MacAddr.random();
    }

    public void setMacAddr(MacAddr mac) {
    }

    public void setPromiscuous(boolean on) {
    }

    public void setAllMulticast(boolean on) {
    }

    public void setMtu(int mtu) {
    }

    /** Applies RSS hash functions and key (only called when {@link DevInfo#flowTypeRssOffloads()} is non-zero). */
    public void rssHashUpdate(long rssHf, byte[] key) {
    }

    /** Applies a redirection table (only called when {@link DevInfo#retaSize()} is non-zero). */
    public void retaUpdate(int[] reta) {
    }

    /** Port-level packets dropped outside any queue's count, added to imissed. */
    public long imissed() {
        return 0;
    }

    /** Port-level receive errors outside any queue's count (a kernel's count of bad descriptors), added to ierrors. */
    public long ierrors() {
        return 0;
    }

    /** Port-level transmit errors outside any queue's count, added to oerrors. */
    public long oerrors() {
        return 0;
    }

    /** Driver-specific extended statistics, after the generic ones. */
    public List<Xstat> xstats() {
        return List.of();
    }
}
