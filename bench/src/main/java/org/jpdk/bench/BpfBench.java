package org.jpdk.bench;

import org.jpdk.bpf.BpfProgram;
import org.jpdk.bpf.BpfVm;
import org.jpdk.bpf.Cbpf;
import org.jpdk.bpf.PcapFilter;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.function.ToLongFunction;

/**
 * {@code ./jpdk bench bpf}: the cost of a BPF filter per packet, and its cost on a forwarding port.
 *
 * <p>Part 1, in this JVM: ns per packet for two filters written as tcpdump expressions, a 5-tuple
 * ({@code src host 10.0.0.1 and dst host 10.0.0.2 and udp src port 1234 and udp dst port 53}) and
 * {@code udp and dst port 53}, run as classic BPF, as converted eBPF interpreted and compiled to a
 * hidden class, beside a hand-written Java predicate doing the same test; 256 frames (half of them
 * matching), rounds interleaved, medians.
 *
 * <p>Part 2, two processes: testpmd io forwarding on two net_null ports with and without an eBPF
 * program (clang-compiled: drop DNS to port 53, keep the rest; net_null's frames are all kept) on
 * port 0's rx queue, loaded with {@code bpf-load rx 0 0 J} in our testpmd (compiled class) and in
 * dpdk-testpmd (DPDK's x86 JIT), Mpps from the accumulated forward statistics over a fixed time.
 */
public final class BpfBench {
    static final String FIVE_TUPLE = "src host 10.0.0.1 and dst host 10.0.0.2 and udp src port 1234 and udp dst port 53";
    static final String DNS = "udp and dst port 53";
    static final int ROUNDS = 5, PASSES = 4000;
    static final int RUN_SECONDS = 4;
    private static final Pattern RX = Pattern.compile("Accumulated forward statistics[\\s\\S]*?RX-packets:\\s+(\\d+)");

    private BpfBench() {
    }

    /** The {@code ./jpdk bench bpf} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "bpf";
        }

        @Override
        public String summary() {
            return "BPF filters per packet (classic, eBPF interpreted, compiled, hand-written Java) and on testpmd beside dpdk-testpmd's bpf-load";
        }

        @Override
        public void main(String[] args) throws Exception {
            BpfBench.main(args);
        }
    }

    public static void main(String[] args) throws Exception {
        perPacket();
        onPorts();
    }

    // ---- part 1

    static MemorySegment[] frames() {
        MemorySegment[] f = new MemorySegment[256];
        for (int i = 0; i < f.length; i++) {
            MemorySegment s = MemorySegment.ofArray(new byte[64]);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 12, (short) 0x0800);
            s.set(ValueLayout.JAVA_BYTE, 14, (byte) 0x45);
            s.set(ValueLayout.JAVA_BYTE, 23, (byte) 17);
            s.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 26, 0x0a000001);
            s.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 30, 0x0a000002);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 34, (short) 1234);
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 36, (short) (i % 2 == 0 ? 53 : 5353));
            f[i] = s;
        }
        return f;
    }

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** The hand-written 5-tuple test: the same checks the expression makes (IPv4, not a later fragment). */
    static long fiveTuple(MemorySegment p) {
        if (p.byteSize() < 14 + 20 + 4 || p.get(BE16, 12) != 0x0800 || p.get(ValueLayout.JAVA_BYTE, 23) != 17) return 0;
        if ((p.get(BE16, 20) & 0x1fff) != 0 || p.get(BE32, 26) != 0x0a000001 || p.get(BE32, 30) != 0x0a000002) return 0;
        int l4 = 14 + (p.get(ValueLayout.JAVA_BYTE, 14) & 0xf) * 4;
        if (l4 + 4 > p.byteSize()) return 0;
        return (p.get(BE16, l4) & 0xffff) == 1234 && (p.get(BE16, l4 + 2) & 0xffff) == 53 ? 1 : 0;
    }

    static long dns(MemorySegment p) {
        if (p.byteSize() < 14 + 20 + 4 || p.get(BE16, 12) != 0x0800 || p.get(ValueLayout.JAVA_BYTE, 23) != 17) return 0;
        if ((p.get(BE16, 20) & 0x1fff) != 0) return 0;
        int l4 = 14 + (p.get(ValueLayout.JAVA_BYTE, 14) & 0xf) * 4;
        return l4 + 4 <= p.byteSize() && (p.get(BE16, l4 + 2) & 0xffff) == 53 ? 1 : 0;
    }

    static double nsPerPacket(MemorySegment[] f, ToLongFunction<MemorySegment> run) {
        long t0 = System.nanoTime(), hits = 0;
        for (int pass = 0; pass < PASSES; pass++) for (MemorySegment s : f) hits += run.applyAsLong(s) != 0 ? 1 : 0;
        long t = System.nanoTime() - t0;
        if (hits != (long) PASSES * f.length / 2) throw new IllegalStateException("filter selected " + hits + " of " + (long) PASSES * f.length);
        return (double) t / ((long) PASSES * f.length);
    }

