package org.jpdk.drivers.net.virtio;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.EthDevException;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.virtio.VirtioFeatures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * net_virtio_user against {@link FakeVhostBackend}, a vhost-user back end in the test: the
 * session (what is negotiated, the memory shown), frames both ways checked byte for byte (chains,
 * mergeable rx buffers on and off, 64 to 9000 bytes), a back end that dies and comes back, and a
 * back end that writes hostile values in the used rings (counted, link down, every mbuf back).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VirtioUserDriverTest {
    private Eal eal;
    private FakeVhostBackend backend;
    private Mempool<Mbuf> pool;

    private EthDev start(Path dir, long offered, String more) {
        EthDev p = start0(dir, offered, more);
        assertTrue(backend.ready(1, 10_000), "the front end set up its rings: " + backend.requests);
        assertTrue(p.waitLinkUp(Duration.ofSeconds(10)).up(), "link up");
        return p;
    }

    @AfterEach
    void cleanup() {
        if (eal == null) return;
        try {
            EthDev.closeAll();
            assertEquals(pool.size(), pool.availCount(), "every mbuf is back after close");
            pool.close();
        } finally {
            eal.cleanup();
            if (backend != null) backend.close();
        }
    }

    /** Sends frames of {@code lengths} and checks the back end got each byte, in order. */
    private void txAndCheck(EthDev p, int[] lengths) {
        List<byte[]> sent = new ArrayList<>(), got = new ArrayList<>();
        Mbuf[] burst = new Mbuf[1];
        for (int i = 0; i < lengths.length; i++) {
            burst[0] = frame(pool, i, lengths[i]);
            sent.add(bytes(burst[0]));
            long end = System.nanoTime() + 5_000_000_000L;
            while (p.txBurst(0, burst, 1) == 0) {
                assertTrue(System.nanoTime() < end, "tx ring stays full");
                got.addAll(backend.takeTx(64));
            }
            if (i % 16 == 15) got.addAll(backend.takeTx(64));
        }
        got.addAll(backend.takeTx(1000));
        p.txBurst(0, burst, 0); // reaps what the back end used
        assertEquals(sent.size(), got.size());
        for (int i = 0; i < sent.size(); i++) assertArrayEquals(sent.get(i), got.get(i), "frame " + i);
    }

    /** Delivers frames of {@code lengths} from the back end and checks the port receives each byte, in order. */
    private void rxAndCheck(EthDev p, int[] lengths) {
        Mbuf[] got = new Mbuf[32];
        int received = 0;
        for (int i = 0; i < lengths.length; i++) {
            Mbuf f = frame(pool, i + 1000, lengths[i]);
            byte[] want = bytes(f);
            f.free();
            long end = System.nanoTime() + 5_000_000_000L;
            while (!backend.deliver(want)) { // the rx ring refills on the next burst
                assertTrue(System.nanoTime() < end, "rx buffers never came back");
                received += check(p, got, 0, null);
            }
            int n;
            do {
                n = p.rxBurst(0, got, got.length);
                assertTrue(n <= 1, "one frame at a time");
                assertTrue(System.nanoTime() < end, "frame " + i + " never arrived");
            } while (n == 0);
            assertArrayEquals(want, bytes(got[0]), "frame " + i + " of " + lengths[i] + " bytes");
            assertEquals(p.id(), got[0].port);
            got[0].free();
            received++;
        }
        assertEquals(lengths.length, received);
    }

    private static int check(EthDev p, Mbuf[] got, int expect, byte[] want) {
        int n = p.rxBurst(0, got, got.length);
        for (int i = 0; i < n; i++) got[i].free();
        return n;
    }

    /** A frame of {@code len} bytes (a chain when it outgrows one mbuf) whose bytes follow from {@code tag}. */
    private Mbuf frame(Mempool<Mbuf> pool, int tag, int len) {
        Mbuf head = Mbuf.alloc(pool), last = head;
        for (int at = 0; at < len; ) {
            if (last.tailroom() == 0) {
                Mbuf seg = Mbuf.alloc(pool);
                seg.setData(0, 0);
                head.chain(seg);
                last = seg;
            }
            int k = Math.min(len - at, last.tailroom());
            int off = head.appendOffset(k);
            for (int i = 0; i < k; i++) last.writeByte(off + i, (byte) (tag * 31 + at + i));
            at += k;
        }
        return head;
    }

    private static byte[] bytes(Mbuf m) {
        byte[] out = new byte[m.pktLen()];
        int k = 0;
        for (Mbuf s = m; s != null; s = s.next()) for (int i = 0; i < s.dataLen(); i++) out[k++] = s.readByte(i);
        assertEquals(out.length, k, "pkt_len is the sum of the segments");
        return out;
    }

    private static final int[] SIZES = {64, 65, 128, 1500, 2048, 2100, 4000, 9000, 60, 1514};

    @Test
    void negotiatesAndShowsItsMemory(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, "");
        long f = backend.features();
        assertTrue(VirtioFeatures.has(f, VirtioFeatures.F_VERSION_1));
        assertTrue(VirtioFeatures.has(f, VirtioFeatures.NET_F_MRG_RXBUF));
        assertTrue(VirtioFeatures.has(f, VirtioFeatures.F_IN_ORDER));
        assertEquals(f, p.xstat("virtio_user_features"));
        List<String> r = backend.requests;
        assertEquals("SET_OWNER", r.getFirst());
        assertTrue(r.indexOf("SET_MEM_TABLE") < r.indexOf("SET_VRING_KICK"), r.toString());
        assertEquals(1, p.xstat("virtio_user_connects"));
    }

    @Test
    void framesBothWaysWithMergeableBuffers(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, "");
        txAndCheck(p, SIZES);
        rxAndCheck(p, SIZES);
        assertEquals(SIZES.length, p.stats().opackets);
        assertEquals(SIZES.length, p.stats().ipackets);
    }

    @Test
    void framesBothWaysWithoutMergeableBuffersOrInOrder(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, ",mrg_rxbuf=0,in_order=0");
        assertFalse(VirtioFeatures.has(backend.features(), VirtioFeatures.NET_F_MRG_RXBUF));
        assertFalse(VirtioFeatures.has(backend.features(), VirtioFeatures.F_IN_ORDER));
        txAndCheck(p, SIZES);
        // without mergeable buffers a frame must fit one buffer (2048 bytes of data room here)
        rxAndCheck(p, new int[]{64, 1500, 2036, 60});
        assertFalse(backend.deliver(new byte[4000]), "a frame larger than one buffer cannot be delivered");
    }

    @Test
    void framesBothWaysOverPackedRings(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, ",packed_vq=1");
        assertTrue(VirtioFeatures.has(backend.features(), VirtioFeatures.F_RING_PACKED));
        assertFalse(VirtioFeatures.has(backend.features(), VirtioFeatures.F_IN_ORDER), "packed rings are never in order here");
        txAndCheck(p, SIZES);
        rxAndCheck(p, SIZES);
    }

    @Test
    void packedRingsWrapWithoutMergeableBuffers(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, ",packed_vq=1,queue_size=64,mrg_rxbuf=0");
        int[] many = new int[500];
        for (int i = 0; i < many.length; i++) many[i] = 60 + (i * 53) % 1900;
        txAndCheck(p, many);
        rxAndCheck(p, many);
    }

    @Test
    void packedUsedIdsAndLengthsAreChecked(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, ",packed_vq=1");
        Mbuf[] b = {frame(pool, 1, 64)};
        assertEquals(1, p.txBurst(0, b, 1));
        backend.rawUsed(1, 300, 0, 1);
        awaitFault(p);
    }

    @Test
    void packedRxLengthBeyondTheBufferIsAFault(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, ",packed_vq=1");
        backend.rawUsed(0, 0, 1 << 30, 1);
        awaitFault(p);
    }

    @Test
    void packedRxNumBuffersBeyondTheRingIsAFault(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, ",packed_vq=1");
        backend.rawRxNumBuffers(0);
        awaitFault(p);
    }

    @Test
    void packedVqRefusedByABackEndWithoutIt(@TempDir Path dir) {
        EthDev p = start0(dir, FakeVhostBackend.OFFERED & ~VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED), ",packed_vq=1");
        sleep(1500);
        assertFalse(p.link().up());
        assertFalse(backend.requests.contains("SET_MEM_TABLE"), "no memory shown to a back end refused");
    }

    @Test
    void manyFramesWrapTheRings(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, ",queue_size=64");
        int[] many = new int[700];
        for (int i = 0; i < many.length; i++) many[i] = 60 + (i * 37) % 1400;
        txAndCheck(p, many);
        rxAndCheck(p, many);
    }

    @Test
    void aBackEndThatDiesTakesTheLinkDownAndAReturningOneBringsItUp(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, "");
        txAndCheck(p, new int[]{64, 64});
        backend.hangUp();
        long end = System.nanoTime() + 10_000_000_000L;
        while (p.link().up()) {
            assertTrue(System.nanoTime() < end, "link still up after the back end left");
            sleep(20);
        }
        Mbuf[] b = {frame(pool, 1, 64)};
        assertEquals(0, p.txBurst(0, b, 1), "no ring while the link is down");
        b[0].free();
        assertEquals(0, p.rxBurst(0, new Mbuf[4], 4));
        assertEquals(1, p.xstat("virtio_user_disconnects"));
        // the client connects again (once a second) to the back end, which still listens
        assertTrue(backend.ready(2, 10_000), "the front end came back: " + backend.requests);
        assertTrue(p.waitLinkUp(Duration.ofSeconds(10)).up());
        txAndCheck(p, new int[]{64, 1500, 9000});
        rxAndCheck(p, new int[]{64, 1500, 9000});
    }

    private void awaitFault(EthDev p) {
        long end = System.nanoTime() + 10_000_000_000L;
        while (p.xstat("virtio_user_ring_faults") == 0 || p.xstat("virtio_user_disconnects") == 0) {
            assertTrue(System.nanoTime() < end, "no fault counted, link " + p.link());
            p.txBurst(0, new Mbuf[0], 0);
            p.rxBurst(0, new Mbuf[4], 4);
            sleep(10);
        }
        assertEquals(1, p.xstat("virtio_user_ring_faults"));
        assertFalse(p.link().up(), "link down while the client waits a second before it connects again");
    }

    @Test
    void aTxUsedIndexFarAheadIsAFault(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, "");
        Mbuf[] b = {frame(pool, 1, 64)};
        assertEquals(1, p.txBurst(0, b, 1));
        backend.rawUsed(1, 0, 0, 1000);
        awaitFault(p);
    }

    @Test
    void aTxUsedIdThatIsNoHeadIsAFault(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, ",in_order=0");
        Mbuf[] b = {frame(pool, 1, 64)};
        assertEquals(1, p.txBurst(0, b, 1));
        backend.rawUsed(1, 77777, 0, 1);
        awaitFault(p);
    }

    @Test
    void anRxUsedIdOutsideTheRingIsAFault(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, "");
        backend.rawUsed(0, 0x7fffffff, 64, 1);
        awaitFault(p);
    }

    @Test
    void anRxLengthBeyondTheBufferIsAFault(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, "");
        backend.rawUsed(0, 0, 1 << 30, 1);
        awaitFault(p);
    }

    @Test
    void anRxLengthShortOfTheHeaderIsAFault(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, "");
        backend.rawUsed(0, 0, 3, 1);
        awaitFault(p);
    }

    @Test
    void anRxNumBuffersOfZeroOrBeyondTheRingIsAFault(@TempDir Path dir) {
        EthDev p = start(dir, FakeVhostBackend.OFFERED, "");
        backend.rawRxNumBuffers(60000);
        awaitFault(p);
    }

    @Test
    void aBackEndWithoutVersion1IsRefusedWithAReason(@TempDir Path dir) {
        EthDev p = start0(dir, VirtioFeatures.bit(VirtioFeatures.NET_F_MRG_RXBUF), "");
        sleep(1500);
        assertFalse(p.link().up());
        assertTrue(backend.requests.contains("GET_FEATURES"));
        assertFalse(backend.requests.contains("SET_MEM_TABLE"), "no memory shown to a back end refused");
    }

    private EthDev start0(Path dir, long offered, String more) {
        Path sock = dir.resolve("vhost.sock");
        backend = new FakeVhostBackend(sock.toString(), offered);
        eal = Eal.init("-l", "0-1", "--no-huge", "-m", "256", "--vdev", "net_virtio_user0,path=" + sock + more);
        pool = Mbuf.createPool("vu_pool", 4095, 0, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        EthDev p = EthDev.get(0);
        p.configure(1, 1, PortConf.defaults());
        p.rxQueueSetup(0, 0, pool);
        p.txQueueSetup(0, 0);
        p.start();
        return p;
    }

    @Test
    void devargsAreCheckedWithOneLine() {
        String[][] bad = {
                {"net_virtio_user0", "path"},
                {"net_virtio_user0,path=/tmp/x.sock,queue_size=100", "queue_size=100: not a power of two"},
                {"net_virtio_user0,path=/tmp/x.sock,queues=0", "queues=0"},
                {"net_virtio_user0,path=/tmp/x.sock,mac=01:00:00:00:00:01", "not a unicast address"},
                {"net_virtio_user0,path=/tmp/x.sock,packed_vq=2", "packed_vq=2"},
                {"net_virtio_user0,path=/tmp/x.sock,iface=tap0", "only with a vhost-net back end"},
                {"net_virtio_user0,path=/dev/vhost-net,server=1", "drop server=1"},
                {"net_virtio_user0,path=/dev/vhost-vdpa-0", "vhost-vdpa"},
                {"net_virtio_user0,path=/tmp/x.sock,bogus=1", "unknown argument"},
        };
        for (String[] b : bad) {
            EalArgumentException e = assertThrows(EalArgumentException.class,
                    () -> Eal.init("-l", "0", "--no-huge", "-m", "64", "--vdev", b[0]).cleanup(), b[0]);
            assertTrue(e.getMessage().contains(b[1]), b[0] + " -> " + e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    /**
     * The kernel's vhost-net back end: this machine kind's kernel has no CONFIG_VHOST_NET, so there
     * is no /dev/vhost-net and the port refuses to start naming the device; where the device
     * exists the same start brings the link up on a tap.
     */
    @Test
    void vhostKernelBackEndNamesTheMissingDevice() {
        eal = Eal.init("-l", "0-1", "--no-huge", "-m", "256", "--vdev", "net_virtio_user0,path=/dev/vhost-net");
        pool = Mbuf.createPool("vu_pool", 1023, 0, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
        EthDev p = EthDev.get(0);
        p.configure(1, 1, PortConf.defaults());
        p.rxQueueSetup(0, 0, pool);
        p.txQueueSetup(0, 0);
        if (!java.nio.file.Files.exists(Path.of("/dev/vhost-net"))) {
            EthDevException e = assertThrows(EthDevException.class, p::start);
            assertTrue(e.getMessage().contains("/dev/vhost-net"), e.getMessage());
            assertTrue(e.getMessage().contains("CONFIG_VHOST_NET"), e.getMessage());
            org.junit.jupiter.api.Assumptions.abort("no /dev/vhost-net: this kernel lacks CONFIG_VHOST_NET (the refusal was checked)");
        }
        p.start();
        assertTrue(p.waitLinkUp(Duration.ofSeconds(10)).up(), "link up on vhost-net");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
