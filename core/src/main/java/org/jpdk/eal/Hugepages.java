package org.jpdk.eal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the kernel has reserved as hugepages, read from sysfs, and where hugetlbfs is mounted, read
 * from {@code /proc/mounts}: the facts DPDK's {@code eal_hugepage_info} gathers before mapping.
 * Every call reads the files again, because another process (or an admin) changes them at run time.
 */
public final class Hugepages {
    /** The two x86-64 hugepage sizes. */
    public static final long SIZE_2M = 2L << 20, SIZE_1G = 1L << 30;
    /** The base page size, used when no hugepages are available or with --no-huge. */
    public static final long SIZE_4K = 4096;

    private static final Path SYS_HUGEPAGES = Path.of("/sys/kernel/mm/hugepages");
    private static final Path SYS_NODES = Path.of("/sys/devices/system/node");

    /**
     * One hugepage size: pages reserved ({@code nr_hugepages}), free, and free per NUMA node
     * (index = node id; a single 0-node array when sysfs has no per-node view).
     */
    public record Size(long pageSize, long reserved, long free, long[] freePerNode) {
        /** The sysfs directory name of this size, e.g. {@code hugepages-2048kB}. */
        public String sysfsName() {
            return "hugepages-" + (pageSize >> 10) + "kB";
        }

        /** The file an admin writes to reserve pages of this size. */
        public Path nrHugepagesFile() {
            return SYS_HUGEPAGES.resolve(sysfsName()).resolve("nr_hugepages");
        }

        /** Free pages on {@code node}, 0 for a node we know nothing of. */
        public long freeOnNode(int node) {
            return node >= 0 && node < freePerNode.length ? freePerNode[node] : 0;
        }
    }

    private Hugepages() {
    }

    /** Every hugepage size the kernel supports, smallest first (empty without hugetlb support). */
    public static List<Size> sizes() {
        List<Size> out = new ArrayList<>();
        if (!Files.isDirectory(SYS_HUGEPAGES)) return out;
        int nodes = numaNodes();
        try (var dirs = Files.list(SYS_HUGEPAGES)) {
            for (Path d : dirs.sorted().toList()) {
                String n = d.getFileName().toString();
                if (!n.startsWith("hugepages-") || !n.endsWith("kB")) continue;
                long size = Long.parseLong(n.substring(10, n.length() - 2)) << 10;
                long[] perNode = new long[nodes];
                for (int node = 0; node < nodes; node++) {
                    perNode[node] = readLong(SYS_NODES.resolve("node" + node + "/hugepages/" + n + "/free_hugepages"), -1);
                }
                long free = readLong(d.resolve("free_hugepages"), 0);
                if (nodes == 1 && perNode[0] < 0) perNode[0] = free;
                for (int node = 0; node < nodes; node++) perNode[node] = Math.max(0, perNode[node]);
                out.add(new Size(size, readLong(d.resolve("nr_hugepages"), 0), free, perNode));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + SYS_HUGEPAGES, e);
        }
        out.sort((a, b) -> Long.compare(a.pageSize, b.pageSize));
        return out;
    }

    /** The reservation of {@code pageSize}, if the kernel supports that size. */
    public static Optional<Size> size(long pageSize) {
        return sizes().stream().filter(s -> s.pageSize == pageSize).findFirst();
    }

    /** The number of NUMA nodes, from {@code /sys/devices/system/node/possible} ("0" or "0-3"); 1 if unknown. */
    public static int numaNodes() {
        try {
            String s = Files.readString(SYS_NODES.resolve("possible")).trim();
            int dash = s.lastIndexOf('-');
            int comma = s.lastIndexOf(',');
            int from = Math.max(dash, comma);
            return Integer.parseInt(from < 0 ? s : s.substring(from + 1)) + 1;
        } catch (IOException | NumberFormatException e) {
            return 1;
        }
    }

    /**
     * The hugetlbfs mount for {@code pageSize}, from {@code /proc/mounts}: a mount with
     * {@code pagesize=2M} (or 1G) option, or one without the option when {@code pageSize} is the
     * system default hugepage size.
     */
    public static Optional<Path> mountPoint(long pageSize) {
        try {
            long dflt = defaultHugepageSize();
            for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
                String[] f = line.split(" ");
                if (f.length < 4 || !f[2].equals("hugetlbfs")) continue;
                long size = dflt;
                for (String opt : f[3].split(",")) {
                    if (opt.startsWith("pagesize=")) size = parseSize(opt.substring(9));
                }
                if (size == pageSize) return Optional.of(Path.of(f[1].replace("\\040", " ")));
            }
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** {@code Hugepagesize:} of {@code /proc/meminfo}, 2 MiB if absent. */
    public static long defaultHugepageSize() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("Hugepagesize:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through to the x86-64 default
        }
        return SIZE_2M;
    }

    /** "2M", "1G", "2048k", "2097152" to bytes. */
    static long parseSize(String s) {
        char unit = Character.toUpperCase(s.charAt(s.length() - 1));
        long mul = switch (unit) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
        };
        return Long.parseLong(mul == 1 ? s : s.substring(0, s.length() - 1)) * mul;
    }

    /** A human size for messages: "2048 kB", "1048576 kB", "4 kB". */
    static String kb(long bytes) {
        return (bytes >> 10) + " kB";
    }

    private static long readLong(Path p, long dflt) {
        try {
            return Long.parseLong(Files.readString(p).trim());
        } catch (IOException | NumberFormatException e) {
            return dflt;
        }
    }
}
