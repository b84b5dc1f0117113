package org.jpdk.bench.net;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.jpdk.eal.Memzone;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Ipv4;
import org.jpdk.net.PacketType;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** The packets the net benchmarks work on (a 64-byte and a 1500-byte UDP/IPv4 frame, a VXLAN frame), in a small pool of their own. */
@State(Scope.Thread)
public class NetPackets {
    /** Ether / IPv4 / UDP 10.0.0.1:1234 to 10.0.0.2:5678 (the header of every UDP packet here). */
    static final String UDP4_HEAD = "0200 0000 0002 0200 0000 0001 0800 4500 %04x 0001 4000 4011 0000 0a00 0001 0a00 0002 04d2 162e %04x 0000";
    /** Ether / IPv4 / UDP to 4789 / VXLAN VNI 42 / Ether / IPv4 / TCP (no payload). */
    static final String VXLAN = "0200 0000 0002 0200 0000 0001 0800 4500 005a 0001 0000 4011 0000 0a00 0001 0a00 0002 c000 12b5 0046 0000"
            + "0800 0000 0000 2a00" + "0200 0000 0004 0200 0000 0003 0800 4500 0028 0002 0000 4006 0000 c0a8 0101 c0a8 0102"
            + "0457 08ae 0000 03e8 0000 07d0 5010 2000 0000 0000";

    Mempool<Mbuf> pool;
    Mbuf udp64, udp1500, vxlan;

    @Setup
    public void setup() {
        pool = Mbuf.createPool("bench-net-" + System.nanoTime(), 15, 0, 0, Mbuf.DEFAULT_BUF_SIZE, Memzone.SOCKET_ID_ANY);
        udp64 = udp4(64);
        udp1500 = udp4(1500);
        vxlan = mbuf(hex(VXLAN));
        int vx = PacketType.L2_ETHER | PacketType.L3_IPV4 | PacketType.L4_UDP | PacketType.TUNNEL_VXLAN | PacketType.INNER_L2_ETHER
                | PacketType.INNER_L3_IPV4 | PacketType.INNER_L4_TCP;
        if (PacketType.parse(vxlan) != vx) throw new IllegalStateException("VXLAN sample parsed as " + PacketType.name(vxlan.packetType));
    }

    @TearDown
    public void tearDown() {
        udp64.free();
        udp1500.free();
        vxlan.free();
        pool.close();
    }

    /** A UDP/IPv4 frame of {@code frameLen} bytes (at least 42), checksums filled in. */
    Mbuf udp4(int frameLen) {
        byte[] b = new byte[frameLen];
        byte[] head = hex(String.format(UDP4_HEAD, frameLen - 14, frameLen - 34));
        System.arraycopy(head, 0, b, 0, head.length);
        for (int i = head.length; i < b.length; i++) b[i] = (byte) (i * 7);
        Mbuf m = mbuf(b);
        Ipv4.setChecksum(m, 14);
        Ipv4.setUdptcpChecksum(m, 14);
        return m;
    }

    private Mbuf mbuf(byte[] b) {
        Mbuf m = Mbuf.alloc(pool);
        m.append(b.length).copyFrom(MemorySegment.ofArray(b));
        return m;
    }

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }
}
