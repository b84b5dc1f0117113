package org.jpdk.ethdev;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.util.Set;

/**
 * A test-only driver ({@code net_evtest}) whose link the test sets, and which reports through its
 * port from inside its probe (the order ethdev guarantees: the port exists before the probe runs).
 * {@code fail=1} makes the probe fail after it has seen the port.
 */
public final class EventTestDriver implements EthDriver {
    /** What the last probe saw of its port: "id name". */
    static volatile String seenAtProbe;

    @Override
    public String name() {
        return "net_evtest";
    }

    @Override
    public Set<String> keys() {
        return Set.of("fail");
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        seenAtProbe = port.id() + " " + port.name();
        if (args.boolValue("fail", false)) throw port.error("probe failed on purpose");
        return new Device(port);
    }

    static final class Device extends EthDevOps {
        volatile boolean up = true;

        Device(EthDev port) {
            super(port);
        }

        /** The "cable": changes the link and tells the port, as a driver does when it notices. */
        void setLink(boolean on) {
            up = on;
            raiseEvent(EthEvent.LINK_STATE_CHANGE);
        }

        @Override
        public LinkStatus link(boolean started) {
            return started && up ? new LinkStatus(LinkStatus.SPEED_10G, true, false, true) : LinkStatus.DOWN;
        }

        @Override
        public DevInfo info() {
            return new DevInfo("net_evtest", null, 1, 1, 0, Mbuf.MAX_BUF_SIZE, 68, 1500, 0, 0, 0, 0, 0, 1, 4096, 512, 10_000);
        }

        @Override
        public RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
            return new RxQueue() {
                @Override
                public int rxBurst(Mbuf[] pkts, int off, int n) {
                    return 0;
                }
            };
        }

        @Override
        public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
            return new TxQueue() {
                @Override
                public int txBurst(Mbuf[] pkts, int off, int n) {
                    return 0;
                }
            };
        }
    }
}
