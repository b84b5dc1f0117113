package org.jpdk.app;

/**
 * An app that {@code ./jpdk <name>} runs, found with {@link java.util.ServiceLoader}: an app adds
 * a small class implementing this (by habit a nested {@code Entry} in its main class) and lists it
 * in {@code META-INF/services/org.jpdk.app.App}; nothing else names it.
 */
public interface App {
    /** The name on the command line: {@code testpmd}, {@code l2fwd}. */
    String name();

    /** One line for {@code ./jpdk help}. */
    String summary();

    /** Runs the app with the arguments after its name, and ends the JVM with its exit code. */
    void main(String[] args);
}
