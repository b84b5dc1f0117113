package org.jpdk.bench;

/**
 * A side-by-side benchmark that {@code ./jpdk bench <name>} runs, found with
 * {@link java.util.ServiceLoader}: a benchmark adds a small class implementing this (by habit a
 * nested {@code Entry} in its main class) and lists it in
 * {@code META-INF/services/org.jpdk.bench.Benchmark}; nothing else names it.
 */
public interface Benchmark {
    /** The name on the command line: {@code fwd}, {@code ring}. */
    String name();

    /** One line for the list: what it compares with what. */
    String summary();

    /** Runs it with the arguments after its name; prints {@code BENCH} lines, ours and the peer's. */
    void main(String[] args) throws Exception;
}
