package org.jpdk.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A Linux network interface as the classic socket ioctls see it: index, flags (up, running,
 * promiscuous, all-multicast), MTU, MAC address and link speed. It works in the network namespace
 * of the thread that opened it (its control socket is created there), so a driver probed inside a
 * namespace keeps controlling that namespace's interface.
 *
 * <pre>
 * struct ifreq (40 bytes)
 *   +0   char name[16]
 *   +16  union: short flags | int ifindex | int mtu | sockaddr hwaddr (family u16 @16, bytes @18)
 *        | void *data (SIOCETHTOOL)
 * </pre>
 *
 * Every failed call throws {@link LinuxException} naming the request and interface, e.g.
 * {@code ioctl(SIOCSIFMTU, iface=veth0, mtu=100000): EINVAL}. Control path only: each call
 * allocates a little.
 */
public final class NetIf implements AutoCloseable {
    public static final int IFF_UP = 0x1, IFF_BROADCAST = 0x2, IFF_LOOPBACK = 0x8, IFF_RUNNING = 0x40,
            IFF_NOARP = 0x80, IFF_PROMISC = 0x100, IFF_ALLMULTI = 0x200, IFF_MULTICAST = 0x1000;
    public static final int IFNAMSIZ = 16;
    private static final long SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914, SIOCGIFMTU = 0x8921,
            SIOCSIFMTU = 0x8922, SIOCSIFHWADDR = 0x8924, SIOCGIFHWADDR = 0x8927, SIOCGIFINDEX = 0x8933,
            SIOCETHTOOL = 0x8946;
    private static final int ARPHRD_ETHER = 1, ETHTOOL_GSET = 1;

    private final String name;
    private final int sock;
    private boolean closed;

    private NetIf(String name, int sock) {
        this.name = name;
        this.sock = sock;
    }

    /**
     * Opens interface {@code name} in the caller's network namespace; throws
     * {@link LinuxException} with ENODEV when there is none, or {@link IllegalArgumentException}
     * for a name that cannot be an interface name.
     */
    public static NetIf open(String name) {
        checkName(name);
        int s = Libc.socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0, "AF_INET, SOCK_DGRAM");
        NetIf nif = new NetIf(name, s);
        try {
            nif.index();
        } catch (RuntimeException e) {
            nif.close();
            throw e;
        }
        return nif;
    }

    /** Whether an interface {@code name} exists in the caller's network namespace. */
    public static boolean exists(String name) {
        return !name.isEmpty() && name.length() < IFNAMSIZ && Libc.ifNameToIndex(name) > 0;
    }

    /** Throws {@link IllegalArgumentException} unless {@code name} is a valid Linux interface name. */
    public static void checkName(String name) {
        if (name == null || name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length >= IFNAMSIZ
                || name.contains("/") || name.contains(" ") || name.equals(".") || name.equals(".."))
            throw new IllegalArgumentException("bad interface name '" + name + "': 1 to 15 bytes, no '/' or space");
    }

    public String name() {
        return name;
    }

    /** The interface index (SIOCGIFINDEX). */
    public int index() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            call(SIOCGIFINDEX, "SIOCGIFINDEX", ifr, "");
            return ifr.get(JAVA_INT, 16);
        }
    }

    /** The interface flags (SIOCGIFFLAGS), the low 16 bits as the ioctl reports them. */
    public int flags() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            call(SIOCGIFFLAGS, "SIOCGIFFLAGS", ifr, "");
            return ifr.get(JAVA_SHORT, 16) & 0xffff;
        }
    }

    /** Sets or clears {@code mask} in the flags (read, modify, write). */
    public void setFlags(int mask, boolean on) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            call(SIOCGIFFLAGS, "SIOCGIFFLAGS", ifr, "");
            int f = ifr.get(JAVA_SHORT, 16) & 0xffff;
            int nf = on ? f | mask : f & ~mask;
            if (nf == f) return;
            ifr.set(JAVA_SHORT, 16, (short) nf);
            call(SIOCSIFFLAGS, "SIOCSIFFLAGS", ifr, ", flags=0x" + Integer.toHexString(nf));
        }
    }

    public boolean isUp() {
        return (flags() & IFF_UP) != 0;
    }

    /** Up and with carrier: the link DPDK reports as up. */
    public boolean isRunning() {
        int f = flags();
        return (f & IFF_UP) != 0 && (f & IFF_RUNNING) != 0;
    }

    public void setUp(boolean up) {
        setFlags(IFF_UP, up);
    }

    public void setPromiscuous(boolean on) {
        setFlags(IFF_PROMISC, on);
    }

    public void setAllMulticast(boolean on) {
        setFlags(IFF_ALLMULTI, on);
    }

    public int mtu() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            call(SIOCGIFMTU, "SIOCGIFMTU", ifr, "");
            return ifr.get(JAVA_INT, 16);
        }
    }

    public void setMtu(int mtu) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            ifr.set(JAVA_INT, 16, mtu);
            call(SIOCSIFMTU, "SIOCSIFMTU", ifr, ", mtu=" + mtu);
        }
    }

    /** The 6-byte hardware address. */
    public byte[] mac() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            call(SIOCGIFHWADDR, "SIOCGIFHWADDR", ifr, "");
            return ifr.asSlice(18, 6).toArray(JAVA_BYTE);
        }
    }

    public void setMac(byte[] mac) {
        if (mac.length != 6) throw new IllegalArgumentException("a MAC address has 6 bytes, got " + mac.length);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            ifr.set(JAVA_SHORT, 16, (short) ARPHRD_ETHER);
            MemorySegment.copy(mac, 0, ifr, JAVA_BYTE, 18, 6);
            call(SIOCSIFHWADDR, "SIOCSIFHWADDR", ifr, "");
        }
    }

    /** The link speed in Mbps from ethtool, or -1 when the driver does not say (tap, unknown). */
    public int speedMbps() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cmd = a.allocate(44, 8);
            cmd.set(JAVA_INT, 0, ETHTOOL_GSET);
            MemorySegment ifr = ifreq(a);
            ifr.set(JAVA_LONG, 16, cmd.address()); // bounded: ETHTOOL_GSET writes a 44-byte ethtool_cmd, cmd's size
            if (Libc.ioctl(sock, SIOCETHTOOL, ifr) < 0) return -1;
            int speed = (cmd.get(JAVA_SHORT, 12) & 0xffff) | ((cmd.get(JAVA_SHORT, 28) & 0xffff) << 16);
            return speed == 0 || speed == 0xffff || speed == -1 ? -1 : speed;
        }
    }

    private MemorySegment ifreq(Arena a) {
        MemorySegment ifr = a.allocate(40, 8); // bounded: struct ifreq, all any SIOC*IF* ioctl reads or writes
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        MemorySegment.copy(n, 0, ifr, JAVA_BYTE, 0, n.length);
        return ifr;
    }

    private void call(long req, String reqName, MemorySegment ifr, String detail) {
        int r = Libc.ioctl(sock, req, ifr);
        if (r < 0) throw new LinuxException("ioctl", reqName + ", iface=" + name + detail, -r);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.close(sock);
    }
}
