package org.jpdk.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** How a bench stops its testpmd peers: SIGINT, and SIGTERM when SIGINT is ignored. */
class PeerTest {
    private static final String SUMMARY = "Accumulated forward statistics";

    private static AfPacketBench.Peer peer(String script) {
        return AfPacketBench.Peer.start(List.of("bash", "-c", script), "test peer");
    }

    @Test
    void aPeerThatIgnoresSigintIsStoppedWithSigterm() throws InterruptedException {
        // as a testpmd started from a background job of a shell without job control
        try (AfPacketBench.Peer p = peer("trap '' INT; trap 'echo " + SUMMARY + "; exit 0' TERM; echo up; while :; do sleep 0.05; done")) {
            assertTrue(p.await("up", 10));
            long t0 = System.nanoTime();
            String out = p.interruptAndWait(20);
            double took = (System.nanoTime() - t0) / 1e9;
            assertNotNull(out, "stopped cleanly");
            assertTrue(out.contains(SUMMARY), out);
            assertTrue(took < AfPacketBench.SIGINT_ANSWER_SECONDS + 5, "stopped after " + took + " s, not after the whole wait");
        }
    }

    @Test
    void aPeerThatAnswersSigintGetsNoSigterm() throws InterruptedException {
        try (AfPacketBench.Peer p = peer("trap 'echo Signal received, preparing to exit...; sleep 3; echo " + SUMMARY + "; exit 0' INT; "
                + "trap 'echo got TERM; exit 1' TERM; echo up; while :; do sleep 0.05; done")) {
            assertTrue(p.await("up", 10));
            String out = p.interruptAndWait(20);
            assertNotNull(out, "stopped cleanly");
            assertTrue(out.contains(SUMMARY), out);
            assertFalse(out.contains("got TERM"), "a peer busy stopping is left to finish: " + out);
        }
    }
}
