package org.jpdk.ethdev;

import org.jpdk.eal.EalArgumentException;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * A device string in DPDK's {@code --vdev} syntax: {@code name[,key=value]...}, for example
 * {@code net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap}. Keys may repeat (net_pcap takes one
 * {@code rx_pcap} per queue), so the arguments keep their order. Every accessor that converts a
 * value names the device, the key, the value and what is allowed when it refuses one, as a one-line
 * {@link EalArgumentException}.
 *
 * @param name the device name, also the port name ({@code net_pcap0})
 * @param args the {@code key=value} pairs in the order given
 */
public record Devargs(String name, List<Map.Entry<String, String>> args) {

    public Devargs {
        args = List.copyOf(args);
    }

    /** Parses {@code name[,key=value]...}; a key without {@code =} gets the empty value. */
    public static Devargs parse(String devargs) {
        if (devargs == null || devargs.isBlank()) throw new EalArgumentException("--vdev: empty device string");
        String[] parts = devargs.split(",", -1);
        String name = parts[0].trim();
        if (name.isEmpty() || !name.matches("[A-Za-z0-9_.:-]+")) {
            throw new EalArgumentException("--vdev " + devargs + ": bad device name '" + name
                    + "'; expected a driver name and an instance such as net_null0");
        }
        List<Map.Entry<String, String>> args = new ArrayList<>();
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            if (p.isEmpty()) continue;
            int eq = p.indexOf('=');
            String key = (eq < 0 ? p : p.substring(0, eq)).trim();
            if (key.isEmpty()) throw new EalArgumentException("--vdev " + devargs + ": argument '" + p + "' has no key");
            args.add(Map.entry(key, eq < 0 ? "" : p.substring(eq + 1)));
        }
        return new Devargs(name, args);
    }

    /** Refuses any key not in {@code valid}, naming the valid ones. */
    public Devargs checkKeys(Collection<String> valid) {
        for (Map.Entry<String, String> e : args) {
            if (!valid.contains(e.getKey())) {
                throw error(e.getKey(), e.getValue(), "unknown argument; valid: "
                        + (valid.isEmpty() ? "none" : String.join(", ", valid.stream().sorted().toList())));
            }
        }
        return this;
    }

    /** The last value of {@code key}, or null when absent. */
    public String get(String key) {
        String v = null;
        for (Map.Entry<String, String> e : args) if (e.getKey().equals(key)) v = e.getValue();
        return v;
    }

    /**
     * {@code value} (given for {@code key}) as a file path; a value no path can hold (a NUL byte)
     * is refused as every other bad value, not with the JDK's InvalidPathException.
     */
    public java.nio.file.Path path(String key, String value) {
        try {
            return java.nio.file.Path.of(value);
        } catch (java.nio.file.InvalidPathException e) {
            throw error(key, value, "not a file name (" + e.getReason() + ")");
        }
    }

    /** The last value of {@code key}, or {@code def} when absent. */
    public String get(String key, String def) {
        String v = get(key);
        return v == null ? def : v;
    }

    /** Every value of {@code key}, in order. */
    public List<String> all(String key) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : args) if (e.getKey().equals(key)) out.add(e.getValue());
        return out;
    }

    public boolean has(String key) {
        return get(key) != null;
    }

    /** {@code key} as an integer in {@code [min, max]} (decimal or 0x hex), or {@code def} when absent. */
    public long longValue(String key, long def, long min, long max) {
        String v = get(key);
        if (v == null) return def;
        long x;
        try {
            String t = v.trim();
            x = t.startsWith("0x") || t.startsWith("0X") ? Long.parseLong(t.substring(2), 16) : Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw error(key, v, "not a number; allowed " + min + ".." + max);
        }
        if (x < min || x > max) throw error(key, v, "out of range; allowed " + min + ".." + max);
        return x;
    }

    /** {@link #longValue} for an int. */
    public int intValue(String key, int def, int min, int max) {
        return (int) longValue(key, def, min, max);
    }

    /** {@code key} as a flag: 0/1, no/yes, false/true, off/on; the bare key means true. */
    public boolean boolValue(String key, boolean def) {
        String v = get(key);
        if (v == null) return def;
        return switch (v.trim().toLowerCase()) {
            case "", "1", "yes", "y", "true", "on" -> true;
            case "0", "no", "n", "false", "off" -> false;
            default -> throw error(key, v, "not a flag; allowed 0 or 1");
        };
    }

    /** {@code key} as one of {@code allowed}, or {@code def} when absent. */
    public String choice(String key, String def, String... allowed) {
        String v = get(key);
        if (v == null) return def;
        for (String a : allowed) if (a.equals(v)) return v;
        throw error(key, v, "allowed: " + String.join(", ", allowed));
    }

    /** A one-line error about {@code key=value} of this device. */
    public EalArgumentException error(String key, String value, String what) {
        return new EalArgumentException("--vdev " + name + ": " + key + "=" + value + ": " + what);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(name);
        for (Map.Entry<String, String> e : args) sb.append(',').append(e.getKey()).append('=').append(e.getValue());
        return sb.toString();
    }
}
