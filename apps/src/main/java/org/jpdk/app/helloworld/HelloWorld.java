package org.jpdk.app.helloworld;

import org.jpdk.app.App;
import org.jpdk.eal.CallMain;
import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.eal.Lcore;
import org.jpdk.eal.MemoryException;
import org.jpdk.sys.LinuxException;

import java.io.PrintStream;

/**
 * DPDK's examples/helloworld: every lcore prints "hello from core N", the workers first (launched
 * remotely), then the main lcore. {@code ./jpdk helloworld -l 0-1}.
 */
public final class HelloWorld {
    private HelloWorld() {
    }

    /** The {@code ./jpdk helloworld} entry ({@link App}). */
    public static final class Entry implements App {
        @Override
        public String name() {
            return "helloworld";
        }

        @Override
        public String summary() {
            return "DPDK's helloworld: a line from every lcore";
        }

        @Override
        public void main(String[] args) {
            HelloWorld.main(args);
        }
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        if (rc != 0) System.exit(rc);
    }

    /** Runs the app; returns the process exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        try (Eal eal = Eal.init(args)) {
            eal.mpRemoteLaunch(lcore -> {
                out.println("hello from core " + Lcore.id());
                return 0;
            }, CallMain.SKIP_MAIN);
            eal.mpWaitLcore(); // workers first, so the main lcore's line comes last
            out.println("hello from core " + Lcore.id());
            return 0;
        } catch (EalArgumentException e) {
            if (e.helpRequested()) {
                out.print("usage: jpdk helloworld [EAL options]\n" + e.getMessage());
                return 0;
            }
            err.println("EAL: error: " + e.getMessage());
            return 1;
        } catch (MemoryException | LinuxException e) {
            err.println("EAL: error: " + e.getMessage());
            return 1;
        }
    }
}
