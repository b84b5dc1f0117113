package org.jpdk.eal;

/**
 * A library that comes up with the EAL, found through {@link java.util.ServiceLoader}: ethdev
 * probes the {@code --vdev} devices here, so that ports exist when {@link Eal#init} returns, as in
 * DPDK. Subsystems run after memory is set up, in ascending {@link #order()}, and register their own
 * teardown with {@link Eal#onCleanup} (which runs before memory is released).
 */
public interface EalSubsystem {
    /** Brings the subsystem up for {@code eal}; a user mistake throws {@link EalArgumentException}. */
    void init(Eal eal);

    /** Lower runs first. */
    default int order() {
        return 100;
    }
}
