package org.jpdk.bpf;

import java.lang.classfile.ClassFile;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.ClassDesc;
import java.lang.constant.ConstantDescs;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;
import static org.jpdk.bpf.Ebpf.*;

/**
 * Translates a validated program into a hidden class ({@code java.lang.classfile}) whose
 * {@code run} method is the program: each eBPF register a {@code long} local, each instruction a
 * few bytecodes, each jump a branch to the target instruction's label. C2 then compiles it like
 * any Java method. Memory, division and byte swaps call {@link BpfVm}'s helpers (small, final, so
 * inlined), the same ones the interpreter uses: both runners agree by construction, and every
 * access is bounds-checked. Programs have no back-edges (the validator's rule), so the method has
 * no loop. A program too large for one method (64 KiB of bytecode) runs interpreted.
 */
final class BpfCompiler {
    private static final AtomicLong SEQ = new AtomicLong();
    private static final ClassDesc VM = ClassDesc.of("org.jpdk.bpf.BpfVm"), RUNNER = ClassDesc.of("org.jpdk.bpf.BpfVm$Runner");
    private static final ClassDesc LONG = ClassDesc.of("java.lang.Long"), INTEGER = ClassDesc.of("java.lang.Integer");
    private static final MethodTypeDesc J_J = MethodTypeDesc.of(CD_long, CD_long), JJ_J = MethodTypeDesc.of(CD_long, CD_long, CD_long),
            JJ_V = MethodTypeDesc.of(CD_void, CD_long, CD_long), JJ_I = MethodTypeDesc.of(CD_int, CD_long, CD_long),
            II_I = MethodTypeDesc.of(CD_int, CD_int, CD_int), JI_J = MethodTypeDesc.of(CD_long, CD_long, CD_int),
            JZI_J = MethodTypeDesc.of(CD_long, CD_long, CD_boolean, CD_int),
            CALL_T = MethodTypeDesc.of(CD_long, CD_int, CD_long, CD_long, CD_long, CD_long, CD_long);
    private static final int VM_SLOT = 1, ARG_SLOT = 2;

    private BpfCompiler() {
    }

