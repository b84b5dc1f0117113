/**
 * Lockless rings, as DPDK's {@code lib/ring}: {@link org.jpdk.ring.Ring} carries object
 * references on the Java heap, with DPDK's four sync modes per side (MP/MC, SP/SC, HTS, RTS),
 * bulk (all or nothing) and burst (as many as fit) calls, per-call {@code sp/mp/sc/mc} variants and
 * a name registry ({@link org.jpdk.ring.Ring#lookup}); {@link org.jpdk.ring.LongRing} carries
 * 64-bit values in a caller-supplied memory segment that another process may map and attach to
 * (MP/MC and SP/SC only: HTS/RTS need 64-bit CAS pairs in the shared header, which a later
 * version may add). Fast paths allocate nothing and return counts; only creation throws, and a
 * LongRing's MP/MC calls once a peer died mid-call ({@link org.jpdk.ring.BrokenRingException}).
 */
package org.jpdk.ring;
