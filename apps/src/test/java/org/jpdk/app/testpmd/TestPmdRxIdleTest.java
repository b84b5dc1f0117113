package org.jpdk.app.testpmd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.jpdk.app.testpmd.TestPmdTest.field;
import static org.jpdk.app.testpmd.TestPmdTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** testpmd's --rx-idle (jpdk's): idle CPU of a forwarding lcore in interrupt mode, back-off, the prompt command. */
@Timeout(60)
class TestPmdRxIdleTest {
    private static final List<String> RING_EAL = List.of("-l", "0-1", "--no-huge", "-m", "256", "--vdev", "net_ring0", "--vdev", "net_ring1");
    private static final Pattern LCORE_CPU = Pattern.compile(
            "  Lcore 1: CPU (\\d+\\.\\d\\d)% of a core \\((\\d+\\.\\d) ms CPU in (\\d+\\.\\d\\d) s\\)(, (\\d+) sleeps, (\\d+) woken by rx)?\n");

    private static Matcher lcoreCpu(String out) {
        Matcher m = LCORE_CPU.matcher(out);
        assertTrue(m.find(), "no per-lcore CPU line in:\n" + out);
        return m;
    }

    @Test
    void idleLcoreInInterruptModeUsesUnderFivePercentOfACore() {
        TestPmdTest.Result r = run("", RING_EAL, "--rx-idle=interrupt", "--run-seconds=3");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("  rx-idle=interrupt: CPU use of the forwarding lcores (thread CPU time / wall time)\n"), r.out());
        Matcher m = lcoreCpu(r.out());
        double pct = Double.parseDouble(m.group(1));
        System.out.printf(Locale.ROOT, "testpmd --rx-idle=interrupt, no traffic: %s", m.group());
        assertTrue(Double.parseDouble(m.group(3)) >= 2.9, "measured over the whole run: " + m.group());
        assertTrue(Long.parseLong(m.group(5)) > 0, "the lcore slept: " + m.group());
        assertTrue(pct < 5, "an idle lcore in interrupt mode used " + pct + "% of a core");
    }

    @Test
    void interruptModeStillForwardsUnderTraffic() {
        TestPmdTest.Result r = run("", RING_EAL, "--rx-idle=interrupt", "--tx-first", "--run-seconds=1");
        assertEquals(0, r.rc(), r.err());
        assertTrue(field(r.out(), "Accumulated forward statistics", "RX-packets:") > 1000, r.out());
        lcoreCpu(r.out());
    }

    @Test
    void backoffPrintsTheCpuUseAndBusyKeepsTestpmdsSummary() {
        TestPmdTest.Result r = run("", RING_EAL, "--rx-idle=backoff", "--run-seconds=0.5");
        assertEquals(0, r.rc(), r.err());
        Matcher m = lcoreCpu(r.out());
        assertEquals(null, m.group(4), "no sleep counts outside interrupt mode");
        r = run("", RING_EAL, "--run-seconds=0.3");
        assertEquals(0, r.rc(), r.err());
        assertFalse(r.out().contains("CPU use of the forwarding lcores"), "busy (the default) prints dpdk-testpmd's summary only");
    }

    @Test
    void badModeIsOneLine() {
        TestPmdTest.Result r = run("", RING_EAL, "--rx-idle=sleepy");
        assertEquals(1, r.rc());
        assertEquals("testpmd: --rx-idle=sleepy: allowed busy, backoff, interrupt\n", r.err());
        assertTrue(TestPmdOptions.usage().contains("--rx-idle=MODE"));
    }

    @Test
    void promptSetsTheMode() {
        TestPmdTest.Result r = run("set rx-idle interrupt\nstart\nstop\nset rx-idle nap\nset rx-idle\nquit\n", RING_EAL, "-i");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("Rx idle mode set to interrupt"), r.out());
        assertTrue(r.out().contains("  rx-idle=interrupt: CPU use of the forwarding lcores"), r.out());
        lcoreCpu(r.out());
        assertTrue(r.err().contains("Bad arguments: rx-idle=nap: allowed busy, backoff, interrupt"), r.err());
        assertTrue(r.err().contains("Bad arguments: usage: set rx-idle busy|backoff|interrupt"), r.err());
    }
}
