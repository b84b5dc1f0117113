package org.jpdk.drivers.net.pcap;

import org.junit.jupiter.api.Assumptions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/** Test helpers: packets, hand-built pcap and pcapng files (from the format, not from a tool), and tshark. */
final class PcapFiles {
    private PcapFiles() {
    }

    /** A frame of {@code len} bytes: dst 02:00:00:00:00:02, src 02:00:00:00:00:<i>, type 0x0800, then a pattern. */
    static byte[] frame(int i, int len) {
        byte[] b = new byte[len];
        for (int k = 0; k < len; k++) b[k] = (byte) (i * 7 + k);
        byte[] hdr = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, (byte) i, 8, 0};
        System.arraycopy(hdr, 0, b, 0, Math.min(hdr.length, len));
        return b;
    }

    /** A classic pcap file: header and records with timestamps {@code ts[i]} in ns. */
    static byte[] classic(ByteOrder order, boolean nanos, int linktype, List<byte[]> pkts, long[] ts) {
        ByteBuffer b = ByteBuffer.allocate(24 + pkts.stream().mapToInt(p -> 16 + p.length).sum()).order(order);
        b.putInt(nanos ? 0xa1b23c4d : 0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0)
                .putInt(65535).putInt(linktype);
        for (int i = 0; i < pkts.size(); i++) {
            byte[] p = pkts.get(i);
            long t = ts[i];
            b.putInt((int) (t / 1_000_000_000L)).putInt((int) (nanos ? t % 1_000_000_000L : t % 1_000_000_000L / 1000))
                    .putInt(p.length).putInt(p.length).put(p);
        }
        return b.array();
    }

    /** A pcapng block of {@code type} with {@code body} (padded to 4). */
    static byte[] block(ByteOrder order, int type, byte[] body) {
        int len = 12 + ((body.length + 3) & ~3);
        ByteBuffer b = ByteBuffer.allocate(len).order(order);
        b.putInt(type).putInt(len).put(body);
        b.position(len - 4);
        b.putInt(len);
        return b.array();
    }

    static byte[] shb(ByteOrder order) {
        return block(order, 0x0a0d0d0a, ByteBuffer.allocate(16).order(order).putInt(0x1a2b3c4d).putShort((short) 1)
                .putShort((short) 0).putLong(-1).array());
    }

    /** An interface block; {@code tsresol} < 0 for none (µs). */
    static byte[] idb(ByteOrder order, int linktype, int tsresol) {
        ByteBuffer b = ByteBuffer.allocate(tsresol < 0 ? 8 : 24).order(order);
        b.putShort((short) linktype).putShort((short) 0).putInt(0);
        if (tsresol >= 0) b.putShort((short) 9).putShort((short) 1).put((byte) tsresol).put(new byte[3]).putShort((short) 0).putShort((short) 0);
        return block(order, 1, b.array());
    }

    /** An enhanced packet block with the timestamp in the interface's units. */
    static byte[] epb(ByteOrder order, int ifId, long units, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(20 + ((data.length + 3) & ~3)).order(order);
        b.putInt(ifId).putInt((int) (units >>> 32)).putInt((int) units).putInt(data.length).putInt(data.length).put(data);
        return block(order, 6, b.array());
    }

    static byte[] spb(ByteOrder order, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + ((data.length + 3) & ~3)).order(order);
        b.putInt(data.length).put(data);
        return block(order, 3, b.array());
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    static Path write(Path dir, String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    /** Skips the test without the tool, or fails it under CI ({@code -Djpdk.ci=true}). */
    static void requireTool(String tool) {
        boolean present = Files.isExecutable(Path.of("/usr/bin", tool));
        if (!present && "true".equals(System.getProperty("jpdk.ci"))) fail(tool + " is not installed and jpdk.ci=true");
        Assumptions.assumeTrue(present, tool + " is not installed; skipping (install wireshark's tshark to run this)");
    }

    /** Runs a command, fails on a non-zero exit, returns its stdout lines. */
    static List<String> run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + ": timed out");
        }
        if (p.exitValue() != 0) {
            fail(String.join(" ", cmd) + ": exit " + p.exitValue() + ": " + new String(err, StandardCharsets.UTF_8));
        }
        List<String> lines = new ArrayList<>();
        for (String l : new String(out, StandardCharsets.UTF_8).split("\n")) if (!l.isEmpty()) lines.add(l);
        return lines;
    }
}
