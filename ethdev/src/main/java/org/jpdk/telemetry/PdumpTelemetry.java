package org.jpdk.telemetry;

import org.jpdk.pdump.Pdump;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The capture commands {@code ./jpdk dumpcap} sends ({@link Pdump}): enable a port's capture into
 * the client's socket, disable it, list and count. A request that cannot be served gets
 * {@code {"error":"<one line>"}} as its value, which the client prints; a malformed one the same,
 * never an exception out of the handler.
 */
final class PdumpTelemetry {
    private PdumpTelemetry() {
    }

    static void register() {
        Telemetry.register("/pdump/enable", "Starts a capture. Parameters: port,if_id,snaplen,socket_path[,filter]",
                (c, p) -> enable(p));
        Telemetry.register("/pdump/disable", "Ends the capture of a port. Parameters: int port_id", (c, p) -> {
            try {
                int port = Telemetry.intParam(p);
                return Pdump.disable(port) ? result("stopping", port) : error("port " + port + " is not being captured");
            } catch (IllegalArgumentException e) {
                return error(e.getMessage());
            }
        });
        Telemetry.register("/pdump/list", "Returns the ports being captured. Takes no parameters", (c, p) -> Pdump.list());
        Telemetry.register("/pdump/stats", "Returns the counts of a port's capture. Parameters: int port_id", (c, p) -> {
            try {
                return Pdump.stats(Telemetry.intParam(p));
            } catch (IllegalArgumentException e) {
                return error(e.getMessage());
            }
        });
    }

    private static Object enable(String params) {
        if (params == null) return error("missing parameters: port,if_id,snaplen,socket_path[,filter]");
        String[] f = params.split(",", 5);
        if (f.length < 4) return error("'" + params + "': expected port,if_id,snaplen,socket_path[,filter]");
        try {
            int port = Telemetry.intParam(f[0]);
            Pdump.enable(port, Telemetry.intParam(f[1]), Telemetry.intParam(f[2]), f[3], f.length > 4 ? f[4] : "");
            return result("capturing", port);
        } catch (IllegalArgumentException | IllegalStateException e) {
            return error(e.getMessage());
        }
    }

    private static Map<String, Object> result(String status, int port) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status);
        m.put("port", port);
        return m;
    }

    private static Map<String, Object> error(String why) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", why == null ? "failed" : why);
        return m;
    }
}
