package org.jpdk.drivers.net.nullpmd;

import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthDriver;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.RxQueue;
import org.jpdk.ethdev.TxQueue;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * DPDK's net_null: a port with no wire. Receive hands out {@code size}-byte packets fresh from the
 * queue's mempool (as fast as the pool goes); transmit frees what it is given. With {@code copy=1}
 * receive copies {@code size} bytes of a dummy packet into each mbuf and transmit copies each packet
 * out, as DPDK's copy mode does, to price a memcpy per packet. {@code no-rx=1} receives nothing.
 * Devargs: {@code size} (default 64), {@code copy} (0), {@code no-rx} (0). It also keeps RSS settings
 * (hash functions, 40-byte key, 128-entry table) so that apps can exercise those calls. In rx
 * interrupt mode a receiving queue always has packets, so enabling its interrupt fires it at once
 * ({@link RxQueue#rxPending()} is true); a no-rx queue never fires.
 */
public final class NullDriver implements EthDriver {
    public static final int DEFAULT_SIZE = 64;
    private static final int MAX_QUEUES = 64;

    @Override
    public String name() {
        return "net_null";
    }

    @Override
    public java.util.List<String> aliases() {
        return java.util.List.of("eth_null");
    }

    @Override
    public Set<String> keys() {
        return Set.of("size", "copy", "no-rx");
    }

    @Override
    public String usage() {
        return "size=<int>,copy=<0|1>,no-rx=<0|1>";
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        int size = args.intValue("size", DEFAULT_SIZE, 0, Mbuf.MAX_BUF_SIZE);
        boolean copy = args.boolValue("copy", false);
        boolean noRx = args.boolValue("no-rx", false);
        if (copy && noRx) throw args.error("no-rx", args.get("no-rx"), "cannot be combined with copy=1");
        return new Device(port, size, copy, noRx);
    }

    static final class Device extends EthDevOps {
        final int size;
        final boolean copy, noRx;
        final MemorySegment dummy; // the packet copy mode copies from and to

        Device(EthDev port, int size, boolean copy, boolean noRx) {
            super(port);
            this.size = size;
            this.copy = copy;
            this.noRx = noRx;
            this.dummy = copy ? Arena.ofAuto().allocate(Math.max(size, 1), 64) : MemorySegment.NULL;
        }

        @Override
        public DevInfo info() {
            return new DevInfo("net_null", null, MAX_QUEUES, MAX_QUEUES, 0, Mbuf.MAX_BUF_SIZE, 68, 65535 - 18,
                    0, Offloads.TX_MT_LOCKFREE | Offloads.TX_MULTI_SEGS,
                    Offloads.RSS_IP | Offloads.RSS_TCP | Offloads.RSS_UDP, 128, 40, 1, 65535, 1024, 10_000);
        }

        @Override
        public RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
            int room = Mbuf.dataRoomSize(pool) - Mbuf.DEFAULT_HEADROOM;
            if (!noRx && size > room) {
                throw port.error("rx queue " + queue + ": size=" + size + " does not fit in the " + room
                        + " bytes of data room of mempool " + pool.name());
            }
            return noRx ? new NoRxQueue() : copy ? new CopyRxQueue(pool, size, dummy) : new NullRxQueue(pool, size);
        }

        @Override
        public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
            return copy ? new CopyTxQueue(dummy) : new NullTxQueue();
        }
    }

    /** Receives {@code n} fresh packets of {@code size} bytes, or none when the pool cannot give n. */
    static final class NullRxQueue extends RxQueue {
        private final Mempool<Mbuf> pool;
        private final int size;

        NullRxQueue(Mempool<Mbuf> pool, int size) {
            this.pool = pool;
            this.size = size;
        }

        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            if (n <= 0) return 0;
            if (!Mbuf.allocBulk(pool, pkts, off, n)) {
                countNombuf(n);
                return 0;
            }
            int port = portId, len = size;
            for (int i = off; i < off + n; i++) {
                Mbuf m = pkts[i];
                m.appendOffset(len);
                m.port = port;
            }
            countRx(n, (long) n * len);
            return n;
        }

        @Override
        protected boolean rxPending() {
            return true;
        }
    }

    static final class CopyRxQueue extends RxQueue {
        private final Mempool<Mbuf> pool;
        private final int size;
        private final MemorySegment dummy;

        CopyRxQueue(Mempool<Mbuf> pool, int size, MemorySegment dummy) {
            this.pool = pool;
            this.size = size;
            this.dummy = dummy;
        }

        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            if (n <= 0) return 0;
            if (!Mbuf.allocBulk(pool, pkts, off, n)) {
                countNombuf(n);
                return 0;
            }
            for (int i = off; i < off + n; i++) {
                Mbuf m = pkts[i];
                MemorySegment.copy(dummy, 0, m.buffer(), m.dataOff(), size);
                m.appendOffset(size);
                m.port = portId;
            }
            countRx(n, (long) n * size);
            return n;
        }

        @Override
        protected boolean rxPending() {
            return true;
        }
    }

    static final class NoRxQueue extends RxQueue {
        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            return 0;
        }
    }

    /** Frees everything it is given. */
    static final class NullTxQueue extends TxQueue {
        @Override
        public int txBurst(Mbuf[] pkts, int off, int n) {
            if (n <= 0) return 0;
            long bytes = 0;
            for (int i = off; i < off + n; i++) bytes += pkts[i].pktLen();
            Mbuf.freeBulk(pkts, off, n);
            countTx(n, bytes);
            return n;
        }
    }

    static final class CopyTxQueue extends TxQueue {
        private final MemorySegment dummy;

        CopyTxQueue(MemorySegment dummy) {
            this.dummy = dummy;
        }

        @Override
        public int txBurst(Mbuf[] pkts, int off, int n) {
            if (n <= 0) return 0;
            long bytes = 0;
            long room = dummy.byteSize();
            for (int i = off; i < off + n; i++) {
                Mbuf m = pkts[i];
                int len = m.dataLen();
                MemorySegment.copy(m.buffer(), m.dataOff(), dummy, 0, Math.min(len, room));
                bytes += m.pktLen();
            }
            Mbuf.freeBulk(pkts, off, n);
            countTx(n, bytes);
            return n;
        }
    }
}
