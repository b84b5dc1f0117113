package org.jpdk.app;

import org.jpdk.ethdev.EthDev;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Option values every app reads the same way (port masks, counts, seconds), each refused with one
 * line that names the option, the value and what is allowed, as an {@link IllegalArgumentException}
 * that {@link AppMain} prints.
 */
public final class AppOptions {
    private AppOptions() {
    }

    /** Told each option of {@link #walk}: its name and its value (null for a flag). */
    @FunctionalInterface
    public interface Handler {
        void option(String name, String value);
    }

    /**
     * Walks an app's arguments as getopt_long does: {@code --name=value}, {@code --name value},
     * {@code -xVALUE}, {@code -x value}, and flags. Options in {@code withValue} need a value;
     * any other is a flag, refused if given a value. Every option goes to {@code handler}, which
     * refuses names it does not know with {@link #unknown}; an argument that is not an option is
     * refused here.
     */
    public static void walk(List<String> args, Set<String> withValue, Handler handler) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i), name = a, value = null;
            if (!a.startsWith("-") || a.equals("-") || a.equals("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'; see --help");
            }
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            } else if (a.length() > 2 && a.charAt(1) != '-') { // -p0x3, as getopt
                name = a.substring(0, 2);
                value = a.substring(2);
            }
            if (withValue.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.size()) throw new IllegalArgumentException(name + ": needs a value");
                    value = args.get(++i);
                }
            } else if (value != null) {
                if (!name.startsWith("--")) throw unknown(a); // -xyz: not a flag cluster we know
                throw new IllegalArgumentException(name + " takes no value, found '" + value + "'");
            }
            handler.option(name, value);
        }
    }

    /** The error for an option an app does not know. */
    public static IllegalArgumentException unknown(String option) {
        return new IllegalArgumentException("unknown option " + option + "; see --help");
    }

    /** A hexadecimal port mask ({@code 0x3} or {@code 3}), non-zero, of ports 0..MAX_PORTS-1. */
    public static long portmask(String what, String v) {
        String hex = v.startsWith("0x") || v.startsWith("0X") ? v.substring(2) : v;
        long mask;
        try {
            mask = Long.parseUnsignedLong(hex, 16);
        } catch (NumberFormatException e) {
            mask = -1;
        }
        if (mask == 0 || mask == -1 || (mask >>> EthDev.MAX_PORTS) != 0) {
            throw new IllegalArgumentException(what + ": invalid portmask; allowed a non-zero hexadecimal mask of ports 0.."
                    + (EthDev.MAX_PORTS - 1) + ", e.g. 0x3");
        }
        return mask;
    }

    /**
     * The ports of {@code portmask}, in id order; refuses a zero mask ({@code -p} missing) and a
     * mask naming a port that does not exist.
     */
    public static List<EthDev> enabledPorts(long portmask) {
        if (portmask == 0) throw new IllegalArgumentException("all available ports are disabled; give -p PORTMASK, e.g. -p 0x3");
        long unknown = portmask;
        for (EthDev p : EthDev.all()) unknown &= ~(1L << p.id());
        if (unknown != 0) {
            throw new IllegalArgumentException("-p 0x" + Long.toHexString(portmask) + ": port " + Long.numberOfTrailingZeros(unknown)
                    + " does not exist; ports are " + (EthDev.count() == 0 ? "none (add some with --vdev)"
                    : String.join(",", EthDev.all().stream().map(p -> Integer.toString(p.id())).toList())));
        }
        List<EthDev> ports = new ArrayList<>();
        for (EthDev p : EthDev.all()) if ((portmask & (1L << p.id())) != 0) ports.add(p);
        return ports;
    }

    /** A decimal integer in {@code [min, max]}. */
    public static long number(String what, String v, long min, long max) {
        long n;
        try {
            n = Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": not a number; allowed " + range(min, max));
        }
        if (n < min || n > max) throw new IllegalArgumentException(what + ": allowed " + range(min, max));
        return n;
    }

    private static String range(long min, long max) {
        return max == Long.MAX_VALUE || max == Integer.MAX_VALUE ? ">= " + min : min + ".." + max;
    }

    /** A number of seconds up to a year; 0 (meaning "off") only if {@code zeroOk}. */
    public static double seconds(String what, String v, boolean zeroOk) {
        return seconds(what, v, zeroOk ? 0 : Double.MIN_VALUE, 86_400 * 365,
                zeroOk ? "allowed a number of seconds >= 0 (0: off)" : "allowed a number of seconds > 0");
    }

    /** A number of seconds in {@code [min, max]}; {@code allowed} says which, for the message. */
    public static double seconds(String what, String v, double min, double max, String allowed) {
        double d;
        try {
            d = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            d = Double.NaN;
        }
        if (!(d >= min && d <= max)) throw new IllegalArgumentException(what + ": " + allowed);
        return d;
    }

    /** Sleeps about {@code ns} nanoseconds (nothing if not positive); an interrupt ends it early and stays set. */
    public static void sleepNanos(long ns) {
        if (ns <= 0) return;
        try {
            Thread.sleep(ns / 1_000_000, (int) (ns % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
