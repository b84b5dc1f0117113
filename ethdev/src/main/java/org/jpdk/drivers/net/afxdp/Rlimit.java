package org.jpdk.drivers.net.afxdp;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * RLIMIT_MEMLOCK, which a UMEM counts against (its pages are pinned) for a process without
 * CAP_IPC_LOCK: read it for the error message, and lift the soft limit to the hard one, as a
 * process may without privilege. {@code struct rlimit}: +0 u64 rlim_cur, +8 u64 rlim_max.
 */
final class Rlimit {
    static final int RLIMIT_MEMLOCK = 8;
    static final long RLIM_INFINITY = -1L;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle GETRLIMIT = handle("getrlimit");
    private static final MethodHandle SETRLIMIT = handle("setrlimit");

    private Rlimit() {
    }

    private static MethodHandle handle(String name) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name)),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    }

    /** {soft, hard} of RLIMIT_MEMLOCK in bytes, -1 for unlimited. */
    static long[] memlock() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment rl = a.allocate(16, 8);                            // bounded: struct rlimit is 16 bytes
            if ((int) GETRLIMIT.invokeExact(RLIMIT_MEMLOCK, rl) != 0) return new long[]{0, 0};
            return new long[]{rl.get(JAVA_LONG, 0), rl.get(JAVA_LONG, 8)};
        } catch (Throwable t) {
            throw new IllegalStateException("getrlimit downcall failed", t);
        }
    }

    /** Raises the soft limit to the hard one; true when that changed it. */
    static boolean raiseMemlock() {
        long[] l = memlock();
        return l[0] != l[1] && set(l[1], l[1]);
    }

    /** Sets RLIMIT_MEMLOCK; true when the kernel took it. */
    static boolean set(long soft, long hard) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment rl = a.allocate(16, 8);
            rl.set(JAVA_LONG, 0, soft);
            rl.set(JAVA_LONG, 8, hard);
            return (int) SETRLIMIT.invokeExact(RLIMIT_MEMLOCK, rl) == 0;
        } catch (Throwable t) {
            throw new IllegalStateException("setrlimit downcall failed", t);
        }
    }

    /** "soft 8388608 bytes, hard 8388608 bytes", for the error message. */
    static String memlockDescription() {
        long[] l = memlock();
        return "soft " + bytes(l[0]) + ", hard " + bytes(l[1]);
    }

    private static String bytes(long v) {
        return v == RLIM_INFINITY ? "unlimited" : v + " bytes";
    }
}
