package org.jpdk.testing;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Tag;

/**
 * Not a fuzz target of the product: a check of {@code ./jpdk fuzz}'s hang detection. Fuzzing it
 * ({@code ./jpdk fuzz selftest-hang 60}) must end within the per-input timeout plus the JVM's
 * start-up as a HANG finding, the input written as {@code timeout-*}, on the first non-empty
 * input libFuzzer makes; with the per-input timeout off
 * ({@code JPDK_FUZZ_INPUT_TIMEOUT=0 JPDK_FUZZ_MARGIN=30 ./jpdk fuzz selftest-hang 10}) the
 * launcher's watchdog must kill the run after 40 s and say so. Replaying its (empty) corpus, as
 * every {@code ./jpdk test} does, returns at once: only a fuzzing run ({@code JAZZER_FUZZ} set)
 * hangs. The oracle is the launcher's verdict, not an assertion here.
 */
@Tag("fuzz")
class FuzzHangSelfTest {
    @FuzzTest
    void hang(byte[] input) throws InterruptedException {
        // Replaying (every ./jpdk test) returns at once: Jazzer would report an aborted assumption as
        // a finding. Before libFuzzer starts, a fuzzing run also replays the seeds (an empty input
        // here) as plain JUnit invocations, outside libFuzzer's timeout: a seed that hangs there is
        // caught by the launcher's watchdog only, so the empty seed returns too, and the first
        // non-empty input libFuzzer makes hangs.
        String fuzzing = System.getenv("JAZZER_FUZZ");
        if (fuzzing == null || fuzzing.isEmpty() || input.length == 0) return;
        while (true) {
            Thread.sleep(1000); // what a parser stuck in a loop looks like from outside
        }
    }
}
