package org.jpdk.bpf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads an eBPF program from an ELF relocatable object made by {@code clang -O2 -target bpf -c},
 * as rte_bpf_elf_load: the whole named section is the program. Relocations against
 * {@code .data}, {@code .rodata*} and {@code .bss} give the address of a private copy of that
 * section (read-only for {@code .rodata}); relocations against an undefined symbol resolve by
 * name to an {@link Xsym}: a {@code call} gets the function's index, an {@code ld_imm64} the
 * variable's address. Anything else (calls between BPF functions, map definitions, an unknown
 * symbol) is refused with one line naming the file, the section and the byte.
 */
public final class ElfLoader {
    static final int R_BPF_64_64 = 1, R_BPF_64_32 = 10;
    static final long MAX_FILE = 64L << 20;

    private ElfLoader() {
    }

    /** Loads section {@code section} (null: the first executable section with code) of {@code file}. */
    public static BpfProgram load(Path file, String section, BpfProgram.Arg arg, List<Xsym> xsyms) {
        String what = file.toString();
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_FILE) throw new BpfException(what + ": over " + MAX_FILE + " bytes; not a BPF object");
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BpfException(what + ": cannot read: " + e, e);
        }
        return load(bytes, what, section, arg, xsyms);
    }

    /** As {@link #load(Path, String, BpfProgram.Arg, List)} from the object's bytes; {@code what} names it in messages. */
    public static BpfProgram load(byte[] bytes, String what, String section, BpfProgram.Arg arg, List<Xsym> xsyms) {
        try {
            Elf elf = Elf.parse(bytes, what);
            if (elf.machine() != Elf.EM_BPF) throw new BpfException(what + ": not a BPF object (ELF machine " + elf.machine() + ", BPF is 247); compile with clang -O2 -target bpf -c");
            if (elf.type() != Elf.ET_REL) throw new BpfException(what + ": not an object file (ELF type " + elf.type() + ")");
            return load(elf, what, section, arg, xsyms);
        } catch (IllegalArgumentException e) {
            throw new BpfException(e.getMessage(), e);
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            throw new BpfException(what + ": malformed ELF object (" + e.getMessage() + ")", e);
        }
    }

    private static BpfProgram load(Elf elf, String what, String name, BpfProgram.Arg arg, List<Xsym> xsyms) {
        Elf.Section prog = null;
        for (Elf.Section s : elf.sections()) {
            if (name != null ? s.name().equals(name) : s.executable() && s.size() > 0 && (prog == null || prog.name().equals(".text"))) {
                prog = s;
                if (name != null || !s.name().equals(".text")) break;
            }
        }
        if (prog == null) throw new BpfException(what + ": no section " + (name == null ? "with code" : name));
        if (prog.size() == 0 || prog.size() % 8 != 0) throw new BpfException(what + ": section " + prog.name() + " of " + prog.size() + " bytes is not whole instructions");
        if (prog.size() / 8 > Ebpf.MAX_INSNS) throw new BpfException(what + ": section " + prog.name() + " has " + prog.size() / 8 + " instructions, over " + Ebpf.MAX_INSNS);
        ByteBuffer code = ByteBuffer.wrap(elf.data(prog)).order(ByteOrder.LITTLE_ENDIAN);
        long[] insns = new long[(int) (prog.size() / 8)];
        for (int i = 0; i < insns.length; i++) insns[i] = code.getLong(8 * i);
        int vars = 0;
        for (Xsym x : xsyms) if (x instanceof Xsym.Var) vars++;
        Map<Integer, Integer> regionOf = new HashMap<>();
        List<MemorySegment> data = new ArrayList<>();
        for (Elf.Reloc r : elf.relocations(prog)) {
            Elf.Symbol sym = elf.symbol(r.symbol());
            String at = what + ": section " + prog.name() + ", relocation at byte " + r.offset();
            if (r.offset() < 0 || r.offset() % 8 != 0 || r.offset() >= prog.size()) throw new BpfException(at + ": not on an instruction");
            int idx = (int) (r.offset() / 8);
            long insn = insns[idx];
            if (sym.shndx() == 0) {
                int x = xsym(xsyms, sym.name());
                if (x < 0) throw new BpfException(at + ": unknown external symbol " + sym.name() + " (give it as an xsym)");
                if (r.type() == R_BPF_64_32 && Ebpf.code(insn) == (Ebpf.JMP | Ebpf.CALL) && xsyms.get(x) instanceof Xsym.Func) {
                    insns[idx] = Ebpf.insn(Ebpf.JMP | Ebpf.CALL, 0, 0, 0, x);
                } else if (r.type() == R_BPF_64_64 && Ebpf.code(insn) == Ebpf.LD_IMM64 && xsyms.get(x) instanceof Xsym.Var && idx + 1 < insns.length) {
                    insns[idx] = Ebpf.insn(Ebpf.LD_IMM64, Ebpf.dst(insn), Xsym.PSEUDO_VAR, 0, x);
                    insns[idx + 1] = 0;
                } else {
                    throw new BpfException(at + ": " + sym.name() + " used as a " + (xsyms.get(x) instanceof Xsym.Func ? "variable but is a function" : "function but is a variable")
                            + " (relocation type " + r.type() + ")");
                }
                continue;
            }
            if (r.type() == R_BPF_64_32) throw new BpfException(at + ": call of " + sym.name() + ", another BPF function; calls between functions are not supported (mark it static __always_inline)");
            if (r.type() != R_BPF_64_64 || Ebpf.code(insn) != Ebpf.LD_IMM64 || idx + 1 >= insns.length) {
                throw new BpfException(at + ": relocation type " + r.type() + " on " + Ebpf.toString(insn) + " is not supported");
            }
            Elf.Section target = elf.section(sym.shndx());
            if (target.executable() || (target.flags() & Elf.SHF_ALLOC) == 0 || target.name().equals(".maps") || target.name().equals("maps")) {
                throw new BpfException(at + ": refers to " + sym.name() + " in " + target.name() + "; only .data, .rodata and .bss are supported (no maps)");
            }
            Integer region = regionOf.get(target.index());
            if (region == null) {
                if (target.size() > Integer.MAX_VALUE) throw new BpfException(at + ": section " + target.name() + " too large");
                MemorySegment seg = target.type() == Elf.SHT_NOBITS ? MemorySegment.ofArray(new byte[(int) target.size()]) : MemorySegment.ofArray(elf.data(target));
                if ((target.flags() & Elf.SHF_WRITE) == 0) seg = seg.asReadOnly();
                region = BpfVm.STATIC + vars + data.size();
                data.add(seg);
                regionOf.put(target.index(), region);
            }
            long off = (sym.type() == Elf.STT_SECTION ? 0 : sym.value()) + Ebpf.imm(insn);
            if (off < 0 || off > target.size()) throw new BpfException(at + ": offset " + off + " outside " + target.name() + " of " + target.size() + " bytes");
            long addr = (long) region << 32 | off;
            insns[idx] = (insn & 0xffffffffL & ~0xf000L) | (addr & BpfVm.MASK) << 32;
            insns[idx + 1] = (addr >>> 32) << 32;
        }
        return BpfProgram.load(what + ":" + prog.name(), insns, arg, xsyms, data);
    }

    private static int xsym(List<Xsym> xsyms, String name) {
        for (int i = 0; i < xsyms.size(); i++) if (xsyms.get(i).name().equals(name)) return i;
        return -1;
    }
}
