package org.jpdk.bench;

import java.util.Arrays;
import java.util.List;
import java.util.ServiceLoader;

/**
 * {@code ./jpdk bench <name> [args]}: runs the side-by-side {@link Benchmark} of that name. Each
 * prints {@code BENCH <name> <value> <unit>} lines, ours and the peers', then the ratios.
 */
public final class BenchMain {
    private BenchMain() {
    }

    /** The benchmarks on the class path, by name. */
    static List<Benchmark> benchmarks() {
        return ServiceLoader.load(Benchmark.class).stream().map(ServiceLoader.Provider::get)
                .sorted((a, b) -> a.name().compareTo(b.name())).toList();
    }

    public static void main(String[] args) throws Exception {
        List<Benchmark> all = benchmarks();
        for (Benchmark b : all) {
            if (args.length > 0 && b.name().equals(args[0])) {
                try {
                    b.main(Arrays.copyOfRange(args, 1, args.length));
                } catch (IllegalArgumentException e) {
                    // a bad option of ours (JMH reports its own): one line, not a stack trace
                    String m = e.getMessage();
                    System.err.println(m != null && m.startsWith("bench ") ? "jpdk " + m : "jpdk bench " + b.name() + ": " + m);
                    System.exit(1);
                }
                return;
            }
        }
        StringBuilder sb = new StringBuilder("jpdk bench: name one of " + String.join(", ", all.stream().map(Benchmark::name).toList())
                + (args.length == 0 ? "" : ", not '" + args[0] + "'") + "; any further arguments go to JMH (e.g. -f 1 -wi 2 -i 3)\n");
        for (Benchmark b : all) sb.append(String.format("  %-10s %s%n", b.name(), b.summary()));
        System.err.print(sb);
        System.exit(1);
    }
}
