package org.jpdk.bpf;

import static org.jpdk.bpf.Ebpf.*;

/**
 * Runs a validated program one instruction at a time, as rte_bpf_exec. Registers live in the
 * executor's array; memory, division and byte swaps go through {@link BpfVm}'s helpers, the same
 * ones the compiled class calls. The validator has ruled out back-edges, so a run takes at most
 * as many steps as the program has instructions.
 */
final class BpfInterpreter implements BpfVm.Runner {
    private final long[] code;

    BpfInterpreter(BpfProgram p) {
        this.code = p.insns;
    }

    @Override
    public long run(BpfVm vm, long r1) {
        long[] r = vm.regs;
        java.util.Arrays.fill(r, 0);
        r[R1] = r1;
        r[R10] = BpfVm.STACK_TOP;
        int pc = 0;
        while (true) {
            long insn = code[pc++];
            int c = code(insn), dst = dst(insn), src = src(insn), off = off(insn), imm = imm(insn);
            switch (cls(c)) {
                case ALU64 -> {
                    long b = (c & X) != 0 ? r[src] : imm, a = r[dst];
                    r[dst] = switch (c & 0xf0) {
                        case ADD -> a + b;
                        case SUB -> a - b;
                        case MUL -> a * b;
                        case DIV -> BpfVm.udiv64(a, b);
                        case OR -> a | b;
                        case AND -> a & b;
                        case LSH -> a << b;
                        case RSH -> a >>> b;
                        case NEG -> -a;
                        case MOD -> BpfVm.umod64(a, b);
                        case XOR -> a ^ b;
                        case MOV -> b;
                        default -> a >> b; // ARSH
                    };
                }
                case ALU -> {
                    int b = (c & X) != 0 ? (int) r[src] : imm, a = (int) r[dst];
                    int op = c & 0xf0;
                    r[dst] = switch (op) {
                        case ADD -> (a + b) & BpfVm.MASK;
                        case SUB -> (a - b) & BpfVm.MASK;
                        case MUL -> (a * b) & BpfVm.MASK;
                        case DIV -> BpfVm.udiv32(a, b);
                        case OR -> (a | b) & BpfVm.MASK;
                        case AND -> (a & b) & BpfVm.MASK;
                        case LSH -> (a << b) & BpfVm.MASK;
                        case RSH -> (a >>> b) & BpfVm.MASK;
                        case NEG -> (-a) & BpfVm.MASK;
                        case MOD -> BpfVm.umod32(a, b);
                        case XOR -> (a ^ b) & BpfVm.MASK;
                        case MOV -> b & BpfVm.MASK;
                        case ARSH -> (a >> b) & BpfVm.MASK;
                        default -> BpfVm.end(r[dst], (c & X) != 0, imm); // END
                    };
                }
                case JMP, JMP32 -> {
                    int op = c & 0xf0;
                    if (op == EXIT) return r[R0];
                    if (op == CALL) {
                        r[R0] = vm.call(imm, r[R1], r[R2], r[R3], r[R4], r[R5]);
                        continue;
                    }
                    if (op == JA || taken(op, cls(c) == JMP32, r[dst], (c & X) != 0 ? r[src] : imm)) pc += off;
                }
                case LDX -> {
                    long a = r[src] + off;
                    r[dst] = switch (c & 0x18) {
                        case B -> vm.ldb(a);
                        case H -> vm.ldh(a);
                        case W -> vm.ldw(a);
                        default -> vm.lddw(a);
                    };
                }
                case ST, STX -> {
                    long a = r[dst] + off, v = cls(c) == ST ? imm : r[src];
                    if ((c & 0xe0) == ATOMIC) {
                        if ((c & 0x18) == W) vm.xaddw(a, v);
                        else vm.xadddw(a, v);
                        continue;
                    }
                    switch (c & 0x18) {
                        case B -> vm.stb(a, v);
                        case H -> vm.sth(a, v);
                        case W -> vm.stw(a, v);
                        default -> vm.stdw(a, v);
                    }
                }
                default -> {
                    if (c == LD_IMM64) {
                        r[dst] = (insn >>> 32) | (code[pc++] >>> 32) << 32;
                    } else {
                        long o = ((c & 0xe0) == IND ? (int) r[src] + imm : imm) & BpfVm.MASK; // a u32 offset, as rte_bpf's
                        r[R0] = vm.ldAbs(o, size(c));
                    }
                }
            }
        }
    }

    /** Whether a conditional jump is taken; JMP32 compares the low 32 bits. */
    static boolean taken(int op, boolean w32, long a, long b) {
        if (w32) {
            a = (int) a;
            b = (int) b;
            if (op == JGT || op == JGE || op == JLT || op == JLE) {
                a &= BpfVm.MASK;
                b &= BpfVm.MASK;
            }
        }
        return switch (op) {
            case JEQ -> a == b;
            case JGT -> Long.compareUnsigned(a, b) > 0;
            case JGE -> Long.compareUnsigned(a, b) >= 0;
            case JSET -> (a & b) != 0;
            case JNE -> a != b;
            case JSGT -> a > b;
            case JSGE -> a >= b;
            case JLT -> Long.compareUnsigned(a, b) < 0;
            case JLE -> Long.compareUnsigned(a, b) <= 0;
            case JSLT -> a < b;
            default -> a <= b; // JSLE
        };
    }
}
