package org.jpdk.app.l2fwd;

import org.jpdk.app.AppOptions;

import java.util.List;
import java.util.Set;

/** l2fwd's command line after {@code --}, as DPDK's examples/l2fwd reads it. */
final class L2fwdOptions {
    static final int MAX_RX_QUEUE_PER_LCORE = 16;
    static final int MAX_TIMER_PERIOD = 86400;

    long portmask;
    int rxPerLcore = 1;
    double timerPeriod = 10;
    boolean macUpdating = true;
    boolean promiscuous;
    double runSeconds;
    boolean help;

    static L2fwdOptions parse(List<String> args) {
        L2fwdOptions o = new L2fwdOptions();
        AppOptions.walk(args, Set.of("-p", "-q", "-T", "--run-seconds"), (name, value) -> {
            switch (name) {
                case "-h", "--help" -> o.help = true;
                case "-P" -> o.promiscuous = true;
                case "--mac-updating" -> o.macUpdating = true;
                case "--no-mac-updating" -> o.macUpdating = false;
                case "-p", "-q", "-T", "--run-seconds" -> o.set(name, value);
                default -> throw AppOptions.unknown(name);
            }
        });
        return o;
    }

    private void set(String name, String v) {
        switch (name) {
            case "-p" -> portmask = AppOptions.portmask("-p " + v, v);
            case "-q" -> {
                try {
                    rxPerLcore = (int) AppOptions.number("-q " + v, v, 1, MAX_RX_QUEUE_PER_LCORE);
                } catch (IllegalArgumentException e) { // DPDK's words
                    throw new IllegalArgumentException("-q " + v + ": invalid queue number; allowed 1.." + MAX_RX_QUEUE_PER_LCORE);
                }
            }
            case "-T" -> timerPeriod = AppOptions.seconds("-T " + v, v, 0, MAX_TIMER_PERIOD,
                    "invalid timer period; allowed 0.." + MAX_TIMER_PERIOD + " seconds (0: off)");
            default -> runSeconds = AppOptions.seconds("--run-seconds=" + v, v, false);
        }
    }

    static String usage() {
        return """
                usage: jpdk l2fwd [EAL options] -- -p PORTMASK [-P] [-q NQ] [-T PERIOD] [--[no-]mac-updating] [--run-seconds S]
                  -p PORTMASK          hexadecimal bitmask of ports to forward between (pairs 0-1, 2-3, ...)
                  -P                   promiscuous mode on every enabled port
                  -q NQ                rx ports per lcore, 1..%d (default 1)
                  -T PERIOD            statistics every PERIOD seconds, 0..%d (default 10, 0 off)
                  --no-mac-updating    forward packets unchanged
                  --mac-updating       source MAC = out port's, destination 02:00:00:00:00:<out port> (default)
                  --run-seconds S      stop after S seconds (else SIGINT/SIGTERM stops it)
                  -h, --help           this text
                """.formatted(MAX_RX_QUEUE_PER_LCORE, MAX_TIMER_PERIOD);
    }
}
