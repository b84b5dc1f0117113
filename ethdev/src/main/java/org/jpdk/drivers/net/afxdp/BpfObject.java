package org.jpdk.drivers.net.afxdp;

import org.jpdk.bpf.Elf;
import org.jpdk.sys.Bpf;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A user's XDP program from an ELF object ({@code xdp_prog=prog.o}, made with {@code clang -O2 -g
 * -target bpf -c prog.c}), loaded as libbpf would load the simple ones, in Java: its maps are made
 * with BPF_MAP_CREATE, each instruction that loads a map's address ({@code ld_imm64} with an
 * R_BPF_64_64 relocation against the map's symbol) gets the map's fd (src = BPF_PSEUDO_MAP_FD),
 * and the first function of the program section is loaded with BPF_PROG_LOAD. As DPDK's
 * xdp_prog, the program must redirect to an XSKMAP: the one named {@code xsks_map}, or the only
 * XSKMAP of the object; the port puts its sockets there.
 *
 * <p>What it takes: the program section {@code xdp} (or {@code xdp/...}; otherwise the first
 * executable section with code other than {@code .text}); maps defined in {@code .maps} through
 * BTF (libbpf's {@code __uint}/{@code __type} macros; see {@link Btf}) or in the legacy
 * {@code maps} section ({@code struct bpf_map_def}: type, key_size, value_size, max_entries,
 * map_flags, u32 each); the {@code license} section. What it refuses, each with one line: calls
 * to other functions (mark them {@code __always_inline}), global variables ({@code .data},
 * {@code .rodata}, {@code .bss}), CO-RE relocations against kernel types, map pinning and
 * map-in-map, XDP multi-buffer programs ({@code xdp.frags}).
 */
final class BpfObject {
    static final int R_BPF_64_64 = 1, R_BPF_64_32 = 10;
    static final int LD_IMM64 = 0x18;
    static final long MAX_FILE = 64L << 20;
    static final String XSKMAP_NAME = "xsks_map";
    /** The most entries a map of a user's program may ask for, so that a damaged object cannot have the kernel allocate gigabytes. */
    static final int MAX_ENTRIES = 1 << 20;

    private BpfObject() {
    }

    /** A map of the object: its symbol name and definition. */
    record MapSpec(String name, int section, long offset, int type, int keySize, int valueSize, int maxEntries, int flags) {
    }

    /** Loads the XDP program and its maps from {@code file}; throws {@link AfXdpException} with one line. */
    static XdpProgram loadXdp(Path file) {
        String what = "xdp_prog=" + file;
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_FILE) throw new AfXdpException(what + ": over " + MAX_FILE + " bytes; not a BPF object");
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new AfXdpException(what + ": cannot read: " + e.getMessage(), e);
        }
        Parsed p = parse(bytes, what);
        Map<MapSpec, Integer> fds = new LinkedHashMap<>();
        try {
            for (MapSpec m : p.maps()) {
                fds.put(m, Bpf.mapCreate(m.type(), m.keySize(), m.valueSize(), m.maxEntries(), m.flags(), sanitize(m.name())));
            }
            long[] insns = relocated(p, fds, what);
            int progFd = XdpProgram.load(insns, p.license(), p.name(), "xdp program " + p.name() + " from " + what.substring(9) + " (" + insns.length + " instructions)");
            List<Integer> others = new ArrayList<>();
            for (var e : fds.entrySet()) if (e.getKey() != p.xsk()) others.add(e.getValue());
            return new XdpProgram(progFd, fds.get(p.xsk()), p.xsk().maxEntries(), others.stream().mapToInt(Integer::intValue).toArray(),
                    "program " + p.name() + " from " + what.substring(9));
        } catch (RuntimeException e) {
            for (int fd : fds.values()) Libc.close(fd);
            if (e instanceof LinuxException le && !(e instanceof Bpf.VerifierException)) throw new AfXdpException(what + ": " + le.getMessage(), le);
            if (e instanceof IllegalArgumentException) throw new AfXdpException(e.getMessage(), e);
            throw e;
        }
    }

    /** What {@link #parse} found: the program's code range, its name and license, and the maps (the XSKMAP among them). */
    record Parsed(Elf elf, Elf.Section prog, long start, long size, String name, String license, List<MapSpec> maps, MapSpec xsk) {
    }

    /**
     * Everything of {@link #loadXdp} that reads the object and makes no system call: the ELF, the
     * program section and function, the license, the maps. Bad input is an {@link AfXdpException}
     * of one line, whatever part of the file is wrong.
     */
    static Parsed parse(byte[] bytes, String what) {
        Elf elf;
        try {
            elf = Elf.parse(bytes, what);
        } catch (IllegalArgumentException e) {
            throw new AfXdpException(e.getMessage(), e);
        } catch (IndexOutOfBoundsException e) {
            throw new AfXdpException(what + ": malformed ELF object (" + e.getMessage() + ")", e);
        }
        if (elf.machine() != Elf.EM_BPF) {
            throw new AfXdpException(what + ": not a BPF object (ELF machine " + elf.machine() + ", BPF is 247); compile with clang -O2 -g -target bpf -c");
        }
        if (elf.type() != Elf.ET_REL) throw new AfXdpException(what + ": not an object file (ELF type " + elf.type() + ")");
        try {
            Elf.Section prog = programSection(elf, what);
            Elf.Symbol func = null;
            for (Elf.Symbol s : elf.symbols()) {
                if (s.shndx() == prog.index() && s.type() == Elf.STT_FUNC && (func == null || s.value() < func.value())) func = s;
            }
            long start = func == null ? 0 : func.value(), size = func == null || func.size() == 0 ? prog.size() - start : func.size();
            if (start < 0 || size <= 0 || start + size > prog.size() || size % 8 != 0) {
                throw new AfXdpException(what + ": program " + (func == null ? prog.name() : func.name()) + " at " + start + " of " + size
                        + " bytes does not fit section " + prog.name());
            }
            String name = sanitize(func == null ? prog.name() : func.name());
            List<MapSpec> specs = maps(elf, what);
            return new Parsed(elf, prog, start, size, name, license(elf), specs, xskMap(specs, what));
        } catch (IllegalArgumentException e) {
            throw new AfXdpException(e.getMessage(), e);
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            throw new AfXdpException(what + ": malformed object (" + e.getMessage() + ")", e);
        }
    }

    /** The program's instructions with every map reference turned into the map's fd in {@code fds}; bad relocations are an {@link AfXdpException}. */
    static long[] relocated(Parsed p, Map<MapSpec, Integer> fds, String what) {
        try {
            return instructions(p.elf(), p.prog(), p.start(), p.size(), p.maps(), fds, what);
        } catch (IllegalArgumentException e) {
            throw new AfXdpException(e.getMessage(), e);
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            throw new AfXdpException(what + ": malformed object (" + e.getMessage() + ")", e);
        }
    }

    private static Elf.Section programSection(Elf elf, String what) {
        Elf.Section first = null;
        for (Elf.Section s : elf.sections()) {
            if (!s.executable() || s.size() == 0) continue;
            if (s.name().equals("xdp.frags") || s.name().startsWith("xdp.frags/")) {
                throw new AfXdpException(what + ": section " + s.name() + ": XDP multi-buffer programs are not supported");
            }
            if (s.name().equals("xdp") || s.name().startsWith("xdp/")) return s;
            if (first == null && !s.name().equals(".text")) first = s;
        }
        if (first != null) return first;
        throw new AfXdpException(what + ": no program section (SEC(\"xdp\") on the program's function)");
    }

    private static String license(Elf elf) {
        Elf.Section s = elf.section("license");
        if (s == null) return "";
        byte[] d = elf.data(s);
        int n = 0;
        while (n < d.length && d[n] != 0) n++;
        return new String(d, 0, n, java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static List<MapSpec> maps(Elf elf, String what) {
        List<MapSpec> out = new ArrayList<>();
        Elf.Section legacy = elf.section("maps"), btfMaps = elf.section(".maps");
        Btf btf = null;
        if (btfMaps != null) {
            Elf.Section btfSec = elf.section(".BTF");
            if (btfSec == null) throw new AfXdpException(what + ": maps in .maps but no .BTF section (compile with -g)");
            btf = new Btf(elf.data(btfSec), what);
        }
        ByteBuffer legacyData = legacy == null ? null : ByteBuffer.wrap(elf.data(legacy)).order(ByteOrder.LITTLE_ENDIAN);
        for (Elf.Symbol s : elf.symbols()) {
            if (s.name().isEmpty() || s.type() == Elf.STT_SECTION) continue;
            if (btfMaps != null && s.shndx() == btfMaps.index()) {
                Btf.MapDef d = btf.map(s.name());
                out.add(new MapSpec(s.name(), s.shndx(), s.value(), d.type(), d.keySize(), d.valueSize(), d.maxEntries(), d.flags()));
            } else if (legacy != null && s.shndx() == legacy.index()) {
                long at = s.value();
                if (at < 0 || at + 20 > legacy.size()) throw new AfXdpException(what + ": map " + s.name() + " at " + at + " runs past the maps section");
                ByteBuffer d = legacyData;
                out.add(new MapSpec(s.name(), s.shndx(), at, d.getInt((int) at), d.getInt((int) at + 4), d.getInt((int) at + 8),
                        d.getInt((int) at + 12), d.getInt((int) at + 16)));
            }
        }
        return out;
    }

    private static MapSpec xskMap(List<MapSpec> specs, String what) {
        List<MapSpec> xsk = specs.stream().filter(m -> m.type() == Bpf.BPF_MAP_TYPE_XSKMAP).toList();
        for (MapSpec m : xsk) if (m.name().equals(XSKMAP_NAME)) return m;
        if (xsk.size() == 1) return xsk.getFirst();
        if (xsk.isEmpty()) {
            throw new AfXdpException(what + ": no XSKMAP in the object; the program must redirect to a map of type BPF_MAP_TYPE_XSKMAP"
                    + " (as DPDK's " + XSKMAP_NAME + ") for the port's sockets");
        }
        throw new AfXdpException(what + ": " + xsk.size() + " XSKMAPs and none named " + XSKMAP_NAME + "; name the one for the port's sockets " + XSKMAP_NAME);
    }

    /** The program's instructions with every map reference turned into the map's fd. */
    private static long[] instructions(Elf elf, Elf.Section prog, long start, long size, List<MapSpec> specs, Map<MapSpec, Integer> fds, String what) {
        ByteBuffer code = ByteBuffer.wrap(elf.data(prog)).order(ByteOrder.LITTLE_ENDIAN);
        long[] insns = new long[(int) (size / 8)];
        for (int i = 0; i < insns.length; i++) insns[i] = code.getLong((int) (start + 8L * i));
        for (Elf.Reloc r : elf.relocations(prog)) {
            if (r.offset() < start || r.offset() >= start + size) continue;
            Elf.Symbol sym = elf.symbol(r.symbol());
            String at = "relocation at byte " + r.offset() + " of " + prog.name();
            if (r.type() == R_BPF_64_32) {
                throw new AfXdpException(what + ": " + at + ": a call to " + sym.name() + ", another function; calls between BPF functions"
                        + " are not supported (mark it static __always_inline)");
            }
            if (r.type() != R_BPF_64_64) throw new AfXdpException(what + ": " + at + ": relocation type " + r.type() + " is not supported");
            if (r.offset() % 8 != 0) throw new AfXdpException(what + ": " + at + ": not on an instruction");
            int idx = (int) ((r.offset() - start) / 8);
            long insn = insns[idx];
            if ((insn & 0xff) != LD_IMM64 || idx + 1 >= insns.length) throw new AfXdpException(what + ": " + at + ": not a 64-bit load (ld_imm64)");
            long addend = (int) (insn >>> 32);
            MapSpec map = null;
            for (MapSpec m : specs) {
                if (m.section() != sym.shndx()) continue;
                if (sym.type() == Elf.STT_SECTION ? m.offset() == addend : m.name().equals(sym.name())) map = m;
            }
            if (map == null) {
                String sec = sym.shndx() > 0 && sym.shndx() < elf.sections().size() ? elf.section(sym.shndx()).name() : "section " + sym.shndx();
                throw new AfXdpException(what + ": " + at + ": refers to " + (sym.name().isEmpty() ? sec : sym.name()) + " in " + sec
                        + ", not a map; global variables (.data, .rodata, .bss) are not supported");
            }
            // dst stays, src becomes BPF_PSEUDO_MAP_FD, imm the map's fd; the second half's imm (upper 32 bits) is 0
            insns[idx] = (insn & 0x0fffL) | (long) XdpProgram.BPF_PSEUDO_MAP_FD << 12 | (insn & 0xffff0000L) | (fds.get(map) & 0xffffffffL) << 32;
            insns[idx + 1] &= 0xffffffffL;
        }
        return insns;
    }

    /** A name the kernel takes for a map or program: up to 15 of [A-Za-z0-9_.]. */
    static String sanitize(String name) {
        StringBuilder sb = new StringBuilder();
        for (char ch : name.toCharArray()) {
            if (sb.length() == 15) break;
            sb.append(Character.isLetterOrDigit(ch) && ch < 128 || ch == '_' || ch == '.' ? ch : '_');
        }
        return sb.toString();
    }
}
