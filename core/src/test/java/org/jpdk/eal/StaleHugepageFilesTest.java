package org.jpdk.eal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.jpdk.eal.HugepageTest.precondition;
import static org.jpdk.eal.HugepageTest.requireFree2M;
import static org.jpdk.eal.HugepageTest.root;
import static org.jpdk.eal.HugepageTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fault: a process killed (SIGKILL) while it holds hugepage files in a hugetlbfs mount leaves them
 * behind, their pages still taken. The next start with the same {@code --file-prefix} removes
 * them, as DPDK does, and gets the pages back; a file a live process holds is left alone.
 */
@Tag("faults")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StaleHugepageFilesTest {
    private static final String PREFIX = "jpdkstale" + ProcessHandle.current().pid();

    @AfterEach
    void shutdown() {
        EalMemory.shutdown();
    }

    /** The child: maps 4 MiB from {@code args[0]} with prefix {@code args[1]}, says READY, and waits to be killed. */
    public static void main(String[] args) throws Exception {
        EalMemory.init(MemoryOptions.defaults().withHugeDir(args[0], args[1]));
        Memzone.reserve("held", 4 << 20, 0, 64).segment().fill((byte) 1);
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(120_000);
    }

    private static Process holder(Path dir) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx128m", "-cp", System.getProperty("java.class.path"),
                StaleHugepageFilesTest.class.getName(), dir.toString(), PREFIX).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
        String line;
        StringBuilder seen = new StringBuilder();
        while ((line = out.readLine()) != null && !line.equals("READY")) seen.append(line).append('\n');
        assertTrue(line != null, "the holder died before mapping: " + seen);
        return p;
    }

    private static List<Path> files(Path dir) throws Exception {
        try (var l = Files.list(dir)) {
            return l.filter(f -> f.getFileName().toString().startsWith(PREFIX)).toList();
        }
    }

    @Test
    void theNextStartWithTheSamePrefixRemovesAKilledProcesssFilesAndNotALiveOnes() throws Exception {
        requireFree2M(8);
        precondition(root(), "mounting hugetlbfs needs root");
        Path dir = Files.createTempDirectory("jpdk-stale");
        PrintStream err = System.err;
        try {
            precondition(run("mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "none", dir.toString()) == 0, "mount -t hugetlbfs failed");
            try {
                long free0 = Hugepages.size(Hugepages.SIZE_2M).orElseThrow().free();
                Process live = holder(dir);
                try {
                    List<Path> held = files(dir);
                    assertTrue(!held.isEmpty(), "the holder's files are in the mount");
                    assertEquals(0, EalMemory.removeStaleFiles(dir, PREFIX), "a live process's files stay");
                    assertEquals(held, files(dir));

                    live.destroyForcibly(); // SIGKILL: no shutdown hook, no unlink
                    live.waitFor();
                    assertEquals(held, files(dir), "a killed process leaves its files");
                    assertTrue(Hugepages.size(Hugepages.SIZE_2M).orElseThrow().free() <= free0 - 2, "and their pages stay taken");

                    ByteArrayOutputStream log = new ByteArrayOutputStream();
                    System.setErr(new PrintStream(log, true));
                    EalMemory.init(MemoryOptions.defaults().withHugeDir(dir.toString(), PREFIX));
                    System.setErr(err);
                    assertEquals(List.of(), files(dir).stream().filter(held::contains).toList(), "the stale files are gone");
                    assertTrue(log.toString().contains("removed stale hugepage file " + held.getFirst()), log.toString());
                    assertEquals(free0, Hugepages.size(Hugepages.SIZE_2M).orElseThrow().free(), "their pages are free again");
                    Memzone.reserve("after", 4 << 20, 0, 64).segment().fill((byte) 2); // and this run maps from the same names
                    assertTrue(files(dir).contains(dir.toRealPath().resolve(PREFIX + "map_0")) || files(dir).contains(dir.resolve(PREFIX + "map_0")));
                } finally {
                    System.setErr(err);
                    live.destroyForcibly();
                    live.waitFor();
                }
            } finally {
                EalMemory.shutdown();
                run("umount", dir.toString());
            }
        } finally {
            Files.deleteIfExists(dir);
        }
    }
}
