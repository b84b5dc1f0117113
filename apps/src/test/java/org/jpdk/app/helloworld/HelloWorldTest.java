package org.jpdk.app.helloworld;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class HelloWorldTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();

    private int run(String... args) {
        return HelloWorld.run(args, new PrintStream(out, true), new PrintStream(err, true));
    }

    @Test
    void everyLcoreSaysHelloMainLast() {
        assertEquals(0, run("-l", "0-1"));
        assertEquals(List.of("hello from core 1", "hello from core 0"), out.toString().lines().toList());
        assertEquals("", err.toString());
    }

    @Test
    void argumentErrorIsOneLineAndExitCodeOne() {
        assertEquals(1, run("-l", "0-x"));
        assertEquals("EAL: error: -l 0-x: not a CPU list; expected a list like 0-3,5\n", err.toString());
    }

    @Test
    void helpPrintsTheUsage() {
        assertEquals(0, run("-h"));
        assertTrue(out.toString().contains("--main-lcore"), out.toString());
    }

    @Test
    void launcherRunsItInItsOwnJvmWithTheRightExitCodes() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("java.class.path");
        Process ok = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", cp,
                "org.jpdk.app.Launcher", "helloworld", "-l", "0-1").redirectErrorStream(true).start();
        String text = new String(ok.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, ok.waitFor(), text);
        assertEquals("hello from core 1\nhello from core 0\n", text);
        Process bad = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", cp,
                "org.jpdk.app.Launcher", "helloworld", "--bogus").start();
        String errText = new String(bad.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, bad.waitFor());
        assertEquals("EAL: error: unknown EAL option '--bogus'; -h lists them\n", errText);
    }
}
