package org.jpdk.drivers.net.afxdp;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.jpdk.bpf.Elf;
import org.junit.jupiter.api.Tag;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Fuzz target: a user's XDP program object ({@code xdp_prog=}), the ELF reader and everything the
 * loader reads from the file before its first system call: sections, symbols, string tables,
 * BTF map definitions, legacy maps, the license, and the map relocations of the program (with
 * made-up map fds). A bad object is an {@link AfXdpException} of one line; anything else thrown
 * is a finding. The {@link Elf} accessors must not throw for the sections and symbols it listed.
 */
@Tag("fuzz")
class BpfObjectFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void parse(byte[] object) {
        try {
            Elf elf = Elf.parse(object, "fuzz.o");
            for (Elf.Section s : elf.sections()) {
                elf.data(s);
                elf.relocations(s);
            }
        } catch (IllegalArgumentException e) {
            // Elf's documented refusal; the loader turns it into an AfXdpException below
        }
        BpfObject.Parsed p;
        try {
            p = BpfObject.parse(object, "xdp_prog=fuzz.o");
            Map<BpfObject.MapSpec, Integer> fds = new LinkedHashMap<>();
            for (BpfObject.MapSpec m : p.maps()) fds.put(m, 100 + fds.size());
            long[] insns = BpfObject.relocated(p, fds, "xdp_prog=fuzz.o");
            if (insns.length * 8L != p.size()) throw new AssertionError(insns.length + " instructions for " + p.size() + " bytes");
        } catch (AfXdpException e) {
            if (e.getMessage() == null || e.getMessage().contains("\n")) throw new AssertionError("not one line: " + e.getMessage(), e);
        }
    }
}
