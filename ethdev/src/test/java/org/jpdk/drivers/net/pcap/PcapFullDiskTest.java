package org.jpdk.drivers.net.pcap;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthStats;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fault: the disk under a net_pcap tx file fills up. A child JVM runs in a mount namespace of its
 * own ({@code unshare -m}) where a 512 KiB tmpfs is mounted over a temporary directory, and sends
 * 4 MiB of frames to a port whose tx_pcap lies there. The write that meets ENOSPC is logged once;
 * the packets it and every later burst carried are oerrors, and opackets + oerrors is every
 * packet sent (none counted as written that never reached the file); the JVM does not crash, the
 * port closes, and the file holds whole records up to what fit.
 */
@Tag("faults")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PcapFullDiskTest {
    static final int FRAMES = 4096, LEN = 1000, BURST = 32;

    /** The child: {@code args[0]} is the tx file, inside the small tmpfs. Prints the port's counters. */
    public static void main(String[] args) {
        try (Eal eal = Eal.init("-l", "0", "--no-huge", "--in-memory", "-m", "64", "--vdev", "net_pcap0,tx_pcap=" + args[0])) {
            Mempool<Mbuf> pool = Mbuf.createPool("full_disk", 511, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
            EthDev port = EthDev.get(0);
            port.configure(1, 1, PortConf.defaults());
            port.rxQueueSetup(0, 0, pool);
            port.txQueueSetup(0, 0);
            port.start();
            Mbuf[] burst = new Mbuf[BURST];
            for (int sent = 0; sent < FRAMES; sent += BURST) {
                if (!Mbuf.allocBulk(pool, burst, 0, BURST)) throw new IllegalStateException("pool dry");
                for (int i = 0; i < BURST; i++) {
                    byte[] f = PcapFiles.frame(sent + i, LEN);
                    int at = burst[i].appendOffset(LEN);
                    MemorySegment.copy(f, 0, burst[i].buffer(), ValueLayout.JAVA_BYTE, burst[i].dataOff() + at, LEN);
                }
                int n = port.txBurst(0, burst, BURST);
                Mbuf.freeBulk(burst, n, BURST - n);
            }
            port.stop();
            EthStats s = port.stats();
            System.out.println("STATS opackets=" + s.opackets + " oerrors=" + s.oerrors + " obytes=" + s.obytes);
            port.close();
            System.out.println("CLOSED avail=" + pool.availCount() + " of " + pool.size());
        }
    }

    static boolean ci() {
        return "true".equals(System.getProperty("jpdk.ci"));
    }

    @Test
    void aFullDiskUnderTheTxFileIsCountedNotACrash() throws Exception {
        if (!"root".equals(System.getProperty("user.name")) || !Files.isExecutable(Path.of("/usr/bin/unshare"))) {
            if (ci()) fail("CI precondition missing: root and unshare (util-linux)");
            Assumptions.assumeTrue(false, "needs root and unshare for a private tmpfs");
        }
        Path dir = Files.createTempDirectory("jpdk-fulldisk");
        try {
            Path out = dir.resolve("out.pcap");
            String java = ProcessHandle.current().info().command().orElse("java");
            // the tmpfs lives only in the child's mount namespace and goes with it
            List<String> cmd = List.of("unshare", "-m", "--propagation", "private", "sh", "-c",
                    "mount -t tmpfs -o size=512k jpdk-fulldisk \"$0\" && exec \"$@\"", dir.toString(),
                    java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                    PcapFullDiskTest.class.getName(), out.toString());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes());
            int rc = p.waitFor();
            assertEquals(0, rc, "the child exits cleanly:\n" + log);
            assertTrue(log.contains("write failed") && log.contains("No space left on device"), log);
            assertEquals(1, log.split("write failed", -1).length - 1, "said once:\n" + log);
            String stats = log.lines().filter(l -> l.startsWith("STATS ")).findFirst().orElseThrow(() -> new AssertionError(log));
            long opackets = field(stats, "opackets"), oerrors = field(stats, "oerrors"), obytes = field(stats, "obytes");
            assertEquals(FRAMES, opackets + oerrors, "every packet is written or an error: " + stats);
            assertTrue(oerrors > 0 && opackets > 0, stats);
            assertTrue(opackets * (LEN + 16) + 24 <= 512 * 1024, "opackets only counts what fit: " + stats);
            assertEquals(opackets * LEN, obytes, stats);
            assertTrue(log.contains("CLOSED avail=511 of 511"), "every mbuf back:\n" + log);
            assertTrue(!Files.exists(out), "the tmpfs (and the file) stayed in the child's namespace");
        } finally {
            try {
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // left for the OS
            }
        }
    }

    private static long field(String line, String name) {
        for (String kv : line.split(" ")) if (kv.startsWith(name + "=")) return Long.parseLong(kv.substring(name.length() + 1));
        throw new AssertionError(name + " not in " + line);
    }
}
