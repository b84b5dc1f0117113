package org.jpdk.ethdev;

/**
 * 128 bytes of padding in front of a queue's counters, so that two queues polled by two lcores
 * never share a cache line (or an adjacent-line prefetch pair) through objects allocated side by
 * side at setup. Superclass fields are laid out first, so the counters of a subclass start after it.
 */
abstract class QueuePad {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}
