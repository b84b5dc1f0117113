package org.jpdk.net;

/**
 * An RSS redirection table (RETA): the low bits of a packet's RSS hash index a table of queue
 * numbers, as a NIC spreads flows over its receive queues (DPDK's rte_eth_rss_reta_entry64
 * entries; sizes 64 to 512 in DPDK's NICs). A driver that spreads queues in software uses it
 * with {@link Toeplitz}: {@code queue = reta.queue(mbuf.rssHash)}. A new table spreads the
 * queues round robin, as drivers do by default. Lookups allocate nothing; updates are not
 * synchronised with lookups on other threads (change it while the port is stopped, or accept
 * that a lookup may see the old or the new entry).
 */
public final class Reta {
    /** Largest table: a queue id is 16 bits and so is the index range drivers use. */
    public static final int MAX_SIZE = 1 << 16;

    private final short[] queues;
    private final int mask;

    /**
     * A table of {@code size} entries (a power of two, 1 to {@link #MAX_SIZE}) over
     * {@code nbQueues} queues (1 to 65536), filled round robin.
     */
    public Reta(int size, int nbQueues) {
        if (size < 1 || size > MAX_SIZE || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("RETA size: " + size + ", must be a power of two from 1 to " + MAX_SIZE);
        }
        queues = new short[size];
        mask = size - 1;
        fill(nbQueues);
    }

    /** Refills the table round robin over {@code nbQueues} queues (1 to 65536): entry i gets queue i % nbQueues. */
    public void fill(int nbQueues) {
        if (nbQueues < 1 || nbQueues > 1 << 16) {
            throw new IllegalArgumentException("RETA queues: " + nbQueues + ", must be 1 to 65536");
        }
        for (int i = 0; i < queues.length; i++) queues[i] = (short) (i % nbQueues);
    }

    /**
     * Replaces every entry with {@code entries} (as a driver gets them in
     * {@code EthDevOps.retaUpdate}); IllegalArgumentException, nothing changed, if the length
     * is not {@link #size} or an entry is outside 0 to 65535.
     */
    public void load(int[] entries) {
        if (entries.length != queues.length) {
            throw new IllegalArgumentException("RETA entries: " + entries.length + ", must be " + queues.length);
        }
        for (int i = 0; i < entries.length; i++) {
            if (entries[i] < 0 || entries[i] > 0xffff) {
                throw new IllegalArgumentException("RETA entry " + i + ": queue " + entries[i] + ", must be 0 to 65535");
            }
        }
        for (int i = 0; i < entries.length; i++) queues[i] = (short) entries[i];
    }

    /** The queue for {@code rssHash}: the entry its low bits select. Allocates nothing. */
    public int queue(int rssHash) {
        return queues[rssHash & mask] & 0xffff;
    }

    public int size() {
        return queues.length;
    }

    public int get(int index) {
        return queues[checkIndex(index)] & 0xffff;
    }

    /** Points entry {@code index} at {@code queue} (0 to 65535). */
    public void set(int index, int queue) {
        if (queue < 0 || queue > 0xffff) throw new IllegalArgumentException("RETA queue: " + queue + ", must be 0 to 65535");
        queues[checkIndex(index)] = (short) queue;
    }

    private int checkIndex(int index) {
        if (index < 0 || index >= queues.length) {
            throw new IllegalArgumentException("RETA index: " + index + ", must be 0 to " + (queues.length - 1));
        }
        return index;
    }
}
