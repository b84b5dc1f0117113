package org.jpdk.eal;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Tag;

import java.util.BitSet;

/**
 * Fuzz target: EAL command lines. An input is the arguments one per line. Any argument list either
 * parses into a config whose lcores are the CPUs it names, or is refused with an
 * {@link EalArgumentException} (a one-line message); anything else thrown is a finding. Parsing
 * touches no file and no global state, so each input stands alone.
 */
@Tag("fuzz")
class EalArgsFuzzTest {
    private static final BitSet CPUS = new BitSet();

    static {
        CPUS.set(0, 4);
    }

    @FuzzTest(maxDuration = "30s")
    void ealArgs(byte[] input) {
        String[] args = new String(input, java.nio.charset.StandardCharsets.UTF_8).split("\n", -1);
        EalConfig c;
        try {
            c = EalArgs.parse(CPUS, args);
        } catch (EalArgumentException e) {
            if (e.getMessage() == null || e.getMessage().isBlank()) throw new AssertionError("refused without a message", e);
            return;
        }
        if (c.lcores().isEmpty()) throw new AssertionError("a config without lcores: " + c);
        if (!c.lcores().contains(c.mainLcore())) throw new AssertionError("main lcore " + c.mainLcore() + " not among " + c.lcores());
    }
}
