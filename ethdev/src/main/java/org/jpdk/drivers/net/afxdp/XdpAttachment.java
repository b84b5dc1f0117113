package org.jpdk.drivers.net.afxdp;

import org.jpdk.ethdev.EthDev;
import org.jpdk.sys.Bpf;
import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;

import static org.jpdk.drivers.net.afxdp.RtNetlink.XDP_FLAGS_DRV_MODE;
import static org.jpdk.drivers.net.afxdp.RtNetlink.XDP_FLAGS_REPLACE;
import static org.jpdk.drivers.net.afxdp.RtNetlink.XDP_FLAGS_SKB_MODE;
import static org.jpdk.drivers.net.afxdp.RtNetlink.XDP_FLAGS_UPDATE_IF_NOEXIST;

/**
 * An {@link XdpProgram} attached to an interface's XDP hook, until {@link #close}.
 *
 * <p>It is attached with a bpf link ({@code BPF_LINK_CREATE}, kernel 5.9 and later): the link is
 * a file descriptor, so when the process ends in any way, SIGKILL included, the kernel closes it
 * and detaches the program (a little after the process is gone: the kernel releases a link from a
 * work queue). A link also never replaces a program someone else attached, nor can anyone else
 * replace ours. Native mode first (the driver runs the program, before any socket buffer is made);
 * where the driver has none, generic mode (after the kernel built the socket buffer, slower).
 * Without XDP links the program is attached through rtnetlink with XDP_FLAGS_UPDATE_IF_NOEXIST,
 * and {@link #close} removes it only if it is still ours (XDP_FLAGS_REPLACE with our fd as the
 * expected one); a process killed then leaves it attached, which the log says at attach time.
 */
final class XdpAttachment implements AutoCloseable {
    final String iface;
    final int ifindex;
    /** The link's fd, or -1 when attached through netlink. */
    private final int linkFd;
    /** XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE. */
    final int mode;
    private final XdpProgram prog;
    private boolean closed;

    private XdpAttachment(String iface, int ifindex, int linkFd, int mode, XdpProgram prog) {
        this.iface = iface;
        this.ifindex = ifindex;
        this.linkFd = linkFd;
        this.mode = mode;
        this.prog = prog;
    }

    /**
     * Attaches {@code prog} to {@code ifindex}; throws {@link AfXdpException} with one line when
     * another program is attached (naming its id), when the interface has no XDP hook at all, or
     * when the capability is missing.
     */
    static XdpAttachment attach(XdpProgram prog, String iface, int ifindex) {
        String what = "bpf(BPF_LINK_CREATE, BPF_XDP, iface=" + iface + ")";
        int mode = XDP_FLAGS_DRV_MODE;
        int fd = Bpf.linkCreate(prog.progFd, ifindex, Bpf.BPF_XDP, mode);
        if (fd == -Errno.EOPNOTSUPP) {                         // the driver has no native XDP: generic
            mode = XDP_FLAGS_SKB_MODE;
            fd = Bpf.linkCreate(prog.progFd, ifindex, Bpf.BPF_XDP, mode);
        }
        if (fd >= 0) return new XdpAttachment(iface, ifindex, fd, mode, prog);
        int errno = -fd;
        if (errno == Errno.EBUSY || errno == Errno.EEXIST) throw occupied(iface, ifindex, what, errno);
        if (errno == Errno.EPERM) {
            throw new AfXdpException(what + ": EPERM: attaching an XDP program needs CAP_NET_ADMIN and CAP_BPF (or root)");
        }
        if (errno == Errno.EOPNOTSUPP) {
            throw new AfXdpException(what + ": EOPNOTSUPP: iface=" + iface + " has no XDP hook, neither native nor generic");
        }
        if (errno != Errno.EINVAL) throw new AfXdpException(what + ": " + Errno.name(errno));
        // EINVAL: this kernel has no XDP links (before 5.9); rtnetlink instead
        XdpAttachment viaNetlink = attachThroughNetlink(prog, iface, ifindex, what + ": EINVAL");
        EthDev.LOG.warning("iface=" + iface + ": this kernel has no XDP bpf links (" + what + ": EINVAL); attached through netlink"
                + ", so a process killed with SIGKILL leaves the program attached (remove it with: ip link set dev " + iface + " xdp off)");
        return viaNetlink;
    }

    /**
     * Attaches through rtnetlink (RTM_SETLINK, IFLA_XDP) with XDP_FLAGS_UPDATE_IF_NOEXIST, native
     * mode first: the fall-back where the kernel has no XDP links. {@code after} says why, for errors.
     */
    static XdpAttachment attachThroughNetlink(XdpProgram prog, String iface, int ifindex, String after) {
        int mode = XDP_FLAGS_DRV_MODE;
        String err = RtNetlink.setXdp(ifindex, prog.progFd, XDP_FLAGS_UPDATE_IF_NOEXIST | mode, -1, iface);
        if (err != null && err.startsWith("EOPNOTSUPP")) {
            mode = XDP_FLAGS_SKB_MODE;
            err = RtNetlink.setXdp(ifindex, prog.progFd, XDP_FLAGS_UPDATE_IF_NOEXIST | mode, -1, iface);
        }
        if (err == null) return new XdpAttachment(iface, ifindex, -1, mode, prog);
        if (err.startsWith("EBUSY") || err.startsWith("EEXIST")) throw occupied(iface, ifindex, "RTM_SETLINK(IFLA_XDP, iface=" + iface + ")", Errno.EBUSY);
        throw new AfXdpException("RTM_SETLINK(IFLA_XDP, iface=" + iface + "): " + err + (after == null ? "" : " (after " + after + ")"));
    }

    /** "Someone else's program is there", with its id and mode from rtnetlink. */
    private static AfXdpException occupied(String iface, int ifindex, String what, int errno) {
        String who;
        try {
            RtNetlink.Link l = RtNetlink.link(ifindex, iface);
            who = l.progId() != 0 ? "XDP program id " + l.progId() + " is attached in " + l.mode() + " mode" : "another XDP program is attached";
        } catch (LinuxException e) {
            who = "another XDP program is attached";
        }
        return new AfXdpException(what + ": " + Errno.name(errno) + ": " + who + " by someone else; remove it first (ip link set dev "
                + iface + " xdp off) or give this port its own interface");
    }

    /** Native (driver) or generic mode, as {@code ip link} shows it. */
    String modeName() {
        return mode == XDP_FLAGS_DRV_MODE ? "native" : "generic";
    }

    /** Whether the kernel has this attached through a bpf link (detached when the process dies). */
    boolean isLink() {
        return linkFd >= 0;
    }

    /** Detaches the program: closes the link, or removes it through netlink if it is still ours. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (linkFd >= 0) {
            Libc.close(linkFd);
            return;
        }
        String err = RtNetlink.setXdp(ifindex, -1, XDP_FLAGS_REPLACE | mode, prog.progFd, iface);
        if (err != null && !err.startsWith("ENODEV")) {
            EthDev.LOG.warning("iface=" + iface + ": RTM_SETLINK(IFLA_XDP off): " + err + "; the program attached there is not ours any more and stays");
        }
    }
}
