package org.jpdk.eal;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** SIGTERM with {@link Eal#holdExitUntilCleanup()}: what the app prints before cleanup is not lost. */
class EalSignalTest {
    /** The child: runs until stopped, then takes its time printing a summary before cleanup. */
    public static void main(String[] args) throws Exception {
        try (Eal eal = Eal.init("-l", "0", "--no-huge", "--log-level=error")) {
            if (args[0].equals("hold")) eal.holdExitUntilCleanup();
            System.out.println("READY");
            System.out.flush();
            while (!eal.stopRequested()) Thread.sleep(5);
            Thread.sleep(2500); // longer than the lcore grace period of the signal hook
            System.out.println("SUMMARY");
            System.out.flush();
        }
    }

    private static String runAndTerminate(String mode) throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), EalSignalTest.class.getName(), mode)
                .redirectErrorStream(true).start();
        StringBuffer out = new StringBuffer();
        java.util.concurrent.CountDownLatch ready = new java.util.concurrent.CountDownLatch(1);
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    out.append(line).append('\n');
                    if (line.equals("READY")) ready.countDown();
                }
            } catch (java.io.IOException ignored) {
            }
        });
        try {
            assertTrue(ready.await(20, TimeUnit.SECONDS), () -> "child not ready: " + out);
            p.toHandle().destroy(); // SIGTERM, without closing our end of the pipes as Process.destroy does
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "child did not exit after SIGTERM");
            reader.join(5000);
            return out.toString();
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void heldExitKeepsTheSummary() throws Exception {
        String out = runAndTerminate("hold");
        assertTrue(out.contains("SUMMARY"), () -> "summary printed before the JVM halted: " + out);
    }

    @Test
    void withoutHoldTheJvmDoesNotWaitForTheApp() throws Exception {
        assertFalse(runAndTerminate("nohold").contains("SUMMARY"), "the default hook only waits for lcores");
    }
}
