package org.jpdk.bpf;

import static org.jpdk.bpf.Ebpf.*;

/**
 * Checks a program before it may run, as rte_bpf's validator: every opcode is known and its
 * fields valid, every jump lands on an instruction inside the program, the control flow has no
 * back-edge (rte_bpf refuses loops; so every run ends within the program's length), every
 * instruction is reachable, no path falls off the end, every register is written before it is
 * read on every path (R1 and R10 at entry; R1..R5 are lost across a call or a packet load), R10
 * is never written, stack accesses through R10 stay inside its 512 bytes, calls name a known
 * function xsym, and packet loads ({@code ld_abs}/{@code ld_ind}) appear only in MBUF programs.
 * A refusal is a {@link BpfException} naming the instruction: {@code "instruction 7 (ldxw r0,
 * [r3+0]): r3 is read before it is written"}.
 *
 * <p>Accesses through other registers are not proven in bounds here: the runners check each one
 * against its region at run time (see {@link BpfVm}).
 */
final class BpfValidator {
    private final BpfProgram p;
    private final long[] code;
    private final int n;

    private BpfValidator(BpfProgram p) {
        this.p = p;
        this.code = p.insns;
        this.n = code.length;
    }

    static void validate(BpfProgram p) {
        BpfValidator v = new BpfValidator(p);
        boolean[] second = v.decode();
        int[] order = v.flow(second);
        v.registers(order, second);
    }

    private BpfException bad(int pc, String why) {
        return new BpfException(p.name() + ": instruction " + pc + " (" + Ebpf.toString(code[pc]) + "): " + why);
    }

    /** Pass 1: each instruction on its own. Returns which words are the second halves of ld_imm64. */
    private boolean[] decode() {
        boolean[] second = new boolean[n];
        for (int pc = 0; pc < n; pc++) {
            long insn = code[pc];
            int c = code(insn), cls = cls(c), op = c & 0xf0, dst = dst(insn), src = src(insn), imm = imm(insn);
            if (dst > R10 || src > R10) throw bad(pc, "register number over 10");
            switch (cls) {
                case ALU, ALU64 -> {
                    if (op > END || (op == END && cls == ALU64)) throw bad(pc, "unknown ALU operation");
                    if (op == END ? (imm != 16 && imm != 32 && imm != 64) : false) throw bad(pc, "byte swap of " + imm + " bits (16, 32 or 64)");
                    if (op != END && op != NEG && (c & X) == 0 && src != 0) throw bad(pc, "src register set on an immediate operation");
                    if (op != END && (c & X) == 0 && (op == DIV || op == MOD) && imm == 0) throw bad(pc, "division by zero");
                    if ((c & X) == 0 && (op == LSH || op == RSH || op == ARSH) && (imm < 0 || imm >= (cls == ALU64 ? 64 : 32))) {
                        throw bad(pc, "shift by " + imm + " is out of range");
                    }
                    if (op == NEG && (c & X) != 0) throw bad(pc, "unknown ALU operation");
                    if (off(insn) != 0) throw bad(pc, "offset set on an ALU operation (signed division is not supported)");
                    if (dst == R10) throw bad(pc, "r10 is read-only");
                }
                case JMP, JMP32 -> {
                    if (op > JSLE) throw bad(pc, "unknown jump operation");
                    if (op == CALL || op == EXIT) {
                        if (cls == JMP32) throw bad(pc, "unknown jump operation");
                        if (op == CALL && (imm < 0 || imm >= p.funcs.length || p.funcs[imm] == null)) {
                            throw bad(pc, "call of unknown function " + imm + " (" + p.funcs.length + " xsyms)");
                        }
                        if (op == CALL && src != 0) throw bad(pc, "calls between BPF functions are not supported");
                        continue;
                    }
                    if (op == JA && cls == JMP32) throw bad(pc, "unknown jump operation");
                    long target = (long) pc + 1 + off(insn);
                    if (target < 0 || target >= n) throw bad(pc, "jump to " + target + " is outside the program (0.." + (n - 1) + ")");
                }
                case LDX -> {
                    if ((c & 0xe0) != MEM) throw bad(pc, "unknown load mode");
                    if (dst == R10) throw bad(pc, "r10 is read-only");
                    stack(pc, src, off(insn), size(c));
                }
                case ST, STX -> {
                    int mode = c & 0xe0;
                    if (mode == ATOMIC && cls == STX) {
                        if ((c & 0x18) != W && (c & 0x18) != DW) throw bad(pc, "atomic add of 1 or 2 bytes");
                        if (imm != ADD) throw bad(pc, "atomic operation " + imm + " is not supported (only add)");
                    } else if (mode != MEM) {
                        throw bad(pc, "unknown store mode");
                    }
                    stack(pc, dst, off(insn), size(c));
                }
                case LD -> {
                    if (c == LD_IMM64) {
                        if (pc + 1 >= n || code(code[pc + 1]) != 0 || (code[pc + 1] & 0xffffffffL) != 0) throw bad(pc, "ld_imm64 without its second half");
                        if (src != 0) throw bad(pc, "ld_imm64 of pseudo source " + src + " is not supported");
                        if (dst == R10) throw bad(pc, "r10 is read-only");
                        second[++pc] = true;
                    } else if ((c & 0xe0) == ABS || (c & 0xe0) == IND) {
                        if ((c & 0x18) == DW) throw bad(pc, "packet load of 8 bytes");
                        if (p.arg != BpfProgram.Arg.MBUF) throw bad(pc, "packet load (ld_abs/ld_ind) in a program whose argument is not an mbuf");
                    } else {
                        throw bad(pc, "unknown load");
                    }
                }
                default -> throw bad(pc, "unknown opcode");
            }
        }
        for (int pc = 0; pc < n; pc++) {
            int c = code(code[pc]);
            if (second[pc] || (cls(c) != JMP && cls(c) != JMP32)) continue;
            int op = c & 0xf0;
            if (op == CALL || op == EXIT) continue;
            int target = pc + 1 + off(code[pc]);
            if (second[target]) throw bad(pc, "jump into the middle of ld_imm64 at " + (target - 1));
        }
        return second;
    }

