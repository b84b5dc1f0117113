package org.jpdk.telemetry;

import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;
import org.jpdk.eal.Eal;
import org.jpdk.eal.LcoreUsage;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthEvent;
import org.jpdk.ethdev.EthStats;
import org.jpdk.ethdev.LinkStatus;
import org.jpdk.jfr.DriverErrorEvent;
import org.jpdk.jfr.LcoreUsageEvent;
import org.jpdk.jfr.MempoolExhaustedEvent;
import org.jpdk.jfr.PortEvent;
import org.jpdk.jfr.PortLinkEvent;
import org.jpdk.jfr.PortStatisticsEvent;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Feeds jpdk's JFR events ({@link org.jpdk.jfr}) for the life of an EAL: periodic hooks for port
 * statistics, lcore usage, link state and rx_nombuf growth, which JFR runs on its own periodic
 * thread only while a recording enables the event, and port event callbacks (LINK_STATE_CHANGE,
 * DEVICE_REMOVED) on ethdev's event thread. Every value is read from the counters the lcores
 * already publish, as telemetry and the Prometheus endpoint read them: with no recording the
 * forwarding path pays nothing, and with one it pays nothing either.
 */
final class FlightEvents {
    private final Eal eal;
    /** Per port: the last link a recording saw, and the last rx_nombuf checked. */
    private final Map<Integer, LinkStatus> links = new ConcurrentHashMap<>();
    private final Map<Integer, Long> nombuf = new ConcurrentHashMap<>();
    /** Per lcore: busy and total nanoseconds at the previous event. */
    private final Map<Integer, long[]> usage = new ConcurrentHashMap<>();
    private final Runnable stats = this::portStatistics, lcores = this::lcoreUsage, linkCheck = this::linkCheck,
            nombufCheck = this::nombufCheck;
    /**
     * Registers the hooks once JFR is initialized (at once when it already is): registering a
     * periodic event initializes JFR, some 350 ms of a cold start, which an app run without JFR
     * must not pay. A new recording starts from scratch: its first link events are the current
     * state, its first nombuf check a baseline.
     */
    private final FlightRecorderListener listener = new FlightRecorderListener() {
        @Override
        public void recorderInitialized(FlightRecorder recorder) {
            hook();
        }

        @Override
        public void recordingStateChanged(Recording r) {
            if (r.getState() == RecordingState.RUNNING) {
                links.clear();
                nombuf.clear();
                usage.clear();
            }
        }
    };
    private boolean hooked, removed;
    private EthDev.EventHandle lsc, rmv;

    private FlightEvents(Eal eal) {
        this.eal = eal;
    }

    /**
     * Feeds the events for the life of {@code eal}: now if JFR runs ({@code -XX:StartFlightRecording},
     * a Recording made in this JVM), else once it starts ({@code jcmd PID JFR.start}). The EAL's
     * cleanup removes everything.
     */
    static void install(Eal eal) {
        FlightEvents f = new FlightEvents(eal);
        FlightRecorder.addListener(f.listener);
        eal.onCleanup(f::remove);
    }

    private synchronized void hook() {
        if (hooked || removed) return;
        hooked = true;
        FlightRecorder.addPeriodicEvent(PortStatisticsEvent.class, stats);
        FlightRecorder.addPeriodicEvent(LcoreUsageEvent.class, lcores);
        FlightRecorder.addPeriodicEvent(PortLinkEvent.class, linkCheck);
        FlightRecorder.addPeriodicEvent(MempoolExhaustedEvent.class, nombufCheck);
        lsc = EthDev.addEventCallbackAll(EthEvent.LINK_STATE_CHANGE, (port, ev) -> link(port));
        rmv = EthDev.addEventCallbackAll(EthEvent.DEVICE_REMOVED, (port, ev) ->
                DriverErrorEvent.emit(port.id(), port.name(), port.driverName(), "device removed"));
    }

    private synchronized void remove() {
        removed = true;
        FlightRecorder.removeListener(listener);
        if (!hooked) return;
        FlightRecorder.removePeriodicEvent(stats);
        FlightRecorder.removePeriodicEvent(lcores);
        FlightRecorder.removePeriodicEvent(linkCheck);
        FlightRecorder.removePeriodicEvent(nombufCheck);
        EthDev.removeEventCallback(lsc);
        EthDev.removeEventCallback(rmv);
    }

    private void portStatistics() {
        for (EthDev p : EthDev.all()) {
            EthStats s;
            try {
                s = p.stats();
            } catch (RuntimeException e) {
                continue; // closed between the listing and the read
            }
            PortStatisticsEvent e = new PortStatisticsEvent();
            if (!of(e, p)) return;
            e.rxPackets = s.ipackets;
            e.txPackets = s.opackets;
            e.rxBytes = s.ibytes;
            e.txBytes = s.obytes;
            e.rxMissed = s.imissed;
            e.rxErrors = s.ierrors;
            e.txErrors = s.oerrors;
            e.rxNombuf = s.rxNombuf;
            e.commit();
        }
    }

    private void lcoreUsage() {
        for (int id : EalTelemetry.lcores(eal)) {
            LcoreUsage u = LcoreUsage.of(id);
            if (u == null) continue;
            long busy = u.busyNanos(); // busy first: total, read later, is then never below it
            long total = u.totalNanos();
            long[] prev = usage.put(id, new long[] {busy, total});
            long db = prev == null ? busy : busy - prev[0], dt = prev == null ? total : total - prev[1];
            LcoreUsageEvent e = new LcoreUsageEvent();
            e.lcore = id;
            e.busyNanos = busy;
            e.totalNanos = total;
            e.busy = dt > 0 ? Math.min(1.0, (double) db / dt) : 0;
            e.commit();
        }
    }

    private static boolean of(PortEvent e, EthDev p) {
        return e.of(p.id(), p.name(), p.driverName());
    }

    private void linkCheck() {
        for (EthDev p : EthDev.all()) link(p);
    }

    /** Commits a PortLink event when the port's link differs from the one last committed (or none was). */
    private void link(EthDev p) {
        LinkStatus now;
        try {
            now = p.link();
        } catch (RuntimeException e) {
            return; // closed meanwhile
        }
        LinkStatus before = links.put(p.id(), now);
        if (now.equals(before)) return;
        PortLinkEvent e = new PortLinkEvent();
        if (!of(e, p)) return;
        e.up = now.up();
        e.speedMbps = now.speedMbps();
        e.fullDuplex = now.fullDuplex();
        e.change = before != null;
        e.commit();
    }

    private void nombufCheck() {
        for (EthDev p : EthDev.all()) {
            long total;
            try {
                total = p.stats().rxNombuf;
            } catch (RuntimeException e) {
                continue;
            }
            Long before = nombuf.put(p.id(), total);
            if (before == null || total <= before) continue; // the first check sets the baseline; a reset lowers it
            MempoolExhaustedEvent e = new MempoolExhaustedEvent();
            if (!of(e, p)) return;
            e.failures = total - before;
            e.rxNombuf = total;
            e.commit();
        }
    }
}
