package org.jpdk.sys;

import org.jpdk.testing.AllocationMeter;
import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class NetSysTest {
    @Test
    void eventfdWakesEpollWithItsTag() {
        try (EventFd ev = new EventFd(); Epoll ep = new Epoll(4)) {
            ep.add(ev.fd(), Epoll.EPOLLIN, 0x1234_5678_9abcL);
            assertEquals(0, ep.await(0), "nothing signalled yet");
            ev.signal();
            ev.signal();
            assertEquals(1, ep.await(1000));
            assertEquals(0x1234_5678_9abcL, ep.tag(0));
            assertTrue((ep.readyEvents(0) & Epoll.EPOLLIN) != 0);
            assertEquals(2, ev.clear());
            assertEquals(0, ep.await(0), "cleared");
            assertEquals(0, ev.clear());
            ep.remove(ev.fd());
            ev.signal();
            assertEquals(0, ep.await(0), "removed");
        }
    }

    @Test
    void epollAwaitTimesOutAndSignalFromAnotherThreadWakesIt() throws Exception {
        try (EventFd ev = new EventFd(); Epoll ep = new Epoll(1)) {
            ep.add(ev.fd(), Epoll.EPOLLIN, 7);
            long t0 = System.nanoTime();
            assertEquals(0, ep.await(50));
            assertTrue(System.nanoTime() - t0 >= 40_000_000L, "waited about the timeout");
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ignored) {
                }
                ev.signal();
            });
            assertEquals(1, ep.await(10_000));
            t.join();
        }
    }

    @Test
    void signalAndClearAllocateNothing() {
        try (EventFd ev = new EventFd()) {
            AllocationMeter.assertNoAllocation("signal and clear", 60_000, 10_000, () -> { // downcalls allocate until C2 compiles them
                ev.signal();
                ev.clear();
            });
        }
    }

    @Test
    void epollRefusesBadFd() {
        try (Epoll ep = new Epoll(1)) {
            LinuxException e = assertThrows(LinuxException.class, () -> ep.add(99_999, Epoll.EPOLLIN, 0));
            assertEquals(Errno.EBADF, e.errno());
            assertTrue(e.getMessage().startsWith("epoll_ctl(EPOLL_CTL_ADD, fd=99999): EBADF"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new Epoll(0));
    }

    @Test
    void missingInterfaceIsEnodev() {
        assertFalse(NetIf.exists("jpdk-nope0"));
        LinuxException e = assertThrows(LinuxException.class, () -> NetIf.open("jpdk-nope0"));
        assertEquals(Errno.ENODEV, e.errno());
        assertEquals("ioctl(SIOCGIFINDEX, iface=jpdk-nope0): ENODEV", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NetIf.open("a-name-that-is-too-long"));
        assertThrows(IllegalArgumentException.class, () -> NetIf.open(""));
        assertTrue(Libc.ifNameToIndex("jpdk-nope0") < 0);
    }

    @Test
    void netIfControlsAVethInsideANamespace() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String a = nf.namespace(), b = nf.namespace();
            nf.veth(a, "jv0", b, "jv1");
            assertFalse(NetIf.exists("jv0"), "the veth is not in the test's own namespace");
            try (Netns ns = Netns.enter(a); NetIf nif = NetIf.open("jv0")) {
                assertTrue(nif.index() > 0);
                assertTrue(nif.isUp());
                assertEquals(1500, nif.mtu());
                nif.setMtu(9000);
                assertEquals(9000, nif.mtu());
                byte[] mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
                nif.setMac(mac);
                assertArrayEquals(mac, nif.mac());
                nif.setPromiscuous(true);
                assertTrue((nif.flags() & NetIf.IFF_PROMISC) != 0);
                nif.setPromiscuous(false);
                assertEquals(0, nif.flags() & NetIf.IFF_PROMISC);
                assertEquals(10_000, nif.speedMbps(), "veth reports 10G");
                LinuxException e = assertThrows(LinuxException.class, () -> nif.setMtu(10));
                assertTrue(e.getMessage().startsWith("ioctl(SIOCSIFMTU, iface=jv0, mtu=10): EINVAL"), e.getMessage());
                nif.setUp(false);
                assertFalse(nif.isRunning());
            }
            assertFalse(NetIf.exists("jv0"), "back in the original namespace");
            assertTrue(nf.ip(a, "link", "show", "jv0").contains("mtu 9000"));
        }
    }

    @Test
    void netnsRefusesUnknownNameAndOtherThreads() throws Exception {
        NetnsFixture.requireRoot();
        LinuxException e = assertThrows(LinuxException.class, () -> Netns.enter("jpdk-no-such-ns"));
        assertEquals(Errno.ENOENT, e.errno());
        try (NetnsFixture nf = NetnsFixture.create()) {
            String a = nf.namespace();
            Netns ns = Netns.enter(a);
            AtomicInteger refused = new AtomicInteger();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    ns.close();
                } catch (IllegalStateException x) {
                    refused.incrementAndGet();
                }
            });
            t.join();
            assertEquals(1, refused.get());
            ns.close();
        }
    }
}
