package org.jpdk.app;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The app registry: every app is found through its {@link App} entry, once, with a summary. */
class LauncherTest {
    @Test
    void everyAppIsRegisteredOnceWithASummary() {
        List<App> apps = Launcher.apps();
        Set<String> names = new HashSet<>();
        for (App a : apps) {
            assertTrue(names.add(a.name()), "app name given twice: " + a.name());
            assertFalse(a.summary().isBlank(), a.name() + " has no summary");
            assertFalse(a.summary().contains("\n"), a.name() + ": the summary is one line");
        }
        assertTrue(names.containsAll(Set.of("testpmd", "l2fwd", "l3fwd", "pktgen", "pipeline", "helloworld", "exception_path")), names.toString());
        assertEquals(apps.stream().map(App::name).sorted().toList(), apps.stream().map(App::name).toList(), "listed by name");
    }
}
