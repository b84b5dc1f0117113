package org.jpdk.drivers.net.afxdp;

import org.jpdk.sys.Bpf;
import org.jpdk.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An XDP program loaded into the kernel with the XSKMAP it redirects to: either ours, assembled
 * here, or a user's from an ELF object ({@code xdp_prog=}, see {@link BpfObject}). Holds the
 * program's fd and the fds of its maps until {@link #close}; attaching it to an interface is
 * {@link XdpAttachment}'s job.
 *
 * <p>Ours is six instructions: redirect to the XSKMAP entry of the queue the frame arrived on,
 * and pass everything else to the kernel's stack. {@code bpf_redirect_map} returns the low bits of
 * its flags argument when the key has no socket, so XDP_PASS as flags is the fall-back for the
 * queues no socket is bound to, and no lookup is needed (kernel 5.3 and later).
 * <pre>
 *   insn  code  dst src  off  imm            meaning
 *   0     0x61  r2  r1   16   0              r2 = *(u32 *)(r1 + 16)    xdp_md.rx_queue_index
 *   1     0x18  r1  1    0    map fd         r1 = the XSKMAP           ld_imm64, src BPF_PSEUDO_MAP_FD
 *   2     0x00  0   0    0    0                                       (its upper 32 bits)
 *   3     0xb7  r3  0    0    2              r3 = XDP_PASS             the action when r2 has no socket
 *   4     0x85  0   0    0    51             call bpf_redirect_map(r1, r2, r3)
 *   5     0x95  0   0    0    0              exit                      r0: XDP_REDIRECT or XDP_PASS
 * </pre>
 * An instruction is 8 bytes, little-endian: code u8, dst (low nibble) and src (high nibble) u8,
 * off s16, imm s32.
 */
final class XdpProgram implements AutoCloseable {
    static final int XDP_ABORTED = 0, XDP_DROP = 1, XDP_PASS = 2, XDP_TX = 3, XDP_REDIRECT = 4;
    static final int BPF_PSEUDO_MAP_FD = 1;
    static final int BPF_FUNC_REDIRECT_MAP = 51;
    /** The name the kernel shows for ours ({@code ip link}: prog/xdp id N name jpdk_xsk). */
    static final String NAME = "jpdk_xsk";
    static final String XSKMAP_NAME = "jpdk_xsks";

    final int progFd;
    /** The XSKMAP: key = interface rx queue id, value = AF_XDP socket fd. */
    final int xskMapFd;
    /** Entries of the XSKMAP: queue ids below this can have a socket. */
    final int xskMapEntries;
    /** The program's other maps (a user's program), closed with it. */
    private final int[] otherMapFds;
    final String description;
    private boolean closed;

    XdpProgram(int progFd, int xskMapFd, int xskMapEntries, int[] otherMapFds, String description) {
        this.progFd = progFd;
        this.xskMapFd = xskMapFd;
        this.xskMapEntries = xskMapEntries;
        this.otherMapFds = otherMapFds;
        this.description = description;
    }

    /** One instruction, as the 8 little-endian bytes read as a long. */
    static long insn(int code, int dst, int src, int off, int imm) {
        return (code & 0xffL) | (dst & 0xfL) << 8 | (src & 0xfL) << 12 | (off & 0xffffL) << 16 | (imm & 0xffffffffL) << 32;
    }

    /** Our redirect program for XSKMAP {@code mapFd} (see the class comment). */
    static long[] redirectInsns(int mapFd) {
        return new long[]{
                insn(0x61, 2, 1, 16, 0),
                insn(0x18, 1, BPF_PSEUDO_MAP_FD, 0, mapFd),
                insn(0x00, 0, 0, 0, 0),
                insn(0xb7, 3, 0, 0, XDP_PASS),
                insn(0x85, 0, 0, 0, BPF_FUNC_REDIRECT_MAP),
                insn(0x95, 0, 0, 0, 0),
        };
    }

    /** Makes an XSKMAP of {@code entries} queues and loads our program for it. */
    static XdpProgram redirect(int entries) {
        int map = Bpf.mapCreate(Bpf.BPF_MAP_TYPE_XSKMAP, 4, 4, entries, 0, XSKMAP_NAME);
        try {
            int prog = load(redirectInsns(map), "GPL", NAME, "xdp program " + NAME + " (6 instructions)");
            return new XdpProgram(prog, map, entries, new int[0], "jpdk's redirect program " + NAME);
        } catch (RuntimeException e) {
            Libc.close(map);
            throw e;
        }
    }

    /** BPF_PROG_LOAD of an XDP program; throws {@link Bpf.VerifierException} with the verifier's log if refused. */
    static int load(long[] insns, String license, String name, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment code = a.allocate(JAVA_LONG, insns.length);
            MemorySegment.copy(insns, 0, code, JAVA_LONG, 0, insns.length);
            return Bpf.progLoad(Bpf.BPF_PROG_TYPE_XDP, code, license, name, Bpf.BPF_XDP, what);
        }
    }

    /** The kernel's id of the program (as {@code ip link show} prints it). */
    int id() {
        return Bpf.progId(progFd);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.close(progFd);
        Libc.close(xskMapFd);
        for (int fd : otherMapFds) Libc.close(fd);
    }
}
