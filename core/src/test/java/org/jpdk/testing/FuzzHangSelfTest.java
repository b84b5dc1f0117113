package org.jpdk.testing;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Not a fuzz target of the product: a check of {@code ./jpdk fuzz}'s hang detection. Fuzzing it
 * ({@code ./jpdk fuzz selftest-hang 60}) must end within the per-input timeout plus the JVM's
 * start-up as a HANG finding, the input written as {@code timeout-*}; with the per-input timeout off
 * ({@code JPDK_FUZZ_INPUT_TIMEOUT=0 JPDK_FUZZ_MARGIN=30 ./jpdk fuzz selftest-hang 10}) the
 * launcher's watchdog must kill the run after 40 s and say so. Replaying its (empty) corpus, as
 * every {@code ./jpdk test} does, returns at once: only a fuzzing run ({@code JAZZER_FUZZ} set)
 * hangs.
 */
@Tag("fuzz")
class FuzzHangSelfTest {
    @FuzzTest
    void hang(byte[] input) throws InterruptedException {
        String fuzzing = System.getenv("JAZZER_FUZZ");
        assumeTrue(fuzzing != null && !fuzzing.isEmpty(), "only a fuzzing run hangs; there is nothing to replay");
        while (true) {
            Thread.sleep(1000); // what a parser stuck in a loop looks like from outside
        }
    }
}
