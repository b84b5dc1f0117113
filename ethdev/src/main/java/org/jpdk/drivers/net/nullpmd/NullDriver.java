package org.jpdk.drivers.net.nullpmd;

import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthDriver;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.PortConf;
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
 * Devargs: {@code size} (default 64), {@code copy} (0), {@code no-rx} (0). In rx interrupt mode a
 * receiving queue always has packets, so enabling its interrupt fires it at once
 * ({@link RxQueue#rxPending()} is true); a no-rx queue never fires.
 *
 * <p>RSS (hash functions IP, TCP, UDP; a 40-byte key; a 128-entry table) is done, not only kept:
 * DPDK's net_null stores the settings and hashes nothing, so an app spreading flows over queues
 * could not tell it works. Here, with hash functions set, the port receives {@link RssFlows}: 1024
 * IPv4/UDP flows, each Toeplitz-hashed with the port's key, each queue getting the flows the table
 * sends it (and nothing if it sends none), packets carrying the hash. That needs packets of at least
 * 42 bytes. With RSS off the rx path is as before plus one volatile read per burst.
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
        /** What RSS spreads over the queues, or null with RSS off; rebuilt by the control thread, read once per burst. */
        volatile RssFlows rss;
        // the RSS settings it is built from, written by the control thread only
        private long rssHf;
        private byte[] rssKey;
        private int[] reta = new int[0];
        private int nbRxQueues;
        private MacAddr mac;

        Device(EthDev port, int size, boolean copy, boolean noRx) {
            super(port);
            this.size = size;
            this.copy = copy;
            this.noRx = noRx;
            this.dummy = copy ? Arena.ofAuto().allocate(Math.max(size, 1), 64) : MemorySegment.NULL;
        }

        @Override
        public MacAddr initialMacAddr() {
            if (mac == null) mac = MacAddr.random();
            return mac;
        }

        @Override
        public void setMacAddr(MacAddr addr) {
            mac = addr;
            rebuildRss();
        }

        @Override
        public void configure(int nbRxQueues, int nbTxQueues, PortConf conf) {
            checkRssSize(conf.rssHf());
            this.nbRxQueues = nbRxQueues;
        }

        @Override
        public void rssHashUpdate(long rssHf, byte[] key) {
            checkRssSize(rssHf);
            this.rssHf = rssHf;
            this.rssKey = key;
            rebuildRss();
        }

        @Override
        public void retaUpdate(int[] reta) {
            this.reta = reta;
            rebuildRss();
        }

        private void checkRssSize(long hf) {
            if (hf != 0 && !noRx && size < RssFlows.HEADER) {
                throw port.error("RSS on net_null makes IPv4/UDP packets of at least " + RssFlows.HEADER + " bytes; size=" + size);
            }
        }

        private void rebuildRss() {
            rss = noRx ? null : RssFlows.build(rssHf, rssKey, reta, nbRxQueues, size, mac == null ? initialMacAddr() : mac);
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
            return noRx ? new NoRxQueue() : copy ? new CopyRxQueue(this, pool, size, dummy) : new NullRxQueue(this, pool, size);
        }

        @Override
        public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
            return copy ? new CopyTxQueue(dummy) : new NullTxQueue();
        }
    }

    /**
     * What the generating queues share: the RSS burst, which hands out the flows the table gives
     * this queue, in turn, and is taken only while the device has RSS on.
     */
    abstract static class GenRxQueue extends RxQueue {
        final Device dev;
        final Mempool<Mbuf> pool;
        final int size;
        private int nextFlow;           // index into this queue's flows; the polling lcore's

        GenRxQueue(Device dev, Mempool<Mbuf> pool, int size) {
            this.dev = dev;
            this.pool = pool;
            this.size = size;
        }

        /** A burst of RSS flows: n packets of the flows given to this queue, or none when it has none (or the pool is dry). */
        final int rssBurst(RssFlows rss, Mbuf[] pkts, int off, int n, MemorySegment body) {
            int[] flows = rss.flowsOf(queueId);
            if (n <= 0 || flows.length == 0) return 0;
            if (!Mbuf.allocBulk(pool, pkts, off, n)) {
                countNombuf(n);
                return 0;
            }
            int f = nextFlow < flows.length ? nextFlow : 0, port = portId, len = size;
            for (int i = off; i < off + n; i++) {
                Mbuf m = pkts[i];
                if (body.byteSize() > 0) MemorySegment.copy(body, 0, m.buffer(), m.dataOff(), len);
                m.appendOffset(len);
                rss.stamp(m, flows[f]);
                m.port = port;
                f = f + 1 == flows.length ? 0 : f + 1;
            }
            nextFlow = f;
            countRx(n, (long) n * len);
            return n;
        }

        @Override
        protected boolean rxPending() {
            RssFlows rss = dev.rss;
            return rss == null || rss.flowsOf(queueId).length > 0;
        }
    }

    /** Receives {@code n} fresh packets of {@code size} bytes, or none when the pool cannot give n. */
    static final class NullRxQueue extends GenRxQueue {
        NullRxQueue(Device dev, Mempool<Mbuf> pool, int size) {
            super(dev, pool, size);
        }

        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            RssFlows rss = dev.rss;
            if (rss != null) return rssBurst(rss, pkts, off, n, MemorySegment.NULL);
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
    }

    static final class CopyRxQueue extends GenRxQueue {
        private final MemorySegment dummy;

        CopyRxQueue(Device dev, Mempool<Mbuf> pool, int size, MemorySegment dummy) {
            super(dev, pool, size);
            this.dummy = dummy;
        }

        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            RssFlows rss = dev.rss;
            if (rss != null) return rssBurst(rss, pkts, off, n, dummy);
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
