package org.jpdk.telemetry;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalSubsystem;
import org.jpdk.eal.Log;

/**
 * Starts telemetry with the EAL, as DPDK's {@code rte_eal_init} does unless {@code --no-telemetry}
 * is given: after ethdev (ports exist), the server binds its socket in the runtime directory of
 * the {@code --file-prefix}, and cleanup closes it before ports and memory go. A socket that cannot
 * be made is a warning, not a failure: the data plane runs without it, as DPDK's does. The JFR
 * events' hooks ({@link FlightEvents}) are installed here too, with or without the socket.
 */
public final class TelemetrySubsystem implements EalSubsystem {
    @Override
    public void init(Eal eal) {
        if (eal.config().metrics() != null) startMetrics(eal);
        FlightEvents.install(eal);
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

    /**
     * The Prometheus endpoint: unlike the telemetry socket, asked for explicitly, so a failure to
     * listen fails the EAL with its one-line reason. Started from a thread pinned to the control
     * CPUs, so the HTTP server's threads (which inherit the affinity) stay off the lcores.
     */
    private static void startMetrics(Eal eal) {
        Metrics[] m = new Metrics[1];
        RuntimeException[] failed = new RuntimeException[1];
        Thread t = new Thread(() -> {
            try {
                org.jpdk.sys.Libc.schedSetaffinity(0, eal.controlCpus());
                m[0] = Metrics.start(eal.config().metrics());
            } catch (RuntimeException e) {
                failed[0] = e;
            }
        }, "metrics-start");
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (failed[0] != null) throw new org.jpdk.eal.EalArgumentException(failed[0].getMessage());
        eal.onCleanup(m[0]::close);
        Log.EAL.log(Log.NOTICE, "metrics: http://%s/metrics", eal.config().metrics().replaceAll(":0$", ":" + m[0].port()));
    }

    @Override
    public int order() {
        return 200;
    }
}
