package org.jpdk.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The round-by-round ratio of {@code ./jpdk bench vhost}: which runs it pairs. */
class VhostBenchTest {
    @Test
    void eachRunIsDividedByDpdksRunOfTheSameRound() {
        Double[] ours = {10.0, 30.0, 14.0};
        Double[] theirs = {20.0, 15.0, 14.0};
        assertEquals(List.of(0.5, 2.0, 1.0), VhostBench.pairedRatios(ours, theirs));
    }

    @Test
    void aRoundWhereEitherSideFailedIsLeftOut() {
        Double[] ours = {10.0, null, 14.0, 9.0};
        Double[] theirs = {20.0, 15.0, null, 0.0};
        assertEquals(List.of(0.5), VhostBench.pairedRatios(ours, theirs));
    }

    @Test
    void aPairingWithNoRunHasNoRatio() {
        assertEquals(List.of(), VhostBench.pairedRatios(null, new Double[]{1.0}));
        assertEquals(List.of(), VhostBench.pairedRatios(new Double[]{1.0}, null));
    }
}
