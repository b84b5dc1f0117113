package org.jpdk.virtio;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A packed virtqueue (virtio 1.2, 2.8) as bounded views: one descriptor ring both sides write, and
 * two event suppression areas. In vhost-user's SET_VRING_ADDR the desc address is the ring, the
 * avail address the driver area and the used address the device area.
 *
 * <pre>
 * descriptor ring  16 x n  addr u64@0  len u32@8  id u16@12  flags u16@14
 *                          flags: NEXT 1, WRITE 2, INDIRECT 4, AVAIL 1&lt;&lt;7, USED 1&lt;&lt;15
 * driver area      4       off_wrap u16@0 (descriptor offset bits 0-14, wrap counter bit 15)  flags u16@2   driver writes
 * device area      4       off_wrap u16@0                                                     flags u16@2   device writes
 *                          event flags: ENABLE 0, DISABLE 1, DESC 2 (notify at off_wrap, with EVENT_IDX)
 * </pre>
 *
 * A descriptor is available to the device when its AVAIL bit equals the driver's wrap counter
 * and its USED bit does not; the device marks it used by setting both to its own wrap counter.
 * The flags word is the publication point: the writer fills addr, len and id, then stores flags
 * with release ({@link #descFlags(int, int)}); the reader loads flags with acquire
 * ({@link #descFlagsAcquire}) before the other fields (A1 pairs with R1). For the first
 * descriptor of a chain the writer publishes last, so a reader sees whole chains.
 */
public final class PackedRing {
    public static final int DESC_F_NEXT = 1, DESC_F_WRITE = 2, DESC_F_INDIRECT = 4, DESC_F_AVAIL = 1 << 7,
            DESC_F_USED = 1 << 15;
    public static final int EVENT_ENABLE = 0, EVENT_DISABLE = 1, EVENT_DESC = 2;
    public static final int MAX_SIZE = 32768;

    private static final VarHandle U16 = ValueLayout.JAVA_SHORT.varHandle();
    private static final VarHandle U32 = ValueLayout.JAVA_INT.varHandle();

    public final MemorySegment desc, driver, device;
    public final int size;

    public PackedRing(int size, MemorySegment desc, MemorySegment driver, MemorySegment device) {
        if (size < 1 || size > MAX_SIZE) throw new IllegalArgumentException("packed ring of " + size + " entries; 1 to " + MAX_SIZE);
        if (desc.byteSize() < 16L * size) throw new IllegalArgumentException("descriptor ring of " + desc.byteSize() + " bytes; needs " + 16L * size);
        if (driver.byteSize() < 4 || device.byteSize() < 4) throw new IllegalArgumentException("event suppression area under 4 bytes");
        if ((desc.address() & 15) != 0 || (driver.address() & 3) != 0 || (device.address() & 3) != 0) {
            throw new IllegalArgumentException("packed ring areas misaligned (descriptors 16, event areas 4)");
        }
        this.size = size;
        this.desc = desc.asSlice(0, 16L * size);
        this.driver = driver.asSlice(0, 4);
        this.device = device.asSlice(0, 4);
    }

    /** Descriptor {@code i}'s flags, acquire (A1): addr, len and id read after it are the ones published with it. */
    public int descFlagsAcquire(int i) {
        return (short) U16.getAcquire(desc, 16L * i + 14) & 0xffff;
    }

    public long descAddr(int i) {
        return desc.get(JAVA_LONG_UNALIGNED, 16L * i);
    }

    public int descLen(int i) {
        return desc.get(JAVA_INT_UNALIGNED, 16L * i + 8);
    }

    public int descId(int i) {
        return desc.get(JAVA_SHORT_UNALIGNED, 16L * i + 12) & 0xffff;
    }

    /** Fills descriptor {@code i} except its flags (publish them with {@link #descFlags(int, int)}). */
    public void desc(int i, long addr, int len, int id) {
        desc.set(JAVA_LONG_UNALIGNED, 16L * i, addr);
        desc.set(JAVA_INT_UNALIGNED, 16L * i + 8, len);
        desc.set(JAVA_SHORT_UNALIGNED, 16L * i + 12, (short) id);
    }

    /** The device's used write: id and len (addr untouched), flags not yet published. */
    public void used(int i, int id, int len) {
        desc.set(JAVA_INT_UNALIGNED, 16L * i + 8, len);
        desc.set(JAVA_SHORT_UNALIGNED, 16L * i + 12, (short) id);
    }

    /** Publishes descriptor {@code i}'s flags, release (R1). */
    public void descFlags(int i, int flags) {
        U16.setRelease(desc, 16L * i + 14, (short) flags);
    }

    /** Whether {@code flags} say available to the device for a driver wrap counter {@code wrap}. */
    public static boolean isAvail(int flags, boolean wrap) {
        return ((flags & DESC_F_AVAIL) != 0) == wrap && ((flags & DESC_F_USED) != 0) != wrap;
    }

    /** Whether {@code flags} say used, for the driver's used wrap counter {@code wrap}. */
    public static boolean isUsed(int flags, boolean wrap) {
        boolean a = (flags & DESC_F_AVAIL) != 0, u = (flags & DESC_F_USED) != 0;
        return a == u && u == wrap;
    }

    /** The AVAIL and USED bits a device writes to mark a descriptor used with wrap counter {@code wrap}. */
    public static int usedFlags(boolean wrap) {
        return wrap ? DESC_F_AVAIL | DESC_F_USED : 0;
    }

    /** The AVAIL and USED bits a driver writes to make a descriptor available with wrap counter {@code wrap}. */
    public static int availFlags(boolean wrap) {
        return wrap ? DESC_F_AVAIL : DESC_F_USED;
    }

    // ---------------------------------------------------------------- event suppression

    /** The driver area as one 32-bit load, acquire: off_wrap in the low half, flags in the high half. */
    public int driverEvent() {
        return (int) U32.getAcquire(driver, 0L);
    }

    public void driverEvent(int offWrap, int flags) {
        U32.setRelease(driver, 0L, (offWrap & 0xffff) | (flags << 16));
    }

    public int deviceEvent() {
        return (int) U32.getAcquire(device, 0L);
    }

    public void deviceEvent(int offWrap, int flags) {
        U32.setRelease(device, 0L, (offWrap & 0xffff) | (flags << 16));
    }
}
