package org.jpdk.telemetry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The registry of telemetry commands, as DPDK's {@code rte_telemetry_register_cmd}: the EAL,
 * ethdev, mempool and ring commands are registered here when the EAL starts telemetry, and apps
 * and drivers add their own ({@code testpmd} its forwarding mode and streams, {@code l3fwd} its
 * routes). Commands are kept sorted, so {@code /} lists them as DPDK does. {@link #handle} turns
 * one request into one reply, and is what the socket server calls.
 */
public final class Telemetry {
    /** The largest reply, as DPDK's MAX_OUTPUT_LEN; the greeting announces it. */
    public static final int MAX_OUTPUT_LEN = 16 * 1024;
    /** A command name is shorter than this, as DPDK's MAX_CMD_LEN. */
    public static final int MAX_CMD_LEN = 56;
    /** Help texts are shorter than this, as RTE_TEL_MAX_STRING_LEN. */
    public static final int MAX_HELP_LEN = 128;
    /** The version the greeting and {@code /info} report. */
    public static final String VERSION = "jpdk 0.1.0";

    private record Entry(String help, TelemetryCommand fn) {
    }

    private static final Map<String, Entry> COMMANDS = new ConcurrentSkipListMap<>();

    static {
        register("/", "Returns list of available commands, Takes no parameters", (c, p) -> List.copyOf(COMMANDS.keySet()));
        register("/info", "Returns DPDK Telemetry information. Takes no parameters", (c, p) -> info());
        register("/help", "Returns help text for a command. Parameters: string command", Telemetry::help);
        EalTelemetry.register();
        EthDevTelemetry.register();
        PoolTelemetry.register();
        PdumpTelemetry.register();
    }

    private Telemetry() {
    }

    /**
     * Registers (or replaces: an app that runs twice in one JVM registers twice) command
     * {@code cmd}. As DPDK, a command starts with {@code /}, is shorter than {@link #MAX_CMD_LEN}
     * and consists of letters, digits, {@code _} and {@code /}; the help is shorter than
     * {@link #MAX_HELP_LEN}.
     *
     * @throws IllegalArgumentException for a bad name or help text
     */
    public static void register(String cmd, String help, TelemetryCommand fn) {
        if (cmd == null || cmd.isEmpty() || cmd.charAt(0) != '/' || cmd.length() >= MAX_CMD_LEN
                || !cmd.chars().allMatch(ch -> ch == '/' || ch == '_' || Character.isLetterOrDigit(ch) && ch < 128)) {
            throw new IllegalArgumentException("telemetry command '" + cmd + "': must start with '/', be shorter than "
                    + MAX_CMD_LEN + " characters and use only letters, digits, '_' and '/'");
        }
        if (help == null || help.length() >= MAX_HELP_LEN) {
            throw new IllegalArgumentException("telemetry command " + cmd + ": help text must be shorter than " + MAX_HELP_LEN);
        }
        COMMANDS.put(cmd, new Entry(help, java.util.Objects.requireNonNull(fn, "fn")));
    }

    /** Removes an app's command (at its end); built-in commands stay. */
    public static void unregister(String cmd) {
        if (cmd != null && !cmd.equals("/") && !cmd.equals("/info") && !cmd.equals("/help")) COMMANDS.remove(cmd);
    }

    /** The registered command names, sorted. */
    public static List<String> commands() {
        return new ArrayList<>(COMMANDS.keySet());
    }

    /** The greeting and {@code /info}: version, pid and the largest reply. */
    static Map<String, Object> info() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("version", VERSION);
        m.put("pid", ProcessHandle.current().pid());
        m.put("max_output_len", MAX_OUTPUT_LEN);
        return m;
    }

    private static Object help(String cmd, String params) {
        String lookup = params == null ? cmd : params;
        Entry e = COMMANDS.get(lookup);
        if (e == null) return null;
        return params == null ? e.help : Map.of(params, e.help);
    }

    /**
     * The reply to one request, as DPDK's client handler makes it: the text up to the first comma
     * is the command (leading commas skipped, as {@code strtok}), the rest its parameters; an
     * unknown command, a failing handler or a reply longer than {@link #MAX_OUTPUT_LEN} gives
     * {@code {"<cmd>":null}}; a request that is empty or only commas names the command "none".
     */
    public static String handle(String request) {
        int start = 0;
        while (start < request.length() && request.charAt(start) == ',') start++;
        if (start == request.length()) return "{\"none\":null}";
        int comma = request.indexOf(',', start);
        String cmd = comma < 0 ? request.substring(start) : request.substring(start, comma);
        String params = null;
        if (comma >= 0) {
            params = request.substring(comma + 1);
            if (params.isEmpty()) params = null;
        }
        Object value = null;
        Entry e = cmd.length() < MAX_CMD_LEN ? COMMANDS.get(cmd) : null;
        if (e != null) {
            try {
                value = e.fn.handle(cmd, params);
            } catch (RuntimeException ex) {
                value = null;
            }
        }
        String key = cmd.length() < MAX_CMD_LEN ? cmd : cmd.substring(0, MAX_CMD_LEN);
        StringBuilder b = new StringBuilder();
        b.append('{');
        Json.write(b, key);
        b.append(':');
        Json.write(b, value);
        b.append('}');
        if (b.length() > MAX_OUTPUT_LEN / 3 && b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                > MAX_OUTPUT_LEN) return "{" + Json.write(key) + ":null}";
        return b.toString();
    }

    /** The integer parameter of a command like {@code /ethdev/stats,0}; IllegalArgumentException otherwise. */
    static int intParam(String params) {
        if (params == null) throw new IllegalArgumentException("missing parameter");
        String p = params.strip();
        if (p.isEmpty() || p.length() > 9 || !p.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("not a number: " + params);
        }
        return Integer.parseInt(p);
    }
}
