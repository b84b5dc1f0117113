package org.jpdk.bdev;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The device goes away mid-run: every request completes, those caught by it with an error, the
 * removal callback runs once, later submissions fail with ENODEV, nothing hangs.
 *
 * <p>What really produces the errors here: the backing file lives on an ext4 filesystem (on a
 * loop device of its own) that is shut down with {@code FS_IOC_SHUTDOWN} (as xfstests' godown
 * does, the kernel's way to make a filesystem behave as if its disk was pulled): from then on
 * every read and write of the file fails with EIO in the kernel. Unplugging a loop device cannot
 * serve: {@code losetup -d} of a device held open only marks it to go away at the last close, and
 * I/O goes on working meanwhile. Tested twice: the bdev on the file itself, and the bdev on a
 * second loop device (direct I/O) whose backing file is on that filesystem, so the block device's
 * own I/O fails.
 */
class RemovalTest {
    /** FS_IOC_SHUTDOWN = _IOR('X', 125, __u32); flag NOLOGFLUSH: stop at once, as a pulled disk. */
    static final long FS_IOC_SHUTDOWN = 0x8004587DL;
    static final int FS_GOING_FLAGS_NOLOGFLUSH = 2;

    static void shutdown(Path mountPoint) {
        int fd = Libc.open(mountPoint.toString(), Libc.O_RDONLY, 0);
        try (Arena a = Arena.ofConfined()) {
            int r = Libc.ioctl(fd, FS_IOC_SHUTDOWN, a.allocateFrom(JAVA_INT, FS_GOING_FLAGS_NOLOGFLUSH));
            assertEquals(0, r, "FS_IOC_SHUTDOWN " + mountPoint + ": " + Errno.name(-r));
        } finally {
            Libc.close(fd);
        }
    }

    static Path dataFile(Path mnt) throws IOException {
        Path f = mnt.resolve("data");
        byte[] mb = new byte[1 << 20];
        try (var out = Files.newOutputStream(f)) {
            for (int i = 0; i < 16; i++) out.write(mb);
        }
        return f;
    }

    @Test
    void queuedRequestsOfAFileWhoseFilesystemIsShutDownAllFail() throws IOException {
        Scratch.requireRoot("loop devices and mount", "mkfs.ext4", "mount", "umount");
        try (Scratch s = new Scratch(); Arena a = Arena.ofShared()) {
            Path mnt = s.ext4(64 << 20);
            Path f = dataFile(mnt);
            try (Bdev b = Bdev.open(f.toString())) {
                List<Integer> removed = new ArrayList<>();
                b.registerRemoveCallback((dev, errno) -> removed.add(errno));
                Qpair q = b.allocQpair(8);
                MemorySegment buf = a.allocate(4096, 4096);
                Waiter w = new Waiter();
                assertEquals(0, q.read(buf, 0, 8, w, -1));
                w.await(q, 1, 10);
                assertEquals(0, w.of(-1));
                for (int i = 0; i < 64; i++) assertEquals(0, q.read(buf, i * 8L, 8, w, i)); // filled in, not yet entered
                shutdown(mnt);
                w.await(q, 65, 10);
                for (int i = 0; i < 64; i++) assertTrue(w.of(i) < 0, "request " + i + " succeeded after the shutdown");
                assertEquals(List.of(Errno.EIO), removed);
                assertTrue(b.removed());
                assertEquals(Errno.ENODEV, q.deadErrno());
                assertEquals(0, q.write(buf, 0, 8, w, "after"), "the qpair keeps answering");
                w.await(q, 66, 10);
                assertEquals(-Errno.ENODEV, w.of("after"));
                assertEquals(1, removed.size());
            }
        }
    }

    @Test
    void aQpairThatDidNotNoticeTheRemovalFailsItsRequestsAtItsNextPoll() throws IOException {
        Scratch.requireRoot("loop devices and mount", "mkfs.ext4", "mount", "umount");
        try (Scratch s = new Scratch(); Arena a = Arena.ofShared()) {
            Path mnt = s.ext4(64 << 20);
            Path f = dataFile(mnt);
            try (Bdev b = Bdev.open(f.toString())) {
                Qpair qa = b.allocQpair(8), qb = b.allocQpair(8);
                MemorySegment buf = a.allocate(4096, 4096);
                Waiter wa = new Waiter(), wb = new Waiter();
                for (int i = 0; i < 16; i++) {
                    assertEquals(0, qa.read(buf, i * 8L, 8, wa, i));
                    assertEquals(0, qb.read(buf, i * 8L, 8, wb, i));
                }
                shutdown(mnt);
                wa.await(qa, 16, 10); // qa finds the device gone
                assertTrue(b.removed());
                assertEquals(0, qb.deadErrno(), "qb has not polled yet");
                wb.await(qb, 16, 10);
                assertEquals(Errno.ENODEV, qb.deadErrno());
                for (int i = 0; i < 16; i++) assertEquals(-Errno.ENODEV, wb.of(i), "qb's request " + i + " never reached the kernel");
            }
        }
    }

    @Test
    void aFileWhoseFilesystemGoesAwayMidRun() throws Exception {
        Scratch.requireRoot("loop devices and mount", "mkfs.ext4", "mount", "umount");
        try (Scratch s = new Scratch()) {
            Path mnt = s.ext4(64 << 20);
            runUntilRemoved(dataFile(mnt).toString(), mnt);
        }
    }

    @Test
    void aLoopDeviceWhoseBackingFileGoesAwayMidRun() throws Exception {
        Scratch.requireRoot("loop devices and mount", "mkfs.ext4", "mount", "umount");
        try (Scratch s = new Scratch()) {
            Path mnt = s.ext4(64 << 20);
            String dev = s.loop(dataFile(mnt));
            runUntilRemoved(dev, mnt);
        }
    }

    /**
     * Random reads and writes at depth 16 on {@code path} from this thread, while another shuts
     * {@code mnt} down after 300 ms; runs until the device is gone and every request came back.
     */
    static void runUntilRemoved(String path, Path mnt) throws Exception {
        try (Bdev b = Bdev.open(path); Arena a = Arena.ofShared()) {
            AtomicInteger removals = new AtomicInteger();
            int[] removedAt = {-1};
            int[] ok = {0}, errors = {0}, okAfterRemoval = {0};
            Qpair q = b.allocQpair(16);
            b.registerRemoveCallback((dev, errno) -> {
                removals.incrementAndGet();
                removedAt[0] = (int) q.completed();
            });
            IoCallback cb = (arg, st) -> {
                if (st == 0) ok[0]++;
                else errors[0]++;
                if (st == 0 && removedAt[0] >= 0) okAfterRemoval[0]++;
            };
            MemorySegment[] bufs = new MemorySegment[32];
            for (int i = 0; i < bufs.length; i++) bufs[i] = a.allocate(16384, 4096);
            Random rnd = new Random(3);
            Thread killer = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    return;
                }
                shutdown(mnt);
            });
            long deadline = System.nanoTime() + 20_000_000_000L;
            int next = 0;
            while (!(b.removed() && q.outstanding() == 0)) {
                assertTrue(System.nanoTime() < deadline, "no removal, or requests still out, after 20 s: outstanding "
                        + q.outstanding() + ", ok " + ok[0] + ", errors " + errors[0]);
                while (q.outstanding() < 32) {
                    long lba = rnd.nextLong(b.blockCount() / 32) * 32;
                    int r = rnd.nextBoolean() ? q.read(bufs[next], lba, 32, cb, null) : q.write(bufs[next], lba, 32, cb, null);
                    assertEquals(0, r);
                    next = (next + 1) % bufs.length;
                }
                q.processCompletions(0);
            }
            killer.join();
            assertEquals(1, removals.get(), "the removal callback runs once");
            assertTrue(ok[0] > 0, "nothing succeeded before the shutdown");
            assertTrue(errors[0] > 0);
            assertEquals(0, okAfterRemoval[0], "a request completed without error after the removal");
            assertEquals(q.submitted(), q.completed(), "every request came back");
            // the qpair goes on answering, with errors
            Waiter w = new Waiter();
            assertEquals(0, q.read(bufs[0], 0, 8, w, "after"));
            w.await(q, 1, 5);
            assertEquals(-Errno.ENODEV, w.of("after"));
        }
    }
}
