package org.jpdk.bpf;

import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * One executor of a {@link BpfProgram}: its registers' home, its stack and the memory the program
 * sees, for one thread (make one per lcore; {@link BpfProgram#interpreter()} or
 * {@link BpfProgram#compiled()}). Both runners go through the same memory accessors and
 * arithmetic helpers here, so that they give the same results by construction.
 *
 * <p>Memory is a set of regions, and an address is {@code region << 32 | offset}: every load and
 * store checks the offset against its region's length, so a program can never touch memory it
 * was not given. A load or store out of bounds, a division by zero or a packet load
 * ({@code ld_abs}/{@code ld_ind}) past the packet ends the program with 0, as rte_bpf's
 * interpreter and JIT return 0 in those cases.
 *
 * <pre>
 * region 1  the packet: the mbuf's data segment, bounded to data_len (R1 for PTR programs)
 * region 2  the stack, 512 bytes; R10 = 2 &lt;&lt; 32 | 512
 * region 3  the mbuf header (R1 for MBUF programs), rte_mbuf's layout: buf_addr +0, data_off +16,
 *           nb_segs +20, port +22, pkt_len +36, data_len +40, buf_len +54
 * region 4+ static data: xsym variables, then the ELF object's .data, .rodata and .bss
 * </pre>
 *
 * <p>Allocation: after construction, {@code exec} allocates nothing.
 */
public final class BpfVm {
    static final int PKT = 1, STACK = 2, MBUF = 3, STATIC = 4;
    static final long MASK = 0xffffffffL;
    public static final long STACK_TOP = (long) STACK << 32 | Ebpf.STACK_SIZE;
    public static final long PKT_BASE = (long) PKT << 32, MBUF_BASE = (long) MBUF << 32;
    private static final ValueLayout.OfShort H = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt W = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong DW = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort HBE = H.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt WBE = W.withOrder(ByteOrder.BIG_ENDIAN);

    /** Ends a program with 0: out of bounds, division by zero. Preallocated, no stack trace. */
    static final class Abort extends RuntimeException {
        Abort() {
            super("bpf abort", null, false, false);
        }
    }

    static final Abort ABORT = new Abort();

    /** A way to run a program's instructions: the interpreter or a compiled class. */
    interface Runner {
        long run(BpfVm vm, long r1);
    }

    private final BpfProgram prog;
    private final Runner runner;
    private final MemorySegment[] regions;
    private final MemorySegment mbufHeader;
    private final BpfFunction[] funcs;
    final long[] regs = new long[11];
    private MemorySegment pkt = MemorySegment.NULL;
    private long pktOff, pktLen;
    private Mbuf mbuf;

    BpfVm(BpfProgram prog, Runner runner) {
        this.prog = prog;
        this.runner = runner;
        this.funcs = prog.funcs;
        MemorySegment[] statics = prog.statics;
        regions = new MemorySegment[STATIC + statics.length];
        regions[STACK] = MemorySegment.ofArray(new long[Ebpf.STACK_SIZE / 8]);
        regions[MBUF] = mbufHeader = MemorySegment.ofArray(new long[16]);
        System.arraycopy(statics, 0, regions, STATIC, statics.length);
    }

    public BpfProgram program() {
        return prog;
    }

    /** Runs a RAW program with R1 = {@code arg}. */
    public long exec(long arg) {
        mbuf = null;
        pkt = MemorySegment.NULL;
        pktOff = pktLen = 0;
        return run(arg);
    }

    /** Runs a PTR program on {@code data} (R1 points to its first byte); loads past its end end the program with 0. */
    public long exec(MemorySegment data) {
        mbuf = null;
        pkt = data;
        pktOff = 0;
        pktLen = data.byteSize();
        if (prog.arg != BpfProgram.Arg.MBUF) return run(PKT_BASE);
        if (prog.readsContext) fillHeader(0, (int) pktLen, (int) pktLen, 1, (int) pktLen);
        return run(MBUF_BASE);
    }

    /** Runs the program on one packet: R1 is the packet's data (PTR) or its mbuf (MBUF), as rte_bpf_eth's callbacks pass it. */
    public long exec(Mbuf m) {
        mbuf = m;
        pkt = m.buffer();
        pktOff = m.dataOff();
        pktLen = m.dataLen();
        if (prog.arg == BpfProgram.Arg.MBUF) {
            if (prog.readsContext) fillHeader(m.dataOff(), m.dataLen(), m.pktLen(), m.nbSegs(), m.bufLen());
            return run(MBUF_BASE);
        }
        return run(PKT_BASE);
    }

    /** Runs the program on {@code pkts[0..n)}, its results into {@code rc}; returns how many returned non-zero. */
    public int execBurst(Mbuf[] pkts, int n, long[] rc) {
        int kept = 0;
        for (int i = 0; i < n; i++) {
            long r = exec(pkts[i]);
            rc[i] = r;
            if (r != 0) kept++;
        }
        return kept;
    }

    private long run(long r1) {
        try {
            return runner.run(this, r1);
        } catch (Abort a) {
            return 0;
        }
    }

    private void fillHeader(int dataOff, int dataLen, int pktLen, int nbSegs, int bufLen) {
        MemorySegment h = mbufHeader;
        h.set(DW, 0, PKT_BASE - dataOff);
        h.set(DW, 8, 0);
        h.set(H, 16, (short) dataOff);
        h.set(H, 18, (short) 1);
        h.set(H, 20, (short) nbSegs);
        h.set(W, 36, pktLen);
        h.set(H, 40, (short) dataLen);
        h.set(H, 54, (short) bufLen);
    }

    // ---- memory: resolve an address to (segment, offset) with its bound checked

    private MemorySegment seg(long addr, int size) {
        int r = (int) (addr >>> 32);
        long off = addr & MASK;
        if (r == PKT) {
            if (off > pktLen - size) throw ABORT;
            return pkt;
        }
        if (r < STACK || r >= regions.length) throw ABORT;
        MemorySegment s = regions[r];
        if (off > s.byteSize() - size) throw ABORT;
        return s;
    }

    private long at(long addr) {
        return (addr >>> 32) == PKT ? pktOff + (addr & MASK) : addr & MASK;
    }

    public long ldb(long addr) {
        return seg(addr, 1).get(ValueLayout.JAVA_BYTE, at(addr)) & 0xffL;
    }

    public long ldh(long addr) {
        return seg(addr, 2).get(H, at(addr)) & 0xffffL;
    }

    public long ldw(long addr) {
        return seg(addr, 4).get(W, at(addr)) & MASK;
    }

    public long lddw(long addr) {
        return seg(addr, 8).get(DW, at(addr));
    }

    private MemorySegment wseg(long addr, int size) {
        MemorySegment s = seg(addr, size);
        if (s.isReadOnly()) throw ABORT;
        return s;
    }

    public void stb(long addr, long v) {
        wseg(addr, 1).set(ValueLayout.JAVA_BYTE, at(addr), (byte) v);
    }

    public void sth(long addr, long v) {
        wseg(addr, 2).set(H, at(addr), (short) v);
    }

    public void stw(long addr, long v) {
        wseg(addr, 4).set(W, at(addr), (int) v);
    }

    public void stdw(long addr, long v) {
        wseg(addr, 8).set(DW, at(addr), v);
    }

    /** {@code lock *(u32 *)addr += v}: one thread per vm, so a plain read-modify-write (shared static data is the program's business, as in C). */
    public void xaddw(long addr, long v) {
        MemorySegment s = wseg(addr, 4);
        long o = at(addr);
        s.set(W, o, s.get(W, o) + (int) v);
    }

    public void xadddw(long addr, long v) {
        MemorySegment s = wseg(addr, 8);
        long o = at(addr);
        s.set(DW, o, s.get(DW, o) + v);
    }

    /** {@code ld_abs}/{@code ld_ind}: the packet's bytes at {@code off}, big-endian; past the packet (all segments), the program ends with 0. */
    public long ldAbs(long off, int size) {
        if (off < 0 || off > pktLen - size) return ldAbsSlow(off, size);
        long o = pktOff + off;
        return switch (size) {
            case 1 -> pkt.get(ValueLayout.JAVA_BYTE, o) & 0xffL;
            case 2 -> pkt.get(HBE, o) & 0xffffL;
            default -> pkt.get(WBE, o) & MASK;
        };
    }

    /** A load that crosses into the next segments of a chained mbuf (rte_pktmbuf_read), or ends the program. */
    private long ldAbsSlow(long off, int size) {
        Mbuf m = mbuf;
        if (m == null || off < 0 || off > (long) m.pktLen() - size) throw ABORT;
        long v = 0;
        for (int i = 0; i < size; i++) {
            long p = off + i;
            Mbuf s = m;
            while (s != null && p >= s.dataLen()) {
                p -= s.dataLen();
                s = s.next();
            }
            if (s == null) throw ABORT;
            v = v << 8 | (s.readByte((int) p) & 0xff);
        }
        return v;
    }

    /** Calls external function {@code idx} (validated to be one). */
    public long call(int idx, long r1, long r2, long r3, long r4, long r5) {
        return funcs[idx].call(this, r1, r2, r3, r4, r5);
    }

    // ---- arithmetic that is not one JVM instruction, shared by both runners

    public static long udiv64(long a, long b) {
        if (b == 0) throw ABORT;
        return Long.divideUnsigned(a, b);
    }

    public static long umod64(long a, long b) {
        if (b == 0) throw ABORT;
        return Long.remainderUnsigned(a, b);
    }

    public static long udiv32(long a, long b) {
        if ((int) b == 0) throw ABORT;
        return Integer.divideUnsigned((int) a, (int) b) & MASK;
    }

    public static long umod32(long a, long b) {
        if ((int) b == 0) throw ABORT;
        return Integer.remainderUnsigned((int) a, (int) b) & MASK;
    }

    /** BPF_END: to big-endian swaps (the host is little-endian), to little-endian truncates; {@code bits} is 16, 32 or 64. */
    public static long end(long v, boolean toBe, int bits) {
        return switch (bits) {
            case 16 -> toBe ? Character.reverseBytes((char) v) : v & 0xffff;
            case 32 -> toBe ? Integer.reverseBytes((int) v) & MASK : v & MASK;
            default -> toBe ? Long.reverseBytes(v) : v;
        };
    }
}
