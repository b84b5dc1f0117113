package org.jpdk.bpf;

/**
 * The eBPF instruction set as rte_bpf and the kernel define it: one instruction is a 64-bit word,
 * held here as a {@code long} in the byte order of the file (little-endian), so that an ELF
 * section read with {@code getLong} is already an instruction array.
 *
 * <pre>
 * bits  0..7   opcode (class in bits 0..2)      bits 8..11  dst register
 * bits 12..15  src register                     bits 16..31 off (signed 16)
 * bits 32..63  imm (signed 32)
 * classes  LD 0  LDX 1  ST 2  STX 3  ALU 4  JMP 5  JMP32 6  ALU64 7
 * ALU op (bits 4..7)  ADD SUB MUL DIV OR AND LSH RSH NEG MOD XOR MOV ARSH END
 * JMP op (bits 4..7)  JA JEQ JGT JGE JSET JNE JSGT JSGE CALL EXIT JLT JLE JSLT JSLE
 * size (bits 3..4)    W 0  H 8  B 0x10  DW 0x18;  mode (bits 5..7)  IMM 0 ABS 0x20 IND 0x40 MEM 0x60 ATOMIC 0xc0
 * </pre>
 *
 * {@code ld_imm64} (opcode 0x18) takes two words: the low 32 bits of the constant in the first
 * word's imm, the high 32 bits in the second's.
 */
public final class Ebpf {
    public static final int LD = 0, LDX = 1, ST = 2, STX = 3, ALU = 4, JMP = 5, JMP32 = 6, ALU64 = 7;
    public static final int ADD = 0x00, SUB = 0x10, MUL = 0x20, DIV = 0x30, OR = 0x40, AND = 0x50, LSH = 0x60, RSH = 0x70,
            NEG = 0x80, MOD = 0x90, XOR = 0xa0, MOV = 0xb0, ARSH = 0xc0, END = 0xd0;
    public static final int JA = 0x00, JEQ = 0x10, JGT = 0x20, JGE = 0x30, JSET = 0x40, JNE = 0x50, JSGT = 0x60, JSGE = 0x70,
            CALL = 0x80, EXIT = 0x90, JLT = 0xa0, JLE = 0xb0, JSLT = 0xc0, JSLE = 0xd0;
    /** Source operand: K the immediate, X the src register; for END, TO_LE and TO_BE. */
    public static final int K = 0x00, X = 0x08, TO_LE = 0x00, TO_BE = 0x08;
    public static final int W = 0x00, H = 0x08, B = 0x10, DW = 0x18;
    public static final int IMM = 0x00, ABS = 0x20, IND = 0x40, MEM = 0x60, ATOMIC = 0xc0;
    public static final int LD_IMM64 = LD | IMM | DW;
    /** Registers: R0 the result, R1..R5 arguments, R6..R9 callee-saved, R10 the read-only frame pointer. */
    public static final int R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;
    /** The stack a program has below R10, as rte_bpf's MAX_BPF_STACK_SIZE. */
    public static final int STACK_SIZE = 512;
    /** The most instructions a program may have (rte_bpf has no limit; one compiled method must fit the JVM's 64 KiB). */
    public static final int MAX_INSNS = 4096;

    private Ebpf() {
    }

    public static int code(long insn) {
        return (int) insn & 0xff;
    }

    public static int dst(long insn) {
        return (int) (insn >>> 8) & 0xf;
    }

    public static int src(long insn) {
        return (int) (insn >>> 12) & 0xf;
    }

    public static int off(long insn) {
        return (short) (insn >>> 16);
    }

    public static int imm(long insn) {
        return (int) (insn >>> 32);
    }

    public static int cls(int code) {
        return code & 7;
    }

    /** Size in bytes of a load or store opcode. */
    public static int size(int code) {
        return switch (code & 0x18) {
            case W -> 4;
            case H -> 2;
            case B -> 1;
            default -> 8;
        };
    }

    /** One instruction word. */
    public static long insn(int code, int dst, int src, int off, int imm) {
        return (code & 0xffL) | (dst & 0xfL) << 8 | (src & 0xfL) << 12 | (off & 0xffffL) << 16 | (long) imm << 32;
    }

    public static long alu64(int op, int dst, int src) {
        return insn(ALU64 | op | X, dst, src, 0, 0);
    }

