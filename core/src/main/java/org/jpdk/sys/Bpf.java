package org.jpdk.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The {@code bpf(2)} system call, for the commands a driver needs to run its own XDP program: make
 * a map, put and remove entries, load a program (with the verifier's log when the kernel refuses
 * it), attach it through a bpf link, and ask for a program's id. libc has no wrapper, so it goes
 * through {@code syscall(2)} with the architecture's number; every argument is passed as a 64-bit
 * value, since {@code syscall} reads its variadic arguments as {@code long}.
 *
 * <pre>
 * union bpf_attr, the fields used (uapi linux/bpf.h; a shorter attr than the kernel's is zero-extended)
 *   BPF_MAP_CREATE        +0 u32 map_type  +4 u32 key_size  +8 u32 value_size  +12 u32 max_entries
 *                         +16 u32 map_flags  +28 char map_name[16]
 *   BPF_MAP_*_ELEM        +0 u32 map_fd  +8 u64 key ptr  +16 u64 value ptr  +24 u64 flags
 *   BPF_PROG_LOAD         +0 u32 prog_type  +4 u32 insn_cnt  +8 u64 insns ptr  +16 u64 license ptr
 *                         +24 u32 log_level  +28 u32 log_size  +32 u64 log_buf ptr  +48 char prog_name[16]
 *                         +68 u32 expected_attach_type
 *   BPF_OBJ_GET_INFO_BY_FD +0 u32 bpf_fd  +4 u32 info_len  +8 u64 info ptr
 *   BPF_LINK_CREATE       +0 u32 prog_fd  +4 u32 target_ifindex  +8 u32 attach_type  +12 u32 flags
 * struct bpf_prog_info: +0 u32 type  +4 u32 id  +64 char name[16]
 * </pre>
 *
 * Control path only: each call allocates its attribute block. Failures throw
 * {@link LinuxException} naming the command and the object ({@code bpf(BPF_MAP_CREATE, XSKMAP
 * jpdk_xsks, 4 entries): EPERM}), except where a caller has to tell errors apart, which get
 * {@code -errno} back.
 */
public final class Bpf {
    public static final int BPF_MAP_CREATE = 0, BPF_MAP_LOOKUP_ELEM = 1, BPF_MAP_UPDATE_ELEM = 2, BPF_MAP_DELETE_ELEM = 3,
            BPF_PROG_LOAD = 5, BPF_OBJ_GET_INFO_BY_FD = 15, BPF_LINK_CREATE = 28;
    public static final int BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_ARRAY = 2, BPF_MAP_TYPE_XSKMAP = 17;
    public static final int BPF_PROG_TYPE_XDP = 6;
    /** Attach type of an XDP link. */
    public static final int BPF_XDP = 37;
    /** Map update flag: create or replace. */
    public static final long BPF_ANY = 0;
    /** Bytes of {@code union bpf_attr} passed: the size in the 6.x uapi header; the kernel zero-extends a shorter one. */
    static final int ATTR_SIZE = 144;
    /** Verifier log buffer for a refused program: enough for the verifier's trace of a small program. */
    public static final int LOG_SIZE = 1 << 20;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL3 = LINKER.downcallHandle(
            LINKER.defaultLookup().find("syscall").orElseThrow(() -> new UnsatisfiedLinkError("libc has no syscall")),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    /** __NR_bpf: 321 on x86-64, 280 on the generic table (aarch64, riscv64). */
    private static final long NR_BPF = System.getProperty("os.arch").matches("amd64|x86_64") ? 321 : 280;

    private Bpf() {
    }

    /** bpf(cmd, attr, ATTR_SIZE); returns the result (an fd for the creating commands) or {@code -errno}. */
    static long call(int cmd, MemorySegment attr) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            // bounded: the kernel reads (and for some commands writes) size = attr.byteSize() bytes of attr
            long r = (long) SYSCALL3.invokeExact(cs, NR_BPF, (long) cmd, attr.address(), (long) attr.byteSize());
            return r >= 0 ? r : -(int) ERRNO.get(cs, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static String typeName(int mapType) {
        return switch (mapType) {
            case BPF_MAP_TYPE_HASH -> "HASH";
            case BPF_MAP_TYPE_ARRAY -> "ARRAY";
            case BPF_MAP_TYPE_XSKMAP -> "XSKMAP";
            default -> "type " + mapType;
        };
    }

    private static void name(MemorySegment attr, long off, String name) {
        byte[] b = name.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(b, 0, attr, JAVA_BYTE, off, Math.min(15, b.length));
    }

    /**
     * BPF_MAP_CREATE; returns the map's fd. {@code name} (up to 15 characters of [A-Za-z0-9_.])
     * is what {@code bpftool map} shows.
     */
    public static int mapCreate(int mapType, int keySize, int valueSize, int maxEntries, int flags, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, 0, mapType);
            attr.set(JAVA_INT, 4, keySize);
            attr.set(JAVA_INT, 8, valueSize);
            attr.set(JAVA_INT, 12, maxEntries);
            attr.set(JAVA_INT, 16, flags);
            name(attr, 28, name);
            long r = call(BPF_MAP_CREATE, attr);
            if (r < 0) {
                throw new LinuxException("bpf", "BPF_MAP_CREATE, " + typeName(mapType) + " " + name + ", " + maxEntries + " entries", (int) -r);
            }
            return (int) r;
        }
    }

    /** BPF_MAP_UPDATE_ELEM of a 4-byte key and 4-byte value (an XSKMAP: queue id to socket fd); returns 0 or {@code -errno}. */
    public static int mapUpdate(int mapFd, int key, int value, long flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocateFrom(JAVA_INT, key), v = a.allocateFrom(JAVA_INT, value);
            MemorySegment attr = a.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, 0, mapFd);
            attr.set(JAVA_LONG, 8, k.address());        // bounded: 4-byte cells; the map's key and value sizes are 4 (checked by the kernel)
            attr.set(JAVA_LONG, 16, v.address());
            attr.set(JAVA_LONG, 24, flags);
            return (int) call(BPF_MAP_UPDATE_ELEM, attr);
        }
    }

    /** BPF_MAP_DELETE_ELEM of a 4-byte key; returns 0 or {@code -errno} (ENOENT: there was none). */
    public static int mapDelete(int mapFd, int key) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocateFrom(JAVA_INT, key);
            MemorySegment attr = a.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, 0, mapFd);
            attr.set(JAVA_LONG, 8, k.address());        // bounded: a 4-byte cell, the key size of the maps this is used on
            return (int) call(BPF_MAP_DELETE_ELEM, attr);
        }
    }

    /** A program the kernel refused: the errno and the verifier's log (empty when it gave none). */
    public static final class VerifierException extends LinuxException {
        private final String log;

        VerifierException(String object, int errno, String log) {
            super("bpf", object, errno);
            this.log = log;
        }

        /** The verifier's log, as the kernel wrote it. */
        public String log() {
            return log;
        }

        /** The first line of the error, then the verifier's log indented, so that it is shown with the error. */
        @Override
        public String getMessage() {
            String first = super.getMessage();
            if (log.isEmpty()) return first;
            StringBuilder sb = new StringBuilder(first).append("; the verifier says:");
            for (String l : log.strip().split("\n")) sb.append("\n    ").append(l);
            return sb.toString();
        }
    }

    /**
     * BPF_PROG_LOAD of {@code insns} (8-byte instructions); returns the program's fd. When the
     * kernel refuses it, loads it again with the verifier's log on and throws
     * {@link VerifierException} carrying that log.
     *
     * @param what    names the program in errors ({@code xdp program jpdk_xsk of 6 instructions})
     * @param name    the kernel's name for it (up to 15 characters), shown by {@code ip link} and bpftool
     */
    public static int progLoad(int progType, MemorySegment insns, String license, String name, int expectedAttachType, String what) {
        if (insns.byteSize() % 8 != 0) throw new IllegalArgumentException("BPF instructions are 8 bytes each; got " + insns.byteSize() + " bytes");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment code = a.allocate(Math.max(8, insns.byteSize()), 8);
            MemorySegment.copy(insns, 0, code, 0, insns.byteSize());
            MemorySegment lic = a.allocateFrom(license);
            MemorySegment attr = a.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, 0, progType);
            attr.set(JAVA_INT, 4, (int) (insns.byteSize() / 8));
            attr.set(JAVA_LONG, 8, code.address());     // bounded: insn_cnt * 8 bytes, the segment's size
            attr.set(JAVA_LONG, 16, lic.address());     // bounded: a NUL-terminated string
            name(attr, 48, name);
            attr.set(JAVA_INT, 68, expectedAttachType);
            long r = call(BPF_PROG_LOAD, attr);
            if (r >= 0) return (int) r;
            // again with the log: the verifier only explains itself when asked
            MemorySegment log = a.allocate(LOG_SIZE);
            attr.set(JAVA_INT, 24, 1);
            attr.set(JAVA_INT, 28, LOG_SIZE);
            attr.set(JAVA_LONG, 32, log.address());     // bounded: the kernel writes at most log_size = LOG_SIZE bytes
            long r2 = call(BPF_PROG_LOAD, attr);
            if (r2 >= 0) return (int) r2;                // loaded the second time (a transient failure)
            int errno = (int) -r;
            if (-r2 != Errno.ENOSPC) errno = (int) -r2;  // ENOSPC: the log did not fit; keep the first errno
            throw new VerifierException("BPF_PROG_LOAD, " + what, errno, log.getString(0));
        }
    }

    /** BPF_LINK_CREATE; returns the link's fd or {@code -errno} (the caller tells EBUSY, EEXIST, EOPNOTSUPP and EINVAL apart). */
    public static int linkCreate(int progFd, int targetIfindex, int attachType, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, 0, progFd);
            attr.set(JAVA_INT, 4, targetIfindex);
            attr.set(JAVA_INT, 8, attachType);
            attr.set(JAVA_INT, 12, flags);
            return (int) call(BPF_LINK_CREATE, attr);
        }
    }

    /** The kernel's id of the program behind {@code progFd} (what {@code ip link} shows as {@code prog/xdp id N}). */
    public static int progId(int progFd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(80, 8);
            MemorySegment attr = a.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, 0, progFd);
            attr.set(JAVA_INT, 4, (int) info.byteSize());
            attr.set(JAVA_LONG, 8, info.address());     // bounded: the kernel writes at most info_len bytes
            long r = call(BPF_OBJ_GET_INFO_BY_FD, attr);
            if (r < 0) throw new LinuxException("bpf", "BPF_OBJ_GET_INFO_BY_FD, prog fd " + progFd, (int) -r);
            return info.get(JAVA_INT, 4);
        }
    }
}
