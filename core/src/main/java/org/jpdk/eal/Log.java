package org.jpdk.eal;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;

/**
 * DPDK-style logging: named log types ({@code lib.eal}, {@code pmd.net.null}, ...) each with a level
 * from 1 (emerg) to 8 (debug), set by {@code --log-level}, printing {@code "EAL: message"} to stderr.
 * A disabled call costs one volatile read and a compare: the level is checked before any formatting,
 * and the fixed-arity overloads avoid a varargs array; on a hot path guard with {@link Type#enabled}
 * so primitive arguments are not boxed either. Settings given before a type registers (a glob or
 * regex from the command line) apply to it when it registers, as DPDK saves its patterns.
 */
public final class Log {
    public static final int EMERG = 1, ALERT = 2, CRIT = 3, ERR = 4, WARNING = 5, NOTICE = 6, INFO = 7, DEBUG = 8;
    /** The level of types no setting names. Notice keeps a normal run quiet, as DPDK's default. */
    public static final int DEFAULT_LEVEL = NOTICE;

    private static final CopyOnWriteArrayList<Type> TYPES = new CopyOnWriteArrayList<>();
    private static final List<EalConfig.LogLevel> SETTINGS = new ArrayList<>();
    private static volatile PrintStream out = System.err;

    /** The EAL's own log type. */
    public static final Type EAL = register("lib.eal", "EAL");

    private Log() {
    }

    /** One log type: a name to match settings against, a prefix to print and its current level. */
    public static final class Type {
        private final String name;
        private final String prefix;
        private volatile int level = DEFAULT_LEVEL;

        private Type(String name, String prefix) {
            this.name = name;
            this.prefix = prefix;
        }

        public String name() {
            return name;
        }

        public int level() {
            return level;
        }

        public void setLevel(int level) {
            if (level < EMERG || level > DEBUG) throw new IllegalArgumentException("log level " + level + " not in 1..8");
            this.level = level;
        }

        /** Whether a message at {@code level} would print: check this before building an expensive one. */
        public boolean enabled(int level) {
            return level <= this.level;
        }

        public void log(int level, String msg) {
            if (level <= this.level) print(msg);
        }

        public void log(int level, String fmt, Object a) {
            if (level <= this.level) print(String.format(fmt, a));
        }

        public void log(int level, String fmt, Object a, Object b) {
            if (level <= this.level) print(String.format(fmt, a, b));
        }

        public void log(int level, String fmt, Object a, Object b, Object c) {
            if (level <= this.level) print(String.format(fmt, a, b, c));
        }

        public void err(String msg) {
            log(ERR, msg);
        }

        public void warning(String msg) {
            log(WARNING, msg);
        }

        public void info(String msg) {
            log(INFO, msg);
        }

        public void debug(String msg) {
            log(DEBUG, msg);
        }

        private void print(String msg) {
            out.println(prefix + ": " + msg);
        }

        private void apply(EalConfig.LogLevel s) {
            if (s.pattern() == null || matches(s, name)) level = s.level();
        }
    }

    /** Registers (or finds) the log type {@code name}, printed with {@code prefix}; saved settings apply. */
    public static synchronized Type register(String name, String prefix) {
        for (Type t : TYPES) {
            if (t.name.equals(name)) return t;
        }
        Type t = new Type(name, prefix);
        for (EalConfig.LogLevel s : SETTINGS) t.apply(s);
        TYPES.add(t);
        return t;
    }

    /** Applies one {@code --log-level} setting to every type now and to those registered later. */
    public static synchronized void set(EalConfig.LogLevel setting) {
        SETTINGS.add(setting);
        for (Type t : TYPES) t.apply(setting);
    }

    /** Forgets the settings and puts every type back to {@link #DEFAULT_LEVEL} (at EAL cleanup). */
    public static synchronized void reset() {
        SETTINGS.clear();
        for (Type t : TYPES) t.level = DEFAULT_LEVEL;
    }

    /** Where messages go; stderr unless a test redirects it. */
    public static void setOutput(PrintStream stream) {
        out = stream;
    }

    static boolean matches(EalConfig.LogLevel s, String name) {
        if (s.regex()) return Pattern.compile(s.pattern()).matcher(name).find();
        return Pattern.compile(glob(s.pattern())).matcher(name).matches();
    }

    private static String glob(String g) {
        StringBuilder re = new StringBuilder();
        for (char ch : g.toCharArray()) {
            switch (ch) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(ch)));
            }
        }
        return re.toString();
    }
}
