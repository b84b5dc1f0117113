package org.jpdk.net;

/** The ICMP echo header (rte_icmp_hdr) and the ICMP and ICMPv6 echo types: offsets from the start of the L4 header. */
public final class Icmp {
    public static final int HDR_LEN = 8;
    public static final int TYPE_OFF = 0;
    public static final int CODE_OFF = 1;
    public static final int CKSUM_OFF = 2;
    public static final int IDENT_OFF = 4;
    public static final int SEQ_NB_OFF = 6;

    /** RTE_IP_ICMP_ECHO_REPLY. */
    public static final int ECHO_REPLY = 0;
    /** RTE_IP_ICMP_ECHO_REQUEST. */
    public static final int ECHO_REQUEST = 8;
    /** RTE_ICMP6_ECHO_REQUEST. */
    public static final int ICMP6_ECHO_REQUEST = 128;
    /** RTE_ICMP6_ECHO_REPLY. */
    public static final int ICMP6_ECHO_REPLY = 129;

    private Icmp() {
    }
}
