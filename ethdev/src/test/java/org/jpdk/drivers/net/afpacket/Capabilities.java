package org.jpdk.drivers.net.afpacket;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * capget/capset for tests: drops a capability from the calling thread's effective set (Linux
 * capabilities are per thread, so the rest of the JVM keeps it), to see how a driver fails
 * without it.
 */
final class Capabilities {
    static final int CAP_NET_RAW = 13;
    private static final int VERSION_3 = 0x20080522;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle CAPGET = LINKER.downcallHandle(LINKER.defaultLookup().find("capget").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle CAPSET = LINKER.downcallHandle(LINKER.defaultLookup().find("capset").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));

    private Capabilities() {
    }

    /** Clears {@code cap} (below 32) from the calling thread's effective capabilities. */
    static void dropEffective(int cap) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment hdr = a.allocate(8, 4), data = a.allocate(24, 4);   // header; two {effective, permitted, inheritable}
            hdr.set(JAVA_INT, 0, VERSION_3);
            if ((int) CAPGET.invokeExact(hdr, data) != 0) throw new IllegalStateException("capget failed");
            data.set(JAVA_INT, 0, data.get(JAVA_INT, 0) & ~(1 << cap));
            if ((int) CAPSET.invokeExact(hdr, data) != 0) throw new IllegalStateException("capset failed");
        }
    }
}
