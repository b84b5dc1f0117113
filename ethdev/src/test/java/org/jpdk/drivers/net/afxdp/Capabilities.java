package org.jpdk.drivers.net.afxdp;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * capget/capset for tests: drops capabilities from the calling thread's effective set (Linux
 * capabilities are per thread, so the rest of the JVM keeps them), to see how the driver fails
 * without them. Capabilities 32 and up sit in the second of the two data words.
 */
final class Capabilities {
    static final int CAP_IPC_LOCK = 14, CAP_NET_ADMIN = 12, CAP_NET_RAW = 13, CAP_SYS_ADMIN = 21, CAP_BPF = 39, CAP_PERFMON = 38;
    private static final int VERSION_3 = 0x20080522;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle CAPGET = LINKER.downcallHandle(LINKER.defaultLookup().find("capget").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle CAPSET = LINKER.downcallHandle(LINKER.defaultLookup().find("capset").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));

    private Capabilities() {
    }

    /** Makes the calling thread's effective capabilities its permitted ones again. */
    static void restore() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment hdr = a.allocate(8, 4), data = a.allocate(24, 4);
            hdr.set(JAVA_INT, 0, VERSION_3);
            if ((int) CAPGET.invokeExact(hdr, data) != 0) throw new IllegalStateException("capget failed");
            data.set(JAVA_INT, 0, data.get(JAVA_INT, 4));
            data.set(JAVA_INT, 12, data.get(JAVA_INT, 16));
            if ((int) CAPSET.invokeExact(hdr, data) != 0) throw new IllegalStateException("capset failed");
        }
    }

    /** Clears {@code caps} from the calling thread's effective capabilities. */
    static void dropEffective(int... caps) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment hdr = a.allocate(8, 4), data = a.allocate(24, 4);   // header; two {effective, permitted, inheritable}
            hdr.set(JAVA_INT, 0, VERSION_3);
            if ((int) CAPGET.invokeExact(hdr, data) != 0) throw new IllegalStateException("capget failed");
            for (int cap : caps) {
                long word = cap < 32 ? 0 : 12;
                data.set(JAVA_INT, word, data.get(JAVA_INT, word) & ~(1 << (cap & 31)));
            }
            if ((int) CAPSET.invokeExact(hdr, data) != 0) throw new IllegalStateException("capset failed");
        }
    }
}
