package org.jpdk.bdev;

import org.jpdk.sys.Errno;
import org.jpdk.sys.LinuxException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/** Geometry, options, the one-line errors, bad submissions, and the non-data operations. */
class BdevTest {
    @Test
    void aFileTakesItsGeometryFromStatxAndTheDiskUnderIt() throws IOException {
        try (Scratch s = new Scratch()) {
            Path f = s.file(4 << 20);
            try (Bdev b = Bdev.open(f.toString())) {
                assertEquals("file", b.kind());
                assertTrue(b.blockSize() >= 512 && Integer.bitCount(b.blockSize()) == 1, b.toString());
                assertEquals((4L << 20) / b.blockSize(), b.blockCount());
                assertTrue(b.maxTransferBytes() >= b.blockSize() && b.maxTransferBytes() % b.blockSize() == 0);
                assertTrue(b.direct());
            }
            try (Bdev b = Bdev.open(f.toString(), BdevOptions.defaults().withBlockSize(4096).withBlockCount(100)
                    .withMaxTransferBytes(64 << 10).withOptimalBoundaryBytes(128 << 10))) {
                assertEquals(4096, b.blockSize());
                assertEquals(100, b.blockCount());
                assertEquals(64 << 10, b.maxTransferBytes());
                assertEquals(128 << 10, b.optimalBoundaryBytes());
            }
        }
    }

    @Test
    void aLoopDeviceTakesItsGeometryFromSysfs() throws IOException {
        Scratch.requireRoot("loop devices");
        try (Scratch s = new Scratch()) {
            Path f = s.file(8 << 20);
            String dev = s.loop(f);
            String name = Path.of(dev).getFileName().toString();
            Path q = Path.of("/sys/block", name, "queue");
            int lbs = Integer.parseInt(Files.readString(q.resolve("logical_block_size")).strip());
            long maxKb = Long.parseLong(Files.readString(q.resolve("max_sectors_kb")).strip());
            try (Bdev b = Bdev.open(dev)) {
                assertEquals("block device", b.kind());
                assertEquals(lbs, b.blockSize());
                assertEquals((8L << 20) / lbs, b.blockCount());
                assertEquals(maxKb * 1024 / lbs * lbs, b.maxTransferBytes());
                LinuxException e = assertThrows(LinuxException.class, () -> Bdev.open(dev));
                assertEquals("open(" + dev + ", O_RDWR|O_DIRECT|O_EXCL): EBUSY: mounted or held by another program", e.getMessage());
            }
        }
    }

