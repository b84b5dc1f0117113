package org.jpdk.app.l3fwd;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Tag;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzz target: l3fwd's rule files ({@code --rule_ipv4}/{@code --rule_ipv6}), read as LPM routes or
 * exact-match rules, IPv4 or IPv6 (the first byte picks). A file either gives rules whose fields
 * are in range or is refused with an {@link IllegalArgumentException} of one line naming the
 * file; anything else thrown is a finding.
 */
@Tag("fuzz")
class RoutesFuzzTest {
    private static final Path FILE;

    static {
        try {
            Path dir = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
            FILE = Files.createTempFile(dir, "jpdk-fuzz-rules-", ".cfg");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "30s")
    void rules(FuzzedDataProvider data) throws IOException {
        int mode = data.consumeInt(0, 3);
        Files.write(FILE, data.consumeRemainingAsBytes());
        boolean v6 = (mode & 1) != 0;
        try {
            if (mode < 2) {
                for (Routes.Route r : Routes.readLpm(FILE, v6)) {
                    if (r.depth() < 0 || r.depth() > (v6 ? 128 : 32) || r.port() < 0 || r.port() > Routes.MAX_PORT) throw new AssertionError("route out of range: " + r);
                }
            } else {
                for (Routes.Rule r : Routes.readEm(FILE, v6)) {
                    if (r.port() < 0 || r.port() > Routes.MAX_PORT || r.proto() < 0 || r.proto() > 255
                            || r.dstPort() < 0 || r.dstPort() > 0xffff || r.srcPort() < 0 || r.srcPort() > 0xffff) {
                        throw new AssertionError("rule out of range: " + r);
                    }
                }
            }
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            if (m == null || !m.startsWith(FILE.toString())) throw new AssertionError("refusal does not name the file: " + m, e);
        }
    }
}
