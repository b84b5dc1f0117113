package org.jpdk.eal;

/**
 * What an lcore loop does after a pass that found {@code workCount} units of work, as Agrona's
 * {@code IdleStrategy}: nothing when there was work, and something that costs less CPU (spin,
 * yield, park, or sleep on an interrupt) when there was none. The loop reads
 * <pre>
 *   while (!stopped) idle.idle(doWork());
 * </pre>
 * An instance belongs to one lcore and keeps its state in plain fields; {@link #idle(int)}
 * allocates nothing. {@link BusySpinIdleStrategy} (DPDK's default: poll all the time) and
 * {@link BackoffIdleStrategy} (spin, then yield, then park for a growing period) live here;
 * {@code org.jpdk.ethdev.RxInterruptIdleStrategy} sleeps on the receive queues' interrupts.
 */
public interface IdleStrategy {
    /** After a pass that did {@code workCount} units of work: returns at once if it was positive, else idles a little. */
    void idle(int workCount);

    /** Idles one step unconditionally (as a pass that found no work). */
    void idle();

    /** Forgets the idle streak: the next idle step is the cheapest one again. */
    void reset();

    /** The name used to select it: {@code busy}, {@code backoff}, {@code interrupt}. */
    String alias();
}
