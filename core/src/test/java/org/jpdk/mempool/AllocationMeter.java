package org.jpdk.mempool;

import java.lang.management.ManagementFactory;

/** Bytes allocated by the calling thread, from com.sun.management.ThreadMXBean. */
public final class AllocationMeter {
    private static final com.sun.management.ThreadMXBean MX =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private AllocationMeter() {
    }

    /** Runs {@code body} {@code warmup} times, then returns the bytes the thread allocated over {@code iterations} more runs. */
    public static long bytesAllocated(int warmup, int iterations, Runnable body) {
        for (int i = 0; i < warmup; i++) body.run();
        long before = MX.getCurrentThreadAllocatedBytes();
        long calibrate = MX.getCurrentThreadAllocatedBytes() - before; // the meter's own cost, normally 0
        before = MX.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < iterations; i++) body.run();
        return MX.getCurrentThreadAllocatedBytes() - before - calibrate;
    }
}
