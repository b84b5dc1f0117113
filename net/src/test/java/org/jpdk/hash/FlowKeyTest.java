package org.jpdk.hash;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Ether;
import org.jpdk.testing.AllocationMeter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** 5-tuple keys from real header bytes, from values, for odd packets, and as hash keys. */
class FlowKeyTest {
    private static final String ETH = "020000000002 020000000001 0800";
    private static final String ETH6 = "020000000002 020000000001 86dd";
    // UDP 198.18.0.1:1234 -> 198.18.0.2:5678, TTL 64, checksum field 0xabcd (both must not reach the key).
    private static final String IPV4_UDP = "4500 0020 0001 0000 4011 abcd c612 0001 c612 0002" + "04d2 162e 000c 0000 6869 6a6b";
    private Mempool<Mbuf> pool;
    private final MemorySegment key = Arena.ofAuto().allocate(64), want = Arena.ofAuto().allocate(64);

    @BeforeEach
    void pool() {
        pool = Mbuf.createPool("flowkey_test", 63, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
    }

    @AfterEach
    void close() {
        pool.close();
    }

    private Mbuf packet(String hex) {
        byte[] bytes = HexFormat.of().parseHex(hex.replace(" ", ""));
        Mbuf m = Mbuf.alloc(pool);
        int off = m.appendOffset(bytes.length);
        MemorySegment.copy(bytes, 0, m.buffer(), ValueLayout.JAVA_BYTE, m.dataOff() + off, bytes.length);
        return m;
    }

    private static String hex(MemorySegment s, int len) {
        return HexFormat.of().formatHex(s.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void ipv4UdpKeyIsL3fwdsLayout() {
        Mbuf m = packet(ETH + IPV4_UDP);
        assertTrue(FlowKey.ipv4(m, Ether.HDR_LEN, key, 0));
        assertEquals("00110000" + "c6120001" + "c6120002" + "04d2162e", hex(key, 16));
        FlowKey.ipv4(want, 0, 0xC6120001, 0xC6120002, 1234, 5678, 17);
        assertEquals(hex(want, 16), hex(key, 16));
        m.free();
    }

    @Test
    void ipv4WithOptionsIcmpAndFragments() {
        // IHL 6 (4 bytes of options): ports come after the options.
        Mbuf m = packet(ETH + "4600 0024 0001 0000 4006 0000 0a000001 0a000002 01020304" + "0050 1f90 0000 0000");
        assertTrue(FlowKey.ipv4(m, Ether.HDR_LEN, key, 0));
        assertEquals("00060000" + "0a000001" + "0a000002" + "00501f90", hex(key, 16));
        m.free();
        // ICMP: no ports.
        m = packet(ETH + "4500 001c 0001 0000 4001 0000 0a000001 0a000002" + "0800 f7ff 0000 0000");
        assertTrue(FlowKey.ipv4(m, Ether.HDR_LEN, key, 0));
        assertEquals("00010000" + "0a000001" + "0a000002" + "00000000", hex(key, 16));
        m.free();
        // A later fragment of a UDP datagram: its first bytes are payload, not ports.
        m = packet(ETH + "4500 001c 0001 00b9 4011 0000 0a000001 0a000002" + "dead beef 0000 0000");
        assertTrue(FlowKey.ipv4(m, Ether.HDR_LEN, key, 0));
        assertEquals("00000000", hex(key, 16).substring(24));
        m.free();
    }

    @Test
    void badIpv4PacketsGiveFalseAndWriteNothing() {
        key.fill((byte) 0x55);
        Mbuf m = packet(ETH + "6500 0020 0001 0000 4011 abcd c612 0001 c612 0002 04d2 162e");   // version 6
        assertFalse(FlowKey.ipv4(m, Ether.HDR_LEN, key, 0));
        m.free();
        m = packet(ETH + "4500 0020 0001 0000 4011 abcd c612 0001 c612");                    // truncated header
        assertFalse(FlowKey.ipv4(m, Ether.HDR_LEN, key, 0));
        m.free();
        m = packet(ETH + "4500 0020 0001 0000 4011 abcd c612 0001 c612 0002 04d2");          // half the ports
        assertFalse(FlowKey.ipv4(m, Ether.HDR_LEN, key, 0));
        m.free();
        assertEquals("55".repeat(16), hex(key, 16));
        Mbuf ok = packet(ETH + IPV4_UDP);
        assertThrows(IndexOutOfBoundsException.class, () -> FlowKey.ipv4(ok, Ether.HDR_LEN, key, 60));
        ok.free();
    }

    @Test
    void ipv6TcpKey() {
        String src = "20010db8000000000000000000000001", dst = "20010db8000000000000000000000002";
        Mbuf m = packet(ETH6 + "60000000 0014 06 40" + src + dst + "c000 0050 00000000 00000000 5002 ffff 0000 0000");
        assertTrue(FlowKey.ipv6(m, Ether.HDR_LEN, key, 0));
        assertEquals(src + dst + "c0000050" + "06000000", hex(key, 40));
        HexFormat h = HexFormat.of();
        FlowKey.ipv6(want, 0, h.parseHex(src), h.parseHex(dst), 0xc000, 80, 6);
        assertEquals(hex(want, 40), hex(key, 40));
        m.free();
        m = packet(ETH6 + "60000000 0014 06 40" + src);                                          // truncated
        assertFalse(FlowKey.ipv6(m, Ether.HDR_LEN, key, 0));
        m.free();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FlowKey.ipv6(want, 0, new byte[4], new byte[16], 1, 2, 6));
        assertEquals("src/dst: addresses must be 16 bytes, not 4/16", e.getMessage());
    }

    @Test
    void keysFromPacketsFindFlowsAddedFromValuesWithoutAllocating() {
        Mbuf m = packet(ETH + IPV4_UDP);
        try (Hash flows = Hash.create("flowkey_flows", 2048, FlowKey.IPV4_LEN)) {
            for (int port = 0; port < 1000; port++) {
                FlowKey.ipv4(want, 0, 0xC6120001, 0xC6120002, 1234, 5000 + port, 17);
                assertTrue(flows.add(want, 0, port) >= 0);
            }
            long[] data = new long[1];
            assertTrue(FlowKey.ipv4(m, Ether.HDR_LEN, key, 0));
            assertTrue(flows.lookupData(key, 0, data, 0) >= 0);
            assertEquals(678, data[0]);
            AllocationMeter.assertNoAllocation("key and lookup", 20_000, 50_000, () -> {
                FlowKey.ipv4(m, Ether.HDR_LEN, key, 0);
                flows.lookupData(key, 0, data, 0);
            });
        }
        m.free();
    }
}
