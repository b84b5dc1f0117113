package org.jpdk.bpf;

/**
 * A function the host gives programs by name (rte_bpf's {@code RTE_BPF_XTYPE_FUNC}): called with
 * R1..R5, its result goes to R0. Pointer arguments are addresses in the program's memory; read
 * and write them through {@code vm}'s bounded accessors ({@link BpfVm#ldb}, {@link BpfVm#stw}...).
 */
@FunctionalInterface
public interface BpfFunction {
    long call(BpfVm vm, long r1, long r2, long r3, long r4, long r5);
}
