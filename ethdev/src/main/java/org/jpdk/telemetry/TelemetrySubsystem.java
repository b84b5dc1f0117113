package org.jpdk.telemetry;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalSubsystem;
import org.jpdk.eal.Log;

/**
 * Starts telemetry with the EAL, as DPDK's {@code rte_eal_init} does unless {@code --no-telemetry}
 * is given: after ethdev (ports exist), the server binds its socket in the runtime directory of
 * the {@code --file-prefix}, and cleanup closes it before ports and memory go. A socket that cannot
 * be made is a warning, not a failure: the data plane runs without it, as DPDK's does.
 */
public final class TelemetrySubsystem implements EalSubsystem {
    @Override
    public void init(Eal eal) {
        if (eal.config().noTelemetry()) return;
        Telemetry.commands(); // registers the built-in commands
        try {
            TelemetryServer server = TelemetryServer.start(TelemetryServer.runtimeDir(eal.config().filePrefix()),
                    eal.controlCpus());
            eal.onCleanup(server::close);
            Log.EAL.log(Log.DEBUG, "telemetry: socket %s", server.path());
        } catch (RuntimeException e) {
            Log.EAL.log(Log.WARNING, "telemetry: not started: %s", e.getMessage());
        }
    }

    @Override
    public int order() {
        return 200;
    }
}
