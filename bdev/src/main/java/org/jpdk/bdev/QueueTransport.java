package org.jpdk.bdev;

import java.lang.foreign.MemorySegment;

/**
 * The queue beneath a {@link Qpair}, as SPDK's NVMe transport beneath its request layer: a
 * submission queue the qpair fills with entries and a completion queue it reads back, each entry
 * named by a 64-bit tag the qpair chooses (its tracker) and gets back with the result. The qpair
 * keeps everything above it (requests, queueing, splitting, timeouts, abort, removal); a
 * transport only encodes entries, rings the doorbell and hands completions back.
 * {@link UringQueue} (io_uring) is the transport these machines can run; an NVMe PCIe queue pair
 * over VFIO would be another (64-byte commands with PRP lists, MMIO doorbells, completions found
 * by their phase bit), see docs/prog_guide/bdev.md.
 *
 * <p>Contract: one thread (the qpair's lcore) calls everything but {@link #close}. The qpair never
 * fills more entries than the queue has free ({@link #entries}); the entry methods only fill, the
 * device sees them after {@link #doorbell}. Completions are read one at a time:
 * {@link #completionsReady}, then {@link #completionTag} and {@link #completionResult} of the
 * oldest, then {@link #nextCompletion}. None of these allocates.
 */
interface QueueTransport extends AutoCloseable {
    /** Entries the submission queue holds: the most the qpair keeps in flight, I/O and cancels together. */
    int entries();

    /**
     * Reads {@code len} bytes at device byte {@code offset} into {@code addr}; {@code bufferSlot}
     * is the registered buffer holding it ({@link #bufferSlot}), or -1.
     */
    void read(long tag, long offset, long addr, int len, int bufferSlot);

    void write(long tag, long offset, long addr, int len, int bufferSlot);

    /** A read into {@code count} iovecs (struct iovec, 16 bytes each) at {@code iovecs}. */
    void readv(long tag, long offset, long iovecs, int count);

    void writev(long tag, long offset, long iovecs, int count);

    /** Makes completed writes durable. */
    void flush(long tag);

    void writeZeroes(long tag, long offset, long len);

    /** Deallocates a range, which then reads as zeroes. */
    void unmap(long tag, long offset, long len);

    /** Asks the device to drop the entry tagged {@code target}; its own completion says little. */
    void cancel(long tag, long target);

    /** An entry that does nothing, completing with 0 (for tests of the completion checks). */
    void nop(long tag);

    /**
     * The doorbell: hands the entries filled since the last call to the device, and collects
     * completions the device holds for the qpair; {@code inflight} says whether any entry is out.
     * Returns 0, or {@code -errno} when the queue is broken (nothing it holds will come back).
     */
    int doorbell(boolean inflight);

    /**
     * Sleeps until a completion is ready or {@code timeoutNanos} pass; returns 1 if it slept, 0 if it
     * cannot (no bounded wait on this kernel), {@code -errno} when the queue is broken.
     */
    int await(long timeoutNanos);

    /** Completions ready to read (0 also when the device's index is out of bounds: counted in {@link #badCompletions}). */
    int completionsReady();

    long completionTag();

    /** The oldest ready completion's result: bytes transferred, or {@code -errno}. */
    int completionResult();

    /** Frees the oldest completion's slot for the device. */
    void nextCompletion();

    /** The registered buffer slot holding {@code [addr, addr + len)} of {@code buf}, or -1. */
    int bufferSlot(MemorySegment buf, long addr, long len);

    /** The registered memory of this queue, which {@link BdevMemory} keeps in step. */
    FixedBuffers buffers();

    /** How it is set up, for logs: {@code io_uring SUBMIT_ALL|COOP_TASKRUN|TASKRUN_FLAG|CQSIZE}. */
    String describe();

    /** Doorbells that entered the kernel, those to repeat (busy), sleeps, and impossible completion indexes. */
    long enters();

    long retries();

    long sleeps();

    long badCompletions();

    /** Releases the queue (and the device's file); late calls throw IllegalStateException. */
    @Override
    void close();
}
