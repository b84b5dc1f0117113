package org.jpdk.app;

import java.util.Arrays;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The entry point behind {@code ./jpdk <app> [EAL args] -- [app args]}: finds the app by name
 * among the {@link App}s on the class path and runs it. A user mistake ends with one line on
 * stderr and exit code 1.
 */
public final class Launcher {
    private Launcher() {
    }

    /** The apps on the class path, by name. */
    static List<App> apps() {
        return ServiceLoader.load(App.class).stream().map(ServiceLoader.Provider::get)
                .sorted((a, b) -> a.name().compareTo(b.name())).toList();
    }

    private static String names(List<App> apps) {
        return String.join(", ", apps.stream().map(App::name).toList()) + ", bench, test";
    }

    public static void main(String[] args) {
        List<App> apps = apps();
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help")) {
            System.out.println("usage: jpdk <app> [EAL args] -- [app args]   apps: " + names(apps));
            for (App a : apps) System.out.printf("  %-16s %s%n", a.name(), a.summary());
            return;
        }
        for (App a : apps) {
            if (a.name().equals(args[0])) {
                a.main(Arrays.copyOfRange(args, 1, args.length));
                return;
            }
        }
        System.err.println("jpdk: unknown app '" + args[0] + "'; apps are: " + names(apps));
        System.exit(1);
    }
}
