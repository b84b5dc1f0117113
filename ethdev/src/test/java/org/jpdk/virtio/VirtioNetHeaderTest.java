package org.jpdk.virtio;

import org.jpdk.eal.Eal;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/** The virtio-net header's offload fields to mbuf flags and back; header values that do not fit the frame are ignored. */
class VirtioNetHeaderTest {
    private Eal eal;
    private Mempool<Mbuf> pool;
    private final Arena arena = Arena.ofConfined();

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "64");
        pool = Mbuf.createPool("vnethdr_test", 63, 0, Mbuf.DEFAULT_BUF_SIZE, -1);
    }

    @AfterEach
    void cleanup() {
        try {
            pool.close();
            arena.close();
        } finally {
            eal.cleanup();
        }
    }

    /** Ethernet + IPv4 (20) + TCP (data offset 8: 32 bytes) + 100 bytes of payload. */
    private Mbuf tcp4() {
        Mbuf m = Mbuf.alloc(pool);
        m.append(14 + 20 + 32 + 100);
        m.writeShort(12, 0x0800);
        m.writeByte(14, 0x45);
        m.writeByte(14 + 9, 6);
        m.writeByte(34 + 12, 0x80);
        return m;
    }

    private MemorySegment header(int flags, int gso, int gsoSize, int csumStart, int csumOffset) {
        MemorySegment h = arena.allocate(VirtioNetHeader.SIZE);
        h.set(JAVA_BYTE, VirtioNetHeader.FLAGS, (byte) flags);
        h.set(JAVA_BYTE, VirtioNetHeader.GSO_TYPE, (byte) gso);
        h.set(JAVA_SHORT_UNALIGNED, VirtioNetHeader.GSO_SIZE, (short) gsoSize);
        h.set(JAVA_SHORT_UNALIGNED, VirtioNetHeader.CSUM_START, (short) csumStart);
        h.set(JAVA_SHORT_UNALIGNED, VirtioNetHeader.CSUM_OFFSET, (short) csumOffset);
        return h;
    }

    /** Whatever the buffer held (a stale header, offloads, garbage), the result is the plain header with num_buffers set; a plain one is left alone. */
    @Test
    void plainHeaderUnlessEqualRewritesOnlyWhatDiffers() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(32);
            for (int size : new int[]{VirtioNetHeader.SIZE, VirtioNetHeader.LEGACY_SIZE}) {
                for (int nb : new int[]{1, 3, 0xffff}) {
                    seg.fill((byte) 0xa7);
                    VirtioNetHeader.writePlainUnlessEqual(seg, 4, size, nb);
                    MemorySegment want = a.allocate(32);
                    want.fill((byte) 0xa7);
                    VirtioNetHeader.writePlain(want, 4, size);
                    if (size == VirtioNetHeader.SIZE) VirtioNetHeader.numBuffers(want, 4, nb);
                    assertArrayEquals(want.toArray(JAVA_BYTE), seg.toArray(JAVA_BYTE), "size " + size + ", num_buffers " + nb);
                    // already right: nothing written (a read-only view would throw on any store)
                    VirtioNetHeader.writePlainUnlessEqual(seg.asReadOnly(), 4, size, nb);
                }
            }
        }
    }

    @Test
    void needsCsumAndGsoBecomeTxFlags() {
        Mbuf m = tcp4();
        assertTrue(VirtioNetHeader.toMbuf(header(VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1400, 34, 16), 0, m));
        assertEquals(Mbuf.F_TX_TCP_SEG | Mbuf.F_TX_TCP_CKSUM | Mbuf.F_TX_IPV4, m.olFlags);
        assertEquals(14, m.l2Len);
        assertEquals(20, m.l3Len);
        assertEquals(32, m.l4Len);
        assertEquals(1400, m.tsoSegsz);
        m.free();

        m = tcp4();
        assertTrue(VirtioNetHeader.toMbuf(header(VirtioNetHeader.F_DATA_VALID, 0, 0, 0, 0), 0, m));
        assertEquals(Mbuf.F_RX_L4_CKSUM_GOOD, m.olFlags);
        m.free();
    }

    @Test
    void headersThatDoNotFitAreIgnored() {
        Mbuf m = tcp4();
        assertFalse(VirtioNetHeader.toMbuf(header(VirtioNetHeader.F_NEEDS_CSUM, 0, 0, 60000, 16), 0, m), "csum_start past the frame");
        assertFalse(VirtioNetHeader.toMbuf(header(VirtioNetHeader.F_NEEDS_CSUM, 0, 0, 34, 3), 0, m), "unknown csum_offset");
        assertFalse(VirtioNetHeader.toMbuf(header(VirtioNetHeader.F_NEEDS_CSUM, 0, 0, 20, 16), 0, m), "csum_start inside the IP header");
        assertFalse(VirtioNetHeader.toMbuf(header(VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV6, 1400, 34, 16), 0, m),
                "TCPv6 GSO on an IPv4 frame");
        assertEquals(0, m.olFlags);
        m.free();
        Mbuf runt = Mbuf.alloc(pool);
        runt.append(10);
        assertFalse(VirtioNetHeader.toMbuf(header(VirtioNetHeader.F_NEEDS_CSUM, 0, 0, 34, 16), 0, runt));
        runt.free();
    }

    @Test
    void txFlagsBecomeAHeaderTheGuestAccepted() {
        long guest = VirtioFeatures.bit(VirtioFeatures.NET_F_GUEST_CSUM) | VirtioFeatures.bit(VirtioFeatures.NET_F_GUEST_TSO4)
                | VirtioFeatures.bit(VirtioFeatures.F_VERSION_1);
        assertEquals(12, VirtioNetHeader.size(guest));
        assertEquals(10, VirtioNetHeader.size(0));
        Mbuf m = tcp4();
        m.olFlags = Mbuf.F_TX_TCP_SEG | Mbuf.F_TX_TCP_CKSUM | Mbuf.F_TX_IPV4 | Mbuf.F_TX_IP_CKSUM;
        m.l2Len = 14;
        m.l3Len = 20;
        m.l4Len = 32;
        m.tsoSegsz = 1000;
        MemorySegment h = arena.allocate(12);
        VirtioNetHeader.fromMbuf(m, guest, h, 0, 12);
        assertEquals(VirtioNetHeader.F_NEEDS_CSUM, h.get(JAVA_BYTE, 0));
        assertEquals(VirtioNetHeader.GSO_TCPV4, h.get(JAVA_BYTE, 1));
        assertEquals(66, h.get(JAVA_SHORT_UNALIGNED, VirtioNetHeader.HDR_LEN));
        assertEquals(1000, h.get(JAVA_SHORT_UNALIGNED, VirtioNetHeader.GSO_SIZE));
        assertEquals(34, h.get(JAVA_SHORT_UNALIGNED, VirtioNetHeader.CSUM_START));
        assertEquals(16, h.get(JAVA_SHORT_UNALIGNED, VirtioNetHeader.CSUM_OFFSET));
        assertEquals(1, h.get(JAVA_SHORT_UNALIGNED, VirtioNetHeader.NUM_BUFFERS));
        assertNotEquals(0, m.readShort(14 + 10), "the IPv4 header checksum was filled");
        // a guest without GUEST_CSUM/TSO gets a plain header
        VirtioNetHeader.fromMbuf(m, 0, h, 0, 10);
        assertTrue(VirtioNetHeader.plain(h, 0));
        assertEquals(0, h.get(JAVA_BYTE, 1));
        m.free();
    }
}
