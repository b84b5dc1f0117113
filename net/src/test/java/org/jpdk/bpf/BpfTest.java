package org.jpdk.bpf;

import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.jpdk.bpf.Ebpf.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Hand-written programs with known results, run by both runners (which must agree), and the
 * validator's refusals, one per rule, each naming the instruction. Several programs follow DPDK's
 * bpf_autotest (test_bpf.c): the same operations and edge values, checked against results
 * computed here in plain Java.
 */
class BpfTest {
    /** Concatenates instruction words and arrays of them (ld_imm64's two words). */
    static long[] prog(Object... parts) {
        List<Long> out = new ArrayList<>();
        for (Object o : parts) {
            if (o instanceof long[] a) for (long l : a) out.add(l);
            else out.add((Long) o);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Runs {@code p} on {@code data} with both runners, asserts they agree, returns the result. */
    static long both(BpfProgram p, byte[] data) {
        MemorySegment a = MemorySegment.ofArray(data.clone()), b = MemorySegment.ofArray(data.clone());
        long i = p.arg() == BpfProgram.Arg.RAW ? p.interpreter().exec(0x1234) : p.interpreter().exec(a);
        long c = p.arg() == BpfProgram.Arg.RAW ? p.compiled().exec(0x1234) : p.compiled().exec(b);
        assertEquals(i, c, "interpreter vs compiled for\n" + p.disassemble());
        assertArrayEquals(a.toArray(ValueLayout.JAVA_BYTE), b.toArray(ValueLayout.JAVA_BYTE), "packet after the run");
        return i;
    }

    static long raw(long... insns) {
        return both(BpfProgram.load(insns, BpfProgram.Arg.RAW), new byte[0]);
    }

    @Test
    void aluOperationsGiveTheirJavaResults() {
        long a = 0x8765_4321_fedc_ba98L, b = 0x0000_0003_0000_0007L;
        long[] setup = prog(ldImm64(R2, a), ldImm64(R3, b));
        int[] ops = {ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, MOD, XOR, MOV, ARSH};
        long[] want64 = {a + b, a - b, a * b, Long.divideUnsigned(a, b), a | b, a & b, a << 7, a >>> 7, Long.remainderUnsigned(a, b), a ^ b, b, a >> 7};
        for (int i = 0; i < ops.length; i++) {
            assertEquals(want64[i], raw(prog(setup, alu64(ops[i], R2, R3), mov64(R0, R2), exit())), "alu64 op " + ops[i]);
            int x = (int) a, y = (int) b;
            long w32 = switch (ops[i]) {
                case ADD -> x + y;
                case SUB -> x - y;
                case MUL -> x * y;
                case DIV -> Integer.divideUnsigned(x, y);
                case OR -> x | y;
                case AND -> x & y;
                case LSH -> x << 7;
                case RSH -> x >>> 7;
                case MOD -> Integer.remainderUnsigned(x, y);
                case XOR -> x ^ y;
                case MOV -> y;
                default -> x >> 7;
            } & 0xffffffffL;
            assertEquals(w32, raw(prog(setup, alu32(ops[i], R2, R3), mov64(R0, R2), exit())), "alu32 op " + ops[i]);
        }
        assertEquals(-a, raw(prog(setup, alu64Imm(NEG, R2, 0), mov64(R0, R2), exit())));
        assertEquals(a + -5, raw(prog(setup, alu64Imm(ADD, R2, -5), mov64(R0, R2), exit())), "immediates are sign-extended");
        assertEquals(0xfffffffbL, raw(mov64Imm(R0, 0), alu32Imm(MOV, R0, -5), exit()), "alu32 zero-extends");
    }

    @Test
    void byteSwapsAsOnALittleEndianHost() {
        long v = 0x1122_3344_5566_7788L;
        assertEquals(0x8877L, raw(prog(ldImm64(R0, v), insn(ALU | END | TO_BE, R0, 0, 0, 16), exit())));
        assertEquals(0x8877_6655L, raw(prog(ldImm64(R0, v), insn(ALU | END | TO_BE, R0, 0, 0, 32), exit())));
        assertEquals(Long.reverseBytes(v), raw(prog(ldImm64(R0, v), insn(ALU | END | TO_BE, R0, 0, 0, 64), exit())));
        assertEquals(0x7788L, raw(prog(ldImm64(R0, v), insn(ALU | END | TO_LE, R0, 0, 0, 16), exit())));
        assertEquals(0x5566_7788L, raw(prog(ldImm64(R0, v), insn(ALU | END | TO_LE, R0, 0, 0, 32), exit())));
    }

    @Test
    void divisionByZeroEndsTheProgramWithZero() {
        assertEquals(0, raw(mov64Imm(R0, 9), mov64Imm(R2, 0), alu64(DIV, R0, R2), exit()));
        assertEquals(0, raw(mov64Imm(R0, 9), ldImm64(R2, 1L << 32)[0], ldImm64(R2, 1L << 32)[1], alu32(MOD, R0, R2), exit()), "a 32-bit divisor of 0");
        assertEquals(4, raw(mov64Imm(R0, 9), mov64Imm(R2, 2), alu64(DIV, R0, R2), exit()));
    }

    @Test
    void jumpsSignedUnsignedAnd32Bit() {
        long[][] cases = {
                // op, a, b, taken?
                {JEQ, 5, 5, 1}, {JNE, 5, 5, 0}, {JGT, -1, 1, 1}, {JSGT, -1, 1, 0}, {JGE, 1, 1, 1}, {JSGE, -2, -3, 1},
                {JLT, 1, -1, 1}, {JSLT, 1, -1, 0}, {JLE, 2, 2, 1}, {JSLE, -5, 2, 1}, {JSET, 6, 8, 0}, {JSET, 6, 2, 1},
        };
        for (long[] c : cases) {
            for (int cls : new int[]{JMP, JMP32}) {
                long a = c[1], b = c[2];
                long[] p = prog(ldImm64(R2, a), ldImm64(R3, b), mov64Imm(R0, 0), insn(cls | (int) c[0] | X, R2, R3, 1, 0), exit(), mov64Imm(R0, 1), exit());
                assertEquals(c[3], raw(p), "op " + c[0] + " class " + cls + " a=" + a + " b=" + b);
                long[] k = prog(ldImm64(R2, a), mov64Imm(R0, 0), insn(cls | (int) c[0] | K, R2, 0, 1, (int) b), exit(), mov64Imm(R0, 1), exit());
                assertEquals(c[3], raw(k), "op " + c[0] + " (imm) class " + cls);
            }
        }
        // JMP32 compares only the low halves
        assertEquals(1, raw(prog(ldImm64(R2, 0x1_0000_0005L), mov64Imm(R0, 0), insn(JMP32 | JEQ | K, R2, 0, 1, 5), exit(), mov64Imm(R0, 1), exit())));
        assertEquals(0, raw(prog(ldImm64(R2, 0x1_0000_0005L), mov64Imm(R0, 0), insn(JMP | JEQ | K, R2, 0, 1, 5), exit(), mov64Imm(R0, 1), exit())));
    }

    @Test
    void stackLoadsStoresAndAtomicAdd() {
        long[] p = prog(ldImm64(R2, 0x0102_0304_0506_0708L), stx(DW, R10, R2, -8), st(W, R10, -16, 40), mov64Imm(R3, 2),
                insn(STX | ATOMIC | W, R10, R3, -16, ADD), ldx(W, R0, R10, -16), ldx(B, R4, R10, -8), alu64(ADD, R0, R4),
                ldx(H, R4, R10, -7), alu64(ADD, R0, R4), exit());
        assertEquals(42 + 8 + 0x0607, raw(p));
    }

    @Test
    void packetPointerLoadsAreBoundedToThePacket() {
        // r0 = *(u16 *)(pkt + 12): the ethertype as stored (little-endian load of big-endian bytes)
        long[] p = prog(ldx(H, R0, R1, 12), exit());
        BpfProgram prog = BpfProgram.load(p, BpfProgram.Arg.PTR);
        byte[] pkt = new byte[14];
        pkt[12] = 0x08;
        assertEquals(0x0008, both(prog, pkt));
        assertEquals(0, both(prog, new byte[13]), "a load past the packet ends with 0");
        long[] neg = prog(mov64(R2, R1), alu64Imm(SUB, R2, 1), ldx(B, R0, R2, 0), exit());
        assertEquals(0, both(BpfProgram.load(neg, BpfProgram.Arg.PTR), new byte[64]), "a load before the packet ends with 0");
        long[] write = prog(st(B, R1, 0, 0x5a), ldx(B, R0, R1, 0), exit());
        assertEquals(0x5a, both(BpfProgram.load(write, BpfProgram.Arg.PTR), new byte[1]));
    }

    @Test
    void packetLoadsOfMbufPrograms() {
        try (Mempool<Mbuf> pool = Mbuf.createPool("bpf_test", 63, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY)) {
            // ld_abs h [12]; ld_ind b [r7 + 1]; header field data_len at +40
            long[] p = prog(mov64(R6, R1), insn(LD | ABS | H, 0, 0, 0, 12), mov64(R8, R0), mov64Imm(R7, 2),
                    insn(LD | IND | B, 0, R7, 0, 1), alu64Imm(LSH, R8, 8), alu64(OR, R8, R0), ldx(H, R0, R6, 40), alu64Imm(LSH, R0, 32),
                    alu64(OR, R0, R8), exit());
            BpfProgram prog = BpfProgram.load(p, BpfProgram.Arg.MBUF);
            Mbuf m = Mbuf.alloc(pool);
            m.append(60);
            m.writeByte(12, 0x86);
            m.writeByte(13, 0xdd);
            m.writeByte(3, 0x77);
            long want = 60L << 32 | 0x86dd77;
            assertEquals(want, prog.interpreter().exec(m));
            assertEquals(want, prog.compiled().exec(m));
            m.trim(48);
            assertEquals(0, prog.interpreter().exec(m), "ld_abs past the packet ends with 0");
            assertEquals(0, prog.compiled().exec(m));
            m.free();
        }
    }

    @Test
    void externalFunctionsAndVariables() {
        MemorySegment var = MemorySegment.ofArray(new long[2]);
        var.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 1000);
        List<Xsym> xs = List.of(new Xsym.Func("sum3", (vm, a, b, c, d, e) -> a + b + c), new Xsym.Var("counter", var),
                new Xsym.Func("peek", (vm, a, b, c, d, e) -> vm.ldb(a)));
        long[] p = prog(mov64Imm(R1, 1), mov64Imm(R2, 2), mov64Imm(R3, 3), call(0), mov64(R6, R0),
                insn(LD_IMM64, R7, Xsym.PSEUDO_VAR, 0, 1), 0L, ldx(DW, R0, R7, 0), alu64(ADD, R0, R6), stx(DW, R7, R0, 8),
                st(B, R10, -1, 9), mov64(R1, R10), alu64Imm(ADD, R1, -1), mov64(R6, R0), call(2), alu64(ADD, R0, R6), exit());
        BpfProgram prog = BpfProgram.load(p, BpfProgram.Arg.RAW, xs);
        assertEquals(1015, prog.interpreter().exec(0));
        assertEquals(1006, var.get(ValueLayout.JAVA_LONG_UNALIGNED, 8));
        var.set(ValueLayout.JAVA_LONG_UNALIGNED, 8, 0);
        assertEquals(1015, prog.compiled().exec(0));
        assertEquals(1006, var.get(ValueLayout.JAVA_LONG_UNALIGNED, 8));
    }

    // ---- the validator

    static void refused(String message, BpfProgram.Arg arg, long... insns) {
        BpfException e = assertThrows(BpfException.class, () -> BpfProgram.load(insns, arg));
        assertTrue(e.getMessage().contains(message), "wanted '" + message + "' in: " + e.getMessage());
        assertTrue(e.getMessage().contains("instruction "), e.getMessage());
    }

    @Test
    void validatorRefusesEachKindOfBadProgram() {
        refused("instruction 1 (ja +5): jump to 7 is outside", BpfProgram.Arg.RAW, mov64Imm(R0, 0), ja(5), exit());
        refused("instruction 2 (ja -3): back-edge to instruction 0: loops are not supported", BpfProgram.Arg.RAW, mov64Imm(R0, 0), mov64Imm(R0, 1), ja(-3), exit());
        refused("instruction 2 (mov r0, 2): unreachable", BpfProgram.Arg.RAW, mov64Imm(R0, 0), exit(), mov64Imm(R0, 2), exit());
        refused("instruction 1 (add r0, r2): r0 is read before it is written", BpfProgram.Arg.RAW, mov64Imm(R2, 0), alu64(ADD, R0, R2), exit());
        refused("instruction 0 (exit): r0 is read before it is written", BpfProgram.Arg.RAW, exit());
        refused("r2 is read before it is written", BpfProgram.Arg.RAW, mov64Imm(R0, 0), jmpImm(JEQ, R1, 0, 1), mov64Imm(R2, 1), mov64(R0, R2), exit());
        BpfException e = assertThrows(BpfException.class, () -> BpfProgram.load(prog(call(0), mov64(R0, R1), exit()), BpfProgram.Arg.RAW,
                List.of(new Xsym.Func("f", (vm, a, b, c, d, x) -> 0))));
        assertEquals("program: instruction 1 (mov r0, r1): r1 is read before it is written", e.getMessage(), "a call loses r1..r5");
        refused("stack access at r10-520 of 8 bytes is outside", BpfProgram.Arg.RAW, ldx(DW, R0, R10, -520), exit());
        refused("stack access at r10-4 of 8 bytes", BpfProgram.Arg.RAW, ldx(DW, R0, R10, -4), exit());
        refused("call of unknown function 3", BpfProgram.Arg.RAW, call(3), exit());
        refused("the program falls off its end", BpfProgram.Arg.RAW, mov64Imm(R0, 0));
        refused("r10 is read-only", BpfProgram.Arg.RAW, mov64Imm(R10, 0), exit());
        refused("opcode 0xff", BpfProgram.Arg.RAW, insn(0xff, 0, 0, 0, 0), exit());
        refused("division by zero", BpfProgram.Arg.RAW, mov64Imm(R0, 1), alu64Imm(DIV, R0, 0), exit());
        refused("shift by 64 is out of range", BpfProgram.Arg.RAW, mov64Imm(R0, 1), alu64Imm(LSH, R0, 64), exit());
        refused("ld_imm64 without its second half", BpfProgram.Arg.RAW, mov64Imm(R0, 1), insn(LD_IMM64, R0, 0, 0, 1));
        refused("jump into the middle of ld_imm64", BpfProgram.Arg.RAW, mov64Imm(R0, 1), ja(1), ldImm64(R0, 5)[0], ldImm64(R0, 5)[1], exit());
        refused("packet load (ld_abs/ld_ind) in a program whose argument is not an mbuf", BpfProgram.Arg.PTR, mov64(R6, R1), insn(LD | ABS | B, 0, 0, 0, 0), exit());
        refused("register number over 10", BpfProgram.Arg.RAW, insn(ALU64 | MOV | K, 11, 0, 0, 0), mov64Imm(R0, 0), exit());
        refused("atomic operation 1 is not supported", BpfProgram.Arg.RAW, mov64Imm(R0, 0), insn(STX | ATOMIC | W, R10, R0, -8, 1), exit());
        assertThrows(BpfException.class, () -> BpfProgram.load(new long[0], BpfProgram.Arg.RAW));
        assertThrows(BpfException.class, () -> BpfProgram.load(new long[MAX_INSNS + 1], BpfProgram.Arg.RAW));
    }

    @Test
    void disassemblyNamesTheInstructions() {
        BpfProgram p = BpfProgram.load(prog(ldx(W, R0, R1, 12), jmpImm(JEQ, R0, 17, 1), mov64Imm(R0, 0), exit()), BpfProgram.Arg.PTR);
        assertEquals(List.of("   0: ldxw r0, [r1+12]", "   1: jeq r0, 17, +1", "   2: mov r0, 0", "   3: exit"),
                Arrays.asList(p.disassemble().split("\\R")));
    }
}
