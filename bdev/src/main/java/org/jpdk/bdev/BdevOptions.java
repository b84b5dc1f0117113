package org.jpdk.bdev;

/**
 * How {@link Bdev#open(String, BdevOptions)} opens a device: with {@code O_DIRECT} or through the
 * page cache, read-only or not, and the geometry to use instead of what the device says (0 means
 * "ask the device"). A FIFO, a character device or anything else without a size needs
 * {@code blockSize} and {@code blockCount} given. Immutable; the {@code with...} methods return
 * a changed copy.
 *
 * @param direct              {@code O_DIRECT}: no page cache, buffers aligned to the block size (default true)
 * @param readOnly            open {@code O_RDONLY}; writes are refused with {@code -EROFS} (default false)
 * @param blockSize           bytes per block, a power of two from 512 to 65536 (0: the device's logical block size)
 * @param blockCount          blocks (0: the device's size divided by the block size)
 * @param maxTransferBytes    the largest request sent to the kernel, a multiple of the block size;
 *                            larger ones are split (0: the device's {@code max_sectors_kb})
 * @param optimalBoundaryBytes a boundary no request crosses unsplit, a multiple of the block size
 *                            (0: the device's {@code optimal_io_size}; {@link #NO_BOUNDARY}: none)
 * @param errorsBeforeRemoval consecutive I/O errors (EIO, ETIMEDOUT, EREMOTEIO, ENOLINK, EILSEQ) with
 *                            no success between them after which the device counts as gone
 *                            (default 8); ENODEV, ENXIO, ENOTCONN, ESHUTDOWN, EBADFD and ENOMEDIUM
 *                            count as gone at once
 */
public record BdevOptions(boolean direct, boolean readOnly, int blockSize, long blockCount, int maxTransferBytes,
                          int optimalBoundaryBytes, int errorsBeforeRemoval) {
    /** {@link #optimalBoundaryBytes}: split at no boundary, whatever the device says. */
    public static final int NO_BOUNDARY = -1;

    public BdevOptions {
        if (blockSize != 0 && (blockSize < 512 || blockSize > 65536 || Integer.bitCount(blockSize) != 1)) {
            throw new IllegalArgumentException("blockSize=" + blockSize + ": allowed a power of two from 512 to 65536, or 0 (the device's)");
        }
        if (blockCount < 0) throw new IllegalArgumentException("blockCount=" + blockCount + ": allowed >= 1, or 0 (the device's size)");
        if (maxTransferBytes < 0) {
            throw new IllegalArgumentException("maxTransferBytes=" + maxTransferBytes + ": allowed a multiple of the block size, or 0 (the device's)");
        }
        if (optimalBoundaryBytes < NO_BOUNDARY) {
            throw new IllegalArgumentException("optimalBoundaryBytes=" + optimalBoundaryBytes
                    + ": allowed a multiple of the block size, 0 (the device's) or NO_BOUNDARY (-1)");
        }
        if (errorsBeforeRemoval < 1) {
            throw new IllegalArgumentException("errorsBeforeRemoval=" + errorsBeforeRemoval + ": allowed >= 1");
        }
    }

    /** O_DIRECT, read-write, the device's geometry, removal after 8 consecutive I/O errors. */
    public static BdevOptions defaults() {
        return new BdevOptions(true, false, 0, 0, 0, 0, 8);
    }

    public BdevOptions withDirect(boolean v) {
        return new BdevOptions(v, readOnly, blockSize, blockCount, maxTransferBytes, optimalBoundaryBytes, errorsBeforeRemoval);
    }

    public BdevOptions withReadOnly(boolean v) {
        return new BdevOptions(direct, v, blockSize, blockCount, maxTransferBytes, optimalBoundaryBytes, errorsBeforeRemoval);
    }

    public BdevOptions withBlockSize(int v) {
        return new BdevOptions(direct, readOnly, v, blockCount, maxTransferBytes, optimalBoundaryBytes, errorsBeforeRemoval);
    }

    public BdevOptions withBlockCount(long v) {
        return new BdevOptions(direct, readOnly, blockSize, v, maxTransferBytes, optimalBoundaryBytes, errorsBeforeRemoval);
    }

    public BdevOptions withMaxTransferBytes(int v) {
        return new BdevOptions(direct, readOnly, blockSize, blockCount, v, optimalBoundaryBytes, errorsBeforeRemoval);
    }

    public BdevOptions withOptimalBoundaryBytes(int v) {
        return new BdevOptions(direct, readOnly, blockSize, blockCount, maxTransferBytes, v, errorsBeforeRemoval);
    }

    public BdevOptions withErrorsBeforeRemoval(int v) {
        return new BdevOptions(direct, readOnly, blockSize, blockCount, maxTransferBytes, optimalBoundaryBytes, v);
    }
}
