package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * The TCP header (rte_tcp_hdr) at offset {@code l4off} of an mbuf's data: offsets, flags and
 * accessors. Accessors go through Mbuf's bounded accessors and throw IndexOutOfBoundsException
 * past the data; nothing allocates.
 */
public final class Tcp {
    public static final int HDR_LEN = 20;
    public static final int MAX_HDR_LEN = 60;
    public static final int SRC_PORT_OFF = 0;
    public static final int DST_PORT_OFF = 2;
    public static final int SENT_SEQ_OFF = 4;
    public static final int RECV_ACK_OFF = 8;
    /** Data offset in the high nibble, in 32-bit words. */
    public static final int DATA_OFF_OFF = 12;
    public static final int FLAGS_OFF = 13;
    public static final int RX_WIN_OFF = 14;
    public static final int CKSUM_OFF = 16;
    public static final int URP_OFF = 18;

    public static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40, CWR = 0x80;

    private Tcp() {
    }

    /** The header length from the data offset, in bytes; IndexOutOfBoundsException if the byte is not in the data. */
    public static int headerLen(Mbuf m, int l4off) {
        return (m.readByte(l4off + DATA_OFF_OFF) & 0xf0) >>> 2;
    }

    public static int srcPort(Mbuf m, int l4off) {
        return m.readShort(l4off + SRC_PORT_OFF);
    }

    public static int dstPort(Mbuf m, int l4off) {
        return m.readShort(l4off + DST_PORT_OFF);
    }

    public static void setSrcPort(Mbuf m, int l4off, int port) {
        m.writeShort(l4off + SRC_PORT_OFF, port);
    }

    public static void setDstPort(Mbuf m, int l4off, int port) {
        m.writeShort(l4off + DST_PORT_OFF, port);
    }

    public static int seq(Mbuf m, int l4off) {
        return m.readInt(l4off + SENT_SEQ_OFF);
    }

    public static void setSeq(Mbuf m, int l4off, int seq) {
        m.writeInt(l4off + SENT_SEQ_OFF, seq);
    }

    public static int ack(Mbuf m, int l4off) {
        return m.readInt(l4off + RECV_ACK_OFF);
    }

    public static void setAck(Mbuf m, int l4off, int ack) {
        m.writeInt(l4off + RECV_ACK_OFF, ack);
    }

    /** The flag bits ({@link #SYN}, {@link #ACK}, ...). */
    public static int flags(Mbuf m, int l4off) {
        return m.readByte(l4off + FLAGS_OFF) & 0xff;
    }

    public static void setFlags(Mbuf m, int l4off, int flags) {
        m.writeByte(l4off + FLAGS_OFF, flags);
    }

    /** Sets the header length (a multiple of 4, 20 to 60), keeping the reserved bits. */
    public static void setHeaderLen(Mbuf m, int l4off, int len) {
        m.writeByte(l4off + DATA_OFF_OFF, (len & 0x3c) << 2 | m.readByte(l4off + DATA_OFF_OFF) & 0x0f);
    }

    public static int window(Mbuf m, int l4off) {
        return m.readShort(l4off + RX_WIN_OFF);
    }

    public static void setWindow(Mbuf m, int l4off, int win) {
        m.writeShort(l4off + RX_WIN_OFF, win);
    }

    public static int cksum(Mbuf m, int l4off) {
        return m.readShort(l4off + CKSUM_OFF);
    }

    public static void setCksum(Mbuf m, int l4off, int cksum) {
        m.writeShort(l4off + CKSUM_OFF, cksum);
    }
}
