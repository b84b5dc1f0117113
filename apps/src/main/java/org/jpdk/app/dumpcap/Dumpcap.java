package org.jpdk.app.dumpcap;

import org.jpdk.app.App;
import org.jpdk.bpf.BpfException;
import org.jpdk.bpf.Cbpf;
import org.jpdk.bpf.PcapFilter;
import org.jpdk.pcapng.Pcapng;
import org.jpdk.pcapng.PcapngWriter;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.UnixSocket;
import org.jpdk.telemetry.TelemetryClient;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * DPDK's {@code dpdk-dumpcap} for a running jpdk app: {@code ./jpdk dumpcap [--file-prefix P] -i
 * PORT [-f FILTER] [-c N] [-a duration:S] [-s SNAPLEN] -w FILE.pcapng}. Where dpdk-dumpcap attaches
 * as a secondary process, this asks the app through its telemetry socket ({@code /pdump/enable},
 * served by {@link org.jpdk.pdump.Pdump}) to connect to a socket this process listens on, and
 * writes what arrives: the app's lcores copy the packets of the port's rx and tx queues as pcapng
 * blocks into per-queue rings, a capture thread of the app sends them, this process checks each
 * block and writes the file (a Section Header, one Interface Description per port with its name
 * and nanosecond timestamps, the packets, and at the end the app's Interface Statistics with the
 * packets received and dropped). It stops on Ctrl-C, after -c packets, -a duration or filesize,
 * and prints dpdk-dumpcap's summary. If this process dies, the app notices its socket hang up and
 * removes the callbacks.
 */
public final class Dumpcap {
    static final String VERSION = "jpdk dumpcap 0.1.0 (dpdk-dumpcap 22.11 options)";
    private static final int BUF_BYTES = 256 * 1024;
    private static final int ACCEPT_MS = 5000, DRAIN_MS = 10_000, POLL_MS = 100;

    /** The {@code ./jpdk dumpcap} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "dumpcap";
        }

        @Override
        public String summary() {
            return "DPDK's dpdk-dumpcap: capture a running app's rx and tx into pcapng (over telemetry)";
        }

        @Override
        public void main(String[] args) {
            // Ctrl-C: the hook asks the capture to stop and holds the JVM until the file and summary are done
            CountDownLatch finished = new CountDownLatch(1);
            boolean[] interrupted = {false};
            Thread hook = new Thread(() -> {
                synchronized (interrupted) {
                    interrupted[0] = true;
                }
                try {
                    finished.await(DRAIN_MS + 5000, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "dumpcap-exit");
            Runtime.getRuntime().addShutdownHook(hook);
            int rc;
            try {
                rc = run(args, System.out, System.err, () -> {
                    synchronized (interrupted) {
                        return interrupted[0];
                    }
                });
            } finally {
                finished.countDown();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                return; // shutting down on a signal: the JVM exits when the hook returns
            }
            if (rc != 0) System.exit(rc);
        }
    }

    /** One port being captured. */
    private static final class Iface {
        final int port, ifId;
        final String name;
        UnixSocket listener, data;
        boolean enabled, done, gotStats;
        long received, dropped;

        Iface(int port, String name, int ifId) {
            this.port = port;
            this.name = name;
            this.ifId = ifId;
        }
    }

    private final DumpcapOptions o;
    private final PrintStream out, err;
    private final TelemetryClient c;
    private final List<Iface> ifaces = new ArrayList<>();
    private PcapngWriter w;
    private long captured;
    private String failure;

    private Dumpcap(DumpcapOptions o, TelemetryClient c, PrintStream out, PrintStream err) {
        this.o = o;
        this.c = c;
        this.out = out;
        this.err = err;
    }

