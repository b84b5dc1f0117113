package org.jpdk.bdev;

import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * What a device says about itself, from sysfs as SPDK's uring bdev reads it: for a block device
 * {@code /sys/dev/block/MAJ:MIN/queue/{logical_block_size, max_sectors_kb, optimal_io_size,
 * io_poll}} (a partition's queue is its disk's) and the size from {@code BLKGETSIZE64}; for a
 * regular file the same queue limits of the device its filesystem is on, the block size from
 * {@code statx}'s direct-I/O offset alignment (Linux 6.1+) or that device's logical block size,
 * and the file's size. Without sysfs (a container, tmpfs) the limits fall back to 512-byte
 * blocks and 1 MiB transfers. Options the user gave win over all of this.
 */
record Geometry(String kind, int blockSize, long blockCount, int maxTransferBytes, int optimalBoundaryBytes,
                boolean ioPoll) {
    static final long BLKGETSIZE64 = 0x80081272L;
    static final int DEFAULT_BLOCK = 512, DEFAULT_MAX_TRANSFER = 1 << 20;

    /** The geometry of the open {@code fd} (of {@code path}), with {@code o}'s values in place of the device's. */
    static Geometry probe(int fd, String path, BdevOptions o) {
        IoUringCalls.Stat st = IoUringCalls.statx(fd, path);
        String kind;
        long bytes;
        Path queue = null;
        int block = 0;
        switch (st.type()) {
            case IoUringCalls.S_IFBLK -> {
                kind = "block device";
                bytes = blockDeviceBytes(fd, path);
                queue = queueDir(st.rdevMajor(), st.rdevMinor());
            }
            case IoUringCalls.S_IFREG -> {
                kind = "file";
                bytes = st.size();
                queue = queueDir(st.devMajor(), st.devMinor());
                if (o.direct() && st.dioOffsetAlign() > 0) block = st.dioOffsetAlign();
            }
            default -> {
                kind = st.type() == IoUringCalls.S_IFIFO ? "FIFO" : st.type() == IoUringCalls.S_IFCHR ? "character device" : "special file";
                if (o.blockSize() == 0 || o.blockCount() == 0) {
                    throw new IllegalArgumentException(path + ": a " + kind + " has no block size or size; give both "
                            + "(BdevOptions.withBlockSize, withBlockCount)");
                }
                bytes = 0;
            }
        }
        int logical = readInt(queue, "logical_block_size", 0);
        if (block == 0) block = logical > 0 ? logical : DEFAULT_BLOCK;
        if (!o.direct() && st.type() != IoUringCalls.S_IFBLK) block = DEFAULT_BLOCK;
        if (o.blockSize() != 0) {
            if (o.direct() && o.blockSize() < block) {
                throw new IllegalArgumentException("blockSize=" + o.blockSize() + ": " + path + " needs O_DIRECT I/O aligned to "
                        + block + " bytes; allowed " + block + " or a larger power of two");
            }
            block = o.blockSize();
        }
        long count = o.blockCount() != 0 ? o.blockCount() : bytes / block;
        if (count <= 0) {
            throw new IllegalArgumentException(path + ": " + kind + " of " + bytes + " bytes holds no " + block
                    + "-byte block; make it larger (e.g. truncate -s 64M " + path + ")");
        }
        if (o.blockCount() != 0 && bytes > 0 && o.blockCount() > bytes / block) {
            throw new IllegalArgumentException("blockCount=" + o.blockCount() + ": " + path + " holds only " + (bytes / block)
                    + " blocks of " + block + " bytes");
        }
        long maxKb = readInt(queue, "max_sectors_kb", 0);
        long max = o.maxTransferBytes() != 0 ? o.maxTransferBytes() : maxKb > 0 ? maxKb * 1024 : DEFAULT_MAX_TRANSFER;
        if (o.maxTransferBytes() != 0 && o.maxTransferBytes() % block != 0) {
            throw new IllegalArgumentException("maxTransferBytes=" + o.maxTransferBytes() + ": allowed a multiple of the block size "
                    + block + ", or 0 (the device's)");
        }
        max = Math.max(block, Math.min(max, 1L << 30) / block * block);
        int boundary = switch (o.optimalBoundaryBytes()) {
            case 0 -> {
                int b = readInt(queue, "optimal_io_size", 0);
                yield b > 0 && b % block == 0 ? b : 0;
            }
            case BdevOptions.NO_BOUNDARY -> 0;
            default -> {
                if (o.optimalBoundaryBytes() % block != 0) {
                    throw new IllegalArgumentException("optimalBoundaryBytes=" + o.optimalBoundaryBytes()
                            + ": allowed a multiple of the block size " + block + ", 0 (the device's) or NO_BOUNDARY (-1)");
                }
                yield o.optimalBoundaryBytes();
            }
        };
        boolean poll = readInt(queue, "io_poll", 0) == 1;
        return new Geometry(kind, block, count, (int) max, boundary, poll);
    }

    private static long blockDeviceBytes(int fd, String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG); // bounded: BLKGETSIZE64 writes one u64
            int r = Libc.ioctl(fd, BLKGETSIZE64, v);
            if (r < 0) throw new LinuxException("ioctl", "BLKGETSIZE64, " + path, -r);
            return v.get(JAVA_LONG, 0);
        }
    }

    /** The queue directory of block device MAJ:MIN (its disk's, for a partition), or null. */
    static Path queueDir(int major, int minor) {
        if (major == 0) return null; // tmpfs, overlay, ...: no block device under the file
        Path dev = Path.of("/sys/dev/block/" + major + ":" + minor);
        if (Files.isDirectory(dev.resolve("queue"))) return dev.resolve("queue");
        if (Files.exists(dev.resolve("partition")) && Files.isDirectory(dev.resolve("../queue"))) return dev.resolve("../queue");
        return null;
    }

    private static int readInt(Path queue, String name, int fallback) {
        if (queue == null) return fallback;
        try {
            String s = Files.readString(queue.resolve(name)).strip();
            long v = Long.parseLong(s);
            return v > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) v;
        } catch (IOException | NumberFormatException e) {
            return fallback;
        }
    }
}
