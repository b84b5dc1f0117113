package org.jpdk.bpf;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.jpdk.bpf.Ebpf.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Differential tests: many generated programs, each run by the interpreter and by its compiled
 * class on the same packets, must give the same result and leave the same bytes behind; and
 * random instruction streams must never crash the loader, the validator or either runner.
 */
class BpfDiffTest {
    /** A random valid program: every register set first, then ALU, loads, stores and forward jumps, then exit. */
    static long[] generate(Random rnd, int groups) {
        List<long[]> g = new ArrayList<>();
        g.add(new long[]{mov64(R9, R1)});
        for (int r = R0; r <= R8; r++) g.add(rnd.nextBoolean() ? ldImm64(r, rnd.nextLong()) : new long[]{mov64Imm(r, rnd.nextInt(64) - 8)});
        List<int[]> jumps = new ArrayList<>(); // group index of a jump, its target group
        for (int i = 0; i < groups; i++) {
            int d = rnd.nextInt(9), s = rnd.nextInt(10), imm = rnd.nextInt(8) == 0 ? rnd.nextInt() : rnd.nextInt(70) - 4;
            int pick = rnd.nextInt(100);
            if (pick < 40) {
                int[] ops = {ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR, MOV, ARSH};
                int op = ops[rnd.nextInt(ops.length)], cls = rnd.nextBoolean() ? ALU64 : ALU;
                boolean reg = rnd.nextBoolean() && op != NEG;
                if (s == R9 && rnd.nextBoolean()) s = R0;
                if (!reg && (op == LSH || op == RSH || op == ARSH)) imm = rnd.nextInt(cls == ALU64 ? 64 : 32);
                if (!reg && (op == DIV || op == MOD) && imm == 0) imm = 3;
                g.add(new long[]{insn(cls | op | (reg ? X : K), d, reg ? s : 0, 0, op == NEG ? 0 : imm)});
            } else if (pick < 45) {
                int[] bits = {16, 32, 64};
                g.add(new long[]{insn(ALU | END | (rnd.nextBoolean() ? TO_BE : TO_LE), d, 0, 0, bits[rnd.nextInt(3)])});
            } else if (pick < 60) {
                int[] sizes = {B, H, W, DW};
                boolean stack = rnd.nextInt(3) == 0;
                int sz = sizes[rnd.nextInt(4)];
                int off = stack ? -(size(sz) + 8 * rnd.nextInt(8)) : rnd.nextInt(72);
                g.add(new long[]{ldx(sz, d, stack ? R10 : R9, off)});
            } else if (pick < 72) {
                int[] sizes = {B, H, W, DW};
                int sz = sizes[rnd.nextInt(4)];
                boolean stack = rnd.nextInt(4) != 0;
                int off = stack ? -(size(sz) + 8 * rnd.nextInt(8)) : rnd.nextInt(72);
                int base = stack ? R10 : R9;
                if (rnd.nextInt(5) == 0 && size(sz) >= 4) g.add(new long[]{insn(STX | ATOMIC | sz, base, s == R9 ? R0 : s, off, ADD)});
                else if (rnd.nextBoolean()) g.add(new long[]{st(sz, base, off, imm)});
                else g.add(new long[]{stx(sz, base, s == R9 ? R0 : s, off)});
            } else if (pick < 95) {
                int[] ops = {JEQ, JGT, JGE, JSET, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE, JA};
                int op = ops[rnd.nextInt(ops.length)], cls = op != JA && rnd.nextBoolean() ? JMP32 : JMP;
                boolean reg = rnd.nextBoolean();
                jumps.add(new int[]{g.size(), g.size() + 1 + rnd.nextInt(Math.max(1, groups - i))});
                g.add(new long[]{op == JA ? ja(0) : insn(cls | op | (reg ? X : K), d, reg ? s : 0, 0, imm)});
            } else {
                g.add(ldImm64(d, rnd.nextLong()));
            }
        }
        g.add(new long[]{exit()});
        int[] at = new int[g.size() + 1];
        for (int i = 0; i < g.size(); i++) at[i + 1] = at[i] + g.get(i).length;
        for (int[] j : jumps) {
            int target = Math.min(j[1], g.size() - 1);
            long w = g.get(j[0])[0];
            int off = at[target] - at[j[0]] - 1;
            g.set(j[0], new long[]{w & ~0xffff_0000L | (off & 0xffffL) << 16});
        }
        long[] out = new long[at[g.size()]];
        for (int i = 0; i < g.size(); i++) System.arraycopy(g.get(i), 0, out, at[i], g.get(i).length);
        return out;
    }