    public static long alu64Imm(int op, int dst, int imm) {
        return insn(ALU64 | op | K, dst, 0, 0, imm);
    }

    public static long alu32(int op, int dst, int src) {
        return insn(ALU | op | X, dst, src, 0, 0);
    }

    public static long alu32Imm(int op, int dst, int imm) {
        return insn(ALU | op | K, dst, 0, 0, imm);
    }

    public static long mov64(int dst, int src) {
        return alu64(MOV, dst, src);
    }

    public static long mov64Imm(int dst, int imm) {
        return alu64Imm(MOV, dst, imm);
    }

    public static long ldx(int size, int dst, int src, int off) {
        return insn(LDX | MEM | size, dst, src, off, 0);
    }

    public static long stx(int size, int dst, int src, int off) {
        return insn(STX | MEM | size, dst, src, off, 0);
    }

    public static long st(int size, int dst, int off, int imm) {
        return insn(ST | MEM | size, dst, 0, off, imm);
    }

    public static long jmp(int op, int dst, int src, int off) {
        return insn(JMP | op | X, dst, src, off, 0);
    }

    public static long jmpImm(int op, int dst, int imm, int off) {
        return insn(JMP | op | K, dst, 0, off, imm);
    }

    public static long ja(int off) {
        return insn(JMP | JA, 0, 0, off, 0);
    }

    public static long call(int imm) {
        return insn(JMP | CALL, 0, 0, 0, imm);
    }

    public static long exit() {
        return insn(JMP | EXIT, 0, 0, 0, 0);
    }

    /** The two words of {@code ld_imm64 dst, value}. */
    public static long[] ldImm64(int dst, long value) {
        return new long[]{insn(LD_IMM64, dst, 0, 0, (int) value), insn(0, 0, 0, 0, (int) (value >>> 32))};
    }

    private static final String[] ALU_NAMES = {"add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "neg", "mod", "xor", "mov", "arsh", "end"};
    private static final String[] JMP_NAMES = {"ja", "jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "call", "exit", "jlt", "jle", "jslt", "jsle"};

    /** A one-line disassembly, for messages: {@code "add r1, 4"}, {@code "ldxw r0, [r1+12]"}, {@code "jeq r2, 17, +3"}. */
    public static String toString(long insn) {
        int code = code(insn), cls = cls(code), op = code & 0xf0;
        String d = "r" + dst(insn), s = "r" + src(insn), sz = switch (code & 0x18) {
            case W -> "w";
            case H -> "h";
            case B -> "b";
            default -> "dw";
        };
        String o = (off(insn) >= 0 ? "+" : "") + off(insn);
        return switch (cls) {
            case ALU, ALU64 -> {
                if (op >= 0xe0) yield unknown(code);
                String n = ALU_NAMES[op >>> 4] + (cls == ALU ? "32" : "");
                if (op == NEG) yield n + " " + d;
                if (op == END) yield ((code & X) != 0 ? "be" : "le") + imm(insn) + " " + d;
                yield n + " " + d + ", " + ((code & X) != 0 ? s : String.valueOf(imm(insn)));
            }
            case JMP, JMP32 -> {
                if (op >= 0xe0) yield unknown(code);
                if (op == EXIT) yield "exit";
                if (op == CALL) yield "call " + imm(insn);
                if (op == JA) yield "ja " + o;
                yield JMP_NAMES[op >>> 4] + (cls == JMP32 ? "32" : "") + " " + d + ", " + ((code & X) != 0 ? s : String.valueOf(imm(insn))) + ", " + o;
            }
            case LDX -> "ldx" + sz + " " + d + ", [" + s + o + "]";
            case STX -> ((code & 0xe0) == ATOMIC ? "xadd" : "stx") + sz + " [" + d + o + "], " + s;
            case ST -> "st" + sz + " [" + d + o + "], " + imm(insn);
            default -> code == LD_IMM64 ? "lddw " + d + ", " + imm(insn) + (src(insn) != 0 ? " (pseudo " + src(insn) + ")" : "")
                    : (code & 0xe0) == ABS ? "ld" + sz + " [" + imm(insn) + "]"
                    : (code & 0xe0) == IND ? "ld" + sz + " [" + s + "+" + imm(insn) + "]" : unknown(code);
        };
    }

    private static String unknown(int code) {
        return String.format("opcode 0x%02x", code);
    }
}
