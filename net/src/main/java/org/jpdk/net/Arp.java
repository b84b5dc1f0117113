package org.jpdk.net;

/** The ARP header for Ethernet and IPv4 (rte_arp_hdr): offsets from the start of the L3 header. */
public final class Arp {
    public static final int HDR_LEN = 28;
    public static final int HRD_OFF = 0;
    public static final int PRO_OFF = 2;
    public static final int HLEN_OFF = 4;
    public static final int PLEN_OFF = 5;
    public static final int OP_OFF = 6;
    /** Sender hardware address. */
    public static final int SHA_OFF = 8;
    /** Sender IP address. */
    public static final int SIP_OFF = 14;
    /** Target hardware address. */
    public static final int THA_OFF = 18;
    /** Target IP address. */
    public static final int TIP_OFF = 24;

    /** RTE_ARP_HRD_ETHER. */
    public static final int HRD_ETHER = 1;
    public static final int OP_REQUEST = 1;
    public static final int OP_REPLY = 2;

    private Arp() {
    }
}
