package org.jpdk.app;

import java.lang.reflect.InvocationTargetException;
import java.util.Map;
import java.util.TreeMap;

/**
 * The entry point behind {@code ./jpdk <app> [EAL args] -- [app args]}: finds the app by name and
 * runs its {@code main}. A user mistake ends with one line on stderr and exit code 1.
 */
public final class Launcher {
    /** App name to main class. Each app is one class in its own package, as DPDK's examples. */
    static final Map<String, String> APPS = new TreeMap<>(Map.of(
            "exception_path", "org.jpdk.app.exceptionpath.ExceptionPath",
            "helloworld", "org.jpdk.app.helloworld.HelloWorld",
            "l2fwd", "org.jpdk.app.l2fwd.L2fwd",
            "l3fwd", "org.jpdk.app.l3fwd.L3fwd",
            "pktgen", "org.jpdk.app.pktgen.Pktgen",
            "pipeline", "org.jpdk.app.pipeline.Pipeline",
            "testpmd", "org.jpdk.app.testpmd.TestPmd"));

    private Launcher() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help")) {
            System.out.println("usage: jpdk <app> [EAL args] -- [app args]   apps: " + String.join(", ", APPS.keySet())
                    + ", bench, test");
            return;
        }
        String cls = APPS.get(args[0]);
        if (cls == null) {
            System.err.println("jpdk: unknown app '" + args[0] + "'; apps are: " + String.join(", ", APPS.keySet())
                    + ", bench, test");
            System.exit(1);
        }
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        try {
            Class.forName(cls).getMethod("main", String[].class).invoke(null, (Object) rest);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
