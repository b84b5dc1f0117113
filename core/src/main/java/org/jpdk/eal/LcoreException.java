package org.jpdk.eal;

/**
 * A function launched on an lcore threw; {@link #lcoreId()} says which lcore, the cause is what it threw.
 * Thrown by {@link Eal#waitLcore} and {@link Eal#mpWaitLcore} in the waiting thread.
 */
public final class LcoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int lcoreId;

    LcoreException(int lcoreId, Throwable cause) {
        super("lcore " + lcoreId + ": launched function threw " + cause, cause);
        this.lcoreId = lcoreId;
    }

    public int lcoreId() {
        return lcoreId;
    }
}
