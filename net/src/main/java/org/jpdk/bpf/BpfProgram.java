package org.jpdk.bpf;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A validated eBPF program, as rte_bpf's {@code struct rte_bpf}: its instructions, what R1 is
 * ({@link Arg}), its external symbols and static data. Load one from an instruction array
 * ({@link #load}) or an ELF object ({@link ElfLoader}); run it with an executor from
 * {@link #interpreter()} or {@link #compiled()} (one per thread). The compiled class is made once
 * per program and shared by its executors.
 */
public final class BpfProgram {
    /** What the program gets in R1, as rte_bpf's {@code prog_arg.type}. */
    public enum Arg {
        /** A plain 64-bit value (RTE_BPF_ARG_RAW). */
        RAW,
        /** A pointer to the packet's first byte, bounded to its data length (RTE_BPF_ARG_PTR). */
        PTR,
        /** A pointer to the mbuf (RTE_BPF_ARG_PTR_MBUF): packet bytes through {@code ld_abs}/{@code ld_ind}, header fields in rte_mbuf's layout. */
        MBUF
    }

    final long[] insns;
    final Arg arg;
    final List<Xsym> xsyms;
    final BpfFunction[] funcs;
    final MemorySegment[] statics;
    /** Whether the program may read or write through R1's region (an MBUF program's header is then filled per packet). */
    final boolean readsContext;
    private final String name;
    private volatile BpfVm.Runner compiled;

    private BpfProgram(String name, long[] insns, Arg arg, List<Xsym> xsyms, MemorySegment[] statics) {
        this.name = name;
        this.insns = insns;
        this.arg = arg;
        this.xsyms = List.copyOf(xsyms);
        this.funcs = new BpfFunction[xsyms.size()];
        for (int i = 0; i < funcs.length; i++) if (xsyms.get(i) instanceof Xsym.Func f) funcs[i] = f.fn();
        this.statics = statics;
        boolean ctx = false;
        for (long insn : insns) {
            int cls = Ebpf.cls(Ebpf.code(insn));
            if ((cls == Ebpf.LDX && Ebpf.src(insn) != Ebpf.R10) || ((cls == Ebpf.ST || cls == Ebpf.STX) && Ebpf.dst(insn) != Ebpf.R10)) ctx = true;
        }
        this.readsContext = ctx;
    }

    /**
     * Loads and validates {@code insns} (copied). An {@code ld_imm64} with src {@link Xsym#PSEUDO_VAR}
     * gets the address of variable xsym number imm; a {@code call} imm is the index of a function
     * xsym. Throws {@link BpfException} naming the first bad instruction.
     */
    public static BpfProgram load(long[] insns, Arg arg, List<Xsym> xsyms) {
        return load("program", insns, arg, xsyms, List.of());
    }

    public static BpfProgram load(long[] insns, Arg arg) {
        return load(insns, arg, List.of());
    }

    /** As {@link #load(long[], Arg, List)}, with static data regions (made by the ELF loader) after the variables. */
    static BpfProgram load(String name, long[] insns, Arg arg, List<Xsym> xsyms, List<MemorySegment> data) {
        if (insns == null || insns.length == 0) throw new BpfException(name + ": no instructions");
        if (insns.length > Ebpf.MAX_INSNS) throw new BpfException(name + ": " + insns.length + " instructions, over the limit of " + Ebpf.MAX_INSNS);
        long[] code = insns.clone();
        List<MemorySegment> statics = new ArrayList<>();
        int[] varRegion = new int[xsyms.size()];
        for (int i = 0; i < xsyms.size(); i++) {
            Xsym x = xsyms.get(i);
            if (x == null || x.name() == null) throw new BpfException(name + ": xsym " + i + " is null");
            if (x instanceof Xsym.Var v) {
                if (v.value() == null) throw new BpfException(name + ": variable " + v.name() + " has no memory");
                if (v.value().byteSize() > BpfVm.MASK) throw new BpfException(name + ": variable " + v.name() + " over 4 GiB");
                varRegion[i] = BpfVm.STATIC + statics.size();
                statics.add(v.value());
            } else if (((Xsym.Func) x).fn() == null) {
                throw new BpfException(name + ": function " + x.name() + " is null");
            }
        }
        statics.addAll(data);
        for (int pc = 0; pc < code.length; pc++) {
            long insn = code[pc];
            if (Ebpf.code(insn) != Ebpf.LD_IMM64 || Ebpf.src(insn) != Xsym.PSEUDO_VAR) continue;
            int idx = Ebpf.imm(insn);
            if (idx < 0 || idx >= xsyms.size() || !(xsyms.get(idx) instanceof Xsym.Var) || pc + 1 >= code.length) {
                throw new BpfException(name + ": instruction " + pc + " (" + Ebpf.toString(insn) + "): no variable xsym " + idx);
            }
            long addr = (long) varRegion[idx] << 32;
            code[pc] = (insn & 0xffffffffL & ~0xf000L) | (addr & BpfVm.MASK) << 32;
            code[pc + 1] = (code[pc + 1] & 0xffffffffL) | (addr >>> 32) << 32;
        }
        BpfProgram p = new BpfProgram(name, code, arg, xsyms, statics.toArray(MemorySegment[]::new));
        BpfValidator.validate(p);
        return p;
    }

    public String name() {
        return name;
    }

    public Arg arg() {
        return arg;
    }

    /** The instructions as run (variable addresses resolved); a copy. */
    public long[] instructions() {
        return insns.clone();
    }

    public List<Xsym> xsyms() {
        return xsyms;
    }

    /** A new executor that interprets the program. */
    public BpfVm interpreter() {
        return new BpfVm(this, new BpfInterpreter(this));
    }

    /** A new executor that runs the program's compiled class (compiled on the first call, then cached). */
    public BpfVm compiled() {
        BpfVm.Runner r = compiled;
        if (r == null) {
            synchronized (this) {
                r = compiled;
                if (r == null) compiled = r = BpfCompiler.compile(this);
            }
        }
        return new BpfVm(this, r);
    }

    /** An executor of the kind rte_bpf_eth's flags ask for: compiled (JIT) or interpreted. */
    public BpfVm vm(boolean jit) {
        return jit ? compiled() : interpreter();
    }

    /** The program as text, one instruction a line. */
    public String disassemble() {
        StringBuilder sb = new StringBuilder();
        for (int pc = 0; pc < insns.length; pc++) {
            sb.append(String.format("%4d: %s%n", pc, Ebpf.toString(insns[pc])));
            if (Ebpf.code(insns[pc]) == Ebpf.LD_IMM64) pc++;
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return name + " (" + insns.length + " instructions, arg " + arg + ")";
    }
}
