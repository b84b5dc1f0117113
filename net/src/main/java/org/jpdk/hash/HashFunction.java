package org.jpdk.hash;

import java.lang.foreign.MemorySegment;

/**
 * The 32-bit hash of a key of {@code len} bytes at {@code off} of {@code key}, seeded with
 * {@code initVal} (DPDK's {@code rte_hash_function}). A table takes the low bits as its primary
 * bucket and the top 16 bits as the key's signature, so all 32 bits should be well mixed.
 * Implementations must be pure (same input, same output, from any thread), read nothing outside
 * the key, and allocate nothing: a lookup calls it once per key.
 */
@FunctionalInterface
public interface HashFunction {
    int hash(MemorySegment key, long off, int len, int initVal);

    /** CRC32C, bit-compatible with DPDK's {@code rte_hash_crc} (its default on x86): see {@link HashCrc}. */
    HashFunction CRC32C = HashCrc::hash;

    /** Bob Jenkins' lookup3, bit-compatible with DPDK's {@code rte_jhash}: see {@link JHash}. */
    HashFunction JHASH = JHash::hash;
}
