package org.jpdk.bpf;

import org.jpdk.mbuf.Mbuf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A classic BPF program (libpcap's {@code struct bpf_program}: code u16, jt u8, jf u8, k u32 per
 * instruction): checked on construction, run directly ({@link #run}), or converted to eBPF
 * ({@link #toEbpf}) as rte_bpf_convert does, so that the eBPF runners and the compiler take it.
 *
 * <p>Machine: accumulator A, index X, scratch M[0..15], all 32-bit and zero at the start. A packet
 * load past the packet, or a division by X = 0, ends the program with 0 (drop), as in the kernel
 * and libpcap. The result is the number of bytes to keep; 0 rejects the packet.
 *
 * <p>Conversion, as the kernel's and rte_bpf's: A is R0, X is R7, R8 a temporary, R6 the mbuf;
 * M[i] lives on the stack at {@code r10 - 64 + 4i}; packet loads become {@code ld_abs}/{@code
 * ld_ind}, {@code len} the mbuf's pkt_len; each conditional jump a JMP32 compare to its true
 * target and a {@code ja} to its false target unless that is the next instruction. The result is
 * an {@link BpfProgram.Arg#MBUF} program.
 */
public final class Cbpf {
    public static final int LD = 0, LDX = 1, ST = 2, STX = 3, ALU = 4, JMP = 5, RET = 6, MISC = 7;
    public static final int W = 0, H = 8, B = 0x10, IMM = 0, ABS = 0x20, IND = 0x40, MEM = 0x60, LEN = 0x80, MSH = 0xa0;
    public static final int K = 0, X = 8, A = 0x10, TAX = 0, TXA = 0x80;
    public static final int MEMWORDS = 16, MAX_INSNS = 4096;
    private static final ValueLayout.OfShort H_BE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt W_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** One instruction. */
    public record Insn(int code, int jt, int jf, int k) {
        @Override
        public String toString() {
            return String.format("{ 0x%x, %d, %d, 0x%08x }", code, jt, jf, k);
        }
    }

    private final Insn[] insns;

    /** Checks {@code insns} as the kernel's sk_chk_filter: known opcodes, jumps in range, scratch index in range, last instruction a return. */
    public Cbpf(List<Insn> insns) {
        this.insns = insns.toArray(Insn[]::new);
        int n = this.insns.length;
        if (n == 0 || n > MAX_INSNS) throw new BpfException("classic BPF: " + n + " instructions (1.." + MAX_INSNS + ")");
        for (int pc = 0; pc < n; pc++) {
            Insn i = this.insns[pc];
            int c = i.code(), cls = c & 7;
            String bad = switch (cls) {
                case LD, LDX -> {
                    int mode = c & 0xe0, size = c & 0x18;
                    boolean ok = cls == LD ? (mode == IMM || mode == LEN || mode == MEM || ((mode == ABS || mode == IND) && size != 0x18))
                            : (mode == IMM || mode == LEN || mode == MEM || (mode == MSH && size == B));
                    if (!ok) yield "unknown load";
                    yield mode == MEM && (i.k() < 0 || i.k() >= MEMWORDS) ? "scratch memory index " + i.k() : null;
                }
                case ST, STX -> c != cls ? "unknown store" : i.k() < 0 || i.k() >= MEMWORDS ? "scratch memory index " + i.k() : null;
                case ALU -> {
                    int op = c & 0xf0;
                    if (op > 0xa0 || (op == 0x80 && (c & X) != 0)) yield "unknown ALU operation";
                    yield (op == 0x30 || op == 0x90) && (c & X) == 0 && i.k() == 0 ? "division by zero" : null;
                }
                case JMP -> {
                    int op = c & 0xf0;
                    if (op > 0x40) yield "unknown jump";
                    long t = op == 0 ? pc + 1L + (i.k() & 0xffffffffL) : pc + 1L + Math.max(i.jt(), i.jf());
                    yield t >= n ? "jump to " + t + " is outside the program" : null;
                }
                case RET -> (c & 0x18) == 0x18 ? "unknown return" : null;
                default -> c != (MISC | TAX) && c != (MISC | TXA) ? "unknown misc operation" : null;
            };
            if (bad != null) throw new BpfException("classic BPF: instruction " + pc + " " + i + ": " + bad);
        }
        int last = this.insns[n - 1].code() & 7;
        if (last != RET) throw new BpfException("classic BPF: instruction " + (n - 1) + " " + this.insns[n - 1] + ": the program does not end with a return");
    }

    public List<Insn> instructions() {
        return List.of(insns);
    }

    /** Runs the program on a packet's first segment; {@code wirelen} is what {@code len} reads. Returns the bytes to keep (0: reject). */
    public int run(MemorySegment pkt, long off, long caplen, int wirelen) {
        int a = 0, x = 0;
        int[] mem = null;
        for (int pc = 0; ; pc++) {
            Insn i = insns[pc];
            int c = i.code(), k = i.k();
            switch (c & 7) {
                case LD, LDX -> {
                    int v;
                    switch (c & 0xe0) {
                        case IMM -> v = k;
                        case LEN -> v = wirelen;
                        case MEM -> v = mem == null ? 0 : mem[k];
                        case MSH -> {
                            if ((k & 0xffffffffL) >= caplen) return 0;
                            v = (pkt.get(ValueLayout.JAVA_BYTE, off + k) & 0xf) << 2;
                        }
                        default -> {
                            long at = ((c & 0xe0) == IND ? x + k : k) & 0xffffffffL; // u32 arithmetic, as the kernel's
                            int size = (c & 0x18) == W ? 4 : (c & 0x18) == H ? 2 : 1;
                            if (at > caplen - size) return 0;
                            v = size == 4 ? pkt.get(W_BE, off + at) : size == 2 ? pkt.get(H_BE, off + at) & 0xffff : pkt.get(ValueLayout.JAVA_BYTE, off + at) & 0xff;
                        }
                    }
                    if ((c & 7) == LD) a = v;
                    else x = v;
                }
                case ST, STX -> {
                    if (mem == null) mem = new int[MEMWORDS];
                    mem[k] = (c & 7) == ST ? a : x;
                }
                case ALU -> {
                    int b = (c & X) != 0 ? x : k;
                    switch (c & 0xf0) {
                        case 0x00 -> a += b;
                        case 0x10 -> a -= b;
                        case 0x20 -> a *= b;
                        case 0x30 -> {
                            if (b == 0) return 0;
                            a = Integer.divideUnsigned(a, b);
                        }
                        case 0x40 -> a |= b;
                        case 0x50 -> a &= b;
                        case 0x60 -> a = (b & 0xffffffffL) >= 32 ? 0 : a << b;
                        case 0x70 -> a = (b & 0xffffffffL) >= 32 ? 0 : a >>> b;
                        case 0x80 -> a = -a;
                        case 0x90 -> {
                            if (b == 0) return 0;
                            a = Integer.remainderUnsigned(a, b);
                        }
                        default -> a ^= b;
                    }
                }
                case JMP -> {
                    int op = c & 0xf0;
                    if (op == 0) {
                        pc += k;
                        continue;
                    }
                    int b = (c & X) != 0 ? x : k;
                    boolean t = switch (op) {
                        case 0x10 -> a == b;
                        case 0x20 -> Integer.compareUnsigned(a, b) > 0;
                        case 0x30 -> Integer.compareUnsigned(a, b) >= 0;
                        default -> (a & b) != 0;
                    };
                    pc += t ? i.jt() : i.jf();
                }
                case RET -> {
                    return (c & 0x18) == A ? a : (c & 0x18) == X ? x : k;
                }
                default -> {
                    if (c == (MISC | TAX)) x = a;
                    else a = x;
                }
            }
        }
    }

    /** Runs the program on the bytes of {@code pkt}. */
    public int run(MemorySegment pkt) {
        return run(pkt, 0, pkt.byteSize(), (int) pkt.byteSize());
    }

    /** Runs the program on an mbuf's first segment ({@code len} is its pkt_len). */
    public int run(Mbuf m) {
        return run(m.buffer(), m.dataOff(), m.dataLen(), m.pktLen());
    }

    /** The eBPF program that computes the same result (rte_bpf_convert); its argument is the mbuf. */
    public long[] toEbpf() {
        int n = insns.length;
        boolean[] reach = new boolean[n];
        reach[0] = true;
        for (int pc = 0; pc < n; pc++) {
            if (!reach[pc]) continue;
            Insn i = insns[pc];
            int c = i.code();
            if ((c & 7) == RET) continue;
            if ((c & 7) == JMP) {
                if ((c & 0xf0) == 0) reach[pc + 1 + i.k()] = true;
                else {
                    reach[pc + 1 + i.jt()] = true;
                    reach[pc + 1 + i.jf()] = true;
                }
            } else {
                reach[pc + 1] = true;
            }
        }
        // two passes: the first finds where each classic instruction starts, the second emits with real offsets
        int[] start = new int[n + 1];
        boolean usesScratch = false;
        for (Insn i : insns) usesScratch |= (i.code() & 0xe0) == MEM && (i.code() & 7) <= LDX || (i.code() & 7) == ST || (i.code() & 7) == STX;
        List<Long> out = new ArrayList<>();
        for (int pass = 0; pass < 2; pass++) {
            out.clear();
            out.add(Ebpf.mov64(Ebpf.R6, Ebpf.R1));
            out.add(Ebpf.alu32Imm(Ebpf.MOV, Ebpf.R0, 0));
            out.add(Ebpf.alu32Imm(Ebpf.MOV, Ebpf.R7, 0));
            if (usesScratch) for (int w = 0; w < MEMWORDS; w += 2) out.add(Ebpf.st(Ebpf.DW, Ebpf.R10, slot(w), 0)); // M[] starts at 0 each run
            for (int pc = 0; pc < n; pc++) {
                start[pc] = out.size();
                if (reach[pc]) emit(out, pc, start);
            }
            start[n] = out.size();
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** This program converted and loaded as eBPF. */
    public BpfProgram toProgram() {
        return BpfProgram.load("classic BPF", toEbpf(), BpfProgram.Arg.MBUF, List.of(), List.of());
    }

    private static int slot(int k) {
        return -64 + 4 * k;
    }

    private void emit(List<Long> out, int pc, int[] start) {
        Insn i = insns[pc];
        int c = i.code(), k = i.k();
        final int a = Ebpf.R0, x = Ebpf.R7, tmp = Ebpf.R8, ctx = Ebpf.R6;
        switch (c & 7) {
            case LD, LDX -> {
                int dst = (c & 7) == LD ? a : x;
                switch (c & 0xe0) {
                    case IMM -> out.add(Ebpf.alu32Imm(Ebpf.MOV, dst, k));
                    case LEN -> out.add(Ebpf.ldx(Ebpf.W, dst, ctx, 36));
                    case MEM -> out.add(Ebpf.ldx(Ebpf.W, dst, Ebpf.R10, slot(k)));
                    case MSH -> {
                        out.add(Ebpf.mov64(tmp, a));
                        out.add(Ebpf.insn(Ebpf.LD | Ebpf.ABS | Ebpf.B, 0, 0, 0, k));
                        out.add(Ebpf.alu32Imm(Ebpf.AND, a, 0xf));
                        out.add(Ebpf.alu32Imm(Ebpf.LSH, a, 2));
                        out.add(Ebpf.mov64(x, a));
                        out.add(Ebpf.mov64(a, tmp));
                    }
                    default -> out.add(Ebpf.insn(Ebpf.LD | (c & 0xe0) | (c & 0x18), 0, (c & 0xe0) == IND ? x : 0, 0, k));
                }
            }
            case ST -> out.add(Ebpf.stx(Ebpf.W, Ebpf.R10, a, slot(k)));
            case STX -> out.add(Ebpf.stx(Ebpf.W, Ebpf.R10, x, slot(k)));
            case ALU -> {
                int op = c & 0xf0;
                if (op == Ebpf.NEG) out.add(Ebpf.alu32Imm(Ebpf.NEG, a, 0));
                else if ((op == Ebpf.LSH || op == Ebpf.RSH) && ((c & X) != 0 || (k & 0xffffffffL) >= 32)) {
                    // classic shifts by 32 or more give 0; eBPF's would mask the count
                    if ((c & X) == 0) out.add(Ebpf.alu32Imm(Ebpf.MOV, a, 0));
                    else {
                        out.add(Ebpf.insn(Ebpf.JMP32 | Ebpf.JGE | Ebpf.K, x, 0, 2, 32));
                        out.add(Ebpf.alu32(op, a, x));
                        out.add(Ebpf.ja(1));
                        out.add(Ebpf.alu32Imm(Ebpf.MOV, a, 0));
                    }
                } else if ((c & X) != 0) out.add(Ebpf.alu32(op, a, x));
                else out.add(Ebpf.alu32Imm(op, a, k));
            }
            case JMP -> {
                int op = c & 0xf0;
                if (op == 0) {
                    out.add(Ebpf.ja(start[pc + 1 + k] - out.size() - 1));
                    return;
                }
                int t = start[pc + 1 + i.jt()], f = start[pc + 1 + i.jf()];
                int ebpfOp = switch (op) {
                    case 0x10 -> Ebpf.JEQ;
                    case 0x20 -> Ebpf.JGT;
                    case 0x30 -> Ebpf.JGE;
                    default -> Ebpf.JSET;
                };
                if ((c & X) != 0) out.add(Ebpf.insn(Ebpf.JMP32 | ebpfOp | Ebpf.X, a, x, t - out.size() - 1, 0));
                else out.add(Ebpf.insn(Ebpf.JMP32 | ebpfOp | Ebpf.K, a, 0, t - out.size() - 1, k));
                if (i.jf() != 0) out.add(Ebpf.ja(f - out.size() - 1));
            }
            case RET -> {
                if ((c & 0x18) == K) out.add(Ebpf.alu32Imm(Ebpf.MOV, a, k));
                else if ((c & 0x18) == X) out.add(Ebpf.mov64(a, x));
                out.add(Ebpf.exit());
            }
            default -> out.add(c == (MISC | TAX) ? Ebpf.mov64(x, a) : Ebpf.mov64(a, x));
        }
    }

    /** The program in tcpdump's {@code -dd} form. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Insn i : insns) sb.append(i).append(",\n");
        return sb.toString();
    }

    /** Parses tcpdump's {@code -ddd} output: a count line, then "code jt jf k" per line. */
    public static Cbpf parseDdd(String text) {
        String[] lines = text.strip().split("\\R");
        int n = Integer.parseInt(lines[0].trim());
        List<Insn> l = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            long[] f = Arrays.stream(lines[i].trim().split("\\s+")).mapToLong(Long::parseLong).toArray();
            l.add(new Insn((int) f[0], (int) f[1], (int) f[2], (int) f[3]));
        }
        return new Cbpf(l);
    }
}
