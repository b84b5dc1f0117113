package org.jpdk.eal;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.jpdk.eal.HugepageTest.precondition;
import static org.jpdk.eal.HugepageTest.requireFree2M;
import static org.jpdk.eal.HugepageTest.root;
import static org.jpdk.eal.HugepageTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fault: hugepages run out at start. The EAL is given a hugetlbfs mount limited to 4 pages (so the
 * machine's other users keep theirs): a mempool that needs more gets a MemoryException that
 * says which pages ran out and how to get more, never a SIGBUS from a page that could not be
 * faulted in; nothing is left mapped or in the mount; a pool that fits is then made and used.
 */
@Tag("faults")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HugepageExhaustionTest {
    @AfterEach
    void shutdown() {
        EalMemory.shutdown();
    }

    @Test
    void aPoolLargerThanTheHugepagesLeftIsAClearErrorAndTheNextOneThatFitsWorks() throws Exception {
        requireFree2M(4);
        precondition(root(), "mounting hugetlbfs needs root");
        Path dir = Files.createTempDirectory("jpdk-hpfull");
        String prefix = "jpdkfull" + ProcessHandle.current().pid();
        try {
            precondition(run("mount", "-t", "hugetlbfs", "-o", "pagesize=2M,size=8M", "none", dir.toString()) == 0, "mount -t hugetlbfs failed");
            try (Eal eal = Eal.init("-l", "0", "--huge-dir", dir.toString(), "--file-prefix", prefix)) {
                assertEquals(Hugepages.SIZE_2M, EalMemory.defaultPageSize());
                MemoryException e = assertThrows(MemoryException.class,
                        () -> Mbuf.createPool("too_big", 8191, 0, Mbuf.DEFAULT_BUF_SIZE, -1)); // ~20 MiB
                assertTrue(e.getMessage().contains("2048 kB"), e.getMessage());
                assertTrue(e.getMessage().lines().count() == 1, "one line: " + e.getMessage());
                Mempool<Mbuf> small = Mbuf.createPool("fits", 511, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
                Mbuf m = Mbuf.alloc(small);
                m.appendOffset(64);
                m.free();
                assertEquals(small.size(), small.availCount());
                small.close();
            }
            try (var left = Files.list(dir)) {
                assertEquals(List.of(), left.toList(), "no hugepage file left behind");
            }
        } finally {
            EalMemory.shutdown();
            run("umount", dir.toString());
            Files.deleteIfExists(dir);
        }
    }
}
