package org.jpdk.drivers.net.afpacket;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.sys.Libc;
import org.jpdk.sys.Netns;
import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.jpdk.drivers.net.afpacket.PacketSocket.*;

/**
 * The measurement behind net_af_packet's choice of TPACKET_V2. Not part of the test run (its name
 * is not a test name); run it by hand, as root: {@code mvn -q -o -pl ethdev -am test
 * -Dtest=AfPacketRingVersionExperiment -Dsurefire.failIfNoSpecifiedTests=false}. A net_af_packet port floods 64-byte frames from one end of a veth
 * pair (its own namespace and thread); at the other end a bare AF_PACKET socket with a V2 or a V3
 * RX ring of the same memory (1 MiB) is polled by one thread that copies each frame out, as the
 * driver does. Prints received Mpps and kernel drops per version, alternating runs; a third run
 * gives V2 eight times the memory, to tell the cost per frame from the frames a ring holds.
 */
class AfPacketRingVersionExperiment {
    private static final int RING_BYTES = 1 << 20, FRAME = 2048;

    @Test
    void tpacketV2AgainstV3() throws Exception {
        int seconds = 3;
        try (NetnsFixture nf = NetnsFixture.create(); Eal eal = Eal.init("-l", "0-1", "--no-huge", "-m", "256")) {
            String a = nf.namespace(), b = nf.namespace();
            for (String ns : List.of(a, b)) nf.exec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            nf.veth(a, "va", b, "vb");
            Mempool<Mbuf> pool = Mbuf.createPool("afp_exp", 8191, 256, Mbuf.DEFAULT_BUF_SIZE, -1);
            EthDev tx = AfPacketDriverTest.createIn(a, "net_af_packet0,iface=va");
            tx.configure(1, 1, PortConf.defaults());
            tx.rxQueueSetup(0, 0, pool);
            tx.txQueueSetup(0, 0);
            tx.start();
            int ifindex;
            try (Netns n = Netns.enter(b)) {
                ifindex = Libc.ifNameToIndex("vb");
            }
            for (int round = 0; round < 2; round++) {
                for (int variant : new int[] {2, 3, 8}) {                     // 8: V2 with 8 times the memory
                    int version = variant == 3 ? 3 : 2, ringBytes = variant == 8 ? 8 * RING_BYTES : RING_BYTES;
                    int fd;
                    try (Netns n = Netns.enter(b)) {
                        fd = Libc.socket(Libc.AF_PACKET, Libc.SOCK_RAW, 0, "experiment");
                    }
                    double[] r = run(fd, ifindex, version, ringBytes, tx, pool, seconds);
                    Libc.close(fd);
                    System.out.printf("TPACKET_V%d, %d MiB ring: rx %.3f Mpps, kernel drops %.3f Mpps, sent %.3f Mpps%n", version, ringBytes >> 20,
                            r[0], r[1], r[2]);
                }
            }
            tx.close();
            EthDev.closeAll();
            pool.close();
        }
    }

