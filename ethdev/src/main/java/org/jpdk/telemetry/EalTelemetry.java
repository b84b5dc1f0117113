package org.jpdk.telemetry;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgs;
import org.jpdk.eal.LcoreUsage;
import org.jpdk.eal.Malloc;
import org.jpdk.eal.MallocSocketStats;
import org.jpdk.eal.Memzone;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The EAL's telemetry commands, with DPDK's names and reply shapes: the command line
 * ({@code /eal/params}, {@code /eal/app_params}), lcores and their usage, malloc heaps and
 * memzones. Usage is reported in nanoseconds under DPDK's names {@code total_cycles} and
 * {@code busy_cycles} (a 1 GHz clock): their ratio is what DPDK's readers compute.
 */
final class EalTelemetry {
    private EalTelemetry() {
    }

    static void register() {
        Telemetry.register("/eal/params", "Returns EAL commandline parameters used. Takes no parameters",
                (c, p) -> Eal.current().config().ealArgs());
        Telemetry.register("/eal/app_params", "Returns app commandline parameters used. Takes no parameters",
                (c, p) -> Eal.current().appArgs());
        Telemetry.register("/eal/lcore/list", "List of lcore ids. Takes no parameters", (c, p) -> lcores(Eal.current()));
        Telemetry.register("/eal/lcore/info", "Returns lcore info. Parameters: int lcore_id", (c, p) -> lcoreInfo(p));
        Telemetry.register("/eal/lcore/usage", "Returns lcore cycles usage. Takes no parameters", (c, p) -> usage());
        Telemetry.register("/eal/heap_list", "List of heap indices. Takes no parameters", (c, p) -> heaps());
        Telemetry.register("/eal/heap_info", "Returns malloc heap stats. Parameters: int heap_id", (c, p) -> heapInfo(p));
        Telemetry.register("/eal/memzone_list", "List of memzone indices. Takes no parameters", (c, p) -> {
            List<Long> ids = new ArrayList<>();
            long[] n = {0};
            Memzone.walk(z -> ids.add(n[0]++));
            return ids;
        });
        Telemetry.register("/eal/memzone_info", "Returns memzone info. Parameters: int mz_id", (c, p) -> memzoneInfo(p));
    }

    /** Every lcore (main, workers, service), ascending, as rte_lcore_iterate walks them. */
    static List<Integer> lcores(Eal eal) {
        List<Integer> all = new ArrayList<>(eal.config().lcores());
        all.addAll(eal.config().serviceLcores());
        all.sort(null);
        return all;
    }

    private static Object lcoreInfo(String p) {
        Eal eal = Eal.current();
        int id = Telemetry.intParam(p);
        if (!eal.hasLcore(id)) return null;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lcore_id", id);
        m.put("socket", eal.socketId(id));
        m.put("role", eal.config().serviceLcores().contains(id) ? "SERVICE" : "RTE");
        m.put("cpuset", eal.cpuSet(id).stream().boxed().toList());
        LcoreUsage u = LcoreUsage.of(id);
        if (u != null) {
            long busy = u.busyNanos(); // busy first: total, read later, is then never below it
            m.put("total_cycles", u.totalNanos());
            m.put("busy_cycles", busy);
        }
        return m;
    }

    private static Object usage() {
        List<Integer> ids = new ArrayList<>();
        List<Long> total = new ArrayList<>(), busy = new ArrayList<>();
        for (int id : lcores(Eal.current())) {
            LcoreUsage u = LcoreUsage.of(id);
            if (u == null) continue;
            ids.add(id);
            long b = u.busyNanos(); // busy first: total, read later, is then never below it
            total.add(u.totalNanos());
            busy.add(b);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lcore_ids", ids);
        m.put("total_cycles", total);
        m.put("busy_cycles", busy);
        return m;
    }

    /** The heap of each NUMA socket that has memory. */
    private static List<Integer> heaps() {
        List<Integer> ids = new ArrayList<>();
        for (int s = 0; s < EalArgs.MAX_SOCKETS; s++) {
            MallocSocketStats st = stats(s);
            if (st != null && st.heapTotalBytes() > 0) ids.add(s);
        }
        return ids;
    }

    private static MallocSocketStats stats(int socket) {
        try {
            return Malloc.socketStats(socket);
        } catch (RuntimeException e) { // no such socket, or no memory set up
            return null;
        }
    }

    private static Object heapInfo(String p) {
        int id = Telemetry.intParam(p);
        if (id >= EalArgs.MAX_SOCKETS) return null;
        MallocSocketStats st = stats(id);
        if (st == null) return null;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Head_id", id); // sic: DPDK's key (22.11 and later)
        m.put("Name", "socket_" + id);
        m.put("Heap_size", st.heapTotalBytes());
        m.put("Free_size", st.heapFreeBytes());
        m.put("Alloc_size", st.heapAllocBytes());
        m.put("Greatest_free_size", st.greatestFreeBytes());
        m.put("Alloc_count", st.allocCount());
        m.put("Free_count", st.freeCount());
        return m;
    }

    private static Object memzoneInfo(String p) {
        int id = Telemetry.intParam(p);
        List<Memzone> zones = new ArrayList<>();
        Memzone.walk(zones::add);
        if (id >= zones.size()) return null;
        Memzone z = zones.get(id);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Zone", id);
        m.put("Name", z.name());
        m.put("Length", z.len());
        m.put("Address", "0x" + Long.toHexString(z.segment().address()));
        m.put("Socket", z.socketId());
        m.put("Flags", z.flags());
        m.put("Hugepage_size", z.hugepageSize());
        long page = Math.max(1, z.hugepageSize()), addr = z.segment().address(), base = addr & -page;
        m.put("Hugepage_base", "0x" + Long.toHexString(base));
        m.put("Hugepage_used", (addr + z.len() - base + page - 1) / page);
        return m;
    }
}
