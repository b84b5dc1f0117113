package org.jpdk.eal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.TreeMap;

/**
 * The parser of DPDK's EAL command line into an {@link EalConfig}. It accepts {@code --opt value},
 * {@code --opt=value} and, for short options, {@code -lVALUE}; it stops at {@code --}, leaving the rest
 * to the app. Lcore and CPU checks against the machine are left to {@link Eal#init}, so parsing is a
 * pure function of the arguments and the CPUs this process may use (the default lcore set).
 * Conflicts follow DPDK: {@code -l}, {@code -c} and {@code --lcores} are exclusive, {@code -m} excludes
 * {@code --socket-mem}, {@code --no-huge} excludes {@code --socket-mem}, the main lcore must be an
 * enabled lcore and cannot be a service lcore. jpdk also refuses {@code --no-huge} with
 * {@code --huge-dir}, which DPDK silently ignores. Service lcores ({@code -S}) are taken out of the
 * worker set, as in DPDK, and may also name lcores outside it.
 */
public final class EalArgs {
    /** The most NUMA sockets {@code --socket-mem} may name, as RTE_MAX_NUMA_NODES. */
    public static final int MAX_SOCKETS = 32;
    private static final java.util.Set<String> KNOWN = java.util.Set.of("-l", "--lcores", "-c", "--main-lcore", "-S",
            "--service-corelist", "--vdev", "-m", "--socket-mem", "--no-huge", "--in-memory", "--single-file-segments", "--huge-dir",
            "--file-prefix", "--log-level", "--no-telemetry", "--metrics");
    private static final String LIST_HINT = "expected a list like 0-3,5";

    private EalArgs() {
    }

    /** The usage text printed for {@code -h}: one line or two per option. */
    public static String usage() {
        return """
                EAL options (as DPDK's), then -- and the app's own arguments:
                  -l, --lcores LIST        lcores to run on, e.g. 0-3,5; each lcore N runs on CPU N
                  --lcores MAP             lcore to CPU map, e.g. 0@1,(1-3)@(0,1): lcores[@cpus],...
                  -c MASK                  hex mask of lcores to run on, e.g. 0x3 (not with -l/--lcores)
                  --main-lcore ID          the lcore of the calling thread (default: the lowest)
                  -S, --service-corelist LIST  lcores reserved for service cores, e.g. 2-3
                  --vdev DEVARGS           add a virtual device, e.g. net_null0 (repeatable)
                  -m MB                    memory to reserve, in MB (not with --socket-mem)
                  --socket-mem MB,MB...    memory per NUMA socket, in MB
                  --no-huge                use 4 KiB pages instead of hugepages
                  --huge-dir DIR           the hugetlbfs mount to use (not with --no-huge)
                  --file-prefix NAME       prefix of shared files (default rte)
                  --in-memory              create no shared files at all
                  --single-file-segments   one memory file per page size and socket, not one per mapping
                  --metrics ADDR:PORT      serve Prometheus metrics at http://ADDR:PORT/metrics (jpdk's)
                  --no-telemetry           no telemetry socket (dpdk_telemetry.v2 in the runtime directory)
                  --log-level LEVEL        global log level: 1-8 or emerg,alert,crit,err,warning,notice,info,debug
                  --log-level TYPE:LEVEL   level of the log types matching a glob, e.g. lib.eal:debug
                  --log-level REGEX,LEVEL  level of the log types matching a regular expression
                  -h, --help               this text
                """;
    }

    /** Parses {@code args} with the default lcore set taken from the calling thread's CPU affinity. */
    public static EalConfig parse(String... args) {
        return parse(org.jpdk.sys.Libc.schedGetaffinity(0), args);
    }

