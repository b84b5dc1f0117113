package org.jpdk.telemetry;

import org.jpdk.ethdev.DevInfo;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthStats;
import org.jpdk.ethdev.LinkStatus;
import org.jpdk.ethdev.Xstat;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ethdev telemetry commands, with DPDK's names and reply shapes: the port list, a port's
 * information, basic and extended statistics and link status. A port id that is not a number or
 * names no port gives a {@code null} reply, as DPDK's handlers do with -EINVAL.
 */
final class EthDevTelemetry {
    private EthDevTelemetry() {
    }

    static void register() {
        Telemetry.register("/ethdev/list", "Returns list of available ethdev ports. Takes no parameters",
                (c, p) -> EthDev.all().stream().map(EthDev::id).toList());
        Telemetry.register("/ethdev/info", "Returns the device info for a port. Parameters: int port_id",
                (c, p) -> info(port(p)));
        Telemetry.register("/ethdev/stats", "Returns the common stats for a port. Parameters: int port_id",
                (c, p) -> stats(port(p).stats()));
        Telemetry.register("/ethdev/xstats", "Returns the extended stats for a port. Parameters: int port_id,hide_zero=true|false(Optional for indicates hide zero xstats)",
                EthDevTelemetry::xstats);
        Telemetry.register("/ethdev/stats_reset", "Resets a port's stats and xstats (jpdk's; DPDK has none). Parameters: int port_id",
                (c, p) -> {
                    port(p).statsReset();
                    return Map.of();
                });
        Telemetry.register("/ethdev/link_status", "Returns the link status for a port. Parameters: int port_id",
                (c, p) -> link(port(p).link()));
    }

    /** The port a parameter names (the text before a further comma); IllegalArgumentException if none. */
    static EthDev port(String params) {
        String id = params == null ? null : params.split(",", 2)[0];
        int n = Telemetry.intParam(id);
        if (n >= EthDev.MAX_PORTS) throw new IllegalArgumentException("port " + n + ": out of range");
        return EthDev.get(n);
    }

    static Map<String, Object> stats(EthStats s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ipackets", s.ipackets);
        m.put("opackets", s.opackets);
        m.put("ibytes", s.ibytes);
        m.put("obytes", s.obytes);
        m.put("imissed", s.imissed);
        m.put("ierrors", s.ierrors);
        m.put("oerrors", s.oerrors);
        m.put("rx_nombuf", s.rxNombuf);
        m.put("q_ipackets", s.qIpackets.clone());
        m.put("q_opackets", s.qOpackets.clone());
        m.put("q_ibytes", s.qIbytes.clone());
        m.put("q_obytes", s.qObytes.clone());
        m.put("q_errors", s.qErrors.clone());
        return m;
    }

    private static Object xstats(String cmd, String params) {
        EthDev port = port(params);
        boolean hideZero = false;
        String[] parts = params.split(",", 2);
        if (parts.length == 2) {
            String opt = parts[1].strip();
            switch (opt) {
                case "hide_zero=true" -> hideZero = true;
                case "hide_zero=false" -> hideZero = false;
                default -> throw new IllegalArgumentException("unknown option " + opt);
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (Xstat x : port.xstats()) {
            if (!hideZero || x.value() != 0) m.put(x.name(), x.value());
        }
        return m;
    }

    static Map<String, Object> link(LinkStatus l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", l.up() ? "UP" : "DOWN");
        if (l.up()) {
            m.put("speed", l.speedMbps());
            m.put("duplex", l.fullDuplex() ? "full-duplex" : "half-duplex");
        }
        return m;
    }

    private static Map<String, Object> info(EthDev port) {
        DevInfo di = port.info();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", port.name());
        m.put("state", port.state() == EthDev.State.CLOSED ? 0 : 1);
        m.put("nb_rx_queues", port.nbRxQueues());
        m.put("nb_tx_queues", port.nbTxQueues());
        m.put("port_id", port.id());
        m.put("mtu", port.mtu());
        m.put("rx_mbuf_size_min", di.minRxBufSize());
        m.put("rx_mbuf_alloc_fail", port.stats().rxNombuf);
        m.put("mac_addr", port.macAddr().toString());
        m.put("promiscuous", port.promiscuous() ? 1 : 0);
        m.put("all_multicast", port.allMulticast() ? 1 : 0);
        m.put("dev_started", port.isStarted() ? 1 : 0);
        m.put("driver_name", di.driverName());
        m.put("numa_node", port.socketId());
        m.put("max_rx_queues", di.maxRxQueues());
        m.put("max_tx_queues", di.maxTxQueues());
        m.put("rx_offloads_capa", "0x" + Long.toHexString(di.rxOffloadCapa()));
        m.put("tx_offloads_capa", "0x" + Long.toHexString(di.txOffloadCapa()));
        return m;
    }
}
