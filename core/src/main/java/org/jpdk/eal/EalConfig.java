package org.jpdk.eal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The EAL command line once parsed and checked: which lcores exist and on which CPUs, the main and
 * service lcores, virtual devices, memory requests and log levels, plus the application's own
 * arguments (those after {@code --}). Immutable; {@link EalArgs#parse} builds it, {@link Eal#init}
 * acts on it, and the memory subsystem reads the memory fields from {@link Eal#config()}.
 *
 * @param lcores        lcores that run application code, main included, ascending (not service lcores)
 * @param mainLcore     the lcore of the thread that called init
 * @param serviceLcores lcores reserved for service cores ({@code -S}), ascending
 * @param cpus          every lcore above (main, workers, service) to the CPUs its thread is pinned to
 * @param vdevs         {@code --vdev} arguments, verbatim and in order, for ethdev to parse
 * @param memoryBytes   {@code -m} (or the sum of {@code --socket-mem}) in bytes; 0 when not given
 * @param socketMemMb   {@code --socket-mem}: MB per NUMA socket, index = socket id; empty when not given
 * @param noHuge        {@code --no-huge}: 4 KiB pages instead of hugepages
 * @param hugeDir       {@code --huge-dir}, or null for anonymous hugepages (no files, as --in-memory)
 * @param filePrefix    {@code --file-prefix}, default {@code "rte"}
 * @param inMemory      {@code --in-memory}: no shared files at all
 * @param singleFileSegments {@code --single-file-segments}: one file per memseg list
 * @param logLevels     {@code --log-level} settings in command-line order
 * @param appArgs       the arguments after {@code --}
 * @param argsParsed    how many arguments the EAL consumed, {@code --} included (DPDK's return value)
 * @param noTelemetry   {@code --no-telemetry}: no telemetry socket
 * @param ealArgs       the EAL arguments as given, before {@code --} (telemetry's {@code /eal/params})
 * @param metrics       {@code --metrics=ADDR:PORT}: where to serve Prometheus metrics, or null for none
 */
public record EalConfig(List<Integer> lcores, int mainLcore, List<Integer> serviceLcores,
                        Map<Integer, List<Integer>> cpus, List<String> vdevs, long memoryBytes,
                        List<Integer> socketMemMb, boolean noHuge, String hugeDir, String filePrefix,
                        boolean inMemory, boolean singleFileSegments, List<LogLevel> logLevels, List<String> appArgs,
                        int argsParsed, boolean noTelemetry, List<String> ealArgs, String metrics) {

    /** The default {@code --file-prefix}, as DPDK's. */
    public static final String DEFAULT_FILE_PREFIX = "rte";

    /**
     * One {@code --log-level} setting.
     *
     * @param pattern a glob ({@code lib.*}) or, when {@code regex}, a regular expression over log type
     *                names; null for the global level
     * @param regex   whether {@code pattern} is a regular expression (DPDK's {@code <regex>,<level>} form)
     * @param level   1 (emerg) to 8 (debug)
     */
    public record LogLevel(String pattern, boolean regex, int level) {
    }

    public EalConfig {
        lcores = List.copyOf(lcores);
        serviceLcores = List.copyOf(serviceLcores);
        cpus = Map.copyOf(cpus);
        vdevs = List.copyOf(vdevs);
        socketMemMb = List.copyOf(socketMemMb);
        logLevels = List.copyOf(logLevels);
        appArgs = List.copyOf(appArgs);
        ealArgs = List.copyOf(ealArgs);
    }

    /** The worker lcores: {@link #lcores()} without the main one. */
    public List<Integer> workers() {
        List<Integer> w = new ArrayList<>(lcores);
        w.remove(Integer.valueOf(mainLcore));
        return List.copyOf(w);
    }
}