    private void stack(int pc, int base, int off, int size) {
        if (base == R10 && (off < -STACK_SIZE || off > -size)) throw bad(pc, "stack access at r10" + off + " of " + size + " bytes is outside the 512-byte stack");
    }

    /** Pass 2: depth-first walk; refuses back-edges, falling off the end and unreachable code. Returns the reverse post-order. */
    private int[] flow(boolean[] second) {
        byte[] state = new byte[n]; // 0 new, 1 on the path, 2 done
        int[] post = new int[n];
        int posts = 0;
        int[] stack = new int[n], edge = new int[n];
        int sp = 0;
        stack[sp] = 0;
        edge[sp++] = 0;
        state[0] = 1;
        while (sp > 0) {
            int pc = stack[sp - 1];
            int[] succ = successors(pc);
            if (edge[sp - 1] < succ.length) {
                int s = succ[edge[sp - 1]++];
                if (s >= n) throw bad(pc, "the program falls off its end");
                if (state[s] == 1) throw bad(pc, "back-edge to instruction " + s + ": loops are not supported");
                if (state[s] == 0) {
                    state[s] = 1;
                    stack[sp] = s;
                    edge[sp++] = 0;
                }
            } else {
                state[pc] = 2;
                post[posts++] = pc;
                sp--;
            }
        }
        for (int pc = 0; pc < n; pc++) if (state[pc] == 0 && !second[pc]) throw bad(pc, "unreachable instruction");
        int[] order = new int[posts];
        for (int i = 0; i < posts; i++) order[i] = post[posts - 1 - i];
        return order;
    }

    private int[] successors(int pc) {
        long insn = code[pc];
        int c = code(insn), cls = cls(c), op = c & 0xf0;
        if (c == LD_IMM64) return new int[]{pc + 2};
        if (cls != JMP && cls != JMP32 || op == CALL) return new int[]{pc + 1};
        if (op == EXIT) return new int[0];
        int target = pc + 1 + off(insn);
        if (op == JA) return new int[]{target};
        return target == pc + 1 ? new int[]{pc + 1} : new int[]{pc + 1, target};
    }

    /** Pass 3: registers written before read, over the reverse post-order (a topological order: there are no back-edges). */
    private void registers(int[] order, boolean[] second) {
        int all = (1 << 11) - 1;
        int[] in = new int[n];
        java.util.Arrays.fill(in, -1);
        in[0] = 1 << R1 | 1 << R10;
        for (int pc : order) {
            int live = in[pc];
            long insn = code[pc];
            int c = code(insn), cls = cls(c), op = c & 0xf0, dst = dst(insn), src = src(insn);
            int reads = 0, writes = 0, kills = 0;
            switch (cls) {
                case ALU, ALU64 -> {
                    if (op != MOV) reads |= 1 << dst;
                    if ((c & X) != 0 && op != END) reads |= 1 << src;
                    writes = 1 << dst;
                }
                case JMP, JMP32 -> {
                    if (op == EXIT) reads = 1 << R0;
                    else if (op == CALL) {
                        writes = 1 << R0;
                        kills = 0b111110;
                    } else if (op != JA) {
                        reads = 1 << dst | ((c & X) != 0 ? 1 << src : 0);
                    }
                }
                case LDX -> {
                    reads = 1 << src;
                    writes = 1 << dst;
                }
                case ST -> reads = 1 << dst;
                case STX -> reads = 1 << dst | 1 << src;
                default -> {
                    if (c == LD_IMM64) writes = 1 << dst;
                    else {
                        reads = 1 << R6 | ((c & 0xe0) == IND ? 1 << src : 0);
                        writes = 1 << R0;
                        kills = 0b111110;
                    }
                }
            }
            int missing = reads & ~live;
            if (missing != 0) throw bad(pc, "r" + Integer.numberOfTrailingZeros(missing) + " is read before it is written");
            int out = (live & ~kills | writes) & all;
            for (int s : successors(pc)) in[s] &= out;
        }
    }
}