    static byte[] packet(Random rnd) {
        byte[] p = new byte[rnd.nextInt(6) == 0 ? rnd.nextInt(80) : 80 + rnd.nextInt(48)]; // mostly long enough, some short
        rnd.nextBytes(p);
        return p;
    }

    @Test
    void interpreterAndCompiledAgreeOnGeneratedPrograms() {
        Random rnd = new Random(16);
        int programs = 300, aborted = 0, runs = 0;
        for (int i = 0; i < programs; i++) {
            long[] code = generate(rnd, 5 + rnd.nextInt(60));
            BpfProgram p;
            try {
                p = BpfProgram.load(code, BpfProgram.Arg.PTR);
            } catch (BpfException e) {
                assertTrue(e.getMessage().contains("unreachable"), e.getMessage()); // code an unconditional jump skips
                continue;
            }
            BpfVm interp = p.interpreter(), comp = p.compiled();
            for (int k = 0; k < 8; k++) {
                byte[] pkt = packet(rnd);
                MemorySegment a = MemorySegment.ofArray(pkt.clone()), b = MemorySegment.ofArray(pkt.clone());
                long x = interp.exec(a), y = comp.exec(b);
                assertEquals(x, y, "program " + i + " on a " + pkt.length + "-byte packet:\n" + p.disassemble());
                assertArrayEquals(a.toArray(ValueLayout.JAVA_BYTE), b.toArray(ValueLayout.JAVA_BYTE), "packet bytes after program " + i);
                runs++;
                if (x == 0) aborted++;
            }
        }
        assertTrue(aborted < runs / 2, "most runs end with a real result, not an abort: " + aborted + " of " + runs);
    }

    @Test
    void randomInstructionStreamsNeverCrash() {
        Random rnd = new Random(7);
        int[] codes = {0x07, 0x0f, 0x04, 0x0c, 0xb7, 0xbf, 0xb4, 0xbc, 0x15, 0x1d, 0x25, 0x55, 0x05, 0x85, 0x95, 0x18, 0x61, 0x69, 0x71,
                0x79, 0x62, 0x63, 0x7b, 0xdb, 0xc3, 0x20, 0x28, 0x30, 0x40, 0x37, 0x3f, 0x97, 0x9f, 0x6f, 0x7f, 0xcf, 0xdc, 0xd4, 0x16, 0xa6};
        int accepted = 0;
        for (int i = 0; i < 20000; i++) {
            int n = 1 + rnd.nextInt(12), init = rnd.nextInt(3) == 0 ? 0 : 10;
            long[] code = new long[init + n];
            for (int k = 0; k < init; k++) code[k] = k == R1 ? mov64(R9, R1) : mov64Imm(k, rnd.nextInt(100) - 10);
            for (int k = init; k < init + n; k++) {
                int c = rnd.nextInt(10) == 0 ? rnd.nextInt(256) : codes[rnd.nextInt(codes.length)];
                code[k] = insn(c, rnd.nextInt(11), rnd.nextInt(11), rnd.nextInt(7) - 2, rnd.nextInt(5) == 0 ? rnd.nextInt() : rnd.nextInt(20) - 4);
            }
            if (rnd.nextInt(3) != 0) code[init + n - 1] = exit();
            BpfProgram.Arg arg = BpfProgram.Arg.values()[rnd.nextInt(3)];
            BpfProgram p;
            try {
                p = BpfProgram.load(code, arg, List.of(new Xsym.Func("f", (vm, a, b, c, d, e) -> a ^ b)));
            } catch (BpfException e) {
                assertTrue(e.getMessage().startsWith("program: instruction ") || e.getMessage().startsWith("program: no"), e.getMessage());
                continue;
            }
            accepted++;
            byte[] pkt = packet(rnd);
            long r1 = rnd.nextLong();
            long x = arg == BpfProgram.Arg.RAW ? p.interpreter().exec(r1) : p.interpreter().exec(MemorySegment.ofArray(pkt.clone()));
            long y = arg == BpfProgram.Arg.RAW ? p.compiled().exec(r1) : p.compiled().exec(MemorySegment.ofArray(pkt.clone()));
            assertEquals(x, y, p.disassemble());
        }
        assertTrue(accepted > 100, "some random programs pass the validator: " + accepted);
    }
}
