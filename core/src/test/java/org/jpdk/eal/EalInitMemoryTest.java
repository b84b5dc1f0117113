package org.jpdk.eal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Eal.init sets memory up from its memory options and cleanup takes it down. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class EalInitMemoryTest {
    @AfterEach
    void tidy() {
        EalMemory.shutdown();
    }

    @Test
    void memoryOptionsFollowTheEalArguments() {
        EalMemory.shutdown();
        try (Eal eal = Eal.init("-l", "0", "--no-huge", "-m", "64", "--file-prefix", "jpdkwire")) {
            MemoryOptions m = EalMemory.options();
            assertTrue(m.noHuge());
            assertEquals(64L << 20, m.memoryBytes());
            assertEquals("jpdkwire", m.filePrefix());
            assertNull(m.hugeDir());
            Memzone mz = Memzone.reserve("wired", 4096, eal.socketId(), 64);
            assertEquals(4096, mz.len());
            assertEquals(4096, mz.hugepageSize(), "--no-huge must give 4 KiB pages");
        }
        assertFalse(EalMemory.initialised(), "cleanup must release EAL memory");
    }

    @Test
    void socketMemBecomesPerSocketLimits() {
        EalMemory.shutdown();
        try (Eal eal = Eal.init("-l", "0", "--socket-mem", "32")) {
            assertArrayEquals(new long[] {32L << 20}, EalMemory.options().socketMemBytes());
            assertEquals(0, EalMemory.options().memoryBytes());
        }
    }

    @Test
    void memorySetUpBeforeInitIsAdoptedWhenTheOptionsAgree() {
        EalMemory.shutdown();
        Memzone early = Memzone.reserve("early", 128, Memzone.SOCKET_ID_ANY, 64);
        try (Eal eal = Eal.init("-l", "0")) {
            assertEquals(early, Memzone.lookup("early"), "adopted memory keeps what was reserved before init");
        }
        assertFalse(EalMemory.initialised());
    }

    @Test
    void memorySetUpBeforeInitWithOtherOptionsIsRefusedClearly() {
        EalMemory.shutdown();
        Memzone.reserve("early2", 128, Memzone.SOCKET_ID_ANY, 64);
        MemoryException e = assertThrows(MemoryException.class, () -> Eal.init("-l", "0", "--no-huge", "-m", "16"));
        assertTrue(e.getMessage().contains("already set up before Eal.init"), e.getMessage());
        // the failed init left no EAL behind: a new one can start
        EalMemory.shutdown();
        try (Eal eal = Eal.init("-l", "0", "--no-huge")) {
            assertTrue(EalMemory.options().noHuge());
        }
    }
}
