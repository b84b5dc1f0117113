package org.jpdk.drivers.net.afxdp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The type information (.BTF section) of a BPF object, read far enough to learn what a
 * BTF-defined map is ({@code struct { __uint(type, BPF_MAP_TYPE_XSKMAP); __uint(max_entries, 64);
 * __type(key, int); __type(value, int); } xsks_map SEC(".maps");}): libbpf's macros encode each
 * number as the element count of an array type behind a pointer ({@code int (*type)[17]}), and
 * key and value as a pointer to their type, whose size is the key or value size.
 *
 * <pre>
 * header (24)   +0 u16 magic 0xeB9F  +2 u8 version  +3 u8 flags  +4 u32 hdr_len
 *               +8 u32 type_off  +12 u32 type_len  +16 u32 str_off  +20 u32 str_len  (offsets after hdr_len)
 * type (12)     +0 u32 name_off  +4 u32 info (kind = bits 24..28, vlen = bits 0..15)  +8 u32 size or type
 *               then by kind: INT +4; ARRAY {type, index_type, nelems}; STRUCT/UNION vlen x {name_off, type, offset};
 *               ENUM vlen x 8; FUNC_PROTO vlen x 8; VAR +4; DATASEC vlen x {type, offset, size};
 *               DECL_TAG +4; ENUM64 vlen x 12; PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG: nothing
 * </pre>
 * Ids count from 1 in the order of the types. Like {@link org.jpdk.bpf.Elf}, every offset is checked; a bad
 * section is an {@link IllegalArgumentException}.
 */
final class Btf {
    static final int INT = 1, PTR = 2, ARRAY = 3, STRUCT = 4, UNION = 5, ENUM = 6, FWD = 7, TYPEDEF = 8, VOLATILE = 9, CONST = 10,
            RESTRICT = 11, FUNC = 12, FUNC_PROTO = 13, VAR = 14, DATASEC = 15, FLOAT = 16, DECL_TAG = 17, TYPE_TAG = 18, ENUM64 = 19;

    /** One type: its kind, name, size-or-type word and where its extra data starts. */
    private record Type(int kind, String name, int vlen, int sizeOrType, int extra) {
    }

    /** A map's definition as its BTF says. */
    record MapDef(int type, int keySize, int valueSize, int maxEntries, int flags) {
    }

    private final String what;
    private final ByteBuffer b;
    private final List<Type> types = new ArrayList<>();   // index = id - 1
    private final Map<String, Integer> varIds = new HashMap<>();

    Btf(byte[] data, String what) {
        this.what = what;
        this.b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (data.length < 24 || (b.getShort(0) & 0xffff) != 0xeb9f) throw bad("no BTF magic in .BTF");
        long hdr = b.getInt(4) & 0xffffffffL, typeOff = hdr + (b.getInt(8) & 0xffffffffL), typeLen = b.getInt(12) & 0xffffffffL;
        long strOff = hdr + (b.getInt(16) & 0xffffffffL), strLen = b.getInt(20) & 0xffffffffL;
        if (typeOff + typeLen > data.length || strOff + strLen > data.length) throw bad(".BTF: types or strings outside the section");
        int at = (int) typeOff, end = (int) (typeOff + typeLen);
        while (at < end) {
            if (at + 12 > end) throw bad(".BTF: a type runs past the type section");
            int info = b.getInt(at + 4), kind = (info >>> 24) & 0x1f, vlen = info & 0xffff;
            String name = string((int) strOff, (int) strLen, b.getInt(at));
            int extra = at + 12;
            int more = switch (kind) {
                case INT, VAR, DECL_TAG -> 4;
                case ARRAY -> 12;
                case STRUCT, UNION, DATASEC, ENUM64 -> 12 * vlen;
                case ENUM, FUNC_PROTO -> 8 * vlen;
                case PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG -> 0;
                default -> throw bad(".BTF: type kind " + kind + " unknown");
            };
            if (extra + more > end) throw bad(".BTF: type " + (types.size() + 1) + " runs past the type section");
            types.add(new Type(kind, name, vlen, b.getInt(at + 8), extra));
            if (kind == VAR) varIds.put(name, types.size());
            at = extra + more;
        }
    }

