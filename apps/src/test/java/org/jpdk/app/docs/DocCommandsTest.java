package org.jpdk.app.docs;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs every command block of the guides marked runnable ({@code ```sh run}), so a guide cannot
 * rot: the pages under {@code docs/} and the README, in order, each page in a scratch directory of
 * its own (a later command may read what an earlier one wrote), with {@code ./jpdk} standing for the
 * launcher on this build's class path. A command fails the test if it exits non-zero or takes more
 * than {@link #TIMEOUT_S} seconds; its output is shown then.
 */
class DocCommandsTest {
    static final long TIMEOUT_S = 60;
    static final Path ROOT = Path.of("").toAbsolutePath().getParent(); // the tests run in apps/

    /** One runnable command: where it is written and what it says (continuation lines joined). */
    record Command(Path page, int line, String text) {
    }

    /** The runnable commands of a markdown page, in order. */
    static List<Command> commands(Path page) throws IOException {
        List<String> lines = Files.readAllLines(page);
        List<Command> out = new ArrayList<>();
        boolean inRun = false, inFence = false;
        StringBuilder cmd = null;
        int start = 0;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.startsWith("```")) {
                if (!inFence) {
                    inFence = true;
                    inRun = l.substring(3).strip().equals("sh run");
                } else {
                    inFence = inRun = false;
                }
                continue;
            }
            if (!inRun) continue;
            if (cmd == null) {
                if (l.isBlank() || l.strip().startsWith("#")) continue;
                cmd = new StringBuilder();
                start = i + 1;
            }
            if (l.endsWith("\\")) {
                cmd.append(l, 0, l.length() - 1).append(' ');
            } else {
                cmd.append(l);
                out.add(new Command(ROOT.relativize(page), start, cmd.toString()));
                cmd = null;
            }
        }
        assertFalse(inFence, page + ": a code block is not closed");
        return out;
    }

    static List<Path> pages() throws IOException {
        List<Path> pages = new ArrayList<>();
        pages.add(ROOT.resolve("README.md"));
        try (Stream<Path> s = Files.walk(ROOT.resolve("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        return pages;
    }

    @TestFactory
    Stream<DynamicTest> everyRunnableCommandWorksAsWritten() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path page : pages()) {
            List<Command> cmds = commands(page);
            if (cmds.isEmpty()) continue;
            Path dir = Files.createTempDirectory("jpdk-doc-");
            writeLauncher(dir);
            for (Command c : cmds) {
                tests.add(DynamicTest.dynamicTest(c.page() + ":" + c.line() + ": " + c.text(), () -> run(dir, c)));
            }
            tests.add(DynamicTest.dynamicTest(ROOT.relativize(page) + ": clean up", () -> deleteTree(dir)));
        }
        return tests.stream();
    }

    @Test
    void theGuidesHaveRunnableCommands() throws IOException {
        int n = 0;
        for (Path p : pages()) n += commands(p).size();
        assertTrue(n >= 10, "runnable commands in the guides: " + n);
    }

    /** {@code ./jpdk} in the scratch directory: this JVM's java with this build's class path. */
    private static void writeLauncher(Path dir) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = "#!/usr/bin/env bash\nexec '" + java + "' --enable-native-access=ALL-UNNAMED -Xmx512m ${JPDK_JAVA_OPTS:-} -cp '"
                + System.getProperty("java.class.path") + "' org.jpdk.app.Launcher \"$@\"\n";
        Path p = dir.resolve("jpdk");
        Files.writeString(p, script);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static void run(Path dir, Command c) throws Exception {
        Path log = dir.resolve(".out");
        Process p = new ProcessBuilder("bash", "-c", c.text()).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        boolean done = p.waitFor(TIMEOUT_S, TimeUnit.SECONDS);
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        String out = Files.readString(log);
        String tail = out.length() > 3000 ? "..." + out.substring(out.length() - 3000) : out;
        assertTrue(done, c.page() + ":" + c.line() + ": did not finish in " + TIMEOUT_S + " s:\n" + tail);
        assertEquals(0, p.exitValue(), c.page() + ":" + c.line() + ": exit code " + p.exitValue() + ":\n" + tail);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
