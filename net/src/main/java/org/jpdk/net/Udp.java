package org.jpdk.net;

/** The UDP header (rte_udp_hdr): offsets from the start of the L4 header. */
public final class Udp {
    public static final int HDR_LEN = 8;
    public static final int SRC_PORT_OFF = 0;
    public static final int DST_PORT_OFF = 2;
    public static final int DGRAM_LEN_OFF = 4;
    public static final int CKSUM_OFF = 6;

    private Udp() {
    }
}
