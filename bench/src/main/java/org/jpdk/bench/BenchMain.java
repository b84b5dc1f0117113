package org.jpdk.bench;

import java.lang.reflect.InvocationTargetException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code ./jpdk bench <name> [args]}: runs the side-by-side benchmark {@code org.jpdk.bench.<Name>Bench}.
 * Each prints {@code BENCH <name> <value> <unit>} lines, ours and the peers', then the ratios.
 */
public final class BenchMain {
    static final List<String> NAMES = List.of("ring", "mempool", "fwd", "afpacket", "net", "lpm", "hash", "l3fwd");
    /** Names whose class is not simply the name capitalised. */
    private static final Map<String, String> CLASS_NAMES = Map.of("afpacket", "AfPacket");

    private BenchMain() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length == 0 || !NAMES.contains(args[0])) {
            System.err.println("jpdk bench: name one of " + NAMES + (args.length == 0 ? "" : ", not '" + args[0] + "'")
                    + "; any further arguments go to JMH (e.g. -f 1 -wi 2 -i 3)");
            System.exit(1);
        }
        String cls = "org.jpdk.bench." + CLASS_NAMES.getOrDefault(args[0],
                Character.toUpperCase(args[0].charAt(0)) + args[0].substring(1)) + "Bench";
        try {
            Class.forName(cls).getMethod("main", String[].class)
                    .invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
