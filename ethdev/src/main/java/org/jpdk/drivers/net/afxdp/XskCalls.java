package org.jpdk.drivers.net.afxdp;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The rx kick, {@code recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL)}, as a downcall without
 * {@code errno} capture: on JDK 25 a capturing downcall allocates 40 bytes per call until C2 has
 * inlined its caller, and the kick sits on the receive path. Its errno is asked for only after it
 * failed (see AfXdpRxQueue's socket check). The tx kick is
 * {@link org.jpdk.sys.Libc#sendNoErrno}, which asks for errno only after a failure.
 */
final class XskCalls {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle RECVFROM = LINKER.downcallHandle(
            LINKER.defaultLookup().find("recvfrom").orElseThrow(() -> new UnsatisfiedLinkError("libc has no recvfrom")),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
    static final int MSG_DONTWAIT = 0x40;

    private XskCalls() {
    }

    /**
     * Wakes the kernel's receive side of socket {@code fd} (fill ring refilled, or a busy poll);
     * returns 0, or -1 when the kernel refused (ENXIO: the socket's interface is gone).
     * Allocates nothing.
     */
    static long kickRx(int fd) {
        try {
            // bounded: no buffer (NULL, 0)
            return (long) RECVFROM.invokeExact(fd, MemorySegment.NULL, 0L, MSG_DONTWAIT, MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("recvfrom downcall failed", t);
        }
    }
}
