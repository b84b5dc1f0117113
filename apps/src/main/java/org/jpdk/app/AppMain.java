package org.jpdk.app;

import org.jpdk.drivers.net.pcap.PcapException;
import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.eal.LcoreException;
import org.jpdk.eal.MemoryException;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.sys.LinuxException;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The frame the example apps share around their own work, as DPDK's examples each repeat it in
 * main: parse the app's options (after {@code --}), answer {@code --help}, start the EAL, run the
 * app, close the EAL, and turn every user mistake into one line on {@code err} and exit code 1
 * ({@code EAL: error: ...} before the EAL is up, {@code <app>: ...} after). On SIGINT/SIGTERM the
 * JVM runs its shutdown hooks and halts; a hook here holds it (up to 10 s) until the app has
 * printed its summary and the EAL is closed.
 */
public final class AppMain {
    private AppMain() {
    }

    /** The app's work once the EAL is up; returns the exit code. */
    @FunctionalInterface
    public interface Body<O> {
        int run(Eal eal, O options);
    }

    /**
     * Runs app {@code name}: {@code parse} reads the arguments after {@code --} (throwing
     * IllegalArgumentException with a one-line message), {@code help} says whether they asked for
     * the usage text {@code usage}, and {@code body} does the work. Returns the exit code.
     */
    public static <O> int run(String name, String[] args, PrintStream out, PrintStream err,
                              Function<List<String>, O> parse, Predicate<O> help, Supplier<String> usage, Body<O> body) {
        int dd = Arrays.asList(args).indexOf("--");
        O opt;
        try {
            opt = parse.apply(dd < 0 ? List.of() : Arrays.asList(args).subList(dd + 1, args.length));
        } catch (IllegalArgumentException e) {
            err.println(name + ": " + e.getMessage());
            return 1;
        }
        if (help.test(opt)) {
            out.print(usage.get());
            return 0;
        }
        CountDownLatch finished = new CountDownLatch(1);
        Thread hold = new Thread(() -> {
            try {
                finished.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, name + "-exit");
        Runtime.getRuntime().addShutdownHook(hold);
        Eal eal = null;
        int rc;
        try {
            eal = Eal.init(args);
            rc = body.run(eal, opt);
        } catch (EalArgumentException e) {
            if (e.helpRequested()) {
                out.print(usage.get() + "EAL options:\n" + e.getMessage());
                rc = 0;
            } else {
                err.println((eal == null ? "EAL: error: " : name + ": ") + e.getMessage());
                rc = 1;
            }
        } catch (IllegalArgumentException | IllegalStateException | MemoryException | LinuxException | EthDevException
                 | PcapException | LcoreException e) {
            err.println((eal == null ? "EAL: error: " : name + ": ") + e.getMessage());
            rc = 1;
        } finally {
            out.flush();
        }
        try {
            if (eal != null) eal.close();
        } catch (RuntimeException e) {
            err.println("EAL: error: " + e.getMessage());
            rc = 1;
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hold);
            } catch (IllegalStateException e) {
                // shutting down already: the hook is running and has just been released
            }
        }
        return rc;
    }
}
