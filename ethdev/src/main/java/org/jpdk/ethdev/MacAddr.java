package org.jpdk.ethdev;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A 48-bit Ethernet address (rte_ether_addr), held as the low 48 bits of a long with the first
 * byte on the wire in bits 47..40.
 */
public record MacAddr(long value) {
    public static final MacAddr ZERO = new MacAddr(0);
    public static final MacAddr BROADCAST = new MacAddr(0xffff_ffff_ffffL);

    public MacAddr {
        value &= 0xffff_ffff_ffffL;
    }

    /** Parses {@code 02:00:00:00:00:01} (or with dashes). */
    public static MacAddr parse(String s) {
        String[] p = s.trim().split("[:-]");
        if (p.length != 6) throw new IllegalArgumentException("'" + s + "' is not a MAC address; expected 6 hex bytes like 02:00:00:00:00:01");
        long v = 0;
        for (String b : p) {
            if (b.isEmpty() || b.length() > 2) throw new IllegalArgumentException("'" + s + "' is not a MAC address; expected 6 hex bytes like 02:00:00:00:00:01");
            try {
                v = v << 8 | Integer.parseInt(b, 16);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + s + "' is not a MAC address; expected 6 hex bytes like 02:00:00:00:00:01");
            }
        }
        return new MacAddr(v);
    }

    /** A random locally administered unicast address (rte_eth_random_addr). */
    public static MacAddr random() {
        long v = ThreadLocalRandom.current().nextLong() & 0xffff_ffff_ffffL;
        v &= ~(0x01L << 40); // unicast
        v |= 0x02L << 40;    // locally administered
        return new MacAddr(v);
    }

    /** Reads 6 bytes at {@code off}. */
    public static MacAddr read(MemorySegment seg, long off) {
        long v = 0;
        for (int i = 0; i < 6; i++) v = v << 8 | (seg.get(ValueLayout.JAVA_BYTE, off + i) & 0xff);
        return new MacAddr(v);
    }

    /** Writes the 6 bytes at {@code off}. */
    public void write(MemorySegment seg, long off) {
        for (int i = 0; i < 6; i++) seg.set(ValueLayout.JAVA_BYTE, off + i, (byte) (value >>> (40 - 8 * i)));
    }

    public byte[] bytes() {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) b[i] = (byte) (value >>> (40 - 8 * i));
        return b;
    }

    public boolean isMulticast() {
        return (value & (0x01L << 40)) != 0;
    }

    public boolean isZero() {
        return value == 0;
    }

    /** {@code 02:00:00:00:00:01}, upper case as testpmd prints it. */
    @Override
    public String toString() {
        return HexFormat.ofDelimiter(":").withUpperCase().formatHex(bytes());
    }
}
