package org.jpdk.telemetry;

import org.jpdk.eal.Memzone;
import org.jpdk.mempool.Mempool;
import org.jpdk.ring.Ring;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The mempool and ring telemetry commands, with DPDK's names and reply shapes: the lists of
 * names, and one pool's or ring's sizes and fill. An unknown name gives a {@code null} reply.
 */
final class PoolTelemetry {
    private PoolTelemetry() {
    }

    static void register() {
        Telemetry.register("/mempool/list", "Returns list of available mempool. Takes no parameters",
                (c, p) -> Mempool.list().stream().map(Mempool::name).toList());
        Telemetry.register("/mempool/info", "Returns mempool info. Parameters: pool_name", (c, p) -> mempool(p));
        Telemetry.register("/ring/list", "Returns list of available rings. Takes no parameters.",
                (c, p) -> Ring.list().stream().map(Ring::name).toList());
        Telemetry.register("/ring/info", "Returns ring info. Parameters: ring_name.", (c, p) -> ring(p));
    }

    private static Object mempool(String name) {
        Mempool<?> mp = name == null ? null : Mempool.lookup(name);
        if (mp == null) return null;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", mp.name());
        m.put("flags", mp.flags());
        m.put("socket_id", mp.socketId());
        m.put("size", mp.size());
        m.put("cache_size", mp.cacheSize());
        m.put("elt_size", mp.eltSize());
        m.put("header_size", 0);
        m.put("trailer_size", mp.stride() - mp.eltSize());
        m.put("private_data_size", 0);
        m.put("populated_size", mp.size());
        m.put("avail_count", mp.availCount());
        m.put("used_count", mp.inUseCount());
        Memzone z = mp.memzone();
        if (z != null) {
            m.put("mz_name", z.name());
            m.put("mz_len", z.len());
            m.put("mz_hugepage_sz", z.hugepageSize());
            m.put("mz_socket_id", z.socketId());
            m.put("mz_flags", z.flags());
        }
        // Successful gets and puts are counted only with -Djpdk.mempool.stats=true (Mempool.STATS).
        if (Mempool.STATS) m.put("get_success_objs", mp.statGetSuccessObjs());
        m.put("get_fail_objs", mp.statGetFailObjs());
        if (Mempool.STATS) m.put("put_objs", mp.statPutObjs());
        return m;
    }

    private static Object ring(String name) {
        Ring<?> r = name == null ? null : Ring.lookup(name);
        if (r == null) return null;
        int f = r.flags();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", r.name());
        m.put("socket", 0);
        m.put("flags", f);
        m.put("producer_type", (f & Ring.F_SP_ENQ) != 0 ? "SP" : (f & Ring.F_MP_RTS_ENQ) != 0 ? "MP_RTS"
                : (f & Ring.F_MP_HTS_ENQ) != 0 ? "MP_HTS" : "MP");
        m.put("consumer_type", (f & Ring.F_SC_DEQ) != 0 ? "SC" : (f & Ring.F_MC_RTS_DEQ) != 0 ? "MC_RTS"
                : (f & Ring.F_MC_HTS_DEQ) != 0 ? "MC_HTS" : "MC");
        m.put("size", r.size());
        m.put("mask", "0x" + Integer.toHexString(r.size() - 1));
        m.put("capacity", r.capacity());
        m.put("used_count", r.count());
        return m;
    }
}
