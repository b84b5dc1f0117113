package org.jpdk.drivers.net.virtio;

import org.jpdk.ethdev.EthDevException;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The kernel's vhost-net as a virtio-user back end (DPDK's {@code vhost_kernel.c}): the exception
 * path that replaced KNI. Frames the front end sends come out of a tap interface into the kernel's
 * stack, and what the kernel routes to the tap lands in the front end's rx ring, moved by a kernel
 * thread with no copy through user space. Each queue pair is one open of {@code /dev/vhost-net}
 * (its vrings 0 and 1) bound with VHOST_NET_SET_BACKEND to one queue of a multi-queue tap opened
 * with IFF_VNET_HDR (the 12-byte virtio-net header on every frame).
 *
 * <pre>
 * struct vhost_memory         nregions u32 @0, padding u32 @4, regions[] @8, each 32 bytes:
 *                             guest_phys_addr u64 @0, memory_size @8, userspace_addr @16, flags_padding @24
 * struct vhost_vring_state    index u32 @0, num u32 @4
 * struct vhost_vring_addr     index u32 @0, flags u32 @4, desc @8, used @16, avail @24, log @32 (u64 each)
 * struct vhost_vring_file     index u32 @0, fd s32 @4  (also VHOST_NET_SET_BACKEND's argument; fd -1 detaches)
 * </pre>
 */
final class VhostKernelBackend implements VhostBackend {
    static final long GET_FEATURES = 0x8008af00L, SET_FEATURES = 0x4008af00L, SET_OWNER = 0xaf01L,
            SET_MEM_TABLE = 0x4008af03L, SET_VRING_NUM = 0x4008af10L, SET_VRING_ADDR = 0x4028af11L,
            SET_VRING_BASE = 0x4008af12L, SET_VRING_KICK = 0x4008af20L, SET_VRING_CALL = 0x4008af21L,
            NET_SET_BACKEND = 0x4008af30L;
    static final long TUNSETIFF = 0x400454caL, TUNSETVNETHDRSZ = 0x400454d8L, TUNSETOFFLOAD = 0x400454d0L;
    static final int IFF_TAP = 0x2, IFF_NO_PI = 0x1000, IFF_MULTI_QUEUE = 0x100, IFF_VNET_HDR = 0x4000;

    private final String path;
    private final int[] vhostFds, tapFds;
    private final String tapName;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment arg = arena.allocate(40 + 8 + 32L * FrontendMemory.MAX_REGIONS, 8);

    /** Opens {@code path} once per queue pair and a tap queue for each; throws naming the device when one is missing. */
    VhostKernelBackend(String path, int queuePairs, String iface) {
        this.path = path;
        vhostFds = new int[queuePairs];
        tapFds = new int[queuePairs];
        java.util.Arrays.fill(vhostFds, -1);
        java.util.Arrays.fill(tapFds, -1);
        String name = iface == null ? "" : iface;
        try {
            for (int q = 0; q < queuePairs; q++) {
                vhostFds[q] = open(path, "the kernel's vhost-net (CONFIG_VHOST_NET, module vhost_net)");
                tapFds[q] = open("/dev/net/tun", "the kernel's tun/tap (CONFIG_TUN)");
                name = attachTap(tapFds[q], name, queuePairs > 1);
                MemorySegment hdr = arg.asSlice(0, 4);
                hdr.set(JAVA_INT, 0, VirtioUserDevice.NET_HDR_SIZE);
                check(Libc.ioctl(tapFds[q], TUNSETVNETHDRSZ, hdr), "TUNSETVNETHDRSZ");
                check(Libc.ioctl(tapFds[q], TUNSETOFFLOAD, 0L), "TUNSETOFFLOAD");
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        tapName = name;
    }

    private static int open(String file, String what) {
        try {
            return Libc.open(file, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        } catch (LinuxException e) {
            if (e.errno() == Errno.ENOENT) throw new EthDevException(file + ": no such device; this kernel lacks " + what);
            throw new EthDevException("open " + file + ": " + Errno.name(e.errno()), e);
        }
    }

    private String attachTap(int fd, String name, boolean multiQueue) {
        MemorySegment ifr = arg.asSlice(0, 40);
        ifr.fill((byte) 0);
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        MemorySegment.copy(b, 0, ifr, JAVA_BYTE, 0, Math.min(b.length, 15));
        ifr.set(JAVA_SHORT, 16, (short) (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multiQueue ? IFF_MULTI_QUEUE : 0)));
        check(Libc.ioctl(fd, TUNSETIFF, ifr), "TUNSETIFF " + (name.isEmpty() ? "(a new tap)" : name));
        return ifr.asSlice(0, 16).getString(0);
    }

    private void check(int r, String request) {
        if (r < 0) throw new EthDevException(describe() + ": " + request + ": " + Errno.name(-r));
    }

    @Override
    public String describe() {
        return "vhost-kernel path=" + path + (tapName == null ? "" : ", tap " + tapName);
    }

    /** The tap interface the frames come out of. */
    String tapName() {
        return tapName;
    }

    @Override
    public void setOwner() {
        for (int fd : vhostFds) check(Libc.ioctl(fd, SET_OWNER, 0L), "VHOST_SET_OWNER");
    }

    @Override
    public long features() {
        MemorySegment f = arg.asSlice(0, 8);
        check(Libc.ioctl(vhostFds[0], GET_FEATURES, f), "VHOST_GET_FEATURES");
        return f.get(JAVA_LONG, 0);
    }

    @Override
    public int maxQueuePairs() {
        return vhostFds.length;
    }

    @Override
    public void setFeatures(long features) {
        MemorySegment f = arg.asSlice(0, 8);
        f.set(JAVA_LONG, 0, features);
        for (int fd : vhostFds) check(Libc.ioctl(fd, SET_FEATURES, f), "VHOST_SET_FEATURES");
    }

    @Override
    public void setMemTable(List<MemRegion> regions) {
        MemorySegment m = arg.asSlice(0, 8 + 32L * regions.size());
        m.fill((byte) 0);
        m.set(JAVA_INT, 0, regions.size());
        for (int i = 0; i < regions.size(); i++) {
            MemRegion r = regions.get(i);
            long at = 8 + 32L * i;
            m.set(JAVA_LONG, at, r.guestPhysAddr());
            m.set(JAVA_LONG, at + 8, r.size());
            m.set(JAVA_LONG, at + 16, r.userAddr());
        }
        for (int fd : vhostFds) check(Libc.ioctl(fd, SET_MEM_TABLE, m), "VHOST_SET_MEM_TABLE");
    }

    @Override
    public void setVring(int vring, int num, int base, long desc, long avail, long used) {
        int fd = vhostFds[vring / 2], local = vring % 2;
        MemorySegment s = arg.asSlice(0, 8);
        s.set(JAVA_INT, 0, local);
        s.set(JAVA_INT, 4, num);
        check(Libc.ioctl(fd, SET_VRING_NUM, s), "VHOST_SET_VRING_NUM " + vring);
        s.set(JAVA_INT, 4, base);
        check(Libc.ioctl(fd, SET_VRING_BASE, s), "VHOST_SET_VRING_BASE " + vring);
        MemorySegment a = arg.asSlice(0, 40);
        a.fill((byte) 0);
        a.set(JAVA_INT, 0, local);
        a.set(JAVA_LONG, 8, desc);
        a.set(JAVA_LONG, 16, used);
        a.set(JAVA_LONG, 24, avail);
        check(Libc.ioctl(fd, SET_VRING_ADDR, a), "VHOST_SET_VRING_ADDR " + vring);
    }

    @Override
    public void setVringCall(int vring, int callFd) {
        vringFile(vring, callFd, SET_VRING_CALL, "VHOST_SET_VRING_CALL ");
    }

    @Override
    public void setVringKick(int vring, int kickFd) {
        vringFile(vring, kickFd, SET_VRING_KICK, "VHOST_SET_VRING_KICK ");
    }

    private void vringFile(int vring, int fd, long request, String name) {
        MemorySegment s = arg.asSlice(0, 8);
        s.set(JAVA_INT, 0, vring % 2);
        s.set(JAVA_INT, 4, fd);
        check(Libc.ioctl(vhostFds[vring / 2], request, s), name + vring);
    }

    @Override
    public void enable(int pair, boolean on) {
        MemorySegment s = arg.asSlice(0, 8);
        for (int local = 0; local < 2; local++) {
            s.set(JAVA_INT, 0, local);
            s.set(JAVA_INT, 4, on ? tapFds[pair] : -1);
            check(Libc.ioctl(vhostFds[pair], NET_SET_BACKEND, s), "VHOST_NET_SET_BACKEND " + (2 * pair + local));
        }
    }

    @Override
    public void stopVring(int vring) {
        if (vring % 2 == 0) enable(vring / 2, false);
    }

    @Override
    public void close() {
        for (int i = 0; i < vhostFds.length; i++) {
            if (vhostFds[i] >= 0) Libc.close(vhostFds[i]);
            if (tapFds[i] >= 0) Libc.close(tapFds[i]);
            vhostFds[i] = tapFds[i] = -1;
        }
        if (arena.scope().isAlive()) arena.close();
    }
}
