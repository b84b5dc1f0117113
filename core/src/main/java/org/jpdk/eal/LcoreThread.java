package org.jpdk.eal;

/**
 * The platform thread that runs one lcore. Carrying the lcore id in a final field of the thread
 * object makes {@link Lcore#id()} a type check and a field load: no ThreadLocal lookup.
 */
public class LcoreThread extends Thread {
    private final int lcoreId;

    public LcoreThread(int lcoreId, String name, Runnable body) {
        super(null, body, name, 0, false);
        if (lcoreId < 0 || lcoreId >= Lcore.MAX) {
            throw new IllegalArgumentException("lcore id " + lcoreId + " out of range 0.." + (Lcore.MAX - 1));
        }
        this.lcoreId = lcoreId;
        setDaemon(true);
    }

    /** The lcore this thread runs. */
    public final int lcoreId() {
        return lcoreId;
    }
}
