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
 * <p>Every mapping is shareable: {@code MAP_SHARED | MAP_POPULATE} of a file descriptor that a peer
 * (memif, vhost-user, AF_XDP's UMEM) can be handed, as DPDK backs its memory. Default mode, and
 * {@code --in-memory}: a memfd per mapping ({@code memfd_create} with {@code MFD_HUGETLB} and the
 * page-size flag on hugepages, a plain shmem memfd on 4 KiB pages); it needs no hugetlbfs mount and
 * a killed JVM leaves no file behind. With a huge dir and without --in-memory: files
 * {@code <hugeDir>/<prefix>map_<n>}, unlinked when unmapped. {@code --single-file-segments}: one
 * file per memseg list (socket and page size), each mapping at the next offset; an unmapped one's
 * pages are punched out of it. {@link Memseg#fd()}, {@link Memseg#fileOffset()} and
 * {@link Memzone#fileRange()} describe any memory as (fd, offset, length) for a peer.
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
        /** --single-file-segments: the file of each memseg list, by "socket/pageSize". */
        final Map<String, SegmentFile> listFiles = new TreeMap<>();
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
            out.printf("IOVA mode: %s, default page size: %d, mapped: %d bytes%s%s%n", s.iovaMode, s.defaultPageSize,
                    s.mapped, s.hugeDir == null ? "" : ", huge dir: " + s.hugeDir,
                    s.options.singleFileSegments() ? ", single file segments" : "");
            for (Memseg m : s.memsegs.values()) {
                out.printf("Segment %d: IOVA:0x%x, len:%d, virt:0x%x, socket_id:%d, hugepage_sz:%d, nchannel:0, nrank:0, %s, fd:%d, offset:%d%n",
                        m.id(), m.iova(), m.len(), m.address(), m.socketId(), m.pageSize(),
                        m.segmentFile.describe(), m.fd(), m.fileOffset());
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
            List<Memseg> safe = new ArrayList<>();
            for (Memzone z : s.memzones.values()) {
                Memseg own = z.markFreed();
                if (own != null) safe.add(own);
            }
            s.memzones.clear();
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
            System.err.println("EAL: WARNING: --no-huge: using 4 KiB pages: slower (more TLB misses)");
        } else if (o.hugeDir() != null && !o.inMemory()) {
            dir = Path.of(o.hugeDir());
            pageSize = hugetlbfsPageSize(dir);
            removeStaleFiles(dir, o.filePrefix());
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

    /**
     * Removes the hugepage files of {@code prefix} that no live process holds, as DPDK's
     * clear_hugedir: each file is flock'ed (shared) by the process that maps it for as long as it
     * is open, so a file whose exclusive lock can be taken was left by a process that died (killed,
     * crashed) without unlinking it, and its pages go back to the pool. A file another process
     * still holds stays, and that process's run keeps its memory.
     */
    static int removeStaleFiles(Path dir, String prefix) {
        int removed = 0;
        List<Path> files;
        try (var list = Files.list(dir)) {
            files = list.filter(f -> f.getFileName().toString().startsWith(prefix + "map_")).toList();
        } catch (IOException e) {
            return 0;
        }
        for (Path f : files) {
            int fd;
            try {
                fd = Libc.open(f.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            } catch (LinuxException e) {
                continue;
            }
            try {
                if (Libc.flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) == 0 && Libc.unlink(f.toString()) == 0) {
                    removed++;
                    System.err.println("EAL: removed stale hugepage file " + f + " (--file-prefix " + prefix + ", left by a process that is gone)");
                }
            } finally {
                Libc.close(fd);
            }
        }
        return removed;
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
        return b.append("); using 4 KiB pages: slower (more TLB misses); to fix: ")
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
     * of {@code pageSize} (0: the default), shared and backed by a file descriptor. {@code ownFile}
     * puts the mapping at offset 0 of a file of its own even with --single-file-segments (a
     * dedicated memzone, shown whole to a peer). Throws MemoryException for a limit or a lack of pages.
     */
    static Memseg map(State s, long len, int socket, long pageSize, boolean ownFile) {
        long ps = pageSize == 0 ? s.defaultPageSize : pageSize;
        if (ps != s.defaultPageSize && (s.defaultPageSize == Hugepages.SIZE_4K || s.hugeDir != null)) {
            throw new MemoryException("no " + Hugepages.kb(ps) + " pages in this EAL memory (it maps "
                    + Hugepages.kb(s.defaultPageSize) + " pages" + (s.hugeDir != null ? " from " + s.hugeDir : "") + ")");
        }
        long size = (len + ps - 1) / ps * ps;
        checkLimits(s, size, socket, ps);
        boolean huge = ps != Hugepages.SIZE_4K;
        SegmentFile f = ownFile || !s.options.singleFileSegments() ? newFile(s, ps, "map_" + s.nextFile++)
                : s.listFiles.computeIfAbsent(socket + "/" + ps, k -> newFile(s, ps, "map_" + socket + "_" + (ps >> 10) + "k"));
        f.shared = s.listFiles.containsValue(f);
        long offset = f.end;
        String what = "MAP_SHARED, " + f.describe() + ", offset=" + offset + ", size=" + size;
        long addr;
        try {
            Libc.ftruncate(f.fd, offset + size, f.describe());
            addr = Libc.mmap(0, size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, f.fd, offset, what);
        } catch (LinuxException e) {
            f.dropIfUnused(s);
            throw new MemoryException("cannot map " + size + " bytes of " + Hugepages.kb(ps) + " pages for socket "
                    + socket + ": " + e.getMessage() + (huge ? "; " + freeHugepages(ps) : ""), e);
        }
        // MAP_POPULATE does not fail the mmap when faulting fails; a hole here would SIGBUS later.
        // bounded: the raw addr/size from here to the Memseg are exactly the mapping just made.
        long resident = Mman.residentPages(addr, size);
        if (resident * Libc.pageSize() < size) {
            Libc.munmap(addr, size);
            f.release(offset, size);
            f.dropIfUnused(s);
            throw new MemoryException("cannot map " + size + " bytes of " + Hugepages.kb(ps) + " pages for socket "
                    + socket + ": only " + resident * Libc.pageSize() + " bytes could be populated; "
                    + (huge ? freeHugepages(ps) : "out of memory"));
        }
        f.end = offset + size;
        f.users++;
        boolean locked = Libc.mlock(addr, size) == 0;
        int node = nodeOf(s, addr, socket);
        long[] iova = s.iovaMode == IovaMode.PA ? pagemap(addr, (int) (size / ps), ps) : null;
        Memseg m = new Memseg(s.nextMemsegId++, addr, size, ps, node, iova, f, offset, locked, socket);
        s.memsegs.put(addr, m);
        s.mapped += size;
        s.mappedPerSocket[socket] += size;
        return m;
    }

    /** A new file for mappings of {@code ps} pages: in the huge dir, or a memfd (hugetlb unless 4 KiB). */
    private static SegmentFile newFile(State s, long ps, String suffix) {
        String name = s.options.filePrefix() + suffix;
        if (s.hugeDir != null) {
            Path file = s.hugeDir.resolve(name);
            try {
                int fd = Libc.open(file.toString(), Libc.O_CREAT | Libc.O_EXCL | Libc.O_RDWR | Libc.O_CLOEXEC, 0600);
                // held while the file is open: the next start with this prefix knows the file is in use
                Libc.flock(fd, Libc.LOCK_SH);
                return new SegmentFile(fd, file, name, ps);
            } catch (LinuxException e) {
                throw new MemoryException("cannot create hugepage file " + file + (e.errno() == Errno.EEXIST
                        ? ": it exists and a running process holds it (another run with --file-prefix " + s.options.filePrefix()
                        + "? choose another prefix)" : ""), e);
            }
        }
        int flags = Libc.MFD_CLOEXEC | Libc.MFD_ALLOW_SEALING;
        if (ps != Hugepages.SIZE_4K) flags |= Libc.MFD_HUGETLB | (Long.numberOfTrailingZeros(ps) << Libc.MFD_HUGE_SHIFT);
        try {
            int fd = Libc.memfdCreate(name, flags);
            // a peer handed this file may map it but never shrink it: truncating would make our own
            // accesses fault; growing (a list file's next mapping) and punching holes stay allowed
            Libc.fcntl(fd, Libc.F_ADD_SEALS, Libc.F_SEAL_SHRINK);
            return new SegmentFile(fd, null, name, ps);
        } catch (LinuxException e) {
            throw new MemoryException("cannot create the memory file for " + Hugepages.kb(ps) + " pages: " + e.getMessage(), e);
        }
    }

    /** Unmaps {@code m} and gives its pages back: closes (and removes) its file, or punches its range out of a shared one. */
    static void unmap(State s, Memseg m) {
        if (s.memsegs.remove(m.address()) == null) return;
        s.mapped -= m.len();
        s.mappedPerSocket[m.heapSocket] -= m.len();
        SegmentFile f = m.segmentFile;
        try {
            // bounded: the memseg's own mapping; callers unmap only chunks whose heap elements are all
            // free (their arenas closed) or that MallocHeap.destroy found closable
            Libc.munmap(m.address(), m.len());
        } finally {
            f.users--;
            if (f.users > 0) f.release(m.fileOffset(), m.len()); // a list file others still map
            else f.dropIfUnused(s);
        }
    }

    /**
     * A file backing EAL memory: one per mapping, or with --single-file-segments one per memseg
     * list (socket and page size) whose mappings sit at growing offsets. Guarded by {@link #LOCK}.
     */
    static final class SegmentFile {
        final int fd;
        final Path path;
        final String name;
        final long pageSize;
        long end;
        int users;
        boolean shared;
        private boolean closed;

        SegmentFile(int fd, Path path, String name, long pageSize) {
            this.fd = fd;
            this.path = path;
            this.name = name;
            this.pageSize = pageSize;
        }

        String describe() {
            return path != null ? "file=" + path : "memfd=" + name;
        }

        /** Frees the pages of {@code [offset, offset + len)}; the file keeps its size (no offset is reused). */
        /** Whether this is a memseg list's file (--single-file-segments), not one mapping's. */
        boolean shared() {
            return shared;
        }

        void release(long offset, long len) {
            try {
                Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, offset, len, describe());
            } catch (LinuxException e) {
                System.err.println("EAL: WARNING: " + e.getMessage() + "; those pages stay until the file is closed");
            }
        }

        /** Closes the file (and removes it from the huge dir) once no mapping uses it. */
        void dropIfUnused(State s) {
            if (users > 0 || closed) return;
            closed = true;
            s.listFiles.values().remove(this);
            Libc.close(fd);
            if (path != null) Libc.unlink(path.toString());
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
}