    /** Runs dumpcap until a stop condition or {@code stop} says so; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err, BooleanSupplier stop) {
        DumpcapOptions o;
        try {
            o = DumpcapOptions.parse(args);
        } catch (IllegalArgumentException | ArithmeticException e) {
            err.println("dumpcap: " + e.getMessage());
            return 1;
        }
        if (o.help) {
            out.print(DumpcapOptions.USAGE);
            return 0;
        }
        if (o.version) {
            out.println(VERSION);
            return 0;
        }
        Cbpf filter;
        try {
            filter = PcapFilter.compile(o.filter);
        } catch (BpfException e) {
            err.println("dumpcap: " + e.getMessage().lines().findFirst().orElse("bad filter"));
            return 1;
        }
        if (o.dumpFilter) {
            out.print(filter);
            return 0;
        }
        try (TelemetryClient c = TelemetryClient.connect(o.prefix)) {
            return new Dumpcap(o, c, out, err).capture(stop);
        } catch (LinuxException e) {
            err.println("dumpcap: no app with --file-prefix " + o.prefix + " is running (telemetry socket: " + e.getMessage() + ")");
            return 1;
        } catch (IllegalStateException | IllegalArgumentException | UncheckedIOException | ClassCastException e) {
            err.println("dumpcap: " + e.getMessage());
            return 1;
        }
    }

    private int capture(BooleanSupplier stop) {
        if (!(c.request("/") instanceof List<?> cmds) || !cmds.contains("/pdump/enable")) {
            throw new IllegalStateException("the app with --file-prefix " + o.prefix
                    + " has no /pdump/enable telemetry command (a DPDK app? capture it with dpdk-dumpcap)");
        }
        List<int[]> ids = new ArrayList<>();
        List<String> names = new ArrayList<>(), drivers = new ArrayList<>();
        if (c.request("/ethdev/list") instanceof List<?> l) {
            for (Object id : l) {
                if (!(id instanceof Number n) || !(c.request("/ethdev/info," + n) instanceof Map<?, ?> info)) continue;
                ids.add(new int[]{n.intValue()});
                names.add(String.valueOf(info.get("name")));
                drivers.add(String.valueOf(info.get("driver_name")));
            }
        }
        if (o.list) {
            for (int i = 0; i < ids.size(); i++) out.printf("%d. %s%n", ids.get(i)[0], names.get(i));
            return 0;
        }
        if (ids.isEmpty()) throw new IllegalStateException("the app with --file-prefix " + o.prefix + " has no ports");
        List<String> wanted = o.interfaces.isEmpty() ? List.of(String.valueOf(ids.get(0)[0])) : o.interfaces;
        for (String want : wanted) {
            int found = -1;
            for (int i = 0; i < ids.size(); i++) {
                if (names.get(i).equals(want) || String.valueOf(ids.get(i)[0]).equals(want)) found = i;
            }
            if (found < 0) throw new IllegalArgumentException("interface '" + want + "': no such port (-D lists them)");
            int port = ids.get(found)[0];
            if (ifaces.stream().anyMatch(f -> f.port == port)) throw new IllegalArgumentException("interface '" + want + "' given twice");
            ifaces.add(new Iface(port, names.get(found), ifaces.size()));
        }
        Path file = o.file != null ? Path.of(o.file) : Path.of(System.getProperty("java.io.tmpdir"), "jpdk-dumpcap_"
                + ifaces.get(0).name + "_" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss")) + ".pcapng");
        Path dir;
        try {
            dir = Files.createTempDirectory("jpdk-dumpcap");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a directory for the capture sockets: " + e.getMessage(), e);
        }
        try (PcapngWriter writer = PcapngWriter.create(file, VERSION, o.comment)) {
            w = writer;
            setPermissions(file);
            for (Iface f : ifaces) {
                w.addInterface(f.name, "jpdk port " + f.port + " (" + drivers.get(f.ifId) + ")", o.snaplen);
            }
            try {
                for (Iface f : ifaces) enable(f, dir);
                if (!o.quiet) {
                    for (Iface f : ifaces) err.println("Capturing on '" + f.name + "'");
                    err.println("File: " + file);
                }
                loop(stop);
            } finally {
                for (Iface f : ifaces) {
                    if (f.enabled && !f.done) c.request("/pdump/disable," + f.port);
                    if (f.listener != null) f.listener.close();
                    if (f.data != null) f.data.close();
                }
                try {
                    Files.deleteIfExists(dir);
                } catch (IOException e) {
                    // the sockets are unlinked by close; a leftover empty directory in /tmp is harmless
                }
            }
        }
        if (!o.quiet) summary();
        if (failure != null) {
            err.println("dumpcap: " + failure);
            return 1;
        }
        return 0;
    }

    private void setPermissions(Path file) {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(o.groupRead ? "rw-r-----" : "rw-------"));
        } catch (IOException | UnsupportedOperationException e) {
            // a file system without POSIX permissions: leave the umask's
        }
    }

    /** Listens, asks the app to connect and capture, and takes its connection. */
    private void enable(Iface f, Path dir) {
        String path = dir.resolve("port" + f.port + ".sock").toString();
        f.listener = UnixSocket.listen(path, false, 1);
        String req = "/pdump/enable," + f.port + "," + f.ifId + "," + o.snaplen + "," + path + (o.filter.isBlank() ? "" : "," + o.filter);
        if (req.getBytes(StandardCharsets.UTF_8).length > 1023) throw new IllegalArgumentException("-f: the filter is too long for a telemetry request");
        Object reply = c.request(req);
        if (!(reply instanceof Map<?, ?> m)) throw new IllegalStateException("/pdump/enable: unexpected reply " + reply);
        if (m.get("error") != null) throw new IllegalStateException("interface '" + f.name + "': " + m.get("error"));
        f.enabled = true;
        long deadline = System.nanoTime() + ACCEPT_MS * 1_000_000L;
        while ((f.data = f.listener.accept()) == null) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("interface '" + f.name + "': the app did not connect within " + ACCEPT_MS + " ms");
            sleep(5);
        }
        f.listener.close();
        f.listener = null;
    }

    private void loop(BooleanSupplier stop) {
        long start = System.nanoTime(), stopDeadline = 0, nextReport = start + 1_000_000_000L;
        boolean progress = !o.quiet && System.console() != null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(BUF_BYTES, 8);
            MemorySegment pfds = a.allocate(8L * ifaces.size(), 8);
            int[] noFds = {};
            while (ifaces.stream().anyMatch(f -> !f.done)) {
                long now = System.nanoTime();
                if (stopDeadline == 0 && (stop.getAsBoolean() || o.packetLimit > 0 && captured >= o.packetLimit
                        || o.durationMillis > 0 && now - start >= o.durationMillis * 1_000_000L
                        || o.fileSizeBytes > 0 && w.bytes() >= o.fileSizeBytes)) {
                    for (Iface f : ifaces) if (!f.done) c.request("/pdump/disable," + f.port);
                    stopDeadline = now + DRAIN_MS * 1_000_000L;
                }
                if (stopDeadline != 0 && now > stopDeadline) {
                    failure = "the app did not finish the capture within " + DRAIN_MS + " ms of the stop";
                    return;
                }
                if (progress && now > nextReport) {
                    err.print("\rPackets captured: " + captured);
                    nextReport = now + 1_000_000_000L;
                }
                int n = 0;
                for (Iface f : ifaces) {
                    if (f.done) continue;
                    pfds.set(JAVA_INT, 8L * n, f.data.fd());
                    pfds.set(JAVA_SHORT, 8L * n + 4, (short) Libc.POLLIN);
                    pfds.set(JAVA_SHORT, 8L * n + 6, (short) 0);
                    n++;
                }
                Libc.poll(pfds, n, POLL_MS);
                for (Iface f : ifaces) {
                    if (f.done) continue;
                    for (int k = 0; k < 64 && !f.done; k++) {
                        long r = f.data.receive(buf, noFds);
                        if (r == -Errno.EAGAIN || r == -Errno.EINTR) break;
                        if (r <= 0) {
                            f.done = true; // the app closed it: the end of this capture
                            if (r < 0) failure = "interface '" + f.name + "': recv: " + Errno.name((int) -r);
                            else if (!f.gotStats) failure = "the app ended the capture of '" + f.name + "' without its statistics (did it exit?)";
                        } else if (r > buf.byteSize()) {
                            bad(f, "a message of " + r + " bytes, larger than " + buf.byteSize());
                        } else {
                            blocks(f, buf, r);
                        }
                    }
                }
            }
        }
        if (progress) err.print("\r");
    }

    /** Checks and writes the blocks of one message; packets beyond -c are left out. */
    private void blocks(Iface f, MemorySegment buf, long len) {
        long at = 0, runStart = 0;
        int runPackets = 0;
        while (at < len) {
            int total = Pcapng.checkBlock(buf, at, len);
            if (total < 0) {
                bad(f, "a malformed pcapng block at offset " + at);
                break;
            }
            int type = Pcapng.blockType(buf, at);
            if ((type != Pcapng.EPB && type != Pcapng.ISB) || total < 32 || buf.get(JAVA_INT, at + 8) != f.ifId) {
                bad(f, "an unexpected block (type " + type + ", " + total + " bytes)");
                break;
            }
            boolean keep = true;
            if (type == Pcapng.EPB) {
                if (o.packetLimit > 0 && captured >= o.packetLimit) keep = false;
                else {
                    captured++;
                    runPackets++;
                }
            } else {
                f.gotStats = true;
                f.received = Math.max(0, Pcapng.isbCounter(buf, at, Pcapng.ISB_IFRECV));
                f.dropped = Math.max(0, Pcapng.isbCounter(buf, at, Pcapng.ISB_IFDROP));
            }
            if (!keep) {
                if (at > runStart) w.writeBlocks(buf, runStart, at - runStart, runPackets);
                runPackets = 0;
                runStart = at + total;
            }
            at += total;
        }
        if (at > runStart) w.writeBlocks(buf, runStart, Math.min(at, len) - runStart, runPackets);
    }

    private void bad(Iface f, String what) {
        failure = "interface '" + f.name + "': the app sent " + what + "; capture ended";
        f.done = true;
        c.request("/pdump/disable," + f.port);
    }

    /** dpdk-dumpcap's closing lines. */
    private void summary() {
        err.println("Packets captured: " + captured);
        for (Iface f : ifaces) {
            if (!f.gotStats) {
                err.println("Packets received/dropped on interface '" + f.name + "': unknown (the app sent no statistics)");
                continue;
            }
            double pct = f.received == 0 ? 0 : 100.0 * f.received / (f.received + f.dropped);
            err.printf("Packets received/dropped on interface '%s': %d/%d (%.1f)%n", f.name, f.received, f.dropped, pct);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
