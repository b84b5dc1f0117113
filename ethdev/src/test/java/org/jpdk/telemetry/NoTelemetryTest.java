package org.jpdk.telemetry;

import org.jpdk.eal.Eal;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --no-telemetry} leaves no socket; without it, the EAL serves one under its file prefix. */
class NoTelemetryTest {
    private final String prefix = "jpdknotel" + ProcessHandle.current().pid();
    private final Path socket = TelemetryServer.runtimeDir(prefix).resolve(TelemetryServer.SOCKET_NAME);

    @Test
    void noTelemetryMeansNoSocket() {
        try (Eal eal = Eal.init("-l", "0", "--no-huge", "-m", "16", "--file-prefix", prefix, "--no-telemetry")) {
            assertTrue(eal.config().noTelemetry());
            assertFalse(Files.exists(socket), socket + " exists with --no-telemetry");
        }
    }

    @Test
    void onByDefaultAndGoneAfterCleanup() {
        try (Eal eal = Eal.init("-l", "0", "--no-huge", "-m", "16", "--file-prefix", prefix)) {
            assertTrue(Files.exists(socket));
            try (TelemetryClient c = TelemetryClient.connect(prefix)) {
                assertEquals(java.util.List.of("-l", "0", "--no-huge", "-m", "16", "--file-prefix", prefix),
                        c.request("/eal/params"));
                assertEquals(java.util.List.of(), c.request("/eal/app_params"));
            }
        }
        assertFalse(Files.exists(socket));
    }
}
