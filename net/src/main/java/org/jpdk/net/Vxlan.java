package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * The VXLAN header (RFC 7348; rte_vxlan_hdr) at offset {@code off} of an mbuf's data, after a
 * UDP header to port {@link #PORT}; an Ethernet frame follows it.
 * <pre>
 *   offset  size  field
 *   0       1     flags (0x08: the VNI is valid)
 *   1       3     reserved
 *   4       3     VXLAN network identifier (VNI)
 *   7       1     reserved
 * </pre>
 * Accessors throw IndexOutOfBoundsException past the data; nothing allocates.
 */
public final class Vxlan {
    public static final int HDR_LEN = 8;
    /** The IANA UDP port (RTE_VXLAN_DEFAULT_PORT). */
    public static final int PORT = 4789;
    public static final int FLAGS_OFF = 0;
    public static final int VNI_OFF = 4;
    /** The I flag: the VNI is valid. */
    public static final int FLAG_VNI = 0x08;
    /** Outer UDP plus VXLAN header, the bytes between the outer L3 header and the inner frame. */
    public static final int TUNNEL_LEN = Udp.HDR_LEN + HDR_LEN;

    private Vxlan() {
    }

    public static int flags(Mbuf m, int off) {
        return m.readByte(off + FLAGS_OFF) & 0xff;
    }

    /** The 24-bit VNI. */
    public static int vni(Mbuf m, int off) {
        return m.readInt(off + VNI_OFF) >>> 8;
    }

    /** Writes a header with the I flag, the 24-bit {@code vni} and zero reserved fields. */
    public static void set(Mbuf m, int off, int vni) {
        m.writeInt(off, FLAG_VNI << 24);
        m.writeInt(off + VNI_OFF, (vni & 0xff_ffff) << 8);
    }
}
