package org.jpdk.drivers.net.pcap;

import org.jpdk.bpf.BpfException;
import org.jpdk.bpf.Cbpf;
import org.jpdk.bpf.PcapFilter;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.EthDevOps;
import org.jpdk.ethdev.EthDriver;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.Offloads;
import org.jpdk.ethdev.RxQueue;
import org.jpdk.ethdev.TxQueue;
import org.jpdk.ethdev.Xstat;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * DPDK's net_pcap (alias eth_pcap): a port whose receive queues read packets from pcap or pcapng
 * files and whose transmit queues write them to pcap files, for testing an app without a NIC and
 * for capturing what it sends. Devargs, as DPDK 22.11:
 * <ul>
 * <li>{@code rx_pcap=FILE}, repeatable: one rx queue per file, read with {@link PcapReader}
 * (classic in either byte order, µs or ns; pcapng). Packets are copied into mbufs of the queue's
 * pool; one longer than an mbuf's data room becomes a chain of mbufs, as DPDK does. Each gets
 * {@code port}, {@code timestamp} (ns since the epoch, from the file) and
 * {@link Mbuf#F_RX_TIMESTAMP}. At end of file the queue receives nothing (DPDK), and
 * {@link Device#rxDone()} and xstat {@code rx_q<i>_pcap_eof} turn to true/1. Starting the port
 * again reads the files from the start, as DPDK reopens them at start.
 * <li>{@code rx_filter=EXPR} (jpdk's): a tcpdump expression ({@link PcapFilter}); the rx queues
 * receive only the frames it accepts, the others are counted in {@code imissed}.
 * <li>{@code infinite_rx=1}: each rx file is loaded once, at rx queue setup, into one off-heap
 * block (not into pool mbufs, so the pool is not drained) and replayed forever, each packet copied
 * into a fresh mbuf.
 * <li>{@code tx_pcap=FILE}, repeatable: one tx queue per file, written with {@link PcapWriter}
 * (nanosecond pcap, as DPDK 22.11 writes). The file is created at probe (so a bad path fails
 * there, as in DPDK), flushed at stop and closed at port close; unlike DPDK, a restart appends
 * instead of truncating the file. A packet is stamped with its rx timestamp when it has
 * {@link Mbuf#F_RX_TIMESTAMP}, else the wall clock. The queue frees what it writes.
 * <li>Only rx files: one tx queue per rx queue that counts and frees (DPDK's tx_drop). Only tx
 * files: one rx queue per tx queue that receives nothing (DPDK's rx_null), so that
 * {@code --vdev net_pcap0,tx_pcap=out.pcap} gives 1 rx and 1 tx queue.
 * <li>{@code iface}, {@code rx_iface}, {@code rx_iface_in}, {@code tx_iface} (live interfaces
 * through libpcap in DPDK) are refused: jpdk has no libpcap; use net_af_packet. {@code phy_mac}
 * is accepted and, as in DPDK without {@code iface}, has no effect.
 * </ul>
 * Bad input in an rx file stops that queue: it counts one ierror and logs one line naming the
 * file, the byte offset and what is wrong; the app keeps running. A file that cannot be opened,
 * has a bad header or a non-Ethernet link type, and one file given both as rx and tx, are refused
 * at probe. The MAC address is DPDK's 02:70:63:61:70:&lt;n&gt; ("pcap").
 * <p>
 * Rx interrupts: a file queue has packets until its end (or bad input), a replay queue always,
 * so enabling the interrupt fires at once until then ({@link RxQueue#rxPending()}); after the end,
 * and on a queue with no file, it never fires and the lcore sleeps.
 */
public final class PcapDriver implements EthDriver {
    public static final int MAX_QUEUES = 16;
    /** The most packet bytes infinite_rx loads from one file. */
    public static final long MAX_REPLAY_BYTES = 1L << 30;
    private static final AtomicInteger MAC_INDEX = new AtomicInteger();
    private static final List<String> LIVE_KEYS = List.of("iface", "rx_iface", "rx_iface_in", "tx_iface");

    @Override
    public String name() {
        return "net_pcap";
    }

    @Override
    public List<String> aliases() {
        return List.of("eth_pcap");
    }

    @Override
    public Set<String> keys() {
        return Set.of("rx_pcap", "tx_pcap", "rx_iface", "rx_iface_in", "tx_iface", "iface", "phy_mac", "infinite_rx", "rx_filter");
    }

    @Override
    public String usage() {
        return "rx_pcap=<file>,tx_pcap=<file>,infinite_rx=<0|1>,rx_filter=<tcpdump expression> (rx_pcap and tx_pcap repeatable, one per queue)";
    }

    @Override
    public EthDevOps probe(EthDev port, Devargs args) {
        for (String k : LIVE_KEYS) {
            String v = args.get(k);
            if (v != null) {
                throw args.error(k, v, "live interfaces are not supported by net_pcap (jpdk has no libpcap); use --vdev net_af_packet0,iface=" + v);
            }
        }
        args.boolValue("phy_mac", false);
        List<String> rx = args.all("rx_pcap"), tx = args.all("tx_pcap");
        if (rx.isEmpty() && tx.isEmpty()) {
            throw new EalArgumentException("--vdev " + args.name() + ": no rx_pcap or tx_pcap given; usage: " + usage());
        }
        if (rx.size() > MAX_QUEUES) throw args.error("rx_pcap", rx.get(MAX_QUEUES), "more than " + MAX_QUEUES + " rx files");
        if (tx.size() > MAX_QUEUES) throw args.error("tx_pcap", tx.get(MAX_QUEUES), "more than " + MAX_QUEUES + " tx files");
        boolean infinite = args.boolValue("infinite_rx", false);
        if (infinite && rx.isEmpty()) throw args.error("infinite_rx", args.get("infinite_rx"), "needs an rx_pcap file to replay");
        for (String f : rx) if (f.isBlank()) throw args.error("rx_pcap", f, "empty file name");
        String expr = args.get("rx_filter");
        Cbpf filter = null;
        if (expr != null) {
            if (rx.isEmpty() || infinite) throw args.error("rx_filter", expr, "filters rx_pcap files read once (not infinite_rx)");
            try {
                filter = PcapFilter.compile(expr);
            } catch (BpfException e) {
                throw args.error("rx_filter", expr, e.getMessage().lines().findFirst().orElse(""));
            }
        }
        for (String f : tx) if (f.isBlank()) throw args.error("tx_pcap", f, "empty file name");
        for (String f : rx) args.path("rx_pcap", f);
        for (String f : tx) args.path("tx_pcap", f);
        for (int i = 0; i < tx.size(); i++) {
            for (String r : rx) {
                if (sameFile(tx.get(i), r)) throw args.error("tx_pcap", tx.get(i), "is also an rx_pcap file; a file cannot be read and written by one port");
            }
            for (int j = 0; j < i; j++) {
                if (sameFile(tx.get(i), tx.get(j))) throw args.error("tx_pcap", tx.get(i), "given twice; each tx queue needs its own file");
            }
        }
        int nRx = rx.isEmpty() ? tx.size() : rx.size();
        int nTx = tx.isEmpty() ? rx.size() : tx.size();
        PcapReader[] readers = new PcapReader[nRx];
        PcapWriter[] writers = new PcapWriter[nTx];
        try {
            for (int i = 0; i < rx.size(); i++) readers[i] = PcapReader.open(Path.of(rx.get(i)));
            for (int i = 0; i < tx.size(); i++) writers[i] = PcapWriter.create(Path.of(tx.get(i)));
        } catch (PcapException e) {
            for (PcapReader r : readers) if (r != null) r.close();
            for (PcapWriter w : writers) if (w != null) w.close();
            throw new EthDevException("--vdev " + args.name() + ": " + e.getMessage(), e);
        }
        int idx = MAC_INDEX.getAndIncrement() & 0xff;
        return new Device(port, args.name(), readers, writers, infinite, filter, new MacAddr(0x02_70_63_61_70_00L | idx));
    }

    private static boolean sameFile(String a, String b) {
        Path pa = Path.of(a).toAbsolutePath().normalize(), pb = Path.of(b).toAbsolutePath().normalize();
        if (pa.equals(pb)) return true;
        try {
            return Files.exists(pa) && Files.exists(pb) && Files.isSameFile(pa, pb);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Copies {@code len} bytes at {@code off} of {@code src} into a fresh mbuf of {@code pool},
     * chaining more mbufs (with no headroom, as DPDK's rx_jumbo) when one is too small; null,
     * nothing kept, when the pool runs dry. Allocates nothing on the heap.
     */
    static Mbuf copyIn(Mempool<Mbuf> pool, MemorySegment src, long off, int len) {
        Mbuf head = Mbuf.alloc(pool);
        if (head == null) return null;
        int k = Math.min(len, head.tailroom());
        MemorySegment.copy(src, off, head.buffer(), head.dataOff(), k);
        head.appendOffset(k);
        int done = k;
        while (done < len) {
            Mbuf seg = Mbuf.alloc(pool);
            if (seg == null) {
                head.free();
                return null;
            }
            seg.setData(0, 0);
            k = Math.min(len - done, seg.tailroom());
            MemorySegment.copy(src, off + done, seg.buffer(), 0, k);
            seg.appendOffset(k);
            if (k == 0 || !head.chain(seg)) {
                seg.free();
                head.free();
                return null;
            }
            done += k;
        }
        return head;
    }

    /** The driver side of one net_pcap port; {@link #rxDone()} tells an app that the files are read. */
    public static final class Device extends EthDevOps {
        private final String name;
        private final PcapReader[] readers; // null for an rx queue with no file
        private final PcapWriter[] writers; // null for a drop queue
        private final boolean infinite;
        private final Cbpf filter; // rx_filter, or null
        private final MacAddr mac;
        private final Replay[] replays;
        private final FileRxQueue[] fileQueues;

        Device(EthDev port, String name, PcapReader[] readers, PcapWriter[] writers, boolean infinite, Cbpf filter, MacAddr mac) {
            super(port);
            this.name = name;
            this.readers = readers;
            this.writers = writers;
            this.infinite = infinite;
            this.filter = filter;
            this.mac = mac;
            this.replays = new Replay[readers.length];
            this.fileQueues = new FileRxQueue[readers.length];
        }

        @Override
        public DevInfo info() {
            return new DevInfo("net_pcap", null, readers.length, writers.length, 1, PcapReader.MAX_CAPLEN, 68, 65535 - 18,
                    Offloads.RX_SCATTER | Offloads.RX_TIMESTAMP, Offloads.TX_MULTI_SEGS, 0, 0, 0, 1, 65535, 1024, 10_000);
        }

        @Override
        public MacAddr initialMacAddr() {
            return mac;
        }

        @Override
        public RxQueue rxQueueSetup(int queue, int nbDesc, int socketId, Mempool<Mbuf> pool) {
            PcapReader r = readers[queue];
            fileQueues[queue] = null;
            if (r == null) return new NoRxQueue();
            if (infinite) {
                if (replays[queue] == null) replays[queue] = Replay.load(port, r);
                return new ReplayRxQueue(replays[queue], pool);
            }
            FileRxQueue q = new FileRxQueue(r, pool, filter);
            fileQueues[queue] = q;
            return q;
        }

        @Override
        public TxQueue txQueueSetup(int queue, int nbDesc, int socketId) {
            PcapWriter w = writers[queue];
            return w == null ? new DropTxQueue() : new FileTxQueue(w);
        }

        /** Reads the files from the start again, as DPDK reopens them at start. */
        @Override
        public void start() {
            for (FileRxQueue q : fileQueues) if (q != null) q.restart();
        }

        /** Flushes the tx files, so they are complete while the port is stopped. */
        @Override
        public void stop() {
            for (PcapWriter w : writers) {
                if (w == null) continue;
                try {
                    w.flush();
                } catch (PcapException e) {
                    EthDev.LOG.err("port " + port.id() + " (" + name + "): " + e.getMessage());
                }
            }
        }

        @Override
        public void close() {
            for (PcapReader r : readers) if (r != null) r.close();
            for (Replay r : replays) if (r != null) r.close();
            for (PcapWriter w : writers) {
                if (w == null) continue;
                try {
                    w.close();
                } catch (PcapException e) {
                    EthDev.LOG.err("port " + port.id() + " (" + name + "): " + e.getMessage());
                }
            }
        }

        /**
         * True when every rx queue that reads a file once has reached its end or stopped on bad
         * input (a port with infinite_rx is never done; a tx-only port always is).
         */
        public boolean rxDone() {
            if (infinite) return false;
            for (int i = 0; i < readers.length; i++) {
                if (readers[i] == null) continue;
                FileRxQueue q = fileQueues[i];
                if (q == null || !q.done) return false;
            }
            return true;
        }

        @Override
        public List<Xstat> xstats() {
            List<Xstat> l = new ArrayList<>();
            for (int i = 0; i < readers.length; i++) {
                if (readers[i] == null || infinite) continue;
                FileRxQueue q = fileQueues[i];
                l.add(new Xstat("rx_q" + i + "_pcap_eof", q != null && q.done ? 1 : 0));
            }
            return l;
        }
    }

    /** Reads a file once: a record is kept when the pool is dry and delivered by a later burst. */
    static final class FileRxQueue extends RxQueue {
        private final PcapReader reader;
        private final Mempool<Mbuf> pool;
        private final Cbpf filter;        // rx_filter: frames it rejects are counted in imissed, not received
        private boolean held;             // the reader's current record is not delivered yet
        volatile boolean done;            // end of file or bad input: receives nothing more

        FileRxQueue(PcapReader reader, Mempool<Mbuf> pool, Cbpf filter) {
            this.reader = reader;
            this.pool = pool;
            this.filter = filter;
        }

        void restart() {
            reader.rewind();
            held = false;
            done = false;
        }

        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            if (n <= 0 || done) return 0;
            PcapReader r = reader;
            int got = 0, port = portId;
            long bytes = 0;
            while (got < n) {
                if (!held) {
                    int s = r.next();
                    if (s != PcapReader.RECORD) {
                        finish(s);
                        break;
                    }
                    held = true;
                }
                int len = r.caplen();
                if (filter != null && filter.run(r.window(), r.dataOffset(), len, r.origLen()) == 0) {
                    held = false;
                    countMissed(1);
                    continue;
                }
                Mbuf m = copyIn(pool, r.window(), r.dataOffset(), len);
                if (m == null) {
                    countNombuf(1);
                    break;
                }
                held = false;
                m.port = port;
                if (r.hasTimestamp()) {
                    m.timestamp = r.timestampNanos();
                    m.olFlags |= Mbuf.F_RX_TIMESTAMP;
                }
                pkts[off + got++] = m;
                bytes += len;
            }
            if (got > 0) countRx(got, bytes);
            return got;
        }

        @Override
        protected boolean rxPending() {
            return !done;
        }

        private void finish(int s) {
            done = true;
            if (s == PcapReader.ERROR) {
                countErrors(1);
                EthDev.LOG.err("port " + portId + " rx queue " + queueId + ": " + reader.error() + "; the queue receives nothing more");
            } else {
                EthDev.LOG.info("port " + portId + " rx queue " + queueId + ": end of " + reader.file());
            }
        }
    }

    /**
     * The packets of one file, loaded once for infinite_rx: their bytes back to back in one
     * off-heap block, and per packet its offset, length and timestamp.
     */
    static final class Replay implements AutoCloseable {
        final Arena arena;
        final MemorySegment data;
        final long[] offs, ts;
        final int[] lens;
        final boolean[] hasTs;
        final int count;
        final String error; // bad input met while loading (the good packets before it are kept)

        private Replay(Arena arena, MemorySegment data, long[] offs, int[] lens, long[] ts, boolean[] hasTs, int count, String error) {
            this.arena = arena;
            this.data = data;
            this.offs = offs;
            this.lens = lens;
            this.ts = ts;
            this.hasTs = hasTs;
            this.count = count;
            this.error = error;
        }

        static Replay load(EthDev port, PcapReader r) {
            r.rewind();
            int count = 0;
            long total = 0;
            while (r.next() == PcapReader.RECORD) {
                count++;
                total += r.caplen();
                if (total > MAX_REPLAY_BYTES || count == Integer.MAX_VALUE - 8) {
                    throw port.error("infinite_rx: " + r.file() + " holds more than " + MAX_REPLAY_BYTES + " bytes of packets, the most that is loaded");
                }
            }
            String error = r.error();
            Arena arena = Arena.ofShared();
            MemorySegment data = arena.allocate(Math.max(total, 1), 64);
            long[] offs = new long[count], ts = new long[count];
            int[] lens = new int[count];
            boolean[] hasTs = new boolean[count];
            r.rewind();
            long at = 0;
            for (int i = 0; i < count && r.next() == PcapReader.RECORD; i++) {
                int len = r.caplen();
                r.copy(0, data, at, len);
                offs[i] = at;
                lens[i] = len;
                ts[i] = r.timestampNanos();
                hasTs[i] = r.hasTimestamp();
                at += len;
            }
            if (error != null) EthDev.LOG.err(port.error("infinite_rx: " + error + "; replaying the " + count + " packets before it").getMessage());
            else if (count == 0) EthDev.LOG.warning(port.error("infinite_rx: " + r.file() + " holds no packets; the queue receives nothing").getMessage());
            return new Replay(arena, data, offs, lens, ts, hasTs, count, error);
        }

        @Override
        public void close() {
            if (arena.scope().isAlive()) arena.close();
        }
    }

    /** Replays a loaded file forever. */
    static final class ReplayRxQueue extends RxQueue {
        private final Replay replay;
        private final Mempool<Mbuf> pool;
        private int next;

        ReplayRxQueue(Replay replay, Mempool<Mbuf> pool) {
            this.replay = replay;
            this.pool = pool;
            if (replay.error != null) countErrors(1);
        }

        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            Replay rp = replay;
            int count = rp.count;
            if (n <= 0 || count == 0) return 0;
            int i = next, got = 0, port = portId;
            long bytes = 0;
            while (got < n) {
                int len = rp.lens[i];
                Mbuf m = copyIn(pool, rp.data, rp.offs[i], len);
                if (m == null) {
                    countNombuf(1);
                    break;
                }
                m.port = port;
                if (rp.hasTs[i]) {
                    m.timestamp = rp.ts[i];
                    m.olFlags |= Mbuf.F_RX_TIMESTAMP;
                }
                pkts[off + got++] = m;
                bytes += len;
                if (++i == count) i = 0;
            }
            next = i;
            if (got > 0) countRx(got, bytes);
            return got;
        }

        @Override
        protected boolean rxPending() {
            return replay.count > 0;
        }
    }

    /** The rx queue of a port with only tx files: receives nothing (DPDK's eth_null_rx). */
    static final class NoRxQueue extends RxQueue {
        @Override
        public int rxBurst(Mbuf[] pkts, int off, int n) {
            return 0;
        }
    }

    /**
     * Writes each packet to the queue's file and frees it; after a failed write, counts and drops.
     * A chain whose segments do not add up to its pktLen is dropped and counted, not written as a
     * record whose lengths disagree with its bytes.
     */
    static final class FileTxQueue extends TxQueue {
        private final PcapWriter writer;
        private boolean broken;

        FileTxQueue(PcapWriter writer) {
            this.writer = writer;
        }

        @Override
        public int txBurst(Mbuf[] pkts, int off, int n) {
            if (n <= 0) return 0;
            long packets0 = writer.packets(), bytes0 = writer.bytes();
            if (!broken) {
                try {
                    for (int i = off; i < off + n; i++) {
                        Mbuf m = pkts[i];
                        if (!m.lengthsConsistent()) continue;        // a chain at odds with its pktLen: dropped, an error
                        writer.write(m);
                    }
                } catch (PcapException e) {
                    broken = true;
                    EthDev.LOG.err("port " + portId + " tx queue " + queueId + ": " + e.getMessage() + "; dropping what it sends from now on");
                }
            }
            Mbuf.freeBulk(pkts, off, n);
            // What reached the file or its buffer. After a failed write this is negative by the
            // packets of earlier bursts that the buffer held: they move from opackets to oerrors,
            // so opackets + oerrors stays the number of packets given to the queue.
            long written = writer.packets() - packets0;
            if (written != 0) countTx(written, writer.bytes() - bytes0);
            if (written < n) countErrors(n - written);
            return n;
        }
    }

    /** The tx queue of a port with only rx files: counts and frees (DPDK's eth_tx_drop). */
    static final class DropTxQueue extends TxQueue {
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
}
