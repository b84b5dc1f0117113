package org.jpdk.drivers.net.afxdp;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The two rtnetlink requests net_af_xdp makes: RTM_GETLINK for what XDP program an interface
 * runs and how many queues it has, and RTM_SETLINK with IFLA_XDP to attach or detach a program
 * where the kernel has no XDP bpf link (before 5.9). One request per call on a NETLINK_ROUTE
 * socket made for it, in the network namespace of the calling thread.
 *
 * <pre>
 * struct nlmsghdr (16)   +0 u32 len  +4 u16 type  +6 u16 flags  +8 u32 seq  +12 u32 pid
 * struct ifinfomsg (16)  +0 u8 family  +2 u16 type  +4 s32 index  +8 u32 flags  +12 u32 change
 * struct rtattr (4)      +0 u16 len (header included)  +2 u16 type, then the value, padded to 4
 *   IFLA_XDP 43 (nested, NLA_F_NESTED 0x8000): IFLA_XDP_FD 1 s32, IFLA_XDP_ATTACHED 2 u8,
 *     IFLA_XDP_FLAGS 3 u32, IFLA_XDP_PROG_ID 4 u32, IFLA_XDP_EXPECTED_FD 8 s32
 * NLMSG_ERROR 2: s32 error (0: the ACK), the request's header, then (NLM_F_ACK_TLVS) attributes,
 *   NLMSGERR_ATTR_MSG 1 a string saying why
 * </pre>
 *
 * The kernel's replies are read through bounded segments and each attribute length is checked
 * against what is left, so a short or odd reply is an error, never a bad read.
 */
final class RtNetlink {
    static final int AF_NETLINK = 16, NETLINK_ROUTE = 0, SOL_NETLINK = 270, NETLINK_EXT_ACK = 11;
    static final int NLMSG_ERROR = 2, RTM_NEWLINK = 16, RTM_GETLINK = 18, RTM_SETLINK = 19;
    static final int NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLM_F_CAPPED = 0x100, NLM_F_ACK_TLVS = 0x200;
    static final int NLA_F_NESTED = 0x8000, NLA_TYPE_MASK = 0x3fff;
    static final int IFLA_XDP = 43, IFLA_XDP_FD = 1, IFLA_XDP_ATTACHED = 2, IFLA_XDP_FLAGS = 3, IFLA_XDP_PROG_ID = 4,
            IFLA_XDP_EXPECTED_FD = 8;
    static final int NLMSGERR_ATTR_MSG = 1;
    /** IFLA_XDP_ATTACHED values. */
    static final int XDP_ATTACHED_NONE = 0, XDP_ATTACHED_DRV = 1, XDP_ATTACHED_SKB = 2, XDP_ATTACHED_HW = 3, XDP_ATTACHED_MULTI = 4;
    /** XDP attach flags (if_link.h), for IFLA_XDP_FLAGS and BPF_LINK_CREATE. */
    static final int XDP_FLAGS_UPDATE_IF_NOEXIST = 1, XDP_FLAGS_SKB_MODE = 2, XDP_FLAGS_DRV_MODE = 4, XDP_FLAGS_REPLACE = 16;
    private static final int HDR = 16, IFINFO = 16, BUF = 64 * 1024;

    /**
     * What RTM_GETLINK says about an interface's XDP hook.
     *
     * @param attached IFLA_XDP_ATTACHED: none, drv, skb, hw or multi
     * @param progId   the attached program's id, 0 for none
     */
    record Link(int attached, int progId) {
        String mode() {
            return switch (attached) {
                case XDP_ATTACHED_DRV -> "native (xdp)";
                case XDP_ATTACHED_SKB -> "generic (xdpgeneric)";
                case XDP_ATTACHED_HW -> "offloaded (xdpoffload)";
                case XDP_ATTACHED_MULTI -> "several modes";
                default -> "none";
            };
        }
    }

    private RtNetlink() {
    }

