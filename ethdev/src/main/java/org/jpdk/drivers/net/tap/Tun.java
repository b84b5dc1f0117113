package org.jpdk.drivers.net.tap;

import org.jpdk.ethdev.EthDevException;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.NetIf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The Linux tun/tap character device ({@code include/uapi/linux/if_tun.h}): each file descriptor
 * opened on {@code /dev/net/tun} and bound to a name with {@code TUNSETIFF} is one queue of that
 * interface; the first bind creates the interface. Every failure becomes one
 * {@link EthDevException} line naming the device, the call, the errno and what to do about it.
 *
 * <pre>
 * struct ifreq (40 bytes) for TUNSETIFF / TUNSETQUEUE
 *   +0   char name[16]   in: the name (a "%d" lets the kernel number it); out: the name it got
 *   +16  short flags     IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE, or IFF_ATTACH/DETACH_QUEUE
 * </pre>
 */
final class Tun {
    static final String DEVICE = "/dev/net/tun";
    static final long TUNSETIFF = 0x400454caL, TUNSETPERSIST = 0x400454cbL, TUNSETQUEUE = 0x400454d9L;
    static final int IFF_TAP = 0x2, IFF_NO_PI = 0x1000, IFF_MULTI_QUEUE = 0x100,
            IFF_ATTACH_QUEUE = 0x200, IFF_DETACH_QUEUE = 0x400;
    /** Most queues the kernel lets one tap have (MAX_TAP_QUEUES). */
    static final int KERNEL_MAX_QUEUES = 256;

    private Tun() {
    }

    /**
     * Opens one non-blocking queue of tap {@code name} (creating the interface if there is none)
     * and returns its fd; {@code gotName[0]} receives the interface's name.
     */
    static int openQueue(String devName, String tunPath, String name, String[] gotName) {
        int fd;
        try {
            fd = Libc.open(tunPath, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        } catch (LinuxException e) {
            throw failure(devName, e, openHint(e.errno(), tunPath));
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a, name);
            ifr.set(JAVA_SHORT, 16, (short) (IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE));
            int r = Libc.ioctl(fd, TUNSETIFF, ifr);
            if (r < 0) {
                boolean exists = !name.contains("%") && NetIf.exists(name);
                throw failure(devName, new LinuxException("ioctl", "TUNSETIFF, iface=" + name, -r), setIffHint(-r, exists));
            }
            byte[] n = ifr.asSlice(0, NetIf.IFNAMSIZ).toArray(JAVA_BYTE);
            int len = 0;
            while (len < n.length && n[len] != 0) len++;
            gotName[0] = new String(n, 0, len, StandardCharsets.UTF_8);
            return fd;
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /** Takes queue {@code fd} out of (or back into) the set the kernel transmits to (TUNSETQUEUE). */
    static void setQueueAttached(String devName, int fd, String ifName, boolean attached) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a, ifName);
            ifr.set(JAVA_SHORT, 16, (short) (attached ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE));
            int r = Libc.ioctl(fd, TUNSETQUEUE, ifr);
            if (r < 0) {
                throw failure(devName, new LinuxException("ioctl", "TUNSETQUEUE " + (attached ? "attach" : "detach")
                        + ", iface=" + ifName, -r), null);
            }
        }
    }

    /** Marks the interface persistent (it outlives its fds) or not (TUNSETPERSIST). */
    static void setPersist(String devName, int fd, String ifName, boolean persist) {
        int r = Libc.ioctl(fd, TUNSETPERSIST, persist ? 1L : 0L);
        if (r < 0) throw failure(devName, new LinuxException("ioctl", "TUNSETPERSIST " + (persist ? 1 : 0) + ", iface=" + ifName, -r), null);
    }

    static String openHint(int errno, String tunPath) {
        return switch (errno) {
            case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO -> "this kernel has no tun/tap device (modprobe tun, or a container without /dev/net/tun)";
            case Errno.EACCES, Errno.EPERM -> "no read/write access to " + tunPath + " (run as root)";
            case Errno.EMFILE, Errno.ENFILE -> "out of file descriptors";
            default -> null;
        };
    }

    static String setIffHint(int errno, boolean nameExists) {
        return switch (errno) {
            case Errno.EPERM -> "creating or attaching a tap needs CAP_NET_ADMIN (run as root)";
            case Errno.EINVAL -> nameExists
                    ? "an interface of this name exists and is not a multi-queue tap (a veth, a tun, or a tap made without multi_queue); choose another iface"
                    : "the kernel refused the name or the flags";
            case Errno.EBUSY -> "the tap is held by another process as a single-queue tap";
            case Errno.E2BIG -> "the tap already has the most queues the kernel allows (" + KERNEL_MAX_QUEUES + ")";
            case Errno.ENOMEM, Errno.ENOBUFS -> "the kernel is out of memory";
            default -> null;
        };
    }

    private static EthDevException failure(String devName, LinuxException e, String hint) {
        return new EthDevException("--vdev " + devName + ": " + e.getMessage() + (hint == null ? "" : "; " + hint), e);
    }

    private static MemorySegment ifreq(Arena a, String name) {
        MemorySegment ifr = a.allocate(40, 8); // bounded: struct ifreq, all TUNSETIFF/TUNSETQUEUE read or write
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        MemorySegment.copy(n, 0, ifr, JAVA_BYTE, 0, Math.min(n.length, NetIf.IFNAMSIZ - 1));
        return ifr;
    }
}
