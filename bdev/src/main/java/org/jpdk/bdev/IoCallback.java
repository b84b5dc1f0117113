package org.jpdk.bdev;

/**
 * Told when a request submitted to a {@link Qpair} is done, on the lcore that called
 * {@link Qpair#processCompletions}, as SPDK's {@code spdk_bdev_io_completion_cb}. A split request
 * is done once, when its last part is, with the first error of any part.
 */
@FunctionalInterface
public interface IoCallback {
    /**
     * @param arg    what the submitter passed, untouched
     * @param status 0 when every byte was transferred, else a negative errno: the kernel's
     *               ({@code -EIO}, {@code -EINVAL} for a misaligned buffer under O_DIRECT), {@code -EIO}
     *               for a short transfer, {@code -ECANCELED} for an aborted request, {@code -ENODEV}
     *               once the device is gone
     */
    void complete(Object arg, int status);
}
