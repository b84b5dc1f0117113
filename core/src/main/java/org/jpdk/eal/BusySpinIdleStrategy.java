package org.jpdk.eal;

/**
 * Never gives the core away: an idle step is one {@link Thread#onSpinWait()} ({@code pause} on
 * x86, which lets a sibling hyperthread run and saves a little power). DPDK's poll-mode default:
 * the lowest latency and a whole core at 100% whether or not packets come.
 */
public final class BusySpinIdleStrategy implements IdleStrategy {
    public static final String ALIAS = "busy";

    @Override
    public void idle(int workCount) {
        if (workCount > 0) return;
        Thread.onSpinWait();
    }

    @Override
    public void idle() {
        Thread.onSpinWait();
    }

    @Override
    public void reset() {
    }

    @Override
    public String alias() {
        return ALIAS;
    }

    @Override
    public String toString() {
        return "BusySpinIdleStrategy{alias=" + ALIAS + "}";
    }
}
