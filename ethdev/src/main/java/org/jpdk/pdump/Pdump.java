package org.jpdk.pdump;

import org.jpdk.bpf.BpfException;
import org.jpdk.bpf.BpfProgram;
import org.jpdk.bpf.PcapFilter;
import org.jpdk.ethdev.EthDev;
import org.jpdk.sys.LinuxException;
import org.jpdk.sys.UnixSocket;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Packet capture of a running app for {@code ./jpdk dumpcap}, as DPDK's lib/pdump: the capture
 * client asks (through the telemetry socket, {@code /pdump/enable}) for a port to be captured into
 * a {@code SOCK_SEQPACKET} socket it listens on; this side compiles the tcpdump filter
 * ({@link PcapFilter}), connects to that socket, and puts a copying callback on each of the port's
 * rx and tx queues ({@link Capture}). The lcores copy matching packets (up to the snaplen) into
 * per-queue rings as pcapng blocks; a capture thread, pinned off the lcores like the telemetry
 * thread it is started from, sends them. With no capture running no callback is installed, and
 * the forwarding path pays nothing. One capture per port at a time.
 */
public final class Pdump {
    /** The largest snaplen asked for (libpcap's MAXIMUM_SNAPLEN); copies stop at 65535 bytes. */
    public static final int MAX_SNAPLEN = 262144;

    private static final Map<Integer, Capture> RUNNING = new ConcurrentHashMap<>();

    private Pdump() {
    }

    /**
     * Starts capturing port {@code portId} into the socket at {@code socketPath}, the packets
     * stamped with interface {@code ifId} and cut at {@code snaplen}, only those {@code filter}
     * (a tcpdump expression, empty or null for all) accepts. Throws IllegalArgumentException or
     * IllegalStateException with a one-line reason: no such port, a capture already running on
     * it, a bad filter, a socket that cannot be reached.
     */
    public static synchronized void enable(int portId, int ifId, int snaplen, String socketPath, String filter) {
        if (snaplen < 1 || snaplen > MAX_SNAPLEN) throw new IllegalArgumentException("snaplen " + snaplen + ": allowed 1.." + MAX_SNAPLEN);
        if (ifId < 0) throw new IllegalArgumentException("interface id " + ifId + ": must not be negative");
        BpfProgram prog = null;
        String text = filter == null ? "" : filter.strip();
        if (!text.isEmpty()) {
            try {
                prog = PcapFilter.compile(text).toProgram();
            } catch (BpfException e) {
                throw new IllegalArgumentException(e.getMessage().lines().findFirst().orElse("bad filter"));
            }
        }
        EthDev port;
        try {
            port = EthDev.get(portId);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("port " + portId + ": no such port");
        }
        if (RUNNING.containsKey(portId)) throw new IllegalStateException("port " + portId + " (" + port.name() + ") is already being captured");
        if (port.nbRxQueues() + port.nbTxQueues() == 0) throw new IllegalStateException("port " + portId + " (" + port.name() + ") has no queues configured");
        if (socketPath == null || !socketPath.startsWith("/")) throw new IllegalArgumentException("socket '" + socketPath + "': not an absolute path");
        UnixSocket s;
        try {
            s = UnixSocket.connect(socketPath, false);
        } catch (LinuxException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot reach the capture socket: " + e.getMessage());
        }
        Capture[] self = new Capture[1];
        Capture c;
        try {
            c = new Capture(port, ifId, snaplen, text, prog, s, () -> RUNNING.remove(portId, self[0]));
        } catch (RuntimeException e) {
            s.close();
            throw new IllegalStateException("port " + portId + ": " + e.getMessage());
        }
        self[0] = c;
        RUNNING.put(portId, c);
        c.start();
        Capture.LOG.info("pdump: port " + portId + " (" + port.name() + "): capturing, snaplen " + snaplen
                + (text.isEmpty() ? "" : ", filter '" + text + "'"));
    }

    /**
     * Asks the capture of {@code portId} to end: its thread removes the callbacks, sends what is
     * left and the statistics block, and closes the socket. Returns false when none runs.
     */
    public static boolean disable(int portId) {
        Capture c = RUNNING.get(portId);
        if (c == null) return false;
        c.requestStop();
        return true;
    }

    /** The counts of the capture of {@code portId} (accepted, filtered, nombuf, ringfull...), or null. */
    public static Map<String, Object> stats(int portId) {
        Capture c = RUNNING.get(portId);
        return c == null ? null : c.stats();
    }

    /** The ports being captured, in id order. */
    public static List<Integer> list() {
        List<Integer> l = new ArrayList<>(RUNNING.keySet());
        l.sort(null);
        return l;
    }

    /** Ends every capture and waits for them (up to {@code millis} in all); EAL cleanup and tests. */
    public static void disableAll(long millis) {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        List<Capture> all = new ArrayList<>(RUNNING.values());
        all.forEach(Capture::requestStop);
        for (Capture c : all) {
            try {
                c.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