    /**
     * Parses {@code args}; {@code available} is the CPUs this process may use, which become the lcores
     * when no {@code -l}, {@code -c} or {@code --lcores} is given.
     *
     * @throws EalArgumentException on any unknown, malformed or conflicting argument, or for {@code -h}
     */
    public static EalConfig parse(BitSet available, String... args) {
        TreeMap<Integer, List<Integer>> cpus = null;
        String coreOpt = null;
        int main = -1;
        List<Integer> service = List.of();
        List<String> vdevs = new ArrayList<>();
        long memMb = -1;
        List<Integer> socketMem = List.of();
        boolean noHuge = false, inMemory = false, singleFile = false, noTelemetry = false;
        String hugeDir = null, filePrefix = null, metrics = null;
        List<EalConfig.LogLevel> logLevels = new ArrayList<>();
        int i = 0;
        for (; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                i++;
                return finish(available, cpus, main, service, vdevs, memMb, socketMem, noHuge, hugeDir, filePrefix,
                        inMemory, singleFile, logLevels, Arrays.asList(args).subList(i, args.length), i, noTelemetry,
                        Arrays.asList(args).subList(0, i - 1), metrics);
            }
            String name, value = null;
            if (a.startsWith("--")) {
                int eq = a.indexOf('=');
                name = eq < 0 ? a : a.substring(0, eq);
                if (eq >= 0) value = a.substring(eq + 1);
            } else if (a.startsWith("-") && a.length() >= 2) {
                name = a.substring(0, 2);
                if (a.length() > 2) value = a.substring(2);
            } else {
                throw new EalArgumentException("unexpected argument '" + a
                        + "'; EAL options come first, then -- and the app's arguments");
            }
            if (name.equals("-h") || name.equals("--help")) throw EalArgumentException.help();
            if (!KNOWN.contains(name)) throw new EalArgumentException("unknown EAL option '" + a + "'; -h lists them");
            boolean flag = name.equals("--no-huge") || name.equals("--in-memory") || name.equals("--single-file-segments")
                    || name.equals("--no-telemetry");
            if (flag) {
                if (value != null) throw new EalArgumentException(name + "=" + value + ": takes no value");
            } else if (value == null) {
                if (i + 1 >= args.length || args[i + 1].equals("--")) {
                    throw new EalArgumentException(name + ": missing value; " + expected(name));
                }
                value = args[++i];
            }
            switch (name) {
                case "-l", "--lcores", "-c" -> {
                    if (coreOpt != null) {
                        throw new EalArgumentException(name + " " + value + ": cannot be combined with " + coreOpt
                                + "; give the lcores once, with -l, -c or --lcores");
                    }
                    coreOpt = name;
                    cpus = switch (name) {
                        case "-c" -> identity(parseMask(name, value));
                        default -> value.indexOf('@') >= 0 || value.indexOf('(') >= 0
                                ? parseLcoreMap(name, value) : identity(parseList(name, value));
                    };
                }
                case "--main-lcore" -> main = parseLcoreId(name, value, value);
                case "-S", "--service-corelist" -> service = Arrays.stream(parseList(name, value)).boxed().toList();
                case "--vdev" -> {
                    if (value.isBlank()) throw new EalArgumentException(name + " '': empty; " + expected(name));
                    vdevs.add(value);
                }
                case "-m" -> {
                    memMb = parseMb(name, value);
                    if (memMb == 0) throw new EalArgumentException("-m 0: must be at least 1 MB");
                }
                case "--socket-mem" -> socketMem = parseSocketMem(name, value);
                case "--no-huge" -> noHuge = true;
                case "--in-memory" -> inMemory = true;
                case "--single-file-segments" -> singleFile = true;
                case "--no-telemetry" -> noTelemetry = true;
                case "--metrics" -> metrics = checkMetrics(value);
                case "--huge-dir" -> {
                    if (value.isEmpty()) throw new EalArgumentException("--huge-dir '': empty; " + expected(name));
                    hugeDir = value;
                }
                case "--file-prefix" -> {
                    if (value.isEmpty() || value.indexOf('%') >= 0 || value.indexOf('/') >= 0) {
                        throw new EalArgumentException("--file-prefix '" + value + "': not a file prefix; "
                                + expected(name));
                    }
                    filePrefix = value;
                }
                case "--log-level" -> logLevels.add(parseLogLevel(value));
                default -> throw new EalArgumentException("unknown EAL option '" + a + "'; -h lists them");
            }
        }
        return finish(available, cpus, main, service, vdevs, memMb, socketMem, noHuge, hugeDir, filePrefix, inMemory,
                singleFile, logLevels, List.of(), i, noTelemetry, Arrays.asList(args), metrics);
    }

    private static EalConfig finish(BitSet available, TreeMap<Integer, List<Integer>> cpus, int main,
                                    List<Integer> service, List<String> vdevs, long memMb, List<Integer> socketMem,
                                    boolean noHuge, String hugeDir, String filePrefix, boolean inMemory,
                                    boolean singleFile, List<EalConfig.LogLevel> logLevels, List<String> appArgs,
                                    int parsed, boolean noTelemetry, List<String> ealArgs, String metrics) {
        if (memMb >= 0 && !socketMem.isEmpty()) {
            throw new EalArgumentException("-m " + memMb + ": cannot be combined with --socket-mem; give one of them");
        }
        if (noHuge && !socketMem.isEmpty()) {
            throw new EalArgumentException("--socket-mem " + join(socketMem)
                    + ": cannot be combined with --no-huge; 4 KiB pages are not per socket");
        }
        if (noHuge && hugeDir != null) {
            throw new EalArgumentException("--huge-dir " + hugeDir + ": cannot be combined with --no-huge");
        }
        if (cpus == null) {
            if (available.isEmpty()) throw new EalArgumentException("no CPUs are available to this process");
            cpus = identity(available.stream().filter(c -> c < Lcore.MAX).toArray());
        }
        for (int s : service) {
            if (s == main) {
                throw new EalArgumentException("-S " + s + ": lcore " + s
                        + " is the main lcore and cannot be a service lcore");
            }
            cpus.putIfAbsent(s, List.of(s));
        }
        List<Integer> lcores = new ArrayList<>(cpus.keySet());
        lcores.removeAll(service);
        if (main < 0) {
            if (lcores.isEmpty()) {
                throw new EalArgumentException("-S " + join(service) + ": leaves no lcore for the main thread; "
                        + "the lcore set is " + join(cpus.keySet()));
            }
            main = lcores.getFirst();
        } else if (!lcores.contains(main)) {
            throw new EalArgumentException("--main-lcore " + main + ": lcore " + main
                    + " is not in the lcore set " + join(lcores));
        }
        long memoryBytes = memMb > 0 ? memMb << 20 : socketMem.stream().mapToLong(m -> (long) m << 20).sum();
        return new EalConfig(lcores, main, service, cpus, vdevs, memoryBytes, socketMem, noHuge, hugeDir,
                filePrefix == null ? EalConfig.DEFAULT_FILE_PREFIX : filePrefix, inMemory, singleFile, logLevels, appArgs,
                parsed, noTelemetry, ealArgs, metrics);
    }

    /** {@code ADDR:PORT}, ADDR a host name, IPv4 or [IPv6] address, PORT 0-65535 (0: any free port). */
    static String checkMetrics(String value) {
        int colon = value.lastIndexOf(':');
        String host = colon < 0 ? "" : value.substring(0, colon), port = colon < 0 ? "" : value.substring(colon + 1);
        if (host.isEmpty() || !isNumber(port) || port.length() > 5 || Integer.parseInt(port) > 65535
                || host.startsWith("[") != host.endsWith("]")) {
            throw new EalArgumentException("--metrics " + value + ": " + expected("--metrics"));
        }
        return value;
    }

    private static String expected(String name) {
        return switch (name) {
            case "-l", "-S", "--service-corelist" -> LIST_HINT;
            case "--lcores" -> "expected a list like 0-3,5 or a map like 0@1,(1-3)@(0,1)";
            case "-c" -> "expected a hex mask like 0x3";
            case "--main-lcore" -> "expected an lcore id 0.." + (Lcore.MAX - 1);
            case "--vdev" -> "expected devargs like net_null0,size=64";
            case "-m" -> "expected a number of MB like 512";
            case "--socket-mem" -> "expected MB per socket like 1024,1024";
            case "--huge-dir" -> "expected a hugetlbfs mount like /dev/hugepages";
            case "--file-prefix" -> "expected a non-empty name without '/' or '%'";
            case "--metrics" -> "expected ADDR:PORT like 127.0.0.1:9091 or [::1]:9091 (port 0-65535)";
            case "--log-level" -> "expected 1-8, a level name (emerg..debug) or <type-glob>:<level>";
            default -> "see -h";
        };
    }

    private static TreeMap<Integer, List<Integer>> identity(int[] lcores) {
        TreeMap<Integer, List<Integer>> m = new TreeMap<>();
        for (int l : lcores) m.put(l, List.of(l));
        return m;
    }

    /** {@code 0-3,5}: numbers and ranges (either order), each below Lcore.MAX. */
    static int[] parseList(String opt, String value) {
        BitSet set = new BitSet();
        for (String item : value.split(",", -1)) {
            int dash = item.indexOf('-', 1);
            String lo = dash < 0 ? item : item.substring(0, dash), hi = dash < 0 ? item : item.substring(dash + 1);
            if (!isNumber(lo) || !isNumber(hi)) {
                throw new EalArgumentException(opt + " " + value + ": not a CPU list; " + expected(opt));
            }
            int a = parseLcoreId(opt, value, lo), b = parseLcoreId(opt, value, hi);
            set.set(Math.min(a, b), Math.max(a, b) + 1);
        }
        return set.stream().toArray();
    }

    private static int[] parseMask(String opt, String value) {
        String hex = value.startsWith("0x") || value.startsWith("0X") ? value.substring(2) : value;
        if (hex.isEmpty() || !hex.chars().allMatch(ch -> Character.digit(ch, 16) >= 0)) {
            throw new EalArgumentException(opt + " " + value + ": not a hex mask; " + expected(opt));
        }
        BitSet set = new BitSet();
        for (int k = 0; k < hex.length(); k++) {
            int nibble = Character.digit(hex.charAt(hex.length() - 1 - k), 16);
            for (int b = 0; b < 4; b++) {
                if ((nibble & (1 << b)) != 0) set.set(k * 4 + b);
            }
        }
        if (set.isEmpty()) throw new EalArgumentException(opt + " " + value + ": no lcore set; " + expected(opt));
        if (set.length() > Lcore.MAX) {
            throw new EalArgumentException(opt + " " + value + ": lcore " + (set.length() - 1)
                    + " out of range; expected lcores 0.." + (Lcore.MAX - 1));
        }
        return set.stream().toArray();
    }

    /** DPDK's {@code --lcores} map: elements {@code lcores[@cpus]}, each side a number, range or (group). */
    private static TreeMap<Integer, List<Integer>> parseLcoreMap(String opt, String value) {
        TreeMap<Integer, List<Integer>> map = new TreeMap<>();
        int[] pos = {0};
        while (true) {
            boolean grouped = pos[0] < value.length() && value.charAt(pos[0]) == '(';
            int[] lcores = group(opt, value, pos);
            int[] cpus = lcores;
            if (pos[0] < value.length() && value.charAt(pos[0]) == '@') {
                pos[0]++;
                cpus = group(opt, value, pos);
                grouped = true;
            }
            List<Integer> cpuList = Arrays.stream(cpus).boxed().toList();
            for (int l : lcores) {
                // A bare range (7-8) maps each lcore to its own CPU; a group or @ pins all to the set.
                if (map.put(l, grouped ? cpuList : List.of(l)) != null) {
                    throw new EalArgumentException(opt + " " + value + ": lcore " + l + " is given twice");
                }
            }
            if (pos[0] == value.length()) return map;
            if (value.charAt(pos[0]) != ',') throw badMap(opt, value);
            pos[0]++;
        }
    }

    private static int[] group(String opt, String value, int[] pos) {
        int start = pos[0], end;
        if (start < value.length() && value.charAt(start) == '(') {
            end = value.indexOf(')', start);
            if (end < 0) throw badMap(opt, value);
            pos[0] = end + 1;
            return parseListOrBad(opt, value, value.substring(start + 1, end));
        }
        end = start;
        while (end < value.length() && (Character.isDigit(value.charAt(end)) || value.charAt(end) == '-')) end++;
        pos[0] = end;
        return parseListOrBad(opt, value, value.substring(start, end));
    }

    private static int[] parseListOrBad(String opt, String value, String part) {
        try {
            return parseList(opt, part);
        } catch (EalArgumentException e) {
            if (e.getMessage().contains("out of range")) throw e;
            throw badMap(opt, value);
        }
    }

    private static EalArgumentException badMap(String opt, String value) {
        return new EalArgumentException(opt + " " + value + ": not an lcore map; " + expected(opt));
    }

    private static int parseLcoreId(String opt, String value, String number) {
        if (!isNumber(number)) {
            throw new EalArgumentException(opt + " " + value + ": not an lcore id; " + expected(opt));
        }
        long n = number.length() > 9 ? Long.MAX_VALUE : Long.parseLong(number);
        if (n >= Lcore.MAX) {
            throw new EalArgumentException(opt + " " + value + ": lcore " + number + " out of range; expected lcores 0.."
                    + (Lcore.MAX - 1));
        }
        return (int) n;
    }

    private static long parseMb(String opt, String value) {
        if (!isNumber(value) || value.length() > 9) {
            throw new EalArgumentException(opt + " " + value + ": not a size in MB; " + expected(opt));
        }
        return Long.parseLong(value);
    }

    private static List<Integer> parseSocketMem(String opt, String value) {
        String[] parts = value.split(",", -1);
        if (parts.length > MAX_SOCKETS) {
            throw new EalArgumentException(opt + " " + value + ": " + parts.length + " sockets; at most "
                    + MAX_SOCKETS + " are supported");
        }
        List<Integer> mb = new ArrayList<>();
        for (String p : parts) {
            if (!isNumber(p) || p.length() > 9) {
                throw new EalArgumentException(opt + " " + value + ": not a size in MB; " + expected(opt));
            }
            mb.add(Integer.parseInt(p));
        }
        return mb;
    }

    private static final List<String> LEVEL_NAMES =
            List.of("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug");

    private static EalConfig.LogLevel parseLogLevel(String value) {
        int colon = value.lastIndexOf(':'), comma = value.lastIndexOf(',');
        int sep = colon >= 0 ? colon : comma;
        String pattern = sep < 0 ? null : value.substring(0, sep);
        String level = sep < 0 ? value : value.substring(sep + 1);
        if (pattern != null && pattern.isEmpty()) {
            throw new EalArgumentException("--log-level " + value + ": empty log type; " + expected("--log-level"));
        }
        if (pattern != null && colon < 0) {
            try {
                java.util.regex.Pattern.compile(pattern);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new EalArgumentException("--log-level " + value + ": '" + pattern
                        + "' is not a regular expression; " + expected("--log-level"));
            }
        }
        int n = levelOf(level);
        if (n < 0) {
            throw new EalArgumentException("--log-level " + value + ": '" + level + "' is not a log level; "
                    + expected("--log-level"));
        }
        return new EalConfig.LogLevel(pattern, pattern != null && colon < 0, n);
    }

    /** A level by number (1-8) or name ({@code err}, {@code error}, {@code warn}, ...); -1 if neither. */
    static int levelOf(String s) {
        if (isNumber(s) && s.length() == 1) {
            int n = s.charAt(0) - '0';
            return n >= 1 && n <= 8 ? n : -1;
        }
        String l = s.toLowerCase(java.util.Locale.ROOT);
        int k = LEVEL_NAMES.indexOf(l.equals("error") ? "err" : l.equals("warn") ? "warning" : l);
        return k < 0 ? -1 : k + 1;
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.chars().allMatch(ch -> ch >= '0' && ch <= '9');
    }

    static String join(Iterable<Integer> ids) {
        StringBuilder sb = new StringBuilder();
        int start = -2, prev = -2;
        for (int id : ids) {
            if (id == prev + 1) {
                prev = id;
                continue;
            }
            range(sb, start, prev);
            start = prev = id;
        }
        range(sb, start, prev);
        return sb.isEmpty() ? "(none)" : sb.toString();
    }

    private static void range(StringBuilder sb, int start, int end) {
        if (start < 0) return;
        if (!sb.isEmpty()) sb.append(',');
        sb.append(start);
        if (end > start) sb.append('-').append(end);
    }
}
