package org.jpdk.eal;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.Mman;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The EAL memory subsystem, as DPDK's {@code eal_memory.c}: maps pinned memory (hugepages when
 * the kernel has free ones, else 4 KiB pages with one warning), records every mapping as a
 * {@link Memseg}, translates addresses to IOVAs, enforces the -m and --socket-mem limits, and owns
 * the per-socket {@link Malloc} heaps and the {@link Memzone} registry built on them.
 *
 * <p>Default mode: anonymous hugepages ({@code mmap(MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB |
 * MAP_POPULATE)}), i.e. DPDK's {@code --in-memory}. It needs no hugetlbfs mount and a killed JVM
 * leaves no file behind. Files ({@code <hugeDir>/<prefix>map_<n>}, {@code MAP_SHARED}, one per
 * mapping, unlinked when unmapped) are used only when a huge dir is given without --in-memory.
 *
 * <p>Memory is initialised by {@link #init(MemoryOptions)} or, with {@link MemoryOptions#defaults()},
 * by the first {@link Memzone} or {@link Malloc} call. {@link #shutdown()} frees every zone, heap
 * element and mapping; afterwards {@code init} may run again. All state changes happen under one
 * lock: this is control-plane code, and one lock makes shutdown racing a malloc simple to reason
 * about. Nothing here is on a per-packet path.
 */
public final class EalMemory {
    /** How IOVAs (the addresses devices use) relate to virtual addresses, as DPDK's --iova-mode. */
    public enum IovaMode {
        /** PA when physical addresses can be read from /proc/self/pagemap with hugepages, else VA. */
        AUTO,
        /** IOVA = physical address of the page (needs root/CAP_SYS_ADMIN and hugepages). */
        PA,
        /** IOVA = virtual address. */
        VA
    }

    /** Heaps grow by at least this much, so small allocations do not each cost an mmap. */
    static final long GROW_QUANTUM = 2L << 20;

    static final ReentrantLock LOCK = new ReentrantLock();
    private static volatile State state;

    /** Everything that {@link #shutdown()} tears down; replaced wholesale by init. */
    static final class State {
        final MemoryOptions options;
        final long defaultPageSize;
        final IovaMode iovaMode;
        final int sockets;
        final TreeMap<Long, Memseg> memsegs = new TreeMap<>();
        final long[] mappedPerSocket;
        final MallocHeap[] heaps;
        final LinkedHashMap<String, Memzone> memzones = new LinkedHashMap<>();
        final Path hugeDir;
        long mapped;
        int nextMemsegId;
        int nextFile;

        State(MemoryOptions options, long defaultPageSize, IovaMode iovaMode, int sockets, Path hugeDir) {
            this.options = options;
            this.defaultPageSize = defaultPageSize;
            this.iovaMode = iovaMode;
            this.sockets = sockets;
            this.hugeDir = hugeDir;
            this.mappedPerSocket = new long[sockets];
            this.heaps = new MallocHeap[sockets];
            for (int s = 0; s < sockets; s++) heaps[s] = new MallocHeap(s);
        }
    }

    private EalMemory() {
    }

    /**
     * Initialises EAL memory with {@code options}. Prints one warning line to stderr when it falls
     * back to 4 KiB pages. Throws IllegalStateException if memory is already initialised (call
     * {@link #shutdown()} first), IllegalArgumentException for a huge dir that is not a hugetlbfs
     * mount or an IOVA mode this machine cannot give.
     */
    public static void init(MemoryOptions options) {
        LOCK.lock();
        try {
            if (state != null) {
                throw new IllegalStateException("EAL memory is already initialised with " + state.options
                        + "; call EalMemory.shutdown() first");
            }
            state = create(options);
        } finally {
            LOCK.unlock();
        }
    }

    /** Whether memory is initialised (by {@link #init} or by a first reserve or malloc). */
    public static boolean initialised() {
        return state != null;
    }

    /** The options in force; initialises with defaults if needed. */
    public static MemoryOptions options() {
        return locked(s -> s.options);
    }

    /** True when mappings use hugepages, false in the 4 KiB fall-back. */
    public static boolean hugepages() {
        return locked(s -> s.defaultPageSize != Hugepages.SIZE_4K);
    }

    /** The page size new heap memory is mapped with: 4096, 2 MiB or 1 GiB. */
    public static long defaultPageSize() {
        return locked(s -> s.defaultPageSize);
    }

    /** The IOVA mode in force: PA or VA (never AUTO once initialised). */
    public static IovaMode iovaMode() {
        return locked(s -> s.iovaMode);
    }

    /** The number of NUMA sockets heaps exist for. */
    public static int socketCount() {
        return locked(s -> s.sockets);
    }

    /** Bytes mapped in total and on {@code socket} (-1: total). */
    public static long mappedBytes(int socket) {
        return locked(s -> socket < 0 ? s.mapped : s.mappedPerSocket[checkSocket(s, socket)]);
    }

    /**
     * The IOVA of virtual address {@code address}, as {@code rte_mem_virt2iova}: the physical
     * address in PA mode, the address itself in VA mode. Throws IllegalArgumentException for an
     * address outside EAL memory.
     */
    public static long virt2iova(long address) {
        return locked(s -> {
            Memseg m = memsegOf(s, address);
            if (m == null) {
                throw new IllegalArgumentException("virt2iova(0x" + Long.toHexString(address) + "): not in EAL memory");
            }
            return m.iova(address);
        });
    }

    /** The memseg holding {@code address}, or null, as {@code rte_mem_virt2memseg}. */
    public static Memseg virt2memseg(long address) {
        return locked(s -> memsegOf(s, address));
    }

    /** Calls {@code action} for every memseg, in address order, as {@code rte_memseg_walk}. */
    public static void walk(Consumer<Memseg> action) {
        List<Memseg> all = locked(s -> new ArrayList<>(s.memsegs.values()));
        all.forEach(action);
    }

    /** The memsegs grouped by socket and page size, as DPDK's memseg lists. */
    public static List<MemsegList> memsegLists() {
        return locked(s -> {
            Map<String, List<Memseg>> groups = new TreeMap<>();
            for (Memseg m : s.memsegs.values()) {
                groups.computeIfAbsent(m.socketId() + "/" + m.pageSize(), k -> new ArrayList<>()).add(m);
            }
            List<MemsegList> out = new ArrayList<>();
            for (List<Memseg> g : groups.values()) out.add(new MemsegList(g.get(0).socketId(), g.get(0).pageSize(), g));
            out.sort(Comparator.comparingInt(MemsegList::socketId).thenComparingLong(MemsegList::pageSize));
            return out;
        });
    }

    /** Prints the memory layout, as {@code rte_dump_physmem_layout}, with the IOVA mode. */
    public static void dump(PrintStream out) {
        locked(s -> {
            out.printf("IOVA mode: %s, default page size: %d, mapped: %d bytes%s%n", s.iovaMode, s.defaultPageSize,
                    s.mapped, s.hugeDir == null ? "" : ", huge dir: " + s.hugeDir);
            for (Memseg m : s.memsegs.values()) {
                out.printf("Segment %d: IOVA:0x%x, len:%d, virt:0x%x, socket_id:%d, hugepage_sz:%d, nchannel:0, nrank:0%s%n",
                        m.id(), m.iova(), m.len(), m.address(), m.socketId(), m.pageSize(),
                        m.file() == null ? "" : ", file:" + m.file());
            }
            return null;
        });
    }

    /**
     * Frees every memzone and heap element (their segments throw IllegalStateException from now
     * on), unmaps every mapping and removes the hugepage files. Safe to call when not initialised.
     */
    public static void shutdown() {
        LOCK.lock();
        try {
            State s = state;
            if (s == null) return;
            state = null;
            for (Memzone z : s.memzones.values()) z.markFreed();
            s.memzones.clear();
            List<Memseg> safe = new ArrayList<>();
            for (MallocHeap h : s.heaps) safe.addAll(h.destroy());
            RuntimeException first = null;
            for (Memseg m : safe) {
                try {
                    unmap(s, m);
                } catch (RuntimeException e) {
                    if (first == null) first = e;
                }
            }
            if (first != null) throw first;
        } finally {
            LOCK.unlock();
        }
    }

    // ---- internals used by MallocHeap, Malloc and Memzone (all with LOCK held) ----

    interface Locked<T> {
        T run(State s);
    }

    /** Runs {@code body} under the lock with the current state, initialising with defaults first if needed. */
    static <T> T locked(Locked<T> body) {
        LOCK.lock();
        try {
            State s = state;
            if (s == null) state = s = create(MemoryOptions.defaults());
            return body.run(s);
        } finally {
            LOCK.unlock();
        }
    }

    /** The current state or null, for callers that must not initialise (lookup). */
    static State current() {
        return state;
    }

    /** Validates a socket id: SOCKET_ID_ANY maps to socket 0, others must exist. */
    static int checkSocket(State s, int socketId) {
        if (socketId == Memzone.SOCKET_ID_ANY) return 0;
        if (socketId < 0 || socketId >= s.sockets) {
            throw new IllegalArgumentException("socketId=" + socketId + ": no such NUMA socket (allowed: 0.."
                    + (s.sockets - 1) + " or SOCKET_ID_ANY)");
        }
        return socketId;
    }

    private static Memseg memsegOf(State s, long address) {
        Map.Entry<Long, Memseg> e = s.memsegs.floorEntry(address);
        return e != null && e.getValue().contains(address) ? e.getValue() : null;
    }

    private static State create(MemoryOptions o) {
        int sockets = Math.max(1, Hugepages.numaNodes());
        long pageSize = Hugepages.SIZE_4K;
        Path dir = null;
        if (o.noHuge()) {
            System.err.println("EAL: WARNING: --no-huge: using 4 KiB pages: slower, and not shareable with a peer");
        } else if (o.hugeDir() != null && !o.inMemory()) {
            dir = Path.of(o.hugeDir());
            pageSize = hugetlbfsPageSize(dir);
        } else {
            List<Hugepages.Size> sizes = Hugepages.sizes();
            for (long want : new long[]{Hugepages.SIZE_2M, Hugepages.SIZE_1G}) {
                if (pageSize == Hugepages.SIZE_4K && sizes.stream().anyMatch(z -> z.pageSize() == want && z.free() > 0)) {
                    pageSize = want;
                }
            }
            if (pageSize == Hugepages.SIZE_4K) System.err.println(noHugepagesWarning(sizes));
        }
        IovaMode mode = chooseIovaMode(o.iovaMode(), pageSize != Hugepages.SIZE_4K);
        return new State(o, pageSize, mode, sockets, dir);
    }

    /** The one warning line of the 4 KiB fall-back: what is reserved and what the user can do. */
    static String noHugepagesWarning(List<Hugepages.Size> sizes) {
        StringBuilder b = new StringBuilder("EAL: WARNING: no free hugepages (");
        if (sizes.isEmpty()) b.append("kernel without hugetlb support");
        for (int i = 0; i < sizes.size(); i++) {
            Hugepages.Size z = sizes.get(i);
            b.append(i == 0 ? "" : ", ").append(Hugepages.kb(z.pageSize())).append(": ")
                    .append(z.reserved()).append(" reserved, ").append(z.free()).append(" free");
        }
        return b.append("); using 4 KiB pages: slower, and not shareable with a peer; to fix: ")
                .append("echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages").toString();
    }

    private static long hugetlbfsPageSize(Path dir) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("hugeDir=" + dir + ": does not exist (mount one: mkdir -p " + dir
                    + " && mount -t hugetlbfs none " + dir + ")");
        }
        for (long size : new long[]{Hugepages.SIZE_2M, Hugepages.SIZE_1G}) {
            var mp = Hugepages.mountPoint(size);
            if (mp.isPresent() && mp.get().equals(real)) return size;
        }
        // A second mount of the same size is not found by mountPoint; scan for this exact one.
        try {
            for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
                String[] f = line.split(" ");
                if (f.length >= 4 && f[2].equals("hugetlbfs") && Path.of(f[1]).equals(real)) {
                    for (String opt : f[3].split(",")) {
                        if (opt.startsWith("pagesize=")) return Hugepages.parseSize(opt.substring(9));
                    }
                    return Hugepages.defaultHugepageSize();
                }
            }
        } catch (IOException e) {
            // reported below
        }
        throw new IllegalArgumentException("hugeDir=" + dir + ": not a hugetlbfs mount (see /proc/mounts; mount one: "
                + "mount -t hugetlbfs none " + dir + ")");
    }

    private static IovaMode chooseIovaMode(IovaMode asked, boolean huge) {
        if (asked == IovaMode.VA) return IovaMode.VA;
        boolean pa = huge && pagemapGivesPfns();
        if (asked == IovaMode.PA && !pa) {
            throw new IllegalArgumentException("iovaMode=PA: physical addresses are not available here ("
                    + (huge ? "/proc/self/pagemap shows no PFNs: needs root or CAP_SYS_ADMIN" : "4 KiB pages")
                    + "); allowed: VA or AUTO");
        }
        return pa ? IovaMode.PA : IovaMode.VA;
    }

    /** Whether /proc/self/pagemap shows page frame numbers to this process (root or CAP_SYS_ADMIN). */
    private static boolean pagemapGivesPfns() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment probe = a.allocate(8);
            probe.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1);
            long[] e = pagemap(probe.address(), 1, Libc.pageSize()); // bounded: an address as a file offset, no memory access
            return e != null && e[0] != 0;
        }
    }

    /**
     * The physical address of {@code n} pages of {@code pageSize} from {@code address}, read from
     * /proc/self/pagemap (entry: bit 63 present, bits 0..54 PFN); null when it cannot be read,
     * 0 for a page the kernel hides or has not populated.
     */
    static long[] pagemap(long address, int n, long pageSize) {
        long base = Libc.pageSize();
        try (FileChannel ch = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            long[] out = new long[n];
            ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
            for (int i = 0; i < n; i++) {
                long va = address + i * pageSize;
                buf.clear();
                if (ch.read(buf, (va / base) * 8) != 8) return null;
                long entry = buf.getLong(0);
                long pfn = entry & ((1L << 55) - 1);
                out[i] = (entry < 0 && pfn != 0) ? pfn * base + (va % base) : 0;
            }
            return out;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Maps at least {@code len} bytes of pinned, zeroed memory for {@code socket}'s heap, with pages
     * of {@code pageSize} (0: the default). Throws MemoryException for a limit or a lack of pages.
     */
    static Memseg map(State s, long len, int socket, long pageSize) {
        long ps = pageSize == 0 ? s.defaultPageSize : pageSize;
        if (ps != s.defaultPageSize && (s.defaultPageSize == Hugepages.SIZE_4K || s.hugeDir != null)) {
            throw new MemoryException("no " + Hugepages.kb(ps) + " pages in this EAL memory (it maps "
                    + Hugepages.kb(s.defaultPageSize) + " pages" + (s.hugeDir != null ? " from " + s.hugeDir : "") + ")");
        }
        long size = (len + ps - 1) / ps * ps;
        checkLimits(s, size, socket, ps);
        boolean huge = ps != Hugepages.SIZE_4K;
        int flags = Libc.MAP_POPULATE;
        Path file = null;
        int fd = -1;
        if (huge) flags |= Libc.MAP_HUGETLB | (Long.numberOfTrailingZeros(ps) << Libc.MAP_HUGE_SHIFT);
        String what = (huge ? "MAP_HUGETLB|MAP_HUGE_" + (ps >> 20) + "MB" : "MAP_ANONYMOUS") + ", size=" + size;
        if (s.hugeDir != null) {
            file = s.hugeDir.resolve(s.options.filePrefix() + "map_" + s.nextFile++);
            try {
                fd = Libc.open(file.toString(), Libc.O_CREAT | Libc.O_EXCL | Libc.O_RDWR | Libc.O_CLOEXEC, 0600);
            } catch (LinuxException e) {
                throw new MemoryException("cannot create hugepage file " + file + (e.errno() == Errno.EEXIST
                        ? ": it exists (left by a crashed run with --file-prefix " + s.options.filePrefix()
                        + "? remove it or choose another prefix)" : ""), e);
            }
            flags = (flags & ~Libc.MAP_HUGETLB & ~(63 << Libc.MAP_HUGE_SHIFT)) | Libc.MAP_SHARED;
            what = "MAP_SHARED, file=" + file + ", size=" + size;
        } else {
            flags |= Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS;
        }
        long addr;
        try {
            if (fd >= 0) Libc.ftruncate(fd, size, file.toString());
            addr = Libc.mmap(0, size, Libc.PROT_READ | Libc.PROT_WRITE, flags, fd, 0, what);
        } catch (LinuxException e) {
            closeAndUnlink(fd, file);
            throw new MemoryException("cannot map " + size + " bytes of " + Hugepages.kb(ps) + " pages for socket "
                    + socket + ": " + e.getMessage() + (huge ? "; " + freeHugepages(ps) : ""), e);
        }
        // MAP_POPULATE does not fail the mmap when faulting fails; a hole here would SIGBUS later.
        // bounded: the raw addr/size from here to the Memseg are exactly the mapping just made.
        long resident = Mman.residentPages(addr, size);
        if (resident * Libc.pageSize() < size) {
            Libc.munmap(addr, size);
            closeAndUnlink(fd, file);
            throw new MemoryException("cannot map " + size + " bytes of " + Hugepages.kb(ps) + " pages for socket "
                    + socket + ": only " + resident * Libc.pageSize() + " bytes could be populated; "
                    + (huge ? freeHugepages(ps) : "out of memory"));
        }
        boolean locked = Libc.mlock(addr, size) == 0;
        int node = nodeOf(s, addr, socket);
        long[] iova = s.iovaMode == IovaMode.PA ? pagemap(addr, (int) (size / ps), ps) : null;
        Memseg m = new Memseg(s.nextMemsegId++, addr, size, ps, node, iova, file, fd, locked, socket);
        s.memsegs.put(addr, m);
        s.mapped += size;
        s.mappedPerSocket[socket] += size;
        return m;
    }

    /** Unmaps {@code m}, closes and removes its file. */
    static void unmap(State s, Memseg m) {
        if (s.memsegs.remove(m.address()) == null) return;
        s.mapped -= m.len();
        s.mappedPerSocket[m.heapSocket] -= m.len();
        try {
            // bounded: the memseg's own mapping; callers unmap only chunks whose heap elements are all
            // free (their arenas closed) or that MallocHeap.destroy found closable
            Libc.munmap(m.address(), m.len());
        } finally {
            closeAndUnlink(m.fd(), m.file());
        }
    }

    private static void checkLimits(State s, long size, int socket, long ps) {
        long total = s.options.memoryBytes();
        if (total > 0 && s.mapped + size > total) {
            throw new MemoryException("cannot map " + size + " bytes of " + Hugepages.kb(ps) + " pages for socket " + socket
                    + ": the -m limit is " + total + " bytes and " + s.mapped + " are mapped");
        }
        long perSocket = s.options.socketLimit(socket);
        if (perSocket >= 0 && s.mappedPerSocket[socket] + size > perSocket) {
            throw new MemoryException("cannot map " + size + " bytes of " + Hugepages.kb(ps) + " pages for socket " + socket
                    + ": the --socket-mem limit of socket " + socket + " is " + perSocket + " bytes and "
                    + s.mappedPerSocket[socket] + " are mapped");
        }
    }

    private static String freeHugepages(long ps) {
        return Hugepages.size(ps).map(z -> "free " + Hugepages.kb(ps) + " hugepages: " + z.free() + " of " + z.reserved()
                        + " reserved; reserve more: echo N > " + z.nrHugepagesFile())
                .orElse("the kernel has no " + Hugepages.kb(ps) + " hugepages");
    }

    /** get_mempolicy when it works, else the requested socket (single-node: 0). */
    private static int nodeOf(State s, long addr, int requested) {
        try {
            int node = Mman.nodeOfAddress(addr);
            if (node >= 0 && node < s.sockets) return node;
        } catch (LinuxException e) {
            // ENOSYS on kernels without NUMA: a single node, or trust the request
        }
        return s.sockets == 1 ? 0 : requested;
    }

    private static void closeAndUnlink(int fd, Path file) {
        if (fd >= 0) Libc.close(fd);
        if (file != null) Libc.unlink(file.toString());
    }
}