    static BpfVm.Runner compile(BpfProgram p) {
        byte[] bytes;
        ClassDesc self = ClassDesc.of("org.jpdk.bpf.BpfCompiled" + SEQ.incrementAndGet());
        try {
            bytes = ClassFile.of().build(self, cb -> cb
                    .withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SYNTHETIC)
                    .withInterfaceSymbols(RUNNER)
                    .withMethodBody(ConstantDescs.INIT_NAME, ConstantDescs.MTD_void, ClassFile.ACC_PUBLIC,
                            c -> c.aload(0).invokespecial(ConstantDescs.CD_Object, ConstantDescs.INIT_NAME, ConstantDescs.MTD_void).return_())
                    .withMethodBody("run", MethodTypeDesc.of(CD_long, VM, CD_long), ClassFile.ACC_PUBLIC, c -> body(c, p.insns)));
        } catch (IllegalArgumentException e) {
            return new BpfInterpreter(p); // over 64 KiB of bytecode
        }
        try {
            MethodHandles.Lookup l = MethodHandles.lookup().defineHiddenClass(bytes, true);
            return (BpfVm.Runner) l.findConstructor(l.lookupClass(), MethodType.methodType(void.class)).invoke();
        } catch (Throwable e) {
            throw new BpfException(p.name() + ": compiling to bytecode failed: " + e, e);
        }
    }

    private static int reg(int r) {
        return 4 + 2 * r;
    }

    private static void body(CodeBuilder c, long[] code) {
        for (int r = 0; r <= R10; r++) {
            if (r == R1) c.lload(ARG_SLOT);
            else if (r == R10) c.loadConstant(BpfVm.STACK_TOP);
            else c.lconst_0();
            c.lstore(reg(r));
        }
        Label[] labels = new Label[code.length];
        for (int pc = 0; pc < code.length; pc++) labels[pc] = c.newLabel();
        for (int pc = 0; pc < code.length; pc++) {
            c.labelBinding(labels[pc]);
            long insn = code[pc];
            int op = code(insn) & 0xf0;
            switch (cls(code(insn))) {
                case ALU64 -> alu64(c, insn, op);
                case ALU -> alu32(c, insn, op);
                case JMP, JMP32 -> jump(c, insn, op, labels, pc);
                case LDX -> {
                    address(c, src(insn), off(insn));
                    c.invokevirtual(VM, switch (code(insn) & 0x18) {
                        case B -> "ldb";
                        case H -> "ldh";
                        case W -> "ldw";
                        default -> "lddw";
                    }, J_J);
                    c.lstore(reg(dst(insn)));
                }
                case ST, STX -> {
                    address(c, dst(insn), off(insn));
                    if (cls(code(insn)) == ST) c.loadConstant((long) imm(insn));
                    else c.lload(reg(src(insn)));
                    boolean atomic = (code(insn) & 0xe0) == ATOMIC;
                    c.invokevirtual(VM, switch (code(insn) & 0x18) {
                        case B -> "stb";
                        case H -> "sth";
                        case W -> atomic ? "xaddw" : "stw";
                        default -> atomic ? "xadddw" : "stdw";
                    }, JJ_V);
                }
                default -> {
                    if (code(insn) == LD_IMM64) {
                        c.loadConstant((insn >>> 32) | (code[++pc] >>> 32) << 32);
                        c.lstore(reg(dst(insn)));
                        continue;
                    }
                    c.aload(VM_SLOT);
                    if ((code(insn) & 0xe0) == IND) {
                        c.lload(reg(src(insn))).l2i().loadConstant(imm(insn)).iadd().i2l().loadConstant(BpfVm.MASK).land();
                    } else {
                        c.loadConstant(imm(insn) & BpfVm.MASK);
                    }
                    c.loadConstant(size(code(insn)));
                    c.invokevirtual(VM, "ldAbs", JI_J);
                    c.lstore(reg(R0));
                }
            }
        }
    }

    private static void address(CodeBuilder c, int base, int off) {
        c.aload(VM_SLOT).lload(reg(base));
        if (off != 0) c.loadConstant((long) off).ladd();
    }

    /** Pushes the second operand as a long: the src register or the sign-extended immediate. */
    private static void operand64(CodeBuilder c, long insn) {
        if ((code(insn) & X) != 0) c.lload(reg(src(insn)));
        else c.loadConstant((long) imm(insn));
    }

    private static void operand32(CodeBuilder c, long insn) {
        if ((code(insn) & X) != 0) c.lload(reg(src(insn))).l2i();
        else c.loadConstant(imm(insn));
    }

    private static void alu64(CodeBuilder c, long insn, int op) {
        int d = reg(dst(insn));
        if (op == MOV) {
            operand64(c, insn);
            c.lstore(d);
            return;
        }
        c.lload(d);
        switch (op) {
            case NEG -> c.lneg();
            case LSH, RSH, ARSH -> {
                operand32(c, insn);
                if (op == LSH) c.lshl();
                else if (op == RSH) c.lushr();
                else c.lshr();
            }
            default -> {
                operand64(c, insn);
                switch (op) {
                    case ADD -> c.ladd();
                    case SUB -> c.lsub();
                    case MUL -> c.lmul();
                    case OR -> c.lor();
                    case AND -> c.land();
                    case XOR -> c.lxor();
                    case DIV -> c.invokestatic(VM, "udiv64", JJ_J);
                    default -> c.invokestatic(VM, "umod64", JJ_J); // MOD
                }
            }
        }
        c.lstore(d);
    }

    private static void alu32(CodeBuilder c, long insn, int op) {
        int d = reg(dst(insn));
        switch (op) {
            case MOV -> {
                operand32(c, insn);
                c.i2l().loadConstant(BpfVm.MASK).land();
            }
            case DIV, MOD -> {
                c.lload(d);
                operand64(c, insn);
                c.invokestatic(VM, op == DIV ? "udiv32" : "umod32", JJ_J);
            }
            case END -> {
                c.lload(d).loadConstant((code(insn) & X) != 0 ? 1 : 0).loadConstant(imm(insn));
                c.invokestatic(VM, "end", JZI_J);
            }
            default -> {
                c.lload(d).l2i();
                if (op == NEG) {
                    c.ineg();
                } else {
                    operand32(c, insn);
                    switch (op) {
                        case ADD -> c.iadd();
                        case SUB -> c.isub();
                        case MUL -> c.imul();
                        case OR -> c.ior();
                        case AND -> c.iand();
                        case XOR -> c.ixor();
                        case LSH -> c.ishl();
                        case RSH -> c.iushr();
                        default -> c.ishr(); // ARSH
                    }
                }
                c.i2l().loadConstant(BpfVm.MASK).land();
            }
        }
        c.lstore(d);
    }

    private static void jump(CodeBuilder c, long insn, int op, Label[] labels, int pc) {
        switch (op) {
            case EXIT -> {
                c.lload(reg(R0)).lreturn();
                return;
            }
            case CALL -> {
                c.aload(VM_SLOT).loadConstant(imm(insn));
                for (int r = R1; r <= R5; r++) c.lload(reg(r));
                c.invokevirtual(VM, "call", CALL_T).lstore(reg(R0));
                return;
            }
            case JA -> {
                c.goto_(labels[pc + 1 + off(insn)]);
                return;
            }
            default -> {
            }
        }
        Label target = labels[pc + 1 + off(insn)];
        if (cls(code(insn)) == JMP) {
            c.lload(reg(dst(insn)));
            operand64(c, insn);
            switch (op) {
                case JSET -> c.land().lconst_0().lcmp().ifne(target);
                case JGT, JGE, JLT, JLE -> {
                    c.invokestatic(LONG, "compareUnsigned", JJ_I);
                    signedBranch(c, op, target);
                }
                default -> {
                    c.lcmp();
                    signedBranch(c, op, target);
                }
            }
        } else {
            c.lload(reg(dst(insn))).l2i();
            operand32(c, insn);
            switch (op) {
                case JSET -> c.iand().ifne(target);
                case JGT, JGE, JLT, JLE -> {
                    c.invokestatic(INTEGER, "compareUnsigned", II_I);
                    signedBranch(c, op, target);
                }
                case JEQ -> c.if_icmpeq(target);
                case JNE -> c.if_icmpne(target);
                case JSGT -> c.if_icmpgt(target);
                case JSGE -> c.if_icmpge(target);
                case JSLT -> c.if_icmplt(target);
                default -> c.if_icmple(target); // JSLE
            }
        }
    }

    /** Branches on an int comparison result already on the stack. */
    private static void signedBranch(CodeBuilder c, int op, Label target) {
        switch (op) {
            case JEQ -> c.ifeq(target);
            case JNE -> c.ifne(target);
            case JGT, JSGT -> c.ifgt(target);
            case JGE, JSGE -> c.ifge(target);
            case JLT, JSLT -> c.iflt(target);
            default -> c.ifle(target); // JLE, JSLE
        }
    }
}
