package org.jpdk.bpf;

import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Programs written in C and compiled in the test by Debian's clang ({@code clang -O2 -target bpf
 * -c}), loaded from their ELF objects: static data, external functions and variables, packet
 * pointers, mbuf header fields and {@code ld_abs}; the interpreter and the compiled class agree on
 * every one over random packets; and the loader's refusals.
 */
class BpfElfTest {
    @TempDir
    Path dir;

    static final String PRELUDE = """
            typedef unsigned long long u64; typedef unsigned int u32; typedef unsigned short u16; typedef unsigned char u8;
            #define SEC(name) __attribute__((section(name), used))
            unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
            unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
            unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");
            """;

    /** The clang binary, or a skip (a failure under CI, which installs it). */
    static String clang() {
        for (String p : List.of("/usr/bin/clang", "/usr/local/bin/clang")) if (Files.isExecutable(Path.of(p))) return p;
        String why = "needs clang (apt-get install clang) to compile BPF programs";
        if ("true".equals(System.getProperty("jpdk.ci")) || "true".equals(System.getenv("CI"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
        return null;
    }

    /** Compiles {@code source} (after the prelude) into an object in the test's directory. */
    static Path compile(Path dir, String name, String source) throws IOException, InterruptedException {
        Path c = dir.resolve(name + ".c"), o = dir.resolve(name + ".o");
        Files.writeString(c, PRELUDE + source);
        Process p = new ProcessBuilder(clang(), "-O2", "-target", "bpf", "-c", c.toString(), "-o", o.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "clang timed out");
        assertEquals(0, p.exitValue(), "clang: " + out);
        return o;
    }

    @Test
    void staticDataAndExternalSymbols() throws Exception {
        Path o = compile(dir, "xsym", """
                extern u64 ext_add(u64 a, u64 b);
                extern u32 limit;
                static const u8 tab[8] = {1, 2, 3, 4, 5, 6, 7, 8};
                u32 hits;
                u64 seed = 1000;
                SEC("filter") u64 entry(u8 *p) {
                    hits += 1;
                    u64 r = ext_add(p[0], tab[p[1] & 7]) + seed;
                    if (r > limit) return 0;
                    return r + hits;
                }
                """);
        MemorySegment limit = MemorySegment.ofArray(new int[]{5000});
        List<Xsym> xs = List.of(new Xsym.Func("ext_add", (vm, a, b, c, d, e) -> a * 10 + b), new Xsym.Var("limit", limit));
        BpfProgram p = ElfLoader.load(o, "filter", BpfProgram.Arg.PTR, xs);
        BpfVm interp = p.interpreter(), comp = p.compiled();
        byte[] pkt = {7, 3};
        assertEquals(70 + 4 + 1000 + 1, interp.exec(MemorySegment.ofArray(pkt)));
        assertEquals(70 + 4 + 1000 + 2, comp.exec(MemorySegment.ofArray(pkt)), ".bss is shared by the program's executors, as a C global");
        limit.set(ValueLayout.JAVA_INT, 0, 100);
        assertEquals(0, interp.exec(MemorySegment.ofArray(pkt)));
        assertEquals(0, comp.exec(MemorySegment.ofArray(new byte[1])), "a load past the packet ends with 0");
    }

    @Test
    void aUdpPortFilterOverPacketPointersAndLdAbs() throws Exception {
        Path o = compile(dir, "udp53", """
                SEC("ptr") u64 ptr_filter(u8 *p) {
                    if (p[12] != 0x08 || p[13] != 0 || p[23] != 17) return 0;
                    u32 ihl = (p[14] & 0xf) * 4;
                    u8 *udp = p + 14 + ihl;
                    return ((udp[2] << 8) | udp[3]) == 53;
                }
                SEC("abs") u64 abs_filter(void *mbuf) {
                    if (load_half(mbuf, 12) != 0x0800 || load_byte(mbuf, 23) != 17) return 0;
                    u32 ihl = (load_byte(mbuf, 14) & 0xf) * 4;
                    return load_half(mbuf, 14 + ihl + 2) == 53;
                }
                struct mbuf { void *buf_addr; u64 iova; u16 data_off, refcnt, nb_segs, port; u64 ol_flags; u32 ptype, pkt_len; u16 data_len; };
                SEC("hdr") u64 hdr_filter(struct mbuf *m) {
                    u8 *p = (u8 *) m->buf_addr + m->data_off;
                    if (m->data_len < 42 || p[12] != 0x08 || p[13] != 0 || p[23] != 17) return 0;
                    return ((p[36] << 8) | p[37]) == 53 ? m->pkt_len : 0;
                }
                """);
        BpfProgram ptr = ElfLoader.load(o, "ptr", BpfProgram.Arg.PTR, List.of());
        BpfProgram abs = ElfLoader.load(o, "abs", BpfProgram.Arg.MBUF, List.of());
        BpfProgram hdr = ElfLoader.load(o, "hdr", BpfProgram.Arg.MBUF, List.of());
        try (Mempool<Mbuf> pool = Mbuf.createPool("bpf_elf_test", 31, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY)) {
            Mbuf m = Mbuf.alloc(pool);
            Random rnd = new Random(53);
            try {
                for (int i = 0; i < 400; i++) {
                    byte[] b = udp(rnd);
                    m.reset();
                    m.append(b.length).copyFrom(MemorySegment.ofArray(b));
                    boolean want = b.length >= 38 && b[12] == 8 && b[13] == 0 && b[23] == 17 && b[14] == 0x45 && (b[36] & 0xff) == 0 && b[37] == 53;
                    for (BpfVm vm : List.of(ptr.interpreter(), ptr.compiled(), abs.interpreter(), abs.compiled())) {
                        assertEquals(want ? 1 : 0, vm.exec(m), "packet " + i + " with " + vm.program());
                    }
                    long whole = want && b.length >= 42 ? b.length : 0;
                    assertEquals(whole, hdr.interpreter().exec(m));
                    assertEquals(whole, hdr.compiled().exec(m));
                }
            } finally {
                m.free();
            }
        }
    }

    /** An Ethernet/IPv4 frame, mostly UDP, with a port that is often 53, sometimes cut short. */
    static byte[] udp(Random rnd) {
        byte[] b = new byte[rnd.nextInt(5) == 0 ? rnd.nextInt(60) : 42 + rnd.nextInt(40)];
        rnd.nextBytes(b);
        if (b.length > 37) {
            b[12] = (byte) (rnd.nextInt(4) == 0 ? 0x86 : 0x08);
            b[13] = (byte) (rnd.nextInt(4) == 0 ? 0xdd : 0);
            b[14] = 0x45;
            b[23] = (byte) (rnd.nextInt(3) == 0 ? 6 : 17);
            b[36] = 0;
            b[37] = (byte) (rnd.nextBoolean() ? 53 : 54);
        }
        return b;
    }

    @Test
    void compiledAndInterpretedAgreeOnCompiledCPrograms() throws Exception {
        String[] bodies = {
                "u64 h = 14695981039346656037ULL; _Pragma(\"unroll\") for (int i = 0; i < 16; i++) { h ^= p[i]; h *= 1099511628211ULL; } return h;",
                "u32 s = 0; _Pragma(\"unroll\") for (int i = 0; i < 20; i += 2) s += (p[i] << 8) | p[i + 1]; while (s >> 16) s = (s & 0xffff) + (s >> 16); return (u16) ~s;",
                "u64 a = *(u64 *) p, b = *(u64 *) (p + 8); return a / (b | 1) + a % (b | 1) + (a >> (b & 63)) + ((long long) a >> 3);",
                "int x = *(int *) p, y = *(int *) (p + 4); return (x < y ? x : y) * (x > 0 ? 3 : -7) + (u32) x / ((u32) y | 1);",
                "u64 k[4]; _Pragma(\"unroll\") for (int i = 0; i < 4; i++) k[i] = ((u64 *) p)[i] ^ 0x5a5a5a5a5a5a5a5aULL; return k[p[40] & 3] + __builtin_bswap64(k[1]) + __builtin_bswap32((u32) k[2]) + __builtin_bswap16((u16) k[3]);",
                "switch (p[0] & 7) { case 0: return 11; case 1: return p[1] * 2; case 2: return p[2] - 300; case 3: return -1; default: return p[3] ^ p[4]; }",
                "u16 t = *(u16 *) (p + 12); if (t == 0x0008) { p[0] = 0xff; return 1; } if (t == 0xdd86) { *(u32 *) (p + 2) += 5; return 2; } return 0;",
        };
        StringBuilder src = new StringBuilder();
        for (int i = 0; i < bodies.length; i++) src.append("SEC(\"s").append(i).append("\") u64 f").append(i).append("(u8 *p) { ").append(bodies[i]).append(" }\n");
        // the checksum loop that folds with `while` is not a bounded loop clang can unroll: it must be refused, naming the back-edge
        Path o = compile(dir, "many", src.toString());
        Random rnd = new Random(25);
        int checked = 0;
        for (int i = 0; i < bodies.length; i++) {
            BpfProgram p;
            try {
                p = ElfLoader.load(o, "s" + i, BpfProgram.Arg.PTR, List.of());
            } catch (BpfException e) {
                assertTrue(i == 1 && e.getMessage().contains("back-edge"), e.getMessage());
                continue;
            }
            BpfVm a = p.interpreter(), b = p.compiled();
            for (int k = 0; k < 300; k++) {
                byte[] pkt = new byte[rnd.nextInt(10) == 0 ? rnd.nextInt(48) : 48 + rnd.nextInt(32)];
                rnd.nextBytes(pkt);
                if (rnd.nextBoolean() && pkt.length > 14) pkt[12] = (byte) (rnd.nextBoolean() ? 0x08 : 0x86);
                MemorySegment x = MemorySegment.ofArray(pkt.clone()), y = MemorySegment.ofArray(pkt.clone());
                assertEquals(a.exec(x), b.exec(y), "f" + i + ": " + bodies[i]);
                assertArrayEquals(x.toArray(ValueLayout.JAVA_BYTE), y.toArray(ValueLayout.JAVA_BYTE));
                checked++;
            }
        }
        assertTrue(checked >= 6 * 300);
    }

    @Test
    void loaderRefusalsNameTheProblem() throws Exception {
        Path o = compile(dir, "bad", """
                extern u64 nowhere(u64);
                __attribute__((noinline)) u64 helper(u64 x) { return x * 3; }
                SEC("s_calls") u64 calls(u8 *p) { return helper(p[0]); }
                SEC("s_unknown") u64 unknown(u8 *p) { return nowhere(p[0]); }
                """);
        List<String> msgs = new ArrayList<>();
        for (String s : List.of("s_calls", "s_unknown", "nosuch")) {
            msgs.add(assertThrows(BpfException.class, () -> ElfLoader.load(o, s, BpfProgram.Arg.PTR, List.of())).getMessage());
        }
        assertTrue(msgs.get(0).contains("calls between functions are not supported"), msgs.get(0));
        assertTrue(msgs.get(1).contains("unknown external symbol nowhere"), msgs.get(1));
        assertTrue(msgs.get(2).endsWith("no section nosuch"), msgs.get(2));
        Path junk = dir.resolve("junk.o");
        Files.write(junk, new byte[]{0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
        assertTrue(assertThrows(BpfException.class, () -> ElfLoader.load(junk, null, BpfProgram.Arg.PTR, List.of())).getMessage().startsWith(junk.toString()));
        byte[] good = Files.readAllBytes(o);
        for (int cut = 0; cut < good.length; cut += 97) {
            byte[] t = java.util.Arrays.copyOf(good, cut);
            assertThrows(BpfException.class, () -> ElfLoader.load(t, "cut", "s_calls", BpfProgram.Arg.PTR, List.of()));
        }
    }
}
