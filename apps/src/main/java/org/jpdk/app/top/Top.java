package org.jpdk.app.top;

import org.jpdk.app.App;
import org.jpdk.sys.LinuxException;
import org.jpdk.telemetry.TelemetryClient;

import java.io.PrintStream;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * {@code ./jpdk top [--file-prefix P] [--once] [--interval S] [-n N]}: a running app (jpdk's or
 * DPDK's) seen through its telemetry socket, refreshed every interval: per port rx and tx rates,
 * drops by cause, lcore busy share, mempool use. On a terminal it is a full-screen view
 * ({@link TopScreen}, JLine) until q or Ctrl-C; otherwise, and with {@code --once}, it prints
 * frames as plain text, as {@code top -b} does. Rates need two readings, so the first frame
 * comes one interval after the start.
 */
public final class Top {
    private Top() {
    }

    /** The {@code ./jpdk top} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "top";
        }

        @Override
        public String summary() {
            return "a live view of a running app (jpdk or DPDK): port rates, drops, lcore busy %, mempools";
        }

        @Override
        public void main(String[] args) {
            int rc = run(args, System.out, System.err, System.console() != null && System.console().isTerminal());
            if (rc != 0) System.exit(rc);
        }
    }

    static final String USAGE = """
            usage: jpdk top [--file-prefix PREFIX] [--once] [--interval SECONDS] [-n FRAMES]
              shows a running jpdk or DPDK app through its telemetry socket
              --file-prefix PREFIX  the app's --file-prefix (default rte)
              --once                print one frame (two readings an interval apart) and exit
              --interval SECONDS    time between readings, 0.1 to 3600 (default 1)
              -n FRAMES             exit after this many frames (default: until q, Ctrl-C or the app's exit)
            on a terminal the view is full-screen (q or Ctrl-C quits); otherwise frames are printed one after another
            """;

    /** The command line. */
    record Options(String prefix, boolean once, long intervalMillis, long frames, boolean help) {
    }

    static Options parse(String[] args) {
        String prefix = "rte";
        boolean once = false;
        double interval = 1;
        long frames = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "-h", "--help" -> {
                    return new Options(prefix, once, 1000, frames, true);
                }
                case "--once" -> once = true;
                case "--file-prefix" -> prefix = value != null ? value : next(args, ++i, a);
                case "--interval" -> {
                    String v = value != null ? value : next(args, ++i, a);
                    try {
                        interval = Double.parseDouble(v);
                    } catch (NumberFormatException e) {
                        interval = Double.NaN;
                    }
                    if (!(interval >= 0.1 && interval <= 3600)) {
                        throw new IllegalArgumentException("--interval " + v + ": expected seconds from 0.1 to 3600");
                    }
                }
                case "-n" -> {
                    String v = next(args, ++i, a);
                    try {
                        frames = Long.parseLong(v);
                    } catch (NumberFormatException e) {
                        frames = 0;
                    }
                    if (frames < 1) throw new IllegalArgumentException("-n " + v + ": expected a number of frames, 1 or more");
                }
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'; --help lists them");
            }
        }
        if (prefix.isEmpty() || prefix.indexOf('/') >= 0) throw new IllegalArgumentException("--file-prefix '" + prefix + "': not a file prefix");
        return new Options(prefix, once, Math.round(interval * 1000), once ? 1 : frames, false);
    }

    private static String next(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + ": missing value");
        return args[i];
    }

    /** Where frames go: the full-screen view or plain lines. */
    interface Screen extends AutoCloseable {
        void show(List<String> lines);

        /** Waits {@code millis}; true when the user asked to quit meanwhile. */
        boolean pause(long millis);

        @Override
        void close();
    }

    /** Frames as plain text, separated by a blank line. */
    private record Lines(PrintStream out) implements Screen {
        @Override
        public void show(List<String> lines) {
            lines.forEach(out::println);
            out.println();
            out.flush();
        }

        @Override
        public boolean pause(long millis) {
            try {
                Thread.sleep(millis);
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            }
        }

        @Override
        public void close() {
        }
    }

    /**
     * Runs top; returns the exit code. {@code terminal}: stdout is a terminal, so without
     * {@code --once} the view is full-screen (plain frames if JLine finds no usable terminal).
     */
    public static int run(String[] args, PrintStream out, PrintStream err, boolean terminal) {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            err.println("top: " + e.getMessage());
            return 1;
        }
        if (o.help()) {
            out.print(USAGE);
            return 0;
        }
        TelemetryClient c;
        try {
            c = TelemetryClient.connect(o.prefix());
        } catch (LinuxException e) {
            err.println("top: no app with --file-prefix " + o.prefix() + " is running (telemetry socket: " + e.getMessage() + ")");
            return 1;
        } catch (IllegalStateException e) {
            err.println("top: " + e.getMessage());
            return 1;
        }
        String error;
        try (c) {
            Screen full = terminal && !o.once() ? TopScreen.open() : null;
            try (Screen screen = full != null ? full : new Lines(out)) {
                error = loop(o, c, screen);
            }
        }
        if (error == null) return 0;
        err.println(error);
        return 1;
    }

    /** Reads, waits, reads and shows, until done; returns null or the one-line reason it stopped. */
    private static String loop(Options o, TelemetryClient c, Screen screen) {
        Object version = c.greeting().get("version"), pid = c.greeting().get("pid");
        String who = version + " pid " + pid + ", --file-prefix " + o.prefix();
        try {
            TopSample prev = TopSample.read(c::request, System.nanoTime());
            for (long frames = 0; ; ) {
                if (screen.pause(o.intervalMillis())) return null;
                TopSample cur = TopSample.read(c::request, System.nanoTime());
                screen.show(TopFrame.render("jpdk top - " + who + " - " + LocalTime.now().truncatedTo(ChronoUnit.SECONDS), prev, cur));
                prev = cur;
                if (o.frames() > 0 && ++frames >= o.frames()) return null;
            }
        } catch (RuntimeException e) {
            return "top: the app (" + who + ") went away: " + e.getMessage();
        }
    }
}
