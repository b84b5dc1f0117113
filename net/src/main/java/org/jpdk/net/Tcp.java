package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/** The TCP header (rte_tcp_hdr): offsets from the start of the L4 header, flags. */
public final class Tcp {
    public static final int HDR_LEN = 20;
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
}
