package org.jpdk.eal;

/**
 * A piece of EAL memory described as a peer maps it: {@code length} bytes at {@code offset} of the
 * file behind descriptor {@code fd} (a memfd or a hugetlbfs file). A peer that receives the
 * descriptor (SCM_RIGHTS) maps {@code [mapOffset(), offset + length)} with {@code MAP_SHARED} and
 * finds the first byte at {@code offset - mapOffset()} into its mapping: an mmap offset must be a
 * multiple of the page size, {@code pageSize} here (2 MiB for hugepages). The descriptor belongs
 * to EAL memory; it stays valid while the memory is mapped.
 *
 * @param fd       the descriptor of the backing file
 * @param offset   the file offset of the first byte
 * @param length   the bytes described
 * @param pageSize the page size of the file, to which a peer's mmap offset must be aligned
 */
public record FileRange(int fd, long offset, long length, long pageSize) {
    /** The page-aligned file offset a peer maps from. */
    public long mapOffset() {
        return offset - offset % pageSize;
    }

    /** The page-rounded length a peer maps from {@link #mapOffset()} to cover the range. */
    public long mapLength() {
        long end = offset + length;
        return (end + pageSize - 1) / pageSize * pageSize - mapOffset();
    }
}
