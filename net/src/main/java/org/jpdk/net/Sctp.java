package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/** The SCTP common header (rte_sctp_hdr) at offset {@code l4off}: ports, verification tag, CRC32c checksum. */
public final class Sctp {
    public static final int HDR_LEN = 12;
    public static final int SRC_PORT_OFF = 0;
    public static final int DST_PORT_OFF = 2;
    public static final int TAG_OFF = 4;
    public static final int CKSUM_OFF = 8;

    private Sctp() {
    }

    public static int srcPort(Mbuf m, int l4off) {
        return m.readShort(l4off + SRC_PORT_OFF);
    }

    public static int dstPort(Mbuf m, int l4off) {
        return m.readShort(l4off + DST_PORT_OFF);
    }

    public static int tag(Mbuf m, int l4off) {
        return m.readInt(l4off + TAG_OFF);
    }
}
