package org.jpdk.drivers.net.virtio;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.virtio.VirtioFeatures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jpdk's virtio-user front end against jpdk's vhost-user back end, two ports of one process on one
 * socket: frames of 64 to 9000 bytes each way, every byte and the order checked, over split and
 * packed rings with mergeable rx buffers on and off. Without mergeable buffers a frame must fit one
 * of the front end's rx buffers, so its pool then has 9 KiB buffers; with them it has the default
 * 2 KiB ones and long frames arrive as chains (the back end's rx always chains).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VirtioUserToVhostTest {
    private static final int[] SIZES = {64, 65, 100, 1500, 1514, 2047, 2048, 2049, 4000, 8000, 9000, 60, 128};
    private Eal eal;
    private final List<Mempool<Mbuf>> pools = new ArrayList<>();

    @AfterEach
    void cleanup() {
        if (eal == null) return;
        try {
            EthDev.closeAll();
            for (Mempool<Mbuf> p : pools) assertEquals(p.size(), p.availCount(), "every mbuf of " + p.name() + " is back after close");
        } finally {
            for (Mempool<Mbuf> p : pools) p.close();
            pools.clear();
            eal.cleanup();
        }
    }

    private Mempool<Mbuf> pool(String name, int dataRoom) {
        Mempool<Mbuf> p = Mbuf.createPool(name, 2047, 0, dataRoom, -1);
        pools.add(p);
        return p;
    }

    @ParameterizedTest(name = "{0} rings, mrg_rxbuf={1}, virtio-user to vhost={2}")
    @CsvSource({
            "split, 1, true", "split, 1, false", "split, 0, true", "split, 0, false",
            "packed, 1, true", "packed, 1, false", "packed, 0, true", "packed, 0, false",
    })
    void framesOfEverySizeArriveWhole(String rings, int mrg, boolean toVhost, @TempDir Path dir) {
        Path sock = dir.resolve("vu.sock");
        String virtio = "net_virtio_user0,path=" + sock + ",mrg_rxbuf=" + mrg + (rings.equals("packed") ? ",packed_vq=1" : "");
        eal = Eal.init("-l", "0-1", "--no-huge", "-m", "512", "--vdev", "net_vhost0,iface=" + sock, "--vdev", virtio);
        EthDev vhost = EthDev.byName("net_vhost0"), front = EthDev.byName("net_virtio_user0");
        Mempool<Mbuf> small = pool("small", Mbuf.DEFAULT_BUF_SIZE), big = pool("big", 9216 + Mbuf.DEFAULT_HEADROOM);
        start(vhost, small);
        start(front, mrg == 0 ? big : small);
        for (EthDev p : List.of(vhost, front)) assertTrue(p.waitLinkUp(Duration.ofSeconds(15)).up(), p.name() + " link up");
        long f = front.xstat("virtio_user_features");
        assertEquals(rings.equals("packed"), VirtioFeatures.has(f, VirtioFeatures.F_RING_PACKED), VirtioFeatures.names(f));
        assertEquals(mrg == 1, VirtioFeatures.has(f, VirtioFeatures.NET_F_MRG_RXBUF), VirtioFeatures.names(f));
        // our vhost offers IN_ORDER (it uses and returns buffers in the order made available); our front end takes it on split rings
        assertEquals(rings.equals("split"), VirtioFeatures.has(f, VirtioFeatures.F_IN_ORDER), VirtioFeatures.names(f));
        int[] lengths = new int[SIZES.length * 20];
        for (int i = 0; i < lengths.length; i++) lengths[i] = SIZES[i % SIZES.length];
        if (toVhost) sendAndCheck(front, vhost, small, lengths);
        else sendAndCheck(vhost, front, small, lengths);
        assertEquals(0, front.xstat("virtio_user_ring_faults"));
    }

    private static void start(EthDev p, Mempool<Mbuf> rxPool) {
        p.configure(1, 1, PortConf.defaults());
        p.rxQueueSetup(0, 0, rxPool);
        p.txQueueSetup(0, 0);
        p.start();
    }

    /** Sends frames of {@code lengths} (chains from {@code pool}) and receives each whole, in order. */
    private static void sendAndCheck(EthDev tx, EthDev rx, Mempool<Mbuf> pool, int[] lengths) {
        ArrayDeque<byte[]> sent = new ArrayDeque<>();
        Mbuf[] burst = new Mbuf[8], got = new Mbuf[32];
        int next = 0, received = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (received < lengths.length) {
            assertTrue(System.nanoTime() < deadline, "received " + received + " of " + lengths.length);
            int n = 0;
            byte[][] content = new byte[burst.length][];
            while (n < burst.length && next + n < lengths.length && sent.size() + n < 64) {
                burst[n] = frame(pool, next + n, lengths[next + n]);
                content[n] = bytes(burst[n]); // before tx: the mbufs are the driver's after it
                n++;
            }
            int k = tx.txBurst(0, burst, n);
            for (int i = 0; i < k; i++) sent.add(content[i]);
            for (int i = k; i < n; i++) burst[i].free();
            next += k;
            int r = rx.rxBurst(0, got, got.length);
            for (int i = 0; i < r; i++) {
                byte[] want = sent.poll();
                assertArrayEquals(want, bytes(got[i]), "frame " + received + " of " + (want == null ? -1 : want.length) + " bytes");
                got[i].free();
                received++;
            }
        }
    }

    private static Mbuf frame(Mempool<Mbuf> pool, int tag, int len) {
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
}