    static void perPacket() {
        MemorySegment[] f = frames();
        for (String[] e : new String[][]{{"5tuple", FIVE_TUPLE}, {"udp_dst_port_53", DNS}}) {
            Cbpf c = PcapFilter.compile(e[1]);
            BpfProgram p = c.toProgram();
            BpfVm interp = p.interpreter(), comp = p.compiled();
            Map<String, ToLongFunction<MemorySegment>> runners = new java.util.LinkedHashMap<>();
            runners.put("java", e[0].equals("5tuple") ? BpfBench::fiveTuple : BpfBench::dns);
            runners.put("ebpf_compiled", comp::exec);
            runners.put("ebpf_interpreted", interp::exec);
            runners.put("cbpf_interpreted", c::run);
            Map<String, List<Double>> ns = new java.util.LinkedHashMap<>();
            for (int r = 0; r < ROUNDS + 1; r++) {
                for (var x : runners.entrySet()) {
                    double v = nsPerPacket(f, x.getValue());
                    if (r > 0) ns.computeIfAbsent(x.getKey(), k -> new ArrayList<>()).add(v); // round 0 warms up
                }
            }
            for (var x : ns.entrySet()) Bench.line("bpf_" + e[0] + "_" + x.getKey() + "_ns", median(x.getValue()), "ns/pkt");
            Bench.ratio("bpf_" + e[0] + "_compiled_vs_java", median(ns.get("java")), median(ns.get("ebpf_compiled")));
        }
    }

    static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        return s.isEmpty() ? Double.NaN : s.get(s.size() / 2);
    }

    // ---- part 2

    static void onPorts() throws Exception {
        Path clang = Bench.findProgram("clang"), dpdk = Bench.findProgram("dpdk-testpmd");
        if (clang == null) {
            System.out.println("# clang not found (apt-get install clang): no testpmd bpf-load figures");
            return;
        }
        if (dpdk == null) System.out.println("# dpdk-testpmd not found (apt-get install dpdk-dev): DPDK's figures are missing");
        Path dir = Files.createTempDirectory("jpdk-bench-bpf");
        try {
            Path c = dir.resolve("drop_dns.c"), o = dir.resolve("drop_dns.o");
            Files.writeString(c, """
                    typedef unsigned long long u64; typedef unsigned char u8;
                    u64 entry(u8 *p) {
                        if (p[12] != 0x08 || p[13] != 0 || p[23] != 17) return 1;
                        u8 *udp = p + 14 + (p[14] & 0xf) * 4;
                        return !(udp[2] == 0 && udp[3] == 53);
                    }
                    """);
            String out = Bench.runPeer(List.of(clang.toString(), "-O2", "-target", "bpf", "-c", c.toString(), "-o", o.toString()), null, 60);
            if (out == null || !Files.exists(o)) {
                System.out.println("# clang failed: " + out);
                return;
            }
            Map<String, List<Double>> mpps = new java.util.LinkedHashMap<>();
            for (int round = 0; round < 2; round++) {
                for (boolean filter : new boolean[]{false, true}) {
                    String suffix = filter ? "_bpf" : "";
                    mpps.computeIfAbsent("testpmd_io_null" + suffix, k -> new ArrayList<>()).add(runOurs(filter ? o : null));
                    if (dpdk != null) mpps.computeIfAbsent("dpdk_testpmd_io_null" + suffix, k -> new ArrayList<>()).add(runDpdk(dpdk, filter ? o : null));
                }
            }
            for (var e : mpps.entrySet()) Bench.line(e.getKey() + "_mpps", median(e.getValue()), "Mpps");
            if (dpdk != null) {
                Bench.ratio("testpmd_io_null_bpf_jpdk_vs_dpdk", median(mpps.get("testpmd_io_null_bpf")), median(mpps.get("dpdk_testpmd_io_null_bpf")));
            }
        } finally {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    static double runOurs(Path prog) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        String jar = Path.of(BpfBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseParallelGC",
                "-cp", jar, "org.jpdk.app.Launcher", "testpmd", "-l", "0-1", "--no-huge", "-m", "1024",
                "--vdev", "net_null0", "--vdev", "net_null1", "--", "-i"));
        return interactive("jpdk testpmd", cmd, prog);
    }

    static double runDpdk(Path dpdk, Path prog) throws Exception {
        String prefix = "jpdkbpf" + ProcessHandle.current().pid();
        List<String> cmd = List.of(dpdk.toString(), "-l", "0-1", "--no-huge", "-m", "1024", "--no-pci", "--file-prefix", prefix,
                "--vdev", "net_null0", "--vdev", "net_null1", "--", "-i");
        try {
            return interactive("dpdk-testpmd", cmd, prog);
        } finally {
            Bench.removeDpdkRuntimeDir(prefix);
        }
    }

    /** Drives an interactive testpmd: load the program (if any), start, wait, stop; Mpps from the accumulated RX-packets. */
    static double interactive(String who, List<String> cmd, Path prog) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[][] out = new byte[1][];
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try {
                out[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                out[0] = new byte[0];
            }
        });
        try (OutputStream in = p.getOutputStream()) {
            Thread.sleep(3000); // ports set up (a JVM starts)
            if (prog != null) in.write(("bpf-load rx 0 0 J " + prog + "\n").getBytes(StandardCharsets.UTF_8));
            in.write("start\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            long t0 = System.nanoTime();
            Thread.sleep(RUN_SECONDS * 1000L);
            in.write("stop\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            double seconds = (System.nanoTime() - t0) / 1e9;
            in.write("quit\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                System.out.println("# " + who + " did not quit; killed");
            }
            reader.join(5000);
            String text = out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8);
            Matcher m = RX.matcher(text);
            if (!m.find() || (prog != null && !text.contains("0:Success"))) {
                System.out.println("# " + who + (prog != null ? " with bpf-load" : "") + " printed no forward statistics; its output ends with:");
                String[] l = text.split("\n");
                for (int i = Math.max(0, l.length - 8); i < l.length; i++) System.out.println("#   " + l[i]);
                return Double.NaN;
            }
            return Long.parseLong(m.group(1)) / seconds / 1e6;
        } finally {
            if (p.isAlive()) p.destroyForcibly();
        }
    }
}
