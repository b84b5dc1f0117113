package org.jpdk.bpf;

import java.lang.foreign.MemorySegment;

/**
 * An external symbol as rte_bpf's {@code struct rte_bpf_xsym}: a function ({@code call} by index,
 * or by name from an ELF object's relocation) or a variable (its address loaded with
 * {@code ld_imm64}; in an instruction array, {@code ld_imm64} with src {@link #PSEUDO_VAR} and imm
 * the symbol's index). A variable is a segment the program reads and writes through bounds checks.
 */
public sealed interface Xsym {
    /** The src register value of an {@code ld_imm64} that loads the address of the variable whose index is its imm. */
    int PSEUDO_VAR = 2;

    String name();

    record Func(String name, BpfFunction fn) implements Xsym {
    }

    record Var(String name, MemorySegment value) implements Xsym {
    }
}
