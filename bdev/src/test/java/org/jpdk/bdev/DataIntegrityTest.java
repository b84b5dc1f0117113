package org.jpdk.bdev;

import org.jpdk.sys.Errno;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Random writes, then reads, compared byte for byte with a model of the device: on a plain file
 * and on a loop device with direct I/O, through the split path (a 16 KiB transfer limit and a
 * 64 KiB boundary given as options, so that most requests go out in parts) and the unsplit one
 * (requests within both), from registered (fixed) and unregistered buffers, single and vectored.
 * Writes of one batch never overlap (their order in the kernel is not defined); reads may. At the
 * end the backing file, read through the page cache, must equal the model too.
 */
class DataIntegrityTest {
    static final int SIZE = 16 << 20;
    static final int MAX_IO = 256 << 10;
    static final int BLOCK = 512;

    @Test
    void aPlainFileThroughSplitAndUnsplitPaths() throws IOException {
        try (Scratch s = new Scratch()) {
            Path f = s.file(SIZE);
            exercise(f.toString(), f, 1);
        }
    }

    @Test
    void aLoopDeviceWithDirectIoThroughSplitAndUnsplitPaths() throws IOException {
        Scratch.requireRoot("loop devices");
        try (Scratch s = new Scratch()) {
            Path f = s.file(SIZE);
            String dev = s.loop(f);
            exercise(dev, f, 2);
        }
    }

    @Test
    void anSqpollQpairWritesAndReadsWithoutEnteringTheKernelWhileItsThreadIsAwake() throws IOException {
        try (Scratch s = new Scratch(); Arena arena = Arena.ofShared()) {
            Path f = s.file(1 << 20);
            try (Bdev b = Bdev.open(f.toString());
                 Qpair q = b.allocQpair(QpairOptions.of(4).withSqpoll(true).withSqpollIdleMillis(50))) {
                assertTrue(q.ringFlags().contains("SQPOLL"), q.ringFlags());
                MemorySegment w = arena.allocate(8192, 4096), r = arena.allocate(8192, 4096);
                for (int i = 0; i < 8192; i++) w.set(JAVA_BYTE, i, (byte) (i * 7));
                Waiter done = new Waiter();
                assertEquals(0, q.write(w, 16, 8192 / b.blockSize(), done, "w"));
                done.await(q, 1, 10);
                assertEquals(0, q.read(r, 16, 8192 / b.blockSize(), done, "r"));
                done.await(q, 2, 10);
                assertEquals(0, done.of("w"));
                assertEquals(0, done.of("r"));
                assertEquals(-1, w.mismatch(r));
            }
        }
    }

    /** Runs the rounds on {@code path}; {@code backing} is the file holding its bytes. */
    static void exercise(String path, Path backing, long seed) throws IOException {
        byte[] model = Files.readAllBytes(backing);
        BdevOptions split = BdevOptions.defaults().withMaxTransferBytes(16 << 10).withOptimalBoundaryBytes(64 << 10);
        Random rnd = new Random(seed);
        List<MemorySegment> bufs = new ArrayList<>(), registered = new ArrayList<>();
        try (Bdev b = Bdev.open(path, split); Arena arena = Arena.ofShared()) {
            assertEquals(SIZE / b.blockSize(), b.blockCount(), b.toString());
            for (int i = 0; i < 8; i++) registered.add(BdevMemory.allocate("bdev-test", MAX_IO, 4096));
            bufs.addAll(registered);
            for (int i = 0; i < 8; i++) bufs.add(arena.allocate(MAX_IO, 4096));
            try (Qpair q = b.allocQpair(16)) {
                assertTrue(q.registeredBuffers() >= 8, "registered: " + q.registeredBuffers());
                for (int round = 0; round < 12; round++) {
                    writeBatch(q, b, model, bufs, rnd);
                    readBatch(q, b, model, bufs, rnd);
                }
                assertTrue(q.parts() > q.submitted(), "nothing was split: " + q.parts() + " parts for " + q.submitted());
                assertEquals(0, q.failed());
                assertEquals(0, q.spuriousCompletions());
            }
        } finally {
            registered.forEach(BdevMemory::free);
        }
        assertArrayEquals(model, Files.readAllBytes(backing), "the backing file differs from what was written");
    }

    private static void writeBatch(Qpair q, Bdev b, byte[] model, List<MemorySegment> bufs, Random rnd) {
        Waiter w = new Waiter();
        List<long[]> ranges = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < bufs.size(); i++) {
            int blocks = 1 + rnd.nextInt(MAX_IO / BLOCK);
            long lba = rnd.nextLong(b.blockCount() - blocks + 1);
            if (overlaps(ranges, lba, blocks)) continue;
            ranges.add(new long[]{lba, blocks});
            MemorySegment buf = bufs.get(i);
            int len = blocks * BLOCK;
            for (int k = 0; k < len; k++) {
                byte v = (byte) rnd.nextInt();
                buf.set(JAVA_BYTE, k, v);
                model[(int) (lba * BLOCK) + k] = v;
            }
            int r = i % 3 == 2 ? q.writev(slices(buf, len, rnd), 3, lba, blocks, w, i) : q.write(buf, lba, blocks, w, i);
            assertEquals(0, r, "write " + blocks + " blocks at " + lba);
            n++;
        }
        w.await(q, n, 30);
        w.status.forEach((k, v) -> assertEquals(0, v, "write " + k + ": " + Errno.name(-v)));
    }

    private static void readBatch(Qpair q, Bdev b, byte[] model, List<MemorySegment> bufs, Random rnd) {
        Waiter w = new Waiter();
        int[] lbas = new int[bufs.size()], lens = new int[bufs.size()];
        for (int i = 0; i < bufs.size(); i++) {
            int blocks = 1 + rnd.nextInt(MAX_IO / BLOCK);
            lbas[i] = rnd.nextInt((int) b.blockCount() - blocks + 1);
            lens[i] = blocks * BLOCK;
            bufs.get(i).fill((byte) 0x5a);
            int r = i % 3 == 1 ? q.readv(slices(bufs.get(i), lens[i], rnd), 3, lbas[i], blocks, w, i)
                    : q.read(bufs.get(i), lbas[i], blocks, w, i);
            assertEquals(0, r);
        }
        w.await(q, bufs.size(), 30);
        for (int i = 0; i < bufs.size(); i++) {
            assertEquals(0, w.of(i), "read " + i + ": " + Errno.name(-w.of(i)));
            byte[] got = bufs.get(i).asSlice(0, lens[i]).toArray(JAVA_BYTE);
            int at = lbas[i] * BLOCK;
            for (int k = 0; k < lens[i]; k++) {
                if (got[k] != model[at + k]) fail("read " + i + " of " + lens[i] + " bytes at byte " + at + ": differs at +" + k);
            }
        }
    }

    /** {@code buf[0..len)} cut into three block-aligned pieces (the last may be empty of blocks but not of bytes). */
    static MemorySegment[] slices(MemorySegment buf, int len, Random rnd) {
        int blocks = len / BLOCK;
        int a = rnd.nextInt(blocks + 1), c = rnd.nextInt(blocks - a + 1);
        return new MemorySegment[]{buf.asSlice(0, (long) a * BLOCK), buf.asSlice((long) a * BLOCK, (long) c * BLOCK),
                buf.asSlice((long) (a + c) * BLOCK, (long) (blocks - a - c) * BLOCK)};
    }

    private static boolean overlaps(List<long[]> ranges, long lba, long blocks) {
        for (long[] r : ranges) if (lba < r[0] + r[1] && r[0] < lba + blocks) return true;
        return false;
    }
}
