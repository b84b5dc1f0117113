package org.jpdk.eal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class EalLogTest {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    @AfterEach
    void reset() {
        Log.reset();
        Log.setOutput(System.err);
    }

    @Test
    void printsWithThePrefixOnlyAtOrAboveTheLevel() {
        Log.setOutput(new PrintStream(buf, true));
        Log.EAL.info("hidden at the default notice level");
        Log.EAL.log(Log.ERR, "lcore %d failed", 3);
        assertEquals("EAL: lcore 3 failed\n", buf.toString());
        Object[] formatted = {0};
        Log.EAL.log(Log.DEBUG, "%s", new Object() {
            @Override
            public String toString() {
                formatted[0] = 1;
                return "x";
            }
        });
        assertEquals(0, formatted[0], "a disabled call formats nothing");
    }

    @Test
    void commandLineSettingsReachTypesRegisteredBeforeAndAfter() {
        Eal eal = Eal.init("-l", "0", "--log-level", "lib.eal:debug", "--log-level", "pmd.*:err");
        try {
            assertEquals(Log.DEBUG, Log.EAL.level());
            Log.Type late = Log.register("pmd.net.null", "NULL");
            assertEquals(Log.ERR, late.level());
            assertFalse(late.enabled(Log.WARNING));
            assertTrue(Log.register("lib.ring", "RING").enabled(Log.NOTICE));
        } finally {
            eal.cleanup();
        }
        assertEquals(Log.DEFAULT_LEVEL, Log.EAL.level(), "cleanup resets levels");
    }

    @Test
    void globalAndRegexLevels() {
        Log.set(new EalConfig.LogLevel(null, false, Log.DEBUG));
        assertTrue(Log.register("lib.any", "ANY").enabled(Log.DEBUG));
        Log.set(new EalConfig.LogLevel("^lib\\.a", true, Log.CRIT));
        assertEquals(Log.CRIT, Log.register("lib.any", "ANY").level());
        assertEquals(Log.DEBUG, Log.EAL.level());
    }
}
