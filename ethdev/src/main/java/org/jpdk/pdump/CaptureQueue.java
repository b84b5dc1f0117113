package org.jpdk.pdump;

import org.jpdk.bpf.BpfProgram;
import org.jpdk.bpf.BpfVm;
import org.jpdk.ethdev.RxCallback;
import org.jpdk.ethdev.TxCallback;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.pcapng.Pcapng;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The capture tap of one queue in one direction: an rx or tx callback that copies each packet
 * (its first snaplen bytes, after the filter) as a finished pcapng Enhanced Packet Block into a
 * single-producer single-consumer byte ring, and the consumer side that the capture thread drains
 * into the socket. One queue is polled by one lcore at a time (DPDK's rule), so the producer needs
 * no atomic read-modify-write: it claims room by comparing its head with the consumer's tail,
 * writes the block, and publishes the new head with a release store; the consumer reads the head
 * with an acquire load, sends the bytes, and frees them with a release store of the tail. A block
 * that does not fit before the end of the ring leaves a 4-byte wrap marker (type 0, which no pcapng
 * block has) and starts at offset 0. When the ring has no room the packet is counted in
 * {@link #ringFull} and the lcore goes on: capture never blocks or slows forwarding beyond the copy.
 * <pre>
 * ring (Arena.ofAuto, kept alive by this callback, so an lcore still inside it after removal is safe)
 *   [EPB][EPB][EPB][0 (wrap)]...            head - tail bytes in use, both only grow
 * </pre>
 * The counters are written by the lcore once per burst and read by other threads (single writer).
 * {@link #busy} and {@link #active} make stopping exact: the lcore raises busy before it checks
 * active, the stopper clears active and then waits for busy to fall, so after {@link #quiesce}
 * no block is being written (a Dekker handshake on volatiles). A burst allocates nothing.
 */
final class CaptureQueue implements RxCallback, TxCallback {
    static final int WRAP = 0;
    private static final VarHandle HEAD, TAIL, ACCEPTED, FILTERED, RING_FULL;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            HEAD = l.findVarHandle(CaptureQueue.class, "head", long.class);
            TAIL = l.findVarHandle(CaptureQueue.class, "tail", long.class);
            ACCEPTED = l.findVarHandle(CaptureQueue.class, "accepted", long.class);
            FILTERED = l.findVarHandle(CaptureQueue.class, "filtered", long.class);
            RING_FULL = l.findVarHandle(CaptureQueue.class, "ringFull", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int queue;
    final boolean rx;
    private final int ifId, flags, snaplen;
    private final BpfVm filter;
    private final long wallOffset;
    private final MemorySegment ring;
    private final long size;

    // producer (the lcore): head, its cached view of the tail
    private long head;
    private long tailCache;
    private long accepted, filtered, ringFull;
    private volatile int busy;
    private volatile boolean active = true;
    // consumer (the capture thread)
    private long tail;

    /**
     * @param ringBytes a power of two larger than the biggest block
     * @param wallOffset added to System.nanoTime() to give ns since the epoch
     */
    CaptureQueue(int queue, boolean rx, int ifId, int snaplen, BpfProgram filter, int ringBytes, long wallOffset) {
        if (Integer.bitCount(ringBytes) != 1 || ringBytes < 2 * Pcapng.epbSize(Pcapng.MAX_CAPLEN)) {
            throw new IllegalArgumentException("capture ring of " + ringBytes + " bytes: a power of two of at least "
                    + 2 * Pcapng.epbSize(Pcapng.MAX_CAPLEN));
        }
        this.queue = queue;
        this.rx = rx;
        this.ifId = ifId;
        this.flags = rx ? Pcapng.FLAG_INBOUND : Pcapng.FLAG_OUTBOUND;
        this.snaplen = Math.min(snaplen, Pcapng.MAX_CAPLEN);
        this.filter = filter == null ? null : filter.vm(true); // one VM per queue: a VM holds the packet it runs on
        this.wallOffset = wallOffset;
        this.ring = Arena.ofAuto().allocate(ringBytes, 64);
        this.size = ringBytes;
    }

    @Override
    public int process(int port, int queue, Mbuf[] pkts, int off, int n, int maxPkts) {
        capture(pkts, off, n);
        return n;
    }

    @Override
    public int process(int port, int queue, Mbuf[] pkts, int off, int n) {
        capture(pkts, off, n);
        return n;
    }

    private void capture(Mbuf[] pkts, int off, int n) {
        busy = 1;
        if (!active || n <= 0) {
            busy = 0;
            return;
        }
        long ts = System.nanoTime() + wallOffset; // one stamp per burst, as pdump takes one TSC read
        long h = head;
        int acc = 0, filt = 0, full = 0;
        for (int i = 0; i < n; i++) {
            Mbuf m = pkts[off + i];
            if (filter != null && filter.exec(m) == 0) {
                filt++;
                continue;
            }
            int caplen = Math.min(m.pktLen(), snaplen);
            int block = Pcapng.epbSize(caplen);
            long pos = h & (size - 1);
            long contiguous = size - pos;
            long need = block <= contiguous ? block : contiguous + block;
            if (h + need - tailCache > size) {
                tailCache = (long) TAIL.getAcquire(this);
                if (h + need - tailCache > size) {
                    full++;
                    continue;
                }
            }
            if (block > contiguous) {
                ring.set(ValueLayout.JAVA_INT, pos, WRAP);
                h += contiguous;
                pos = 0;
            }
            Pcapng.writeEpb(ring, pos, ifId, ts, m, caplen, flags, queue);
            h += block;
            acc++;
        }
        HEAD.setRelease(this, h);
        if (acc != 0) ACCEPTED.setRelease(this, accepted + acc);
        if (filt != 0) FILTERED.setRelease(this, filtered + filt);
        if (full != 0) RING_FULL.setRelease(this, ringFull + full);
        busy = 0;
    }

    /** Stops copying and waits until the lcore is out of the callback (a burst is microseconds). */
    void quiesce() {
        active = false;
        while (busy != 0) Thread.onSpinWait();
    }

    /** Packets copied into the ring. */
    long accepted() {
        return (long) ACCEPTED.getAcquire(this);
    }

    /** Packets the filter rejected. */
    long filtered() {
        return (long) FILTERED.getAcquire(this);
    }

    /** Packets dropped because the ring was full. */
    long ringFull() {
        return (long) RING_FULL.getAcquire(this);
    }

    /** Sends what the consumer may take; see {@link #peek} and {@link #release}. */
    interface Sink {
        /** Takes {@code len} bytes of whole blocks; returns false when it cannot take them now. */
        boolean take(MemorySegment bytes);
    }

    /**
     * Hands the next run of whole blocks (at most {@code maxBytes}, or one block if that is
     * bigger) to {@code sink}, and frees them when it takes them. Returns the bytes taken, 0 when
     * the ring is empty, -1 when the sink refused. For the capture thread only.
     */
    long drain(Sink sink, long maxBytes) {
        long h = (long) HEAD.getAcquire(this);
        long t = tail;
        if (t == h) return 0;
        long pos = t & (size - 1);
        if (ring.get(ValueLayout.JAVA_INT, pos) == WRAP) {
            t += size - pos;
            tail = t;
            TAIL.setRelease(this, t);
            if (t == h) return 0;
            pos = 0;
        }
        long len = 0;
        while (t + len < h && pos + len < size) {
            if (ring.get(ValueLayout.JAVA_INT, pos + len) == WRAP) break;
            int block = ring.get(ValueLayout.JAVA_INT, pos + len + 4);
            if (len > 0 && len + block > maxBytes) break;
            len += block;
        }
        if (!sink.take(ring.asSlice(pos, len))) return -1;
        tail = t + len;
        TAIL.setRelease(this, t + len);
        return len;
    }
}
