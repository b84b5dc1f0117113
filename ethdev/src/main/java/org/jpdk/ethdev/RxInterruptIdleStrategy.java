package org.jpdk.ethdev;

import org.jpdk.eal.IdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;

/**
 * Polls while there is work and sleeps on the rx interrupts of the lcore's queues when there is
 * none, as DPDK's l3fwd-power: after {@code idlePolls} passes in a row that found nothing (each
 * costing one {@link Thread#onSpinWait()}), it enables the interrupt of every queue, sleeps in
 * {@link RxWaitSet#await} for at most {@code timeoutMillis}, disables them again and goes back to
 * polling. A packet that arrives at any moment of that sequence wakes it: enabling looks for
 * packets after arming (see {@link RxQueue}), and a driver's own fd is level-triggered. A quiet
 * lcore then costs one wake-up per timeout instead of a whole core; the price is a syscall pair
 * on the way in and out of each sleep, and the wake-up latency of the first packet after a quiet
 * spell. {@link #wakeup()} (from any thread, e.g. the one stopping the lcore) ends a sleep at once.
 * One lcore per instance; {@link #idle(int)} allocates nothing.
 */
public final class RxInterruptIdleStrategy implements IdleStrategy, AutoCloseable {
    public static final String ALIAS = "interrupt";
    /** Empty passes before sleeping, by default (DPDK's l3fwd-power waits a few hundred idle polls before it sleeps). */
    public static final int DEFAULT_IDLE_POLLS = 300;
    /** The longest sleep, by default, in milliseconds. */
    public static final int DEFAULT_TIMEOUT_MILLIS = 100;

    private static final VarHandle SLEEPS, WAKEUPS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            SLEEPS = l.findVarHandle(RxInterruptIdleStrategy.class, "sleeps", long.class);
            WAKEUPS = l.findVarHandle(RxInterruptIdleStrategy.class, "rxWakeups", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final EthDev[] ports;
    private final int[] queues;
    private final RxWaitSet set;
    private final int idlePolls, timeoutMillis;
    private int emptyPolls;
    private long sleeps, rxWakeups; // written by the lcore only (opaque), read by others

    /** One rx queue an lcore polls. */
    public record Queue(EthDev port, int queue) {
    }

    /** The default thresholds: {@value #DEFAULT_IDLE_POLLS} empty passes, {@value #DEFAULT_TIMEOUT_MILLIS} ms sleeps. */
    public RxInterruptIdleStrategy(List<Queue> rxQueues) {
        this(rxQueues, DEFAULT_IDLE_POLLS, DEFAULT_TIMEOUT_MILLIS);
    }

    /**
     * Sleeps on {@code rxQueues} (set up, each in no other wait set) after {@code idlePolls} empty
     * passes (>= 1), for at most {@code timeoutMillis} (>= 1) at a time.
     */
    public RxInterruptIdleStrategy(List<Queue> rxQueues, int idlePolls, int timeoutMillis) {
        if (rxQueues.isEmpty()) throw new IllegalArgumentException("rx interrupt idle: no rx queues to sleep on");
        if (idlePolls < 1) throw new IllegalArgumentException("idlePolls=" + idlePolls + ": allowed >= 1");
        if (timeoutMillis < 1) throw new IllegalArgumentException("timeoutMillis=" + timeoutMillis + ": allowed >= 1");
        this.ports = new EthDev[rxQueues.size()];
        this.queues = new int[rxQueues.size()];
        this.idlePolls = idlePolls;
        this.timeoutMillis = timeoutMillis;
        this.set = new RxWaitSet(Math.min(rxQueues.size(), RxWaitSet.MAX_QUEUES));
        try {
            for (int i = 0; i < ports.length; i++) {
                ports[i] = rxQueues.get(i).port();
                queues[i] = rxQueues.get(i).queue();
                set.add(ports[i], queues[i]);
            }
        } catch (RuntimeException e) {
            set.close();
            throw e;
        }
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            emptyPolls = 0;
            return;
        }
        idle();
    }

    @Override
    public void idle() {
        if (++emptyPolls < idlePolls) {
            Thread.onSpinWait();
            return;
        }
        emptyPolls = 0;
        sleep();
    }

    /** Enables every queue's interrupt, waits, disables them; returns how many queues fired. */
    private int sleep() {
        EthDev[] p = ports;
        int[] q = queues;
        for (int i = 0; i < p.length; i++) p[i].rxIntrEnable(q[i]);
        SLEEPS.setOpaque(this, sleeps + 1);
        int n;
        try {
            n = set.await(timeoutMillis);
        } finally {
            for (int i = 0; i < p.length; i++) p[i].rxIntrDisable(q[i]);
        }
        if (n > 0) WAKEUPS.setOpaque(this, rxWakeups + 1);
        return n;
    }

    @Override
    public void reset() {
        emptyPolls = 0;
    }

    /** Ends the current sleep at once (or the next one); from any thread. */
    public void wakeup() {
        set.wakeup();
    }

    /** Sleeps begun so far. */
    public long sleeps() {
        return (long) SLEEPS.getOpaque(this);
    }

    /** Sleeps that ended because a queue had packets (not by timeout or {@link #wakeup()}). */
    public long rxWakeups() {
        return (long) WAKEUPS.getOpaque(this);
    }

    @Override
    public String alias() {
        return ALIAS;
    }

    /** Takes the queues out of the wait set and closes it. */
    @Override
    public void close() {
        set.close();
    }

    @Override
    public String toString() {
        return "RxInterruptIdleStrategy{queues=" + ports.length + ", idlePolls=" + idlePolls + ", timeoutMillis=" + timeoutMillis + "}";
    }
}
