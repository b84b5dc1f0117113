package org.jpdk.net;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.junit.jupiter.api.Tag;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Fuzz target: a received frame's headers. An input is a frame (its first 2 KiB) in one mbuf.
 * {@link PacketType#parse} must never throw and must leave lengths that lie inside the data; the
 * header walkers it is built on ({@link Ipv4#headerLen}, {@link Ipv6#walk}, {@link Ipv6#l4Len})
 * must never throw at the offsets it found, and the checksums they declare safe (an IPv6 L4
 * length within the packet; an IPv4 header and total length within it) must not throw either.
 */
@Tag("fuzz")
class PacketTypeFuzzTest {
    private static final Mempool<Mbuf> POOL = Mbuf.createPool("fuzz_ptype", 7, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);

    @FuzzTest(maxDuration = "30s")
    void parse(byte[] frame) {
        Mbuf m = Mbuf.alloc(POOL);
        try {
            int len = Math.min(frame.length, m.bufLen() - m.dataOff());
            int off = m.appendOffset(len);
            MemorySegment.copy(frame, 0, m.buffer(), ValueLayout.JAVA_BYTE, m.dataOff() + off, len);
            int ptype = PacketType.parse(m);
            PacketType.name(ptype);
            int outer = m.outerL2Len + m.outerL3Len, inner = m.l2Len + m.l3Len + m.l4Len;
            if (m.l2Len < 0 || m.l3Len < 0 || m.l4Len < 0 || outer + inner > len) {
                throw new AssertionError("lengths outside the " + len + " data bytes: outer " + m.outerL2Len + "+" + m.outerL3Len
                        + ", l2 " + m.l2Len + " l3 " + m.l3Len + " l4 " + m.l4Len + ", " + PacketType.name(ptype));
            }
            int l3 = outer + m.l2Len;
            if (PacketType.isIpv4(ptype) || (ptype & PacketType.INNER_L3_MASK) != 0 && l3 < len && (m.readByte(l3) & 0xf0) == 0x40) {
                int hl = Ipv4.headerLen(m, l3);
                if (hl > 0 && Ipv4.totalLength(m, l3) >= hl && l3 + Ipv4.totalLength(m, l3) <= len) {
                    Ipv4.cksumVerify(m, l3);
                    Ipv4.udptcpCksumVerify(m, l3);
                }
            }
            int walk = Ipv6.walk(m, l3);
            if (walk >= 0 && Ipv6.walkLen(walk) > len - l3) throw new AssertionError("walk past the data: " + Ipv6.walkLen(walk));
            if (Ipv6.l4Len(m, l3) >= 0) Ipv6.udptcpCksum(m, l3);
        } finally {
            m.free();
        }
    }
}
