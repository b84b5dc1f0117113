package org.jpdk.bdev;

/**
 * Told once that a {@link Bdev} is gone (removed, or failing every request), as the
 * {@code remove_cb} of SPDK's probe. Runs on the lcore whose qpair noticed it, inside
 * {@link Qpair#processCompletions}; from then on every request on every qpair of the device
 * completes with an error.
 */
@FunctionalInterface
public interface RemoveCallback {
    /**
     * @param bdev  the device
     * @param errno what showed it gone: ENODEV, ENXIO, ENOTCONN, ... or EIO after repeated failures
     */
    void removed(Bdev bdev, int errno);
}
