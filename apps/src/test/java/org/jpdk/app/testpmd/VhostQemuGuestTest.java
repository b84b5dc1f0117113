package org.jpdk.app.testpmd;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.jpdk.app.testpmd.AfPacketVethTest.RECEIVER_LCORES;
import static org.jpdk.app.testpmd.AfPacketVethTest.with;
import static org.jpdk.app.testpmd.NetnsTestPmd.portField;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real virtual machine on our vhost-user socket: Debian's qemu-system-x86 under TCG boots
 * Debian's kernel with an initramfs this test builds (busybox-static, the kernel's virtio modules
 * and an init script); the guest's virtio-net-pci device is served by our net_vhost, the guest
 * pings an address, and our testpmd in icmpecho mode answers its ARP and echo requests. Facts of
 * this machine kind it relies on: QEMU 7.2 under TCG crashes when a vhost-user device starts with
 * MSI-X vectors, so the device has {@code vectors=0}; the guest's memory must be shared (a memfd
 * backend with share=on as NUMA node memory); the modules load in dependency order with busybox
 * insmod. The guest's traffic never leaves the two processes (198.18.0.0/15, the benchmarking
 * range). Without QEMU, a kernel or busybox it skips, and under CI it fails.
 */
class VhostQemuGuestTest {
    private static final String[] MODULES = {"virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
            "failover", "net_failover", "virtio_net"};

    private static void require(boolean ok, String why) {
        if (ok) return;
        if ("true".equals(System.getProperty("jpdk.ci")) || "true".equals(System.getenv("CI"))) fail("CI precondition missing: " + why);
        Assumptions.assumeTrue(false, why);
    }

