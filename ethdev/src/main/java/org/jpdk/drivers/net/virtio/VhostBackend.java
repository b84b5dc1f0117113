package org.jpdk.drivers.net.virtio;

import java.util.List;

/**
 * The back-end ops of a virtio-user port (DPDK's {@code virtio_user_backend_ops}): the few vhost
 * requests a front end makes, whatever carries them. {@link VhostUserBackend} sends them as
 * vhost-user messages over a Unix socket; {@link VhostKernelBackend} as ioctls on
 * {@code /dev/vhost-net}. A third, vhost-vdpa ({@code /dev/vhost-vdpa-N}: the same ioctls plus
 * VHOST_VDPA_SET_STATUS and an IOTLB written through the device file), would fit the same seam
 * (docs/drivers/virtio_user.md). Vring {@code 2q} is queue pair {@code q}'s receive ring, {@code 2q+1}
 * its transmit ring. Every call runs on the port's control thread and throws
 * {@link org.jpdk.ethdev.EthDevException} naming the request when the back end refuses or is gone.
 */
interface VhostBackend extends AutoCloseable {
    /** What the back end is, for messages: {@code vhost-user path=/tmp/vhost.sock}. */
    String describe();

    /** SET_OWNER: this front end owns the device from now on. */
    void setOwner();

    /** GET_FEATURES: the virtio and vhost feature bits the back end offers. */
    long features();

    /** SET_FEATURES: the bits this front end accepted, a subset of {@link #features()}. */
    void setFeatures(long features);

    /** Whether the back end takes {@code queuePairs} queue pairs (vhost-user MQ). Default: one. */
    default int maxQueuePairs() {
        return 1;
    }

    /** SET_MEM_TABLE: the front end's memory, which every ring and buffer address lies in. */
    void setMemTable(List<MemRegion> regions);

    /** SET_VRING_NUM, SET_VRING_BASE and SET_VRING_ADDR for {@code vring}: its size, start index and ring addresses. */
    void setVring(int vring, int num, int base, long desc, long avail, long used);

    /** SET_VRING_CALL: the eventfd the back end signals when it used buffers (the front end may mask it). */
    void setVringCall(int vring, int callFd);

    /** SET_VRING_KICK: the eventfd the front end signals when it made buffers available; the ring starts with it. */
    void setVringKick(int vring, int kickFd);

    /** Starts or stops moving frames on queue pair {@code pair} (SET_VRING_ENABLE; vhost-net: attach the tap). */
    void enable(int pair, boolean on);

    /**
     * Stops {@code vring} before its buffers are freed (vhost-user GET_VRING_BASE, which returns
     * once the back end no longer touches the ring; vhost-net detaches the tap). Default: nothing.
     */
    default void stopVring(int vring) {
    }

    /**
     * Waits up to {@code millis} for the back end to hang up, and says whether it has (its socket
     * closed). Default: a device that cannot hang up, after sleeping.
     */
    default boolean hungUp(int millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    @Override
    void close();

    /**
     * One region of the front end's memory as the back end maps it: {@code size} bytes at file
     * offset {@code mmapOffset} of {@code fd}, which the front end sees at {@code userAddr}. A
     * virtio-user front end has no guest: its guest physical address is its virtual address.
     */
    record MemRegion(long guestPhysAddr, long size, long userAddr, long mmapOffset, int fd) {
        boolean contains(long addr, long len) {
            return addr - userAddr >= 0 && len >= 0 && addr - userAddr + len <= size;
        }
    }
}