    @Test
    void badOptionsAndPathsSayWhatIsWrongInOneLine() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BdevOptions.defaults().withBlockSize(1000));
        assertEquals("blockSize=1000: allowed a power of two from 512 to 65536, or 0 (the device's)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> QpairOptions.of(0));
        assertEquals("depth=0: allowed 1..4096", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> QpairOptions.of(8).withRequests(4));
        assertEquals("requests=4: allowed 8 (the depth)..1048576, or 0 (4 x depth)", e.getMessage());
        LinuxException le = assertThrows(LinuxException.class, () -> Bdev.open("/nonexistent/bdev.img"));
        assertEquals("open(/nonexistent/bdev.img, O_RDWR|O_DIRECT): ENOENT: no such file or device", le.getMessage());
        try (Scratch s = new Scratch()) {
            Path small = s.file(100);
            e = assertThrows(IllegalArgumentException.class, () -> Bdev.open(small.toString()));
            assertTrue(e.getMessage().matches(".*: file of 100 bytes holds no \\d+-byte block; make it larger \\(e.g. truncate -s 64M .*\\)"),
                    e.getMessage());
            Path f = s.file(1 << 20);
            e = assertThrows(IllegalArgumentException.class,
                    () -> Bdev.open(f.toString(), BdevOptions.defaults().withMaxTransferBytes(1000)));
            assertTrue(e.getMessage().startsWith("maxTransferBytes=1000: allowed a multiple of the block size"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Bdev.open(f.toString(), BdevOptions.defaults().withBlockCount(1 << 20)));
            assertTrue(e.getMessage().startsWith("blockCount=1048576: "), e.getMessage());
            Path fifo = s.name(".fifo");
            Scratch.run("mkfifo", fifo.toString());
            e = assertThrows(IllegalArgumentException.class, () -> Bdev.open(fifo.toString(), BdevOptions.defaults().withDirect(false)));
            assertEquals(fifo + ": a FIFO has no block size or size; give both (BdevOptions.withBlockSize, withBlockCount)", e.getMessage());
        }
    }

    @Test
    void badSubmissionsAreRefusedWithoutTouchingTheQpair() throws IOException {
        try (Scratch s = new Scratch(); Arena a = Arena.ofShared()) {
            Path f = s.file(1 << 20);
            try (Bdev b = Bdev.open(f.toString()); Bdev ro = Bdev.open(f.toString(), BdevOptions.defaults().withReadOnly(true))) {
                Qpair q = b.allocQpair(4);
                MemorySegment buf = a.allocate(8192, 4096);
                Waiter w = new Waiter();
                long n = b.blockCount();
                int bs = b.blockSize();
                assertEquals(-Errno.EINVAL, q.read(buf, n, 1, w, 0), "past the end");
                assertEquals(-Errno.EINVAL, q.read(buf, n - 1, 2, w, 0), "across the end");
                assertEquals(-Errno.EINVAL, q.read(buf, -1, 1, w, 0));
                assertEquals(-Errno.EINVAL, q.read(buf, 0, 0, w, 0));
                assertEquals(-Errno.EINVAL, q.read(buf, 0, 8192 / bs + 1, w, 0), "buffer too small");
                assertEquals(-Errno.EINVAL, q.read(MemorySegment.ofArray(new byte[8192]), 0, 1, w, 0), "heap memory");
                assertEquals(-Errno.EINVAL, q.read(buf, 0, 1, null, 0), "no callback");
                assertEquals(-Errno.EINVAL, q.readv(new MemorySegment[Qpair.MAX_IOV + 1], Qpair.MAX_IOV + 1, 0, 1, w, 0));
                assertEquals(-Errno.EINVAL, q.readv(new MemorySegment[]{buf.asSlice(0, bs)}, 1, 0, 2, w, 0), "iovecs too short");
                assertEquals(-Errno.EINVAL, q.unmap(n, 1, w, 0));
                assertEquals(0, q.outstanding());
                Qpair r = ro.allocQpair(2);
                assertEquals(-Errno.EROFS, r.write(buf, 0, 1, w, 0));
                assertEquals(-Errno.EROFS, r.writeZeroes(0, 1, w, 0));
                assertEquals(0, r.read(buf, 0, 1, w, "ro"));
                w.await(r, 1, 10);
                assertEquals(0, w.of("ro"));
                assertEquals(-Errno.ENOENT, q.abort(12345L << 32 | 3));
                assertEquals(-Errno.ENOENT, q.abort(-1));
            }
        }
    }

    @Test
    void errorsThatSayNothingAboutTheDeviceDoNotCountAsRemoval() throws IOException {
        // fsync of a pipe is EINVAL and fallocate of one ESPIPE: the caller's mistake, not a failing disk
        try (Scratch s = new Scratch(); Bdev b = TimeoutTest.fifo(s)) {
            Qpair q = b.allocQpair(4);
            Waiter w = new Waiter();
            for (int i = 0; i < 20; i++) assertEquals(0, i % 2 == 0 ? q.flush(w, i) : q.writeZeroes(0, 1, w, i));
            w.await(q, 20, 10);
            for (int i = 0; i < 20; i++) assertEquals(i % 2 == 0 ? -Errno.EINVAL : -Errno.ESPIPE, w.of(i), "request " + i);
            assertFalse(b.removed());
            assertEquals(0, q.deadErrno());
            assertEquals(20, q.failed());
        }
    }

    @Test
    void shortReadsAreEioAndEnoughOfThemInARowMeanTheDeviceIsGone() throws IOException {
        try (Scratch s = new Scratch(); Arena a = Arena.ofShared()) {
            Path f = s.file(1 << 20);
            try (Bdev b = Bdev.open(f.toString(), BdevOptions.defaults().withErrorsBeforeRemoval(5))) {
                int[] removals = {0};
                b.registerRemoveCallback((dev, errno) -> {
                    assertEquals(Errno.EIO, errno);
                    removals[0]++;
                });
                Qpair q = b.allocQpair(2);
                MemorySegment buf = a.allocate(4096, 4096);
                try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(0); // the bdev still believes in its 1 MiB: every read now comes back short (0 bytes)
                }
                Waiter w = new Waiter();
                for (int i = 0; i < 4; i++) {
                    assertEquals(0, q.read(buf, 0, 1, w, i));
                    w.await(q, i + 1, 10);
                    assertEquals(-Errno.EIO, w.of(i));
                }
                assertFalse(b.removed(), "four errors in a row: not yet");
                for (int i = 4; i < 8; i++) assertEquals(0, q.read(buf, 0, 1, w, i));
                w.await(q, 8, 10);
                assertTrue(b.removed(), "the fifth in a row");
                assertEquals(1, removals[0]);
                for (int i = 4; i < 8; i++) assertTrue(w.of(i) == -Errno.EIO || w.of(i) == -Errno.ENODEV, Errno.name(-w.of(i)));
            }
        }
    }

    @Test
    void writeZeroesUnmapAndFlushOnAFile() throws IOException {
        try (Scratch s = new Scratch()) {
            Path f = s.file(1 << 20);
            zeroesUnmapFlush(f.toString());
        }
    }

    @Test
    void writeZeroesUnmapAndFlushOnALoopDevice() throws IOException {
        Scratch.requireRoot("loop devices");
        try (Scratch s = new Scratch()) {
            Path f = s.file(1 << 20);
            zeroesUnmapFlush(s.loop(f));
        }
    }

    static void zeroesUnmapFlush(String path) {
        try (Bdev b = Bdev.open(path); Arena a = Arena.ofShared()) {
            Qpair q = b.allocQpair(4);
            int bs = b.blockSize();
            MemorySegment buf = a.allocate(16 * bs, 4096);
            Waiter w = new Waiter();
            assertEquals(0, q.writeZeroes(8, 4, w, "zeroes"));
            assertEquals(0, q.unmap(32, 4, w, "unmap"));
            w.await(q, 2, 10);
            assertEquals(0, w.of("zeroes"));
            int unmap = w.of("unmap");
            assertTrue(unmap == 0 || unmap == -Errno.EOPNOTSUPP, Errno.name(-unmap));
            assertEquals(0, q.flush(w, "flush"));
            buf.fill((byte) 1);
            assertEquals(0, q.read(buf, 8, 4, w, "read zeroes"));
            w.await(q, 4, 10);
            assertEquals(0, w.of("flush"));
            assertEquals(0, w.of("read zeroes"));
            for (int i = 0; i < 4 * bs; i++) assertEquals(0, buf.get(JAVA_BYTE, i), "byte " + i + " of the zeroed range");
            assertNotEquals(0, buf.get(JAVA_BYTE, 4L * bs), "past the range: untouched by the read");
            if (unmap == 0) {
                assertEquals(0, q.read(buf, 32, 4, w, "read unmapped"));
                w.await(q, 5, 10);
                for (int i = 0; i < 4 * bs; i++) assertEquals(0, buf.get(JAVA_BYTE, i), "byte " + i + " of the unmapped range");
            }
        }
    }

    @Test
    void completionsNamingNoRequestInFlightAreCountedAndDropped() throws IOException {
        try (Scratch s = new Scratch(); Arena a = Arena.ofShared()) {
            Path f = s.file(1 << 20);
            try (Bdev b = Bdev.open(f.toString())) {
                Qpair q = b.allocQpair(4);
                Waiter w = new Waiter();
                q.injectNop(0xffff_ffffL);         // an index far past the trackers
                q.injectNop(3);                    // a tracker not in flight
                q.injectNop(-1L);                  // all ones
                assertEquals(0, q.read(a.allocate(4096, 4096), 0, 1, w, "real"));
                w.await(q, 1, 10);
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (q.spuriousCompletions() < 3 && System.nanoTime() < deadline) q.processCompletions(0);
                assertEquals(3, q.spuriousCompletions());
                assertEquals(0, w.of("real"));
                assertEquals(1, w.completions);
            }
        }
    }
}
