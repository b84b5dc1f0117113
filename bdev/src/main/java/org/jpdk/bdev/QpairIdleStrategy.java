package org.jpdk.bdev;

import org.jpdk.eal.IdleStrategy;

/**
 * Polls a qpair while it completes requests and sleeps in the kernel when it does not, as SPDK's
 * interrupt mode and ethdev's {@code RxInterruptIdleStrategy}: after {@code idlePolls} passes in
 * a row that completed nothing (each one {@link Thread#onSpinWait()}), {@link Qpair#awaitCompletions}
 * blocks in {@code io_uring_enter} until the device's completion wakes the lcore, for at most
 * {@code timeoutMillis}. On a core of its own pure polling ({@code idlePolls} = 0 means never
 * sleep) answers fastest; on a CPU shared with other work, a poller that never sleeps only gets its
 * share of the CPU, and completions wait for its turn, while a sleeper is woken at once by the
 * scheduler. One lcore per instance; {@link #idle(int)} allocates nothing.
 */
public final class QpairIdleStrategy implements IdleStrategy {
    public static final String ALIAS = "interrupt";
    public static final int DEFAULT_IDLE_POLLS = 64;
    public static final int DEFAULT_TIMEOUT_MILLIS = 100;

    private final Qpair qpair;
    private final int idlePolls;
    private final long timeoutNanos;
    private int emptyPolls;

    /** Sleeps on {@code qpair} after {@value #DEFAULT_IDLE_POLLS} empty passes, for at most {@value #DEFAULT_TIMEOUT_MILLIS} ms. */
    public QpairIdleStrategy(Qpair qpair) {
        this(qpair, DEFAULT_IDLE_POLLS, DEFAULT_TIMEOUT_MILLIS);
    }

    /** Sleeps after {@code idlePolls} (>= 0; 0: never) empty passes, for at most {@code timeoutMillis} (>= 1). */
    public QpairIdleStrategy(Qpair qpair, int idlePolls, int timeoutMillis) {
        if (idlePolls < 0) throw new IllegalArgumentException("idlePolls=" + idlePolls + ": allowed >= 0 (0: never sleep)");
        if (timeoutMillis < 1) throw new IllegalArgumentException("timeoutMillis=" + timeoutMillis + ": allowed >= 1");
        this.qpair = qpair;
        this.idlePolls = idlePolls;
        this.timeoutNanos = timeoutMillis * 1_000_000L;
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
        if (idlePolls == 0 || ++emptyPolls < idlePolls) {
            Thread.onSpinWait();
            return;
        }
        emptyPolls = 0;
        qpair.awaitCompletions(timeoutNanos);
    }

    @Override
    public void reset() {
        emptyPolls = 0;
    }

    @Override
    public String alias() {
        return ALIAS;
    }
}
