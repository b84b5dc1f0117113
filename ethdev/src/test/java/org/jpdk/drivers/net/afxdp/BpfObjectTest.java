package org.jpdk.drivers.net.afxdp;

import org.jpdk.sys.Bpf;
import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Loading a user's XDP program from an ELF object that Debian's clang compiles in the test:
 * BTF-defined and legacy maps, the one-line refusals, the verifier's log, and bad files.
 */
class BpfObjectTest {
    @TempDir
    Path dir;

    /** The preamble every test program shares: no system headers, so that only clang is needed. */
    static final String PRELUDE = """
            typedef unsigned char __u8; typedef unsigned int __u32; typedef unsigned long long __u64;
            struct xdp_md { __u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
            #define SEC(name) __attribute__((section(name), used))
            #define __uint(name, val) int (*name)[val]
            #define __type(name, val) typeof(val) *name
            static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *) 51;
            char _license[] SEC("license") = "GPL";
            """;

    /** The clang binary, or a skip (a failure under CI, which installs it). */
    static String clang() {
        for (String p : List.of("/usr/bin/clang", "/usr/local/bin/clang")) if (Files.isExecutable(Path.of(p))) return p;
        String why = "needs clang (apt-get install clang llvm) to compile XDP programs";
        if ("true".equals(System.getProperty("jpdk.ci"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
        return null;
    }

    /** Compiles {@code source} with {@code clang -O2 -g -target bpf -c} (plus {@code extra}) into {@code dir}. */
    static Path compile(Path dir, String name, String source, String... extra) throws IOException {
        Path c = dir.resolve(name + ".c"), o = dir.resolve(name + ".o");
        Files.writeString(c, source);
        List<String> cmd = new ArrayList<>(List.of(clang(), "-O2", "-g", "-target", "bpf", "-c", c.toString(), "-o", o.toString()));
        cmd.addAll(Arrays.asList(extra));
        if (Arrays.asList(extra).contains("-target")) cmd.subList(3, 5).clear();              // the caller's target instead of bpf
        NetnsFixture.Result r = NetnsFixture.runQuietly(60, cmd.toArray(String[]::new));
        assertEquals(0, r.exit(), "clang: " + r.output());
        return o;
    }

    /** The drop-UDP-7777 filter of the test resources, compiled. */
    static Path dropUdp(Path dir) throws IOException {
        try (InputStream in = BpfObjectTest.class.getResourceAsStream("/afxdp/drop_udp.c")) {
            return compile(dir, "drop_udp", new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @Test
    void aBtfMapProgramLoads() throws IOException {
        NetnsFixture.requireRoot();
        try (XdpProgram p = BpfObject.loadXdp(dropUdp(dir))) {
            assertEquals(4, p.xskMapEntries, "max_entries from BTF");
            assertTrue(p.id() > 0);
            assertTrue(p.description.startsWith("program drop_udp_7777 from "), p.description);
        }
    }

    @Test
    void aLegacyMapsSectionProgramLoads() throws IOException {
        NetnsFixture.requireRoot();
        Path o = compile(dir, "legacy", PRELUDE + """
                struct bpf_map_def { __u32 type, key_size, value_size, max_entries, map_flags; };
                struct bpf_map_def SEC("maps") counters = { 2, 4, 8, 1, 0 };      /* ARRAY */
                struct bpf_map_def SEC("maps") my_xsks = { 17, 4, 4, 8, 0 };       /* XSKMAP */
                static long (*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;
                SEC("xdp/legacy") int legacy(struct xdp_md *ctx) {
                    __u32 k = 0;
                    __u64 *c = bpf_map_lookup_elem(&counters, &k);
                    if (c) __sync_fetch_and_add(c, 1);
                    return bpf_redirect_map(&my_xsks, ctx->rx_queue_index, 2);
                }
                """);
        try (XdpProgram p = BpfObject.loadXdp(o)) {
            assertEquals(8, p.xskMapEntries, "the only XSKMAP, though not named xsks_map");
        }
    }

    private AfXdpException refused(String name, String source) throws IOException {
        Path o = compile(dir, name, PRELUDE + source);
        return assertThrows(AfXdpException.class, () -> BpfObject.loadXdp(o).close());
    }

    @Test
    void whatTheLoaderCannotDoIsRefusedInOneLine() throws IOException {
        NetnsFixture.requireRoot();
        String xsk = "struct { __uint(type, 17); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } xsks_map SEC(\".maps\");\n";
        AfXdpException e = refused("nomap", "SEC(\"xdp\") int pass(struct xdp_md *ctx) { return 2; }");
        assertEquals("xdp_prog=" + dir.resolve("nomap.o") + ": no XSKMAP in the object; the program must redirect to a map of type"
                + " BPF_MAP_TYPE_XSKMAP (as DPDK's xsks_map) for the port's sockets", e.getMessage());
        e = refused("global", xsk + "__u32 hits; SEC(\"xdp\") int g(struct xdp_md *ctx) { hits++; return bpf_redirect_map(&xsks_map, 0, 2); }");
        assertTrue(e.getMessage().endsWith(": refers to hits in .bss, not a map; global variables (.data, .rodata, .bss) are not supported"), e.getMessage());
        e = refused("call", xsk + "__attribute__((noinline)) int helper(struct xdp_md *ctx) { return ctx->rx_queue_index; }\n"
                + "SEC(\"xdp\") int c(struct xdp_md *ctx) { return bpf_redirect_map(&xsks_map, helper(ctx), 2); }");
        assertTrue(e.getMessage().contains(": a call to helper, another function; calls between BPF functions are not supported"), e.getMessage());
        e = refused("frags", xsk + "SEC(\"xdp.frags\") int f(struct xdp_md *ctx) { return bpf_redirect_map(&xsks_map, 0, 2); }");
        assertTrue(e.getMessage().endsWith(": section xdp.frags: XDP multi-buffer programs are not supported"), e.getMessage());
    }

    @Test
    void aProgramTheVerifierRefusesBringsItsLog() throws IOException {
        NetnsFixture.requireRoot();
        Path o = compile(dir, "unchecked", PRELUDE + """
                struct { __uint(type, 17); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } xsks_map SEC(".maps");
                SEC("xdp") int unchecked(struct xdp_md *ctx) {
                    __u8 *data = (__u8 *)(long) ctx->data;
                    if (data[12] == 8) return 1;          /* no bounds check against data_end */
                    return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, 2);
                }
                """);
        Bpf.VerifierException e = assertThrows(Bpf.VerifierException.class, () -> BpfObject.loadXdp(o));
        assertTrue(e.getMessage().startsWith("bpf(BPF_PROG_LOAD, xdp program unchecked from " + o + " ("), e.getMessage());
        assertTrue(e.getMessage().contains("EACCES; the verifier says:\n"), e.getMessage());
        assertTrue(e.log().contains("invalid access to packet"), e.log());
    }

    @Test
    void badFilesAreRefusedNotRead() throws IOException {
        Path text = dir.resolve("notes.o");
        Files.writeString(text, "just some text, long enough to look like a header of sixty-four bytes or more....");
        AfXdpException e = assertThrows(AfXdpException.class, () -> BpfObject.loadXdp(text));
        assertEquals("xdp_prog=" + text + ": not an ELF file (no \\x7fELF magic)", e.getMessage());
        Path good = dropUdp(dir);
        byte[] bytes = Files.readAllBytes(good);
        for (int cut : new int[]{16, 64, 200, bytes.length / 2, bytes.length - 1}) {
            Path t = dir.resolve("cut" + cut + ".o");
            Files.write(t, Arrays.copyOf(bytes, cut));
            AfXdpException c = assertThrows(AfXdpException.class, () -> BpfObject.loadXdp(t), "cut at " + cut);
            assertTrue(c.getMessage().startsWith("xdp_prog=" + t + ": "), c.getMessage());
        }
        byte[] noisy = bytes.clone();
        java.util.Random rnd = new java.util.Random(7);
        for (int round = 0; round < 200; round++) {                   // flipped bytes: refused or loaded, never a crash
            byte[] b = noisy.clone();
            for (int k = 0; k < 4; k++) b[64 + rnd.nextInt(b.length - 64)] ^= (byte) (1 << rnd.nextInt(8));
            Path t = dir.resolve("noisy.o");
            Files.write(t, b);
            try {
                BpfObject.loadXdp(t).close();
            } catch (AfXdpException | org.jpdk.sys.LinuxException ok) {
                // a one-line refusal is the expected outcome
            }
        }
        Path x86 = compile(dir, "x86", "int f(void) { return 1; }", "-target", "x86_64-linux-gnu");
        e = assertThrows(AfXdpException.class, () -> BpfObject.loadXdp(x86));
        assertEquals("xdp_prog=" + x86 + ": not a BPF object (ELF machine 62, BPF is 247); compile with clang -O2 -g -target bpf -c", e.getMessage());
    }
}
