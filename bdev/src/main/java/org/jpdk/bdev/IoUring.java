package org.jpdk.bdev;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.Mapping;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One io_uring instance as the queue beneath a {@link Qpair}: the submission ring (SQ), the
 * completion ring (CQ) and the SQE array, mapped from the ring's fd and read and written through
 * bounded segments of a shared arena, so that an lcore touching the rings after {@link #close}
 * gets IllegalStateException, never a fault. Offsets inside the rings come from the kernel's
 * {@code io_uring_params} at setup; only the SQE and CQE layouts below are fixed by the ABI.
 *
 * <pre>
 * struct io_uring_params (120 bytes, in/out of io_uring_setup)
 *   +0   u32 sq_entries      +4  u32 cq_entries     +8  u32 flags (IORING_SETUP_*)
 *   +12  u32 sq_thread_cpu   +16 u32 sq_thread_idle +20 u32 features (IORING_FEAT_*, out)
 *   +24  u32 wq_fd           +28 u32 resv[3]
 *   +40  struct io_sqring_offsets sq_off  (40 bytes, out)
 *   +80  struct io_cqring_offsets cq_off  (40 bytes, out)
 *
 * struct io_sqring_offsets                    struct io_cqring_offsets
 *   +0  head          kernel writes             +0  head          we write
 *   +4  tail          we write                  +4  tail          kernel writes
 *   +8  ring_mask     +12 ring_entries          +8  ring_mask     +12 ring_entries
 *   +16 flags         kernel (NEED_WAKEUP,      +16 overflow      kernel
 *                     CQ_OVERFLOW, TASKRUN)     +20 cqes          offset of the CQE array
 *   +20 dropped       +24 array                 +24 flags         +28 resv1
 *   +28 resv1         +32 u64 user_addr         +32 u64 user_addr
 *
 * struct io_uring_sqe (64 bytes), written by us as eight little-endian longs
 *   +0  u8 opcode  +1 u8 flags (IOSQE_*)  +2 u16 ioprio  +4 s32 fd (or fixed-file index)
 *   +8  u64 off                file offset in bytes
 *   +16 u64 addr               buffer, iovec array, fallocate length, or the user_data to cancel
 *   +24 u32 len                bytes, iovec count, or fallocate mode
 *   +28 u32 rw_flags / fsync_flags / cancel_flags
 *   +32 u64 user_data          handed back in the CQE
 *   +40 u16 buf_index          fixed buffer of READ_FIXED/WRITE_FIXED
 *   +42 u16 personality  +44 s32 splice_fd_in / file_index  +48 u64 addr3  +56 u64 pad
 *
 * struct io_uring_cqe (16 bytes), written by the kernel
 *   +0  u64 user_data   +8 s32 res (bytes, or -errno)   +12 u32 flags
 * </pre>
 *
 * <p>Memory ordering: the argument is in {@link Qpair}'s class comment; here the accessors carry
 * it: {@link #publish} is the SQ tail's release store (R1), {@link #cqReady} the CQ tail's acquire
 * load (A1), {@link #cqAdvance} the CQ head's release store (R2), {@link #sqThreadNeedsWakeup} the
 * full fence before reading {@code NEED_WAKEUP}.
 *
 * <p>Thread contract: one thread (the qpair's lcore) fills, enters and reaps; {@link #close} may
 * come from another thread once that one stopped, or it gets IllegalStateException.
 */
final class IoUring implements AutoCloseable {
    static final int SETUP_IOPOLL = 1, SETUP_SQPOLL = 1 << 1, SETUP_CQSIZE = 1 << 3, SETUP_CLAMP = 1 << 4,
            SETUP_SUBMIT_ALL = 1 << 7, SETUP_COOP_TASKRUN = 1 << 8, SETUP_TASKRUN_FLAG = 1 << 9,
            SETUP_SINGLE_ISSUER = 1 << 12, SETUP_DEFER_TASKRUN = 1 << 13, SETUP_NO_SQARRAY = 1 << 16;
    static final int FEAT_SINGLE_MMAP = 1, FEAT_NODROP = 1 << 1, FEAT_SUBMIT_STABLE = 1 << 2, FEAT_EXT_ARG = 1 << 8;
    static final int ENTER_GETEVENTS = 1, ENTER_SQ_WAKEUP = 1 << 1, ENTER_EXT_ARG = 1 << 3;
    static final int SQ_NEED_WAKEUP = 1, SQ_CQ_OVERFLOW = 1 << 1, SQ_TASKRUN = 1 << 2;
    static final int OP_NOP = 0, OP_READV = 1, OP_WRITEV = 2, OP_FSYNC = 3, OP_READ_FIXED = 4, OP_WRITE_FIXED = 5,
            OP_ASYNC_CANCEL = 14, OP_FALLOCATE = 17, OP_READ = 22, OP_WRITE = 23;
    static final int SQE_FIXED_FILE = 1;
    static final int FSYNC_DATASYNC = 1;
    static final int REGISTER_FILES = 2, UNREGISTER_FILES = 3, REGISTER_BUFFERS2 = 15, REGISTER_BUFFERS_UPDATE = 16;
    static final int RSRC_REGISTER_SPARSE = 1;
    static final long OFF_SQ_RING = 0L, OFF_CQ_RING = 0x8000000L, OFF_SQES = 0x10000000L;
    static final int SQE_SIZE = 64, CQE_SIZE = 16, PARAMS_SIZE = 120;

    static {
        // the SQE is written as longs composed of its little-endian fields
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) throw new ExceptionInInitializerError("io_uring: big-endian host");
    }

    /** sq tail, cq head: release stores; cq tail: acquire load; sq flags: see {@link #sqFlags}. */
    private static final VarHandle INT = JAVA_INT.varHandle();

    final int fd;
    final int sqEntries, cqEntries;
    final int setupFlags, features;
    private final int sqMask, cqMask;
    private final Arena arena;
    private final MemorySegment sqRing, cqRing, sqes;
    private final long sqTailOff, sqFlagsOff, cqHeadOff, cqTailOff, cqesOff;

    /** The next SQE to fill, and how many of those filled the kernel has been handed by enter. */
    private int sqTail, sqEntered;
    /** The next CQE to read. */
    private int cqHead;
    /** CQ tails that were further from our head than the ring holds: a broken promise, counted. */
    long badCqTails;

    private IoUring(int fd, MemorySegment params, Arena arena, MemorySegment sqRing, MemorySegment cqRing,
                    MemorySegment sqes) {
        this.fd = fd;
        this.arena = arena;
        this.sqRing = sqRing;
        this.cqRing = cqRing;
        this.sqes = sqes;
        sqEntries = params.get(JAVA_INT, 0);
        cqEntries = params.get(JAVA_INT, 4);
        setupFlags = params.get(JAVA_INT, 8);
        features = params.get(JAVA_INT, 20);
        sqMask = sqEntries - 1;
        cqMask = cqEntries - 1;
        sqTailOff = params.get(JAVA_INT, 40 + 4);
        sqFlagsOff = params.get(JAVA_INT, 40 + 16);
        cqHeadOff = params.get(JAVA_INT, 80);
        cqTailOff = params.get(JAVA_INT, 80 + 4);
        cqesOff = params.get(JAVA_INT, 80 + 20);
        sqTail = (int) INT.getAcquire(sqRing, sqTailOff);
        sqEntered = sqTail;
        cqHead = (int) INT.getAcquire(cqRing, cqHeadOff);
    }

    /**
     * Sets up a ring of {@code entries} SQEs (a power of two) and {@code 2 * entries} CQEs with
     * {@code flags}; {@code optional} flags are dropped one at a time, highest first, while the
     * kernel refuses them with EINVAL (an older kernel). Throws LinuxException naming the entries,
     * the flags and {@code what}: ENOMEM with a hint about RLIMIT_MEMLOCK, EPERM when io_uring is
     * disabled by {@code kernel.io_uring_disabled}.
     */
    static IoUring create(int entries, int flags, int optional, int sqThreadIdleMillis, String what) {
        int want = flags | optional;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment p = tmp.allocate(PARAMS_SIZE, 8);
            int fd;
            while (true) {
                p.fill((byte) 0);
                p.set(JAVA_INT, 4, 2 * entries);
                p.set(JAVA_INT, 8, want | SETUP_CQSIZE);
                p.set(JAVA_INT, 16, sqThreadIdleMillis);
                fd = IoUringCalls.setup(entries, p);
                if (fd >= 0) break;
                int highest = Integer.highestOneBit(want & optional);
                if (fd == -Errno.EINVAL && highest != 0) {
                    want &= ~highest;
                    continue;
                }
                throw new HintedLinuxException("io_uring_setup", "entries=" + entries + ", flags=" + flagNames(want) + ", " + what,
                        -fd, hint(-fd));
            }
            return map(fd, p, what);
        }
    }

    private static String hint(int errno) {
        return switch (errno) {
            case Errno.ENOMEM -> "raise RLIMIT_MEMLOCK (ulimit -l) or use a smaller depth";
            case Errno.EPERM -> "io_uring is disabled for this user (sysctl kernel.io_uring_disabled)";
            case Errno.ENOSYS -> "this kernel has no io_uring (Linux 5.1+ with CONFIG_IO_URING)";
            default -> "";
        };
    }

    private static IoUring map(int fd, MemorySegment p, String what) {
        int sqEntries = p.get(JAVA_INT, 0), cqEntries = p.get(JAVA_INT, 4), features = p.get(JAVA_INT, 20);
        int flags = p.get(JAVA_INT, 8);
        long sqArray = Integer.toUnsignedLong(p.get(JAVA_INT, 40 + 24));
        long sqRingLen = (flags & SETUP_NO_SQARRAY) != 0 ? p.get(JAVA_INT, 40 + 20) + 64L : sqArray + 4L * sqEntries;
        long cqRingLen = Integer.toUnsignedLong(p.get(JAVA_INT, 80 + 20)) + (long) CQE_SIZE * cqEntries;
        // with SQPOLL or no SQ array, the SQ ring's offsets end at the flags/dropped words; the
        // mapping must still cover every field the kernel told us about
        long sqFields = Math.max(Integer.toUnsignedLong(p.get(JAVA_INT, 40 + 16)), Integer.toUnsignedLong(p.get(JAVA_INT, 40 + 20))) + 4;
        sqRingLen = Math.max(sqRingLen, sqFields);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment sqRing, cqRing;
            String rw = "io_uring fd=" + fd + ", " + what;
            if ((features & FEAT_SINGLE_MMAP) != 0) {
                long len = Math.max(sqRingLen, cqRingLen);
                sqRing = cqRing = mapping(arena, fd, len, OFF_SQ_RING, rw + ", rings of " + len + " bytes");
            } else {
                sqRing = mapping(arena, fd, sqRingLen, OFF_SQ_RING, rw + ", SQ ring of " + sqRingLen + " bytes");
                cqRing = mapping(arena, fd, cqRingLen, OFF_CQ_RING, rw + ", CQ ring of " + cqRingLen + " bytes");
            }
            MemorySegment sqes = mapping(arena, fd, (long) SQE_SIZE * sqEntries, OFF_SQES, rw + ", SQEs");
            if (Integer.bitCount(sqEntries) != 1 || cqEntries < 2 * sqEntries
                    || sqRing.get(JAVA_INT, Integer.toUnsignedLong(p.get(JAVA_INT, 40 + 8))) != sqEntries - 1
                    || cqRing.get(JAVA_INT, Integer.toUnsignedLong(p.get(JAVA_INT, 80 + 8))) != cqEntries - 1) {
                throw new IllegalStateException("io_uring_setup(" + what + "): the kernel gave sq_entries=" + sqEntries
                        + ", cq_entries=" + cqEntries + " and ring masks that do not match them");
            }
            if ((flags & SETUP_NO_SQARRAY) == 0) {
                // slot i of the index array names SQE i, once and for all: SQE k goes in at tail k
                for (int i = 0; i < sqEntries; i++) sqRing.set(JAVA_INT, sqArray + 4L * i, i);
            }
            return new IoUring(fd, p, arena, sqRing, cqRing, sqes);
        } catch (RuntimeException e) {
            arena.close();
            Libc.close(fd);
            throw e;
        }
    }

    /** A shared mapping of the ring fd, a {@link Mapping} of {@code arena}: closing the arena makes late access throw, then unmaps. */
    private static MemorySegment mapping(Arena arena, int fd, long len, long offset, String what) {
        return Mapping.map(arena, len, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, offset, what);
    }

    static String flagNames(int flags) {
        String[] names = {"IOPOLL", "SQPOLL", "SQ_AFF", "CQSIZE", "CLAMP", "ATTACH_WQ", "R_DISABLED", "SUBMIT_ALL",
                "COOP_TASKRUN", "TASKRUN_FLAG", "SQE128", "CQE32", "SINGLE_ISSUER", "DEFER_TASKRUN", "NO_MMAP",
                "REGISTERED_FD_ONLY", "NO_SQARRAY"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            if ((flags & (1 << i)) == 0) continue;
            if (!sb.isEmpty()) sb.append('|');
            sb.append(i < names.length ? names[i] : "0x" + Integer.toHexString(1 << i));
        }
        return sb.isEmpty() ? "0" : sb.toString();
    }

    // ---- submission: fill SQEs at the local tail, publish, enter

    /**
     * Fills the SQE at the local tail and advances it; not visible to the kernel until
     * {@link #publish}. The caller guarantees a free slot (see the class comment). Plain stores,
     * no allocation.
     */
    void prep(int opcode, int sqeFlags, int fd, long offset, long addr, int len, int opFlags, long userData, int bufIndex) {
        long o = (long) (sqTail & sqMask) * SQE_SIZE;
        sqes.set(JAVA_LONG, o, (opcode & 0xff) | (sqeFlags & 0xffL) << 8 | (long) fd << 32);
        sqes.set(JAVA_LONG, o + 8, offset);
        sqes.set(JAVA_LONG, o + 16, addr);
        sqes.set(JAVA_LONG, o + 24, (len & 0xffffffffL) | (long) opFlags << 32);
        sqes.set(JAVA_LONG, o + 32, userData);
        sqes.set(JAVA_LONG, o + 40, bufIndex & 0xffffL);
        sqes.set(JAVA_LONG, o + 48, 0L);
        sqes.set(JAVA_LONG, o + 56, 0L);
        sqTail++;
    }

    /** Makes every SQE filled so far visible to the kernel: release-store of the SQ tail (R1). */
    void publish() {
        INT.setRelease(sqRing, sqTailOff, sqTail);
    }

    /** SQEs filled but not yet handed to the kernel by {@link #enter}. */
    int unentered() {
        return sqTail - sqEntered;
    }

    /** With SQPOLL the kernel thread takes SQEs by itself: count them as handed over. */
    void handedToSqThread() {
        sqEntered = sqTail;
    }

    /**
     * Whether the SQPOLL thread sleeps and needs {@code ENTER_SQ_WAKEUP}: a full fence after the
     * tail store (StoreLoad), then the flags.
     */
    boolean sqThreadNeedsWakeup() {
        VarHandle.fullFence();
        return ((int) INT.getVolatile(sqRing, sqFlagsOff) & SQ_NEED_WAKEUP) != 0;
    }

    /**
     * The kernel's SQ flags (TASKRUN: completions wait for us to enter; CQ_OVERFLOW). An opaque
     * read is enough: a flag seen late costs one more poll, never a lost completion, because the
     * kernel keeps it set until we enter.
     */
    int sqFlags() {
        return (int) INT.getOpaque(sqRing, sqFlagsOff);
    }

    /**
     * {@code io_uring_enter} handing over the unentered SQEs (all of them when {@code submit}),
     * with {@code flags}; returns the SQEs consumed or {@code -errno}. Allocates nothing unless
     * the call fails.
     */
    int enter(boolean submit, int flags) {
        int n = submit ? sqTail - sqEntered : 0;
        int r = IoUringCalls.enter(fd, n, 0, flags);
        if (r > 0) sqEntered += Math.min(r, n);
        return r;
    }

    /**
     * Sleeps in {@code io_uring_enter} until a CQE is there or {@code waitArg}'s timeout passes
     * ({@code struct io_uring_getevents_arg}, 24 bytes, naming a {@code __kernel_timespec}); submits
     * nothing. Returns 0 or {@code -errno} (ETIME: timed out). Needs IORING_FEAT_EXT_ARG (5.11).
     */
    int waitCqe(MemorySegment waitArg) {
        return IoUringCalls.enterWait(fd, 1, ENTER_GETEVENTS | ENTER_EXT_ARG, waitArg.address(), 24);
    }

    // ---- completion: read CQEs between our head and the kernel's tail

    /**
     * How many CQEs are ready: acquire-load of the CQ tail (A1). A distance beyond the ring's size
     * cannot come from a correct kernel; it is counted in {@link #badCqTails} and read as none.
     */
    int cqReady() {
        int n = (int) INT.getAcquire(cqRing, cqTailOff) - cqHead;
        if (n <= 0) return 0;
        if (n > cqEntries) {
            badCqTails++;
            return 0;
        }
        return n;
    }

    /** The user_data of the CQE at our head (valid only when {@link #cqReady} said so). */
    long cqeUserData() {
        return cqRing.get(JAVA_LONG, cqesOff + (long) (cqHead & cqMask) * CQE_SIZE);
    }

    /** The res of the CQE at our head. */
    int cqeRes() {
        return cqRing.get(JAVA_INT, cqesOff + (long) (cqHead & cqMask) * CQE_SIZE + 8);
    }

    /** Frees the CQE at our head for the kernel: release-store of the CQ head (R2). */
    void cqAdvance() {
        INT.setRelease(cqRing, cqHeadOff, ++cqHead);
    }

    /** Unmaps the rings (late access then throws IllegalStateException) and closes the ring fd. */
    @Override
    public void close() {
        try {
            arena.close();
        } finally {
            Libc.close(fd);
        }
    }
}
