package org.jpdk.ethdev;

import org.jpdk.eal.Eal;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.*;

/** The probe order (the port exists when the driver probes) and port event callbacks. */
class EthEventTest {
    private Eal eal;
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64");
    }

    @AfterEach
    void cleanup() {
        try {
            EthDev.closeAll();
        } finally {
            eal.cleanup();
        }
    }

    private void record(EthDev p, EthEvent e) {
        events.add(p.id() + ":" + e + (e == EthEvent.LINK_STATE_CHANGE ? ":" + (p.link().up() ? "up" : "down") : ""));
    }

    @Test
    void theDriverSeesItsPortDuringProbe() {
        EthDev.create("net_null0");
        EthDev p = EthDev.create("net_evtest0");
        assertEquals("1 net_evtest0", EventTestDriver.seenAtProbe);
        assertSame(p, ((EthDevOps) p.ops()).port);
    }

    @Test
    void aFailedProbeLeavesNoPortAndItsErrorNamesThePort() {
        EthDevException e = assertThrows(EthDevException.class, () -> EthDev.create("net_evtest3,fail=1"));
        assertEquals("port 0 (net_evtest3): probe failed on purpose", e.getMessage());
        assertEquals(0, EthDev.count());
        assertEquals("0 net_evtest4", EthDev.create("net_evtest4") != null ? EventTestDriver.seenAtProbe : "");
    }

    @Test
    void linkChangesReachTheCallbacksOfThatPortInOrder() {
        EthDev a = EthDev.create("net_evtest0"), b = EthDev.create("net_evtest1");
        for (EthDev p : List.of(a, b)) {
            p.configure(1, 1, PortConf.defaults());
            p.txQueueSetup(0, 512);
        }
        try (Mempool<Mbuf> pool = Mbuf.createPool("evtest", 1023, 0, Mbuf.DEFAULT_BUF_SIZE, -1)) {
            a.rxQueueSetup(0, 512, pool);
            b.rxQueueSetup(0, 512, pool);
            a.start();
            b.start();
            EthDev.EventHandle h = a.addEventCallback(EthEvent.LINK_STATE_CHANGE, this::record);
            EventTestDriver.Device da = (EventTestDriver.Device) a.ops(), db = (EventTestDriver.Device) b.ops();
            da.setLink(false);
            db.setLink(false); // another port: not ours
            // callbacks run on the events thread and read the link when they run: let the "down"
            // ones run before the link comes back up (else one can read "up": a flaky failure in CI)
            PortEvents.drain(5000);
            da.setLink(true);
            PortEvents.drain(5000);
            assertEquals(List.of("0:LINK_STATE_CHANGE:down", "0:LINK_STATE_CHANGE:up"), events);
            assertTrue(EthDev.removeEventCallback(h));
            assertFalse(EthDev.removeEventCallback(h));
            da.setLink(false);
            PortEvents.drain(5000);
            assertEquals(2, events.size(), "a removed callback is not called");
            a.close();
            b.close();
        }
    }

    @Test
    void allPortCallbacksSeeNewAndDestroyAndAFailingCallbackStopsNothing() {
        EthDev.EventHandle bad = EthDev.addEventCallbackAll(EthEvent.NEW, (p, e) -> {
            throw new IllegalStateException("callback bug");
        });
        EthDev.EventHandle n = EthDev.addEventCallbackAll(EthEvent.NEW, this::record);
        EthDev.EventHandle d = EthDev.addEventCallbackAll(EthEvent.DESTROY, this::record);
        try {
            EthDev p = EthDev.create("net_null0");
            EthDev.create("net_null1");
            p.close();
            PortEvents.drain(5000);
            assertEquals(List.of("0:NEW", "1:NEW", "0:DESTROY"), events);
        } finally {
            EthDev.removeEventCallback(bad);
            EthDev.removeEventCallback(n);
            EthDev.removeEventCallback(d);
        }
    }
}
