package org.jpdk.bdev;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Scratch files, loop devices and mounts for the bdev tests, all removed on {@link #close} in the
 * reverse order they were made (unmount, detach, delete). Names carry the pid and a counter
 * ({@code bdev-<pid>-<n>}) so that parallel runs never clash; files live under the module's
 * {@code target/}, on the disk of the checkout (a tmpfs /tmp may lack O_DIRECT). Loop devices
 * come from {@code losetup --find --show}, so no other device of the machine is touched.
 */
final class Scratch implements AutoCloseable {
    private static final AtomicInteger SEQ = new AtomicInteger();
    static final Path DIR = Path.of("target", "bdev-scratch").toAbsolutePath();
    private final Deque<Runnable> undo = new ArrayDeque<>();

    /** Skips (or under CI fails) unless running as root with losetup and the {@code tools} named. */
    static void requireRoot(String why, String... tools) {
        String missing = null;
        if (!"root".equals(System.getProperty("user.name"))) missing = "needs root (" + why + ")";
        else if (which("losetup") == null) missing = "needs losetup (util-linux)";
        for (String t : tools) if (missing == null && which(t) == null) missing = "needs " + t;
        if (missing == null) return;
        if ("true".equals(System.getProperty("jpdk.ci"))) fail("CI precondition missing: " + missing);
        Assumptions.assumeTrue(false, missing);
    }

    static Path which(String tool) {
        for (String d : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            Path p = Path.of(d, tool);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** A unique name under target/bdev-scratch. */
    Path name(String suffix) throws IOException {
        Files.createDirectories(DIR);
        Path p = DIR.resolve("bdev-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet() + suffix);
        undo.push(() -> {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                // a directory still mounted: the unmount's failure was reported already
            }
        });
        return p;
    }

    /** A file of {@code bytes} bytes, filled with a pattern (not sparse: reads reach the disk). */
    Path file(long bytes) throws IOException {
        Path p = name(".img");
        byte[] chunk = new byte[1 << 20];
        for (int i = 0; i < chunk.length; i++) chunk[i] = (byte) (i * 31 + 7);
        try (var out = Files.newOutputStream(p)) {
            for (long done = 0; done < bytes; done += chunk.length) out.write(chunk, 0, (int) Math.min(chunk.length, bytes - done));
        }
        return p;
    }

    /** A loop device over {@code backing} with direct I/O on; detached on close. */
    String loop(Path backing) {
        String dev = run("losetup", "--find", "--show", "--direct-io=on", backing.toString()).strip();
        if (!dev.startsWith("/dev/loop")) fail("losetup gave '" + dev + "'");
        undo.push(() -> run("losetup", "-d", dev));
        return dev;
    }

    /** An ext4 filesystem of {@code bytes} bytes on a loop device, mounted on a fresh directory; unmounted on close. */
    Path ext4(long bytes) throws IOException {
        Path img = name(".ext4");
        try (var ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(bytes);
            ch.position(bytes - 1).write(java.nio.ByteBuffer.wrap(new byte[1]));
        }
        run("mkfs.ext4", "-q", "-F", img.toString());
        Path mnt = name(".mnt");
        Files.createDirectories(mnt);
        run("mount", "-o", "loop", img.toString(), mnt.toString());
        undo.push(() -> unmount(mnt));
        return mnt;
    }

    /**
     * Unmounts {@code mnt}, retrying for up to 10 s while it is busy: a closed io_uring lets go of
     * its requests' files from a kernel worker, a moment after close returns.
     */
    static void unmount(Path mnt) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try {
                run("umount", mnt.toString());
                return;
            } catch (AssertionError e) {
                if (!e.getMessage().contains("busy") || System.nanoTime() > deadline) throw e;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Runs a command; fails the test with its output if it fails. */
    static String run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(String.join(" ", cmd) + ": no answer in 60 s");
            }
            if (p.exitValue() != 0) fail(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
            return out;
        } catch (IOException e) {
            return fail(String.join(" ", cmd) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted");
        }
    }

    @Override
    public void close() {
        List<Throwable> errors = new ArrayList<>();
        while (!undo.isEmpty()) {
            try {
                undo.pop().run();
            } catch (Throwable t) {
                errors.add(t);
            }
        }
        if (!errors.isEmpty()) {
            AssertionError e = new AssertionError("cleanup failed: " + errors.get(0).getMessage());
            errors.forEach(e::addSuppressed);
            throw e;
        }
    }
}
