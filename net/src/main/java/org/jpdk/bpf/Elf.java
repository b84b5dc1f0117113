package org.jpdk.bpf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A reader of 64-bit little-endian ELF objects, enough for BPF objects that clang makes
 * ({@code clang -O2 -target bpf -c}): sections, the symbol table and REL relocations. The file
 * is untrusted: every offset, size and string index is checked against the file before it is
 * used, and anything out of range is an {@link IllegalArgumentException} naming the file and
 * what is wrong, never a bad read. Self-contained (it depends on nothing of jpdk's); shared by the BPF
 * library ({@link ElfLoader}) and net_af_xdp's xdp_prog loader.
 *
 * <pre>
 * ELF header (64)   +0 e_ident[16] (7f 'E' 'L' 'F', class 2 = 64-bit, data 1 = little-endian)
 *                   +16 u16 e_type (1 = REL)  +18 u16 e_machine (247 = BPF)  +40 u64 e_shoff
 *                   +58 u16 e_shentsize (64)  +60 u16 e_shnum  +62 u16 e_shstrndx
 * section (64)      +0 u32 name  +4 u32 type  +8 u64 flags  +24 u64 offset  +32 u64 size
 *                   +40 u32 link  +44 u32 info  +56 u64 entsize
 * symbol (24)       +0 u32 name  +4 u8 info (bind &lt;&lt; 4 | type)  +6 u16 shndx  +8 u64 value  +16 u64 size
 * REL entry (16)    +0 u64 offset (in the section sh_info names)  +8 u64 info (symbol &lt;&lt; 32 | type)
 * </pre>
 */
public final class Elf {
    public static final int ET_REL = 1, EM_BPF = 247;
    public static final int SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_RELA = 4, SHT_NOBITS = 8, SHT_REL = 9;
    public static final long SHF_WRITE = 1, SHF_ALLOC = 2, SHF_EXECINSTR = 4;
    public static final int STT_OBJECT = 1, STT_FUNC = 2, STT_SECTION = 3;
    private static final int EHDR = 64, SHDR = 64, SYM = 24, REL = 16;

    /** A section; {@code index} is its number in the section table. */
    public record Section(int index, String name, int type, long flags, long offset, long size, int link, int info, long entsize) {
        public boolean executable() {
            return (flags & SHF_EXECINSTR) != 0;
        }
    }

    /** A symbol of the symbol table; {@code shndx} is its section (0: undefined). */
    public record Symbol(int index, String name, int type, int bind, int shndx, long value, long size) {
    }

    /** A REL relocation: patch {@code offset} in the target section for {@code symbol}. */
    public record Reloc(long offset, int symbol, int type) {
    }

    private final String what;
    private final ByteBuffer buf;
    private final int machine, type;
    private final List<Section> sections;
    private final List<Symbol> symbols;

    private Elf(String what, ByteBuffer buf, int machine, int type, List<Section> sections, List<Symbol> symbols) {
        this.what = what;
        this.buf = buf;
        this.machine = machine;
        this.type = type;
        this.sections = sections;
        this.symbols = symbols;
    }

    /** Parses {@code bytes}; {@code what} names the file in errors. */
    public static Elf parse(byte[] bytes, String what) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < EHDR || b.getInt(0) != 0x464c457f) throw bad(what, "not an ELF file (no \\x7fELF magic)");
        if (b.get(4) != 2) throw bad(what, "not a 64-bit ELF object (class " + b.get(4) + ")");
        if (b.get(5) != 1) throw bad(what, "not a little-endian ELF object (data " + b.get(5) + "; compile for bpfel)");
        int type = b.getShort(16) & 0xffff, machine = b.getShort(18) & 0xffff;
        long shoff = b.getLong(40);
        int shentsize = b.getShort(58) & 0xffff, shnum = b.getShort(60) & 0xffff, shstrndx = b.getShort(62) & 0xffff;
        if (shnum == 0) throw bad(what, "no section table");
        if (shentsize != SHDR) throw bad(what, "section headers of " + shentsize + " bytes, not " + SHDR);
        check(what, "the section table", shoff, (long) shnum * SHDR, bytes.length);
        List<Section> raw = new ArrayList<>(shnum);
        for (int i = 0; i < shnum; i++) {
            int at = (int) (shoff + (long) i * SHDR);
            Section s = new Section(i, null, b.getInt(at + 4), b.getLong(at + 8), b.getLong(at + 24), b.getLong(at + 32),
                    b.getInt(at + 40), b.getInt(at + 44), b.getLong(at + 56));
            if (s.type() != SHT_NOBITS) check(what, "section " + i, s.offset(), s.size(), bytes.length);
            raw.add(s);
        }
        if (shstrndx >= shnum) throw bad(what, "section name table index " + shstrndx + " of " + shnum + " sections");
        Section names = raw.get(shstrndx);
        List<Section> sections = new ArrayList<>(shnum);
        for (int i = 0; i < shnum; i++) {
            Section s = raw.get(i);
            int at = (int) (shoff + (long) i * SHDR);
            sections.add(new Section(i, string(b, what, names, b.getInt(at)), s.type(), s.flags(), s.offset(), s.size(), s.link(), s.info(), s.entsize()));
        }
        List<Symbol> symbols = new ArrayList<>();
        for (Section s : sections) {
            if (s.type() != SHT_SYMTAB) continue;
            if (s.entsize() != 0 && s.entsize() != SYM) throw bad(what, "symbol table entries of " + s.entsize() + " bytes, not " + SYM);
            if (s.link() < 0 || s.link() >= shnum) throw bad(what, "symbol table " + s.name() + " links to section " + s.link());
            Section strtab = sections.get(s.link());
            long n = s.size() / SYM;
            for (int i = 0; i < n; i++) {
                int at = (int) (s.offset() + (long) i * SYM);
                int info = b.get(at + 4) & 0xff;
                symbols.add(new Symbol(i, string(b, what, strtab, b.getInt(at)), info & 0xf, info >>> 4, b.getShort(at + 6) & 0xffff,
                        b.getLong(at + 8), b.getLong(at + 16)));
            }
            break;
        }
        return new Elf(what, b, machine, type, List.copyOf(sections), List.copyOf(symbols));
    }

    private static void check(String what, String part, long off, long len, long fileLen) {
        if (off < 0 || len < 0 || off > fileLen || len > fileLen - off) {
            throw bad(what, part + " at " + off + " of " + len + " bytes lies outside the " + fileLen + "-byte file");
        }
    }

    private static IllegalArgumentException bad(String what, String why) {
        return new IllegalArgumentException(what + ": " + why);
    }

    /** The NUL-terminated string at {@code off} of string table {@code tab}, checked to lie inside it. */
    private static String string(ByteBuffer b, String what, Section tab, int off) {
        if (tab.type() == SHT_NOBITS && tab.size() > 0) throw bad(what, "string table " + tab.index() + " has no bytes in the file (SHT_NOBITS)");
        if (off < 0 || off >= tab.size()) {
            if (off == 0 && tab.size() == 0) return "";
            throw bad(what, "string offset " + off + " outside its " + tab.size() + "-byte table");
        }
        int start = (int) (tab.offset() + off), end = start, limit = (int) (tab.offset() + tab.size());
        while (end < limit && b.get(end) != 0) end++;
        if (end == limit) throw bad(what, "string at " + off + " of its table has no terminating NUL");
        byte[] s = new byte[end - start];
        b.get(start, s);
        return new String(s, StandardCharsets.UTF_8);
    }

    public String what() {
        return what;
    }

    public int machine() {
        return machine;
    }

    /** e_type: {@link #ET_REL} for an object file. */
    public int type() {
        return type;
    }

    public List<Section> sections() {
        return sections;
    }

    /** The first section named {@code name}, or null. */
    public Section section(String name) {
        for (Section s : sections) if (s.name().equals(name)) return s;
        return null;
    }

    public Section section(int index) {
        if (index < 0 || index >= sections.size()) throw bad(what, "section index " + index + " of " + sections.size());
        return sections.get(index);
    }

    public List<Symbol> symbols() {
        return symbols;
    }

    public Symbol symbol(int index) {
        if (index < 0 || index >= symbols.size()) throw bad(what, "symbol index " + index + " of " + symbols.size());
        return symbols.get(index);
    }

    /** The bytes of a section (empty for SHT_NOBITS). */
    public byte[] data(Section s) {
        if (s.type() == SHT_NOBITS) return new byte[0];
        byte[] d = new byte[(int) s.size()];
        buf.get((int) s.offset(), d);
        return d;
    }

    /** The REL relocations that apply to {@code target} (from the SHT_REL sections whose sh_info names it). */
    public List<Reloc> relocations(Section target) {
        List<Reloc> out = new ArrayList<>();
        for (Section s : sections) {
            if (s.type() == SHT_RELA && s.info() == target.index()) throw bad(what, "RELA relocations in " + s.name() + " (BPF objects use REL)");
            if (s.type() != SHT_REL || s.info() != target.index()) continue;
            long n = s.size() / REL;
            for (int i = 0; i < n; i++) {
                int at = (int) (s.offset() + (long) i * REL);
                long info = buf.getLong(at + 8);
                out.add(new Reloc(buf.getLong(at), (int) (info >>> 32), (int) info));
            }
        }
        return out;
    }
}