    private String string(int strOff, int strLen, int off) {
        if (off < 0 || off >= strLen) {
            if (off == 0) return "";
            throw bad(".BTF: string offset " + off + " outside the " + strLen + "-byte string section");
        }
        int start = strOff + off, stop = start, limit = strOff + strLen;
        while (stop < limit && b.get(stop) != 0) stop++;
        byte[] s = new byte[stop - start];
        b.get(start, s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private IllegalArgumentException bad(String why) {
        return new IllegalArgumentException(what + ": " + why);
    }

    private Type type(int id) {
        if (id <= 0 || id > types.size()) throw bad(".BTF: type id " + id + " of " + types.size());
        return types.get(id - 1);
    }

    /** Follows typedefs and qualifiers to the type that has a size or shape. */
    private int resolve(int id) {
        for (int hops = 0; hops < 32; hops++) {
            Type t = type(id);
            if (t.kind() != TYPEDEF && t.kind() != VOLATILE && t.kind() != CONST && t.kind() != RESTRICT && t.kind() != TYPE_TAG) return id;
            id = t.sizeOrType();
        }
        throw bad(".BTF: a chain of typedefs over 32 long");
    }

    /** The size in bytes of type {@code id}. */
    private int sizeOf(int id) {
        return sizeOf(id, 0);
    }

    private int sizeOf(int id, int depth) {
        if (depth > 32) throw bad(".BTF: arrays nested over 32 deep");
        Type t = type(resolve(id));
        return switch (t.kind()) {
            case INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC -> t.sizeOrType();
            case PTR -> 8;
            case ARRAY -> {
                try {
                    yield Math.multiplyExact(sizeOf(b.getInt(t.extra()), depth + 1), b.getInt(t.extra() + 8));
                } catch (ArithmeticException e) {
                    throw bad(".BTF: array " + t.name() + " larger than 2 GiB");
                }
            }
            default -> throw bad(".BTF: type " + t.name() + " (kind " + t.kind() + ") has no size");
        };
    }

    /** The number a {@code __uint(name, N)} member carries: N, the element count of the array behind the pointer. */
    private int uintMember(int typeId, String member, String map) {
        Type p = type(resolve(typeId));
        if (p.kind() != PTR) throw bad("map " + map + ": member " + member + " is not __uint(" + member + ", N)");
        Type a = type(resolve(p.sizeOrType()));
        if (a.kind() != ARRAY) throw bad("map " + map + ": member " + member + " is not __uint(" + member + ", N)");
        return b.getInt(a.extra() + 8);
    }

    /** The definition of the map variable {@code name} in .maps. */
    MapDef map(String name) {
        Integer var = varIds.get(name);
        if (var == null) throw bad("map " + name + " has no BTF variable (compile with -g so clang emits BTF)");
        Type s = type(resolve(type(var).sizeOrType()));
        if (s.kind() != STRUCT) throw bad("map " + name + " is not a struct in .maps");
        int mapType = -1, key = 0, value = 0, max = 0, flags = 0;
        for (int i = 0; i < s.vlen(); i++) {
            int at = s.extra() + 12 * i;
            String m = memberName(b.getInt(at));
            int t = b.getInt(at + 4);
            switch (m) {
                case "type" -> mapType = uintMember(t, m, name);
                case "max_entries" -> max = uintMember(t, m, name);
                case "key_size" -> key = uintMember(t, m, name);
                case "value_size" -> value = uintMember(t, m, name);
                case "map_flags" -> flags = uintMember(t, m, name);
                case "key" -> key = sizeOf(pointee(t, m, name));
                case "value" -> value = sizeOf(pointee(t, m, name));
                default -> throw bad("map " + name + ": member " + m + " is not supported (type, max_entries, key, value, key_size, value_size, map_flags)");
            }
        }
        if (mapType < 0) throw bad("map " + name + " has no __uint(type, ...)");
        return new MapDef(mapType, key, value, max, flags);
    }

    private int pointee(int typeId, String member, String map) {
        Type p = type(resolve(typeId));
        if (p.kind() != PTR) throw bad("map " + map + ": member " + member + " is not __type(" + member + ", T)");
        return p.sizeOrType();
    }

    private String memberName(int off) {
        long hdr = b.getInt(4) & 0xffffffffL;
        return string((int) (hdr + (b.getInt(16) & 0xffffffffL)), b.getInt(20), off);
    }
}