    /** The newest /boot/vmlinuz-VERSION that has /lib/modules/VERSION. */
    private static String kernelVersion() throws IOException {
        if (!Files.isDirectory(Path.of("/boot"))) return null;
        try (Stream<Path> s = Files.list(Path.of("/boot"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("vmlinuz-")).map(n -> n.substring(8))
                    .filter(v -> Files.isDirectory(Path.of("/lib/modules", v)) && Files.isReadable(Path.of("/boot/vmlinuz-" + v)))
                    .max(Comparator.naturalOrder()).orElse(null);
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void aQemuGuestPingsThroughJpdkVhost(@TempDir Path dir) throws Exception {
        require(Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64")), "needs qemu-system-x86_64 (apt-get install qemu-system-x86)");
        require(Files.isExecutable(Path.of("/bin/busybox")) || Files.isExecutable(Path.of("/usr/bin/busybox")),
                "needs a static busybox (apt-get install busybox-static)");
        String kver = kernelVersion();
        require(kver != null, "needs a kernel in /boot with its modules (apt-get install linux-image-amd64)");
        Path busybox = Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        List<Path> modules = new ArrayList<>();
        for (String m : MODULES) {
            try (Stream<Path> s = Files.walk(Path.of("/lib/modules", kver, "kernel"))) {
                Path p = s.filter(f -> f.getFileName().toString().equals(m + ".ko")).findFirst().orElse(null);
                require(p != null, "kernel " + kver + " has no module " + m + ".ko");
                modules.add(p);
            }
        }
        Path initrd = dir.resolve("initrd.cpio");
        writeInitramfs(initrd, busybox, modules);
        Path sock = dir.resolve("vh.sock");
        try (NetnsTestPmd ours = MemifDpdkInteropTest.oursListening(sock, MemifDpdkInteropTest.oursInteractive(
                with(RECEIVER_LCORES, "--log-level", "pmd.net.vhost:info", "--vdev", "net_vhost0,iface=" + sock),
                "--forward-mode=icmpecho"))) {
            List<String> cmd = List.of("/usr/bin/qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", "256", "-smp", "1",
                    "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
                    "-object", "memory-backend-memfd,id=mem0,size=256M,share=on", "-numa", "node,memdev=mem0",
                    "-chardev", "socket,id=chr0,path=" + sock, "-netdev", "vhost-user,id=net0,chardev=chr0",
                    "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,vectors=0",
                    "-kernel", "/boot/vmlinuz-" + kver, "-initrd", initrd.toString(), "-append", "console=ttyS0 panic=-1 loglevel=4");
            Process qemu = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try (var in = qemu.getInputStream()) {
                    in.transferTo(new OutputStream() {
                        @Override
                        public void write(int b) {
                            synchronized (out) {
                                out.write(b);
                            }
                        }

                        @Override
                        public void write(byte[] b, int off, int len) {
                            synchronized (out) {
                                out.write(b, off, len);
                            }
                        }
                    });
                } catch (IOException e) {
                    // the process ended
                }
            });
            try {
                if (!qemu.waitFor(200, TimeUnit.SECONDS)) fail("the guest did not finish in 200 s:\n" + text(out) + "\n" + ours.output());
                reader.join(2000);
            } finally {
                qemu.destroyForcibly();
            }
            String guest = text(out);
            System.out.println("guest console:\n" + guest);
            assertTrue(guest.contains("GUEST-PING-OK"), "the guest's pings were answered:\n" + guest + "\n" + ours.output());
            String stats = ours.type("stop", MemifDpdkInteropTest.STOPPED, 20);
            long rx = portField(stats, 0, "RX-packets:"), tx = portField(stats, 0, "TX-packets:");
            assertTrue(rx >= 4 && tx >= 4, "our testpmd received and answered the guest's frames:\n" + stats);
            ours.quit(20);
        }
    }

    private static String text(ByteArrayOutputStream out) {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    /** An uncompressed newc cpio: /init, /bin/busybox, /dev/console and the modules as /m/NAME.ko. */
    private static void writeInitramfs(Path file, Path busybox, List<Path> modules) throws IOException {
        StringBuilder init = new StringBuilder("""
                #!/bin/busybox sh
                B=/bin/busybox
                $B mount -t proc proc /proc
                $B mount -t sysfs sys /sys
                """);
        for (String m : MODULES) init.append("$B insmod /m/").append(m).append(".ko || $B echo GUEST-INSMOD-FAILED ").append(m).append('\n');
        init.append("""
                $B ip link set lo up
                $B ip link set eth0 up
                $B ip addr add 198.18.0.2/24 dev eth0
                $B sleep 1
                if $B ping -c 4 -W 10 198.18.0.1; then $B echo GUEST-PING-OK; fi
                $B echo GUEST-DONE
                $B poweroff -f
                """);
        Cpio c = new Cpio();
        for (String d : List.of("bin", "dev", "proc", "sys", "m")) c.add(d, 040755, new byte[0], 0, 0);
        c.add("dev/console", 020600, new byte[0], 5, 1);
        c.add("bin/busybox", 0100755, Files.readAllBytes(busybox), 0, 0);
        c.add("init", 0100755, init.toString().getBytes(StandardCharsets.US_ASCII), 0, 0);
        for (int i = 0; i < MODULES.length; i++) c.add("m/" + MODULES[i] + ".ko", 0100644, Files.readAllBytes(modules.get(i)), 0, 0);
        Files.write(file, c.finish());
    }

    /** The "newc" cpio format the kernel unpacks an initramfs from: a 110-byte ASCII header, the name, the data, each 4-aligned. */
    private static final class Cpio {
        private final ByteArrayOutputStream b = new ByteArrayOutputStream();
        private int ino = 1;

        void add(String name, int mode, byte[] data, int rdevMajor, int rdevMinor) {
            byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
            String h = String.format("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", ino++, mode, 0, 0,
                    (mode & 040000) != 0 ? 2 : 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, n.length, 0);
            b.writeBytes(h.getBytes(StandardCharsets.US_ASCII));
            b.writeBytes(n);
            pad();
            b.writeBytes(data);
            pad();
        }

        private void pad() {
            while (b.size() % 4 != 0) b.write(0);
        }

        byte[] finish() {
            add("TRAILER!!!", 0, new byte[0], 0, 0);
            return b.toByteArray();
        }
    }
}
