package org.jpdk.app.pktgen;

import org.jpdk.eal.LcoreCounters;

/** A stream's counters: written only by the lcore that runs the stream, read by the main lcore. */
class Counters {
    private final LcoreCounters c;

    Counters(int n) {
        c = new LcoreCounters(n);
    }

    final void add(int k, long n) {
        c.add(k, n);
    }

    final void put(int k, long v) {
        c.set(k, v);
    }

    final long get(int k) {
        return c.get(k);
    }
}