    /** RTM_GETLINK of {@code ifindex}. Throws {@link LinuxException} naming the call (ENODEV: no such interface). */
    static Link link(int ifindex, String iface) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment req = a.allocate(HDR + IFINFO, 4);
            header(req, RTM_GETLINK, NLM_F_REQUEST);
            req.set(JAVA_INT, HDR + 4, ifindex);
            MemorySegment reply = exchange(a, req, "RTM_GETLINK, iface=" + iface);
            int type = reply.get(JAVA_SHORT, 4) & 0xffff;
            if (type == NLMSG_ERROR && reply.byteSize() >= HDR + 4 && reply.get(JAVA_INT, HDR) < 0) {
                throw new LinuxException("netlink", "RTM_GETLINK, iface=" + iface, -reply.get(JAVA_INT, HDR));
            }
            if (type != RTM_NEWLINK) throw new LinuxException("recv", "RTM_GETLINK, iface=" + iface + ": reply of type " + type, Errno.EPROTO);
            int attached = XDP_ATTACHED_NONE, progId = 0;
            long len = Math.min(reply.byteSize(), reply.get(JAVA_INT, 0) & 0xffffffffL);
            for (long at = HDR + IFINFO; at + 4 <= len; ) {
                int alen = reply.get(JAVA_SHORT, at) & 0xffff, atype = reply.get(JAVA_SHORT, at + 2) & NLA_TYPE_MASK;
                if (alen < 4 || at + alen > len) break;
                if (atype == IFLA_XDP) {
                    for (long n = at + 4; n + 4 <= at + alen; ) {
                        int nlen = reply.get(JAVA_SHORT, n) & 0xffff, ntype = reply.get(JAVA_SHORT, n + 2) & NLA_TYPE_MASK;
                        if (nlen < 4 || n + nlen > at + alen) break;
                        if (ntype == IFLA_XDP_ATTACHED && nlen >= 5) attached = reply.get(JAVA_BYTE, n + 4) & 0xff;
                        if (ntype == IFLA_XDP_PROG_ID && nlen >= 8) progId = reply.get(JAVA_INT, n + 4);
                        n += align(nlen);
                    }
                }
                at += align(alen);
            }
            return new Link(attached, progId);
        }
    }

    /**
     * RTM_SETLINK with IFLA_XDP: attaches {@code progFd} (-1 detaches) with {@code flags}; with
     * {@code expectedFd >= 0} (and XDP_FLAGS_REPLACE) only if that program is the one attached.
     * Returns null on success, else the error: the errno name and the kernel's reason when it gave one.
     */
    static String setXdp(int ifindex, int progFd, int flags, int expectedFd, String iface) {
        try (Arena a = Arena.ofConfined()) {
            int xdpLen = 4 + 8 + 8 + (expectedFd >= 0 ? 8 : 0);
            MemorySegment req = a.allocate(HDR + IFINFO + xdpLen, 4);
            header(req, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
            req.set(JAVA_INT, HDR + 4, ifindex);
            long at = HDR + IFINFO;
            req.set(JAVA_SHORT, at, (short) xdpLen);
            req.set(JAVA_SHORT, at + 2, (short) (IFLA_XDP | NLA_F_NESTED));
            attr(req, at + 4, IFLA_XDP_FD, progFd);
            attr(req, at + 12, IFLA_XDP_FLAGS, flags);
            if (expectedFd >= 0) attr(req, at + 20, IFLA_XDP_EXPECTED_FD, expectedFd);
            MemorySegment reply;
            try {
                reply = exchange(a, req, "RTM_SETLINK IFLA_XDP, iface=" + iface);
            } catch (LinuxException e) {
                return e.getMessage();
            }
            return error(reply);
        }
    }

    private static void attr(MemorySegment m, long at, int type, int value) {
        m.set(JAVA_SHORT, at, (short) 8);
        m.set(JAVA_SHORT, at + 2, (short) type);
        m.set(JAVA_INT, at + 4, value);
    }

    private static void header(MemorySegment m, int type, int flags) {
        m.set(JAVA_INT, 0, (int) m.byteSize());
        m.set(JAVA_SHORT, 4, (short) type);
        m.set(JAVA_SHORT, 6, (short) flags);
        m.set(JAVA_INT, 8, 1);
    }

    private static long align(int len) {
        return (len + 3L) & ~3L;
    }

    /** Sends {@code req} on a fresh NETLINK_ROUTE socket and returns the first reply message, bounded to its length. */
    private static MemorySegment exchange(Arena a, MemorySegment req, String what) {
        int fd = Libc.socket(AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, NETLINK_ROUTE, "AF_NETLINK, NETLINK_ROUTE");
        try {
            Libc.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);           // the kernel's reason with an error, where it has one
            long r = Libc.send(fd, req, req.byteSize(), 0);
            if (r < 0) throw new LinuxException("send", what, (int) -r);
            MemorySegment buf = a.allocate(BUF, 4);
            long n = Libc.recv(fd, buf, BUF, 0);
            if (n < 0) throw new LinuxException("recv", what, (int) -n);
            if (n < HDR) throw new LinuxException("recv", what + ": " + n + "-byte reply", Errno.EPROTO);
            MemorySegment msg = buf.asSlice(0, n);
            long len = msg.get(JAVA_INT, 0) & 0xffffffffL;
            if (len < HDR || len > n) throw new LinuxException("recv", what + ": reply says " + len + " bytes of " + n, Errno.EPROTO);
            return msg.asSlice(0, len);
        } finally {
            Libc.close(fd);
        }
    }

    /** Null for an ACK (error 0) or a non-error message; else {@code EBUSY} or {@code EBUSY: <the kernel's reason>}. */
    static String error(MemorySegment msg) {
        if ((msg.get(JAVA_SHORT, 4) & 0xffff) != NLMSG_ERROR || msg.byteSize() < HDR + 4) return null;
        int e = msg.get(JAVA_INT, HDR);
        if (e == 0) return null;
        String name = Errno.name(-e);
        int flags = msg.get(JAVA_SHORT, 6) & 0xffff;
        if ((flags & NLM_F_ACK_TLVS) == 0 || msg.byteSize() < HDR + 4 + HDR) return name;
        long at = HDR + 4 + ((flags & NLM_F_CAPPED) != 0 ? HDR : align(msg.get(JAVA_INT, HDR + 4)));
        while (at + 4 <= msg.byteSize()) {
            int alen = msg.get(JAVA_SHORT, at) & 0xffff, atype = msg.get(JAVA_SHORT, at + 2) & NLA_TYPE_MASK;
            if (alen < 4 || at + alen > msg.byteSize()) break;
            if (atype == NLMSGERR_ATTR_MSG && alen > 4) {
                String why = msg.asSlice(at + 4, alen - 4).getString(0).strip();
                return why.isEmpty() ? name : name + ": " + why;
            }
            at += align(alen);
        }
        return name;
    }
}
