package org.jpdk.eal;

import java.util.concurrent.locks.LockSupport;

/**
 * Backs off in three stages while there is no work, as Agrona's {@code BackoffIdleStrategy}: first
 * {@code maxSpins} busy spins ({@link Thread#onSpinWait()}), then {@code maxYields}
 * {@link Thread#yield()}s, then parks ({@link LockSupport#parkNanos}) for a period that starts at
 * {@code minParkNanos} and doubles on each empty pass up to {@code maxParkNanos}. Any work puts it
 * back to spinning. The cost of a quiet lcore is then about one wake-up per {@code maxParkNanos}
 * (1 ms by default), and the price is up to that much latency on the first packet after a quiet
 * spell. No syscall other than the park's futex, no allocation. One lcore per instance.
 */
public final class BackoffIdleStrategy implements IdleStrategy {
    public static final String ALIAS = "backoff";
    public static final long DEFAULT_MAX_SPINS = 10, DEFAULT_MAX_YIELDS = 5;
    public static final long DEFAULT_MIN_PARK_NANOS = 1_000, DEFAULT_MAX_PARK_NANOS = 1_000_000;

    private static final int NOT_IDLE = 0, SPINNING = 1, YIELDING = 2, PARKING = 3;

    private final long maxSpins, maxYields, minParkNanos, maxParkNanos;
    private int state = NOT_IDLE;
    private long spins, yields, parkNanos;

    /** Agrona's defaults: 10 spins, 5 yields, parks from 1 µs to 1 ms. */
    public BackoffIdleStrategy() {
        this(DEFAULT_MAX_SPINS, DEFAULT_MAX_YIELDS, DEFAULT_MIN_PARK_NANOS, DEFAULT_MAX_PARK_NANOS);
    }

    public BackoffIdleStrategy(long maxSpins, long maxYields, long minParkNanos, long maxParkNanos) {
        if (maxSpins < 0) throw new IllegalArgumentException("maxSpins=" + maxSpins + ": allowed >= 0");
        if (maxYields < 0) throw new IllegalArgumentException("maxYields=" + maxYields + ": allowed >= 0");
        if (minParkNanos < 1) throw new IllegalArgumentException("minParkNanos=" + minParkNanos + ": allowed >= 1");
        if (maxParkNanos < minParkNanos) {
            throw new IllegalArgumentException("maxParkNanos=" + maxParkNanos + ": allowed >= minParkNanos (" + minParkNanos + ")");
        }
        this.maxSpins = maxSpins;
        this.maxYields = maxYields;
        this.minParkNanos = minParkNanos;
        this.maxParkNanos = maxParkNanos;
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            reset();
            return;
        }
        idle();
    }

    @Override
    public void idle() {
        switch (state) {
            case NOT_IDLE -> {
                state = SPINNING;
                spins = 1;
                Thread.onSpinWait();
            }
            case SPINNING -> {
                Thread.onSpinWait();
                if (++spins > maxSpins) {
                    state = YIELDING;
                    yields = 0;
                }
            }
            case YIELDING -> {
                if (++yields > maxYields) {
                    state = PARKING;
                    parkNanos = minParkNanos;
                    LockSupport.parkNanos(parkNanos);
                } else {
                    Thread.yield();
                }
            }
            default -> {
                LockSupport.parkNanos(parkNanos);
                parkNanos = Math.min(parkNanos << 1, maxParkNanos);
            }
        }
    }

    @Override
    public void reset() {
        state = NOT_IDLE;
        spins = 0;
        yields = 0;
        parkNanos = minParkNanos;
    }

    /** The park period the next parking step uses (0 while spinning or yielding), for tests and displays. */
    public long currentParkNanos() {
        return state == PARKING ? parkNanos : 0;
    }

    @Override
    public String alias() {
        return ALIAS;
    }

    @Override
    public String toString() {
        return "BackoffIdleStrategy{alias=" + ALIAS + ", maxSpins=" + maxSpins + ", maxYields=" + maxYields
                + ", minParkNanos=" + minParkNanos + ", maxParkNanos=" + maxParkNanos + "}";
    }
}