    /** Returns {rx Mpps, drops Mpps, sent Mpps}. */
    private static double[] run(int fd, int ifindex, int version, int ringBytes, EthDev tx, Mempool<Mbuf> pool, int seconds) throws Exception {
        try (Arena ar = Arena.ofConfined()) {
            Libc.setsockopt(fd, SOL_PACKET, PACKET_VERSION, version == 2 ? 1 : 2);
            MemorySegment req = ar.allocate(28, 4);
            int blockSize = version == 2 ? 4096 : 128 << 10, blocks = ringBytes / blockSize;
            req.set(JAVA_INT, 0, blockSize);
            req.set(JAVA_INT, 4, blocks);
            req.set(JAVA_INT, 8, FRAME);
            req.set(JAVA_INT, 12, ringBytes / FRAME);
            req.set(JAVA_INT, 16, 1);                                       // V3: retire a block after 1 ms
            if (Libc.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, version == 2 ? req.asSlice(0, 16) : req) < 0) throw new IllegalStateException("ring");
            long addr = Libc.mmap(0, ringBytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0, "experiment");
            // bounded: the ringBytes just mapped; the experiment's threads are joined before the munmap
            MemorySegment ring = MemorySegment.ofAddress(addr).reinterpret(ringBytes);
            MemorySegment sll = ar.allocate(20, 4);
            sll.set(JAVA_SHORT, 0, (short) Libc.AF_PACKET);
            sll.set(JAVA_SHORT, 2, (short) htons(ETH_P_ALL));
            sll.set(JAVA_INT, 4, ifindex);
            Libc.bind(fd, sll, "experiment");
            MemorySegment sink = ar.allocate(FRAME);
            AtomicBoolean stop = new AtomicBoolean();
            long sentBefore = tx.stats().opackets;
            Thread sender = new Thread(() -> {
                java.util.BitSet cpu1 = new java.util.BitSet();
                cpu1.set(1);
                Libc.schedSetaffinity(0, cpu1);                              // the receiver has CPU 0 (the EAL pinned main)
                flood(tx, pool, stop);
            });
            sender.start();
            Thread.sleep(300);
            readDrops(fd, ar);
            long t0 = System.nanoTime(), end = t0 + seconds * 1_000_000_000L, got = 0;
            long sent0 = tx.stats().opackets;
            int next = 0;
            while (System.nanoTime() < end) {
                int n = version == 2 ? pollV2(ring, next, ringBytes / FRAME, sink) : pollV3(ring, next, blockSize, blocks, sink);
                if (version == 2) {
                    got += n;
                    next = (next + n) % (ringBytes / FRAME);
                } else if (n >= 0) {
                    got += n;
                    next = (next + 1) % blocks;
                }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            long drops = readDrops(fd, ar), sent = tx.stats().opackets - sent0;
            stop.set(true);
            sender.join();
            Libc.munmap(addr, ringBytes);
            return new double[] {got / secs / 1e6, drops / secs / 1e6, sent / secs / 1e6};
        }
    }

    private static int pollV2(MemorySegment ring, int next, int frames, MemorySegment sink) {
        int n = 0, i = next;
        while (n < 32) {
            long f = (long) i * FRAME;
            if (((int) STATUS.getAcquire(ring, f) & TP_STATUS_USER) == 0) break;
            int snap = ring.get(JAVA_INT, f + OFF_SNAPLEN), mac = ring.get(JAVA_SHORT, f + OFF_MAC);
            MemorySegment.copy(ring, f + mac, sink, 0, snap);
            STATUS.setRelease(ring, f, TP_STATUS_KERNEL);
            i = i + 1 == frames ? 0 : i + 1;
            n++;
        }
        return n;
    }

    /** Reads a whole block if the kernel handed it over; -1 if not. */
    private static int pollV3(MemorySegment ring, int block, int blockSize, int blocks, MemorySegment sink) {
        long b = (long) block * blockSize;
        if (((int) STATUS.getAcquire(ring, b + 8) & TP_STATUS_USER) == 0) return -1;
        int num = ring.get(JAVA_INT, b + 12);
        long p = b + ring.get(JAVA_INT, b + 16);
        for (int k = 0; k < num; k++) {
            int snap = ring.get(JAVA_INT, p + 12), mac = ring.get(JAVA_SHORT, p + 24);
            MemorySegment.copy(ring, p + mac, sink, 0, snap);
            p += ring.get(JAVA_INT, p);
        }
        STATUS.setRelease(ring, b + 8, TP_STATUS_KERNEL);
        return num;
    }

    private static long readDrops(int fd, Arena ar) {
        MemorySegment st = ar.allocate(12, 4);
        Libc.getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, st);
        return st.get(JAVA_INT, 4) & 0xffffffffL;
    }

    private static void flood(EthDev tx, Mempool<Mbuf> pool, AtomicBoolean stop) {
        Mbuf[] burst = new Mbuf[32];
        while (!stop.get()) {
            if (!Mbuf.allocBulk(pool, burst, 0, 32)) continue;
            for (int i = 0; i < 32; i++) {
                burst[i].appendOffset(64);
                AfPacketDriverTest.fill(burst[i], i, 64);
            }
            int sent = 0;
            while (sent < 32 && !stop.get()) sent += tx.txBurst(0, burst, sent, 32 - sent);
            if (sent < 32) Mbuf.freeBulk(burst, sent, 32 - sent);
        }
    }
}
