package org.jpdk.ethdev;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.jpdk.drivers.net.afpacket.AfPacketDriver;
import org.jpdk.drivers.net.afxdp.AfXdpDriver;
import org.jpdk.eal.EalArgumentException;
import org.junit.jupiter.api.Tag;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Fuzz target: a {@code --vdev} string. {@link Devargs#parse}, every typed getter on every key it
 * found, and the drivers' devargs checkers that run before any system call (af_packet's and
 * af_xdp's {@code Config.parse}) either succeed or refuse with an {@link EalArgumentException}
 * of one line; any other exception is a finding.
 */
@Tag("fuzz")
class DevargsFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void devargs(byte[] input) {
        String s = new String(input, StandardCharsets.UTF_8);
        Devargs d;
        try {
            d = Devargs.parse(s);
        } catch (EalArgumentException e) {
            oneLine(e);
            return;
        }
        for (Map.Entry<String, String> e : d.args()) {
            String k = e.getKey();
            refusedOrFine(() -> d.longValue(k, 0, Long.MIN_VALUE, Long.MAX_VALUE));
            refusedOrFine(() -> d.intValue(k, 0, 0, 1 << 20));
            refusedOrFine(() -> d.boolValue(k, false));
            refusedOrFine(() -> d.choice(k, "a", "a", "b"));
            d.all(k);
            d.has(k);
        }
        refusedOrFine(() -> AfPacketDriver.Config.parse(d));
        refusedOrFine(() -> AfXdpDriver.Config.parse(d));
        d.toString();
    }

    private static void refusedOrFine(Runnable r) {
        try {
            r.run();
        } catch (EalArgumentException e) {
            oneLine(e);
        }
    }

    private static void oneLine(EalArgumentException e) {
        if (e.getMessage() == null || e.getMessage().isBlank()) throw new AssertionError("refused without a message", e);
    }
}
