package org.jpdk.eal;

/**
 * The statistics of one socket's malloc heap, as DPDK's {@code rte_malloc_socket_stats}. Memzones
 * are carved from the same heaps, so their bytes count as allocated here.
 * {@code heapTotalBytes == heapFreeBytes + heapAllocBytes} always holds; {@code freeCount} is the
 * number of free elements (after merging), {@code allocCount} the number of live allocations.
 */
public record MallocSocketStats(int socketId, long heapTotalBytes, long heapFreeBytes, long heapAllocBytes,
                                long greatestFreeBytes, int freeCount, int allocCount) {
}
