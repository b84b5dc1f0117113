package org.jpdk.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A memory mapping as a {@link MemorySegment} owned by an {@link Arena}: {@code mmap(2)} once,
 * and closing the arena unmaps it. Use it for every mapping a data path touches (PACKET_MMAP
 * rings, a peer's memif regions, vhost-user guest memory, an AF_XDP umem and its rings), never
 * {@code MemorySegment.ofAddress(addr).reinterpret(len)}, which makes a segment of the global
 * scope: after {@code munmap} a late access through it is a SIGSEGV that kills the JVM.
 *
 * <p>Pass a shared arena ({@link Arena#ofShared()}) when lcores touch the mapping. Closing it
 * first makes every access through the segment (and its slices) throw
 * {@link IllegalStateException} ("Already closed"), in any thread, including one in the middle
 * of a copy (the close is a handshake with all threads), and only then runs {@code munmap}; so an
 * lcore that polls a queue after its port closed gets an exception, never a fault. The handshake
 * costs tens of microseconds: close on the control path, never per burst. While the segment is
 * an argument of a running downcall the close is refused with IllegalStateException (the memory
 * stays mapped), which is why a data path hands the kernel addresses in its own memory only
 * through short, non-blocking calls. Several mappings may share one arena (a peer's regions)
 * and go together.
 */
public final class Mapping {
    private Mapping() {
    }

    /**
     * {@code mmap(NULL, len, prot, flags, fd, offset)} as a segment of exactly {@code len} bytes
     * belonging to {@code arena}; {@code munmap} runs when the arena closes. On failure throws
     * {@link LinuxException} naming {@code what} (e.g. {@code mmap(AF_PACKET, iface=veth0, rings of
     * 2097152 bytes): ENOMEM}); if the arena is already closed, unmaps and throws
     * IllegalStateException.
     */
    public static MemorySegment map(Arena arena, long len, int prot, int flags, int fd, long offset, String what) {
        long addr = Libc.mmap(0, len, prot, flags, fd, offset, what);
        try {
            // bounded: the len bytes the kernel just mapped at addr, for as long as the arena lives
            return MemorySegment.ofAddress(addr).reinterpret(len, arena, s -> Libc.munmap(s.address(), len));
        } catch (RuntimeException e) {
            Libc.munmap(addr, len);
            throw e;
        }
    }
}
