package org.jpdk.net;

import org.jpdk.mbuf.Mbuf;

/**
 * The Toeplitz hash of receive side scaling (Microsoft's RSS specification; DPDK's
 * {@code rte_softrss} and {@code rte_softrss_be}), for a key given once.
 *
 * <p>The hash of an input bit string is the XOR, over every set input bit {@code b} (the first
 * byte's high bit is bit 0), of the 32 key bits starting at key bit {@code b}. That is linear in
 * the input, so the contribution of each input byte can be looked up: the constructor builds a
 * table of 256 entries per input byte position (36 positions, enough for IPv6 addresses and
 * ports: 36 KiB), and {@link #hash} XORs one entry per byte. {@link #hashBitwise} is the
 * bit-serial definition, kept as the reference the table is tested against.
 *
 * <p>Inputs are in the specification's order, all big-endian as on the wire: source address,
 * destination address, then source port and destination port (one word: source in the high
 * half). {@link #DEFAULT_KEY} is the specification's verification key, the key DPDK's Intel
 * drivers use by default ({@code rss_intel_key}) and DPDK's thash test calls the default.
 * Keys must be at least {@link #KEY_LEN} bytes; only the first 40 matter for inputs of up to 36
 * bytes. An instance is immutable and may be shared by lcores. Hashing allocates nothing.
 */
public final class Toeplitz {
    /** Bytes of key the hashes here use. */
    public static final int KEY_LEN = 40;
    /** Most input bytes: two IPv6 addresses and two ports. */
    public static final int MAX_INPUT_LEN = 36;
    private static final byte[] DEFAULT_KEY_BYTES = {
            0x6d, 0x5a, 0x56, (byte) 0xda, 0x25, 0x5b, 0x0e, (byte) 0xc2,
            0x41, 0x67, 0x25, 0x3d, 0x43, (byte) 0xa3, (byte) 0x8f, (byte) 0xb0,
            (byte) 0xd0, (byte) 0xca, 0x2b, (byte) 0xcb, (byte) 0xae, 0x7b, 0x30, (byte) 0xb4,
            0x77, (byte) 0xcb, 0x2d, (byte) 0xa3, (byte) 0x80, 0x30, (byte) 0xf2, 0x0c,
            0x6a, 0x42, (byte) 0xb7, 0x3b, (byte) 0xbe, (byte) 0xac, 0x01, (byte) 0xfa};

    /** Hashes with the default key (the specification's verification key). */
    public static final Toeplitz DEFAULT_KEY = new Toeplitz(DEFAULT_KEY_BYTES);

    private final byte[] key;
    private final int[] keyWords;   // the first 40 key bytes as big-endian words, for the bit-serial form
    private final int[] table;      // [pos * 256 + byte]: what input byte value `byte` at position pos adds

    /** A hasher for {@code key} (copied); IllegalArgumentException if it is shorter than {@link #KEY_LEN} bytes. */
    public Toeplitz(byte[] key) {
        if (key == null || key.length < KEY_LEN) {
            throw new IllegalArgumentException("Toeplitz key: " + (key == null ? "null" : key.length + " bytes")
                    + ", must be at least " + KEY_LEN + " bytes");
        }
        this.key = key.clone();
        keyWords = new int[KEY_LEN / 4];
        for (int i = 0; i < keyWords.length; i++) {
            keyWords[i] = (key[4 * i] & 0xff) << 24 | (key[4 * i + 1] & 0xff) << 16 | (key[4 * i + 2] & 0xff) << 8 | key[4 * i + 3] & 0xff;
        }
        table = new int[MAX_INPUT_LEN * 256];
        for (int pos = 0; pos < MAX_INPUT_LEN; pos++) {
            for (int bit = 0; bit < 8; bit++) {
                int w = window(pos * 8 + bit), mask = 0x80 >>> bit;
                for (int v = 0; v < 256; v++) if ((v & mask) != 0) table[pos * 256 + v] ^= w;
            }
        }
    }

    /** The key (a copy). */
    public byte[] key() {
        return key.clone();
    }

    /** The default key's bytes (a copy). */
    public static byte[] defaultKey() {
        return DEFAULT_KEY_BYTES.clone();
    }

    /** The 32 key bits starting at key bit {@code b} (b + 32 within the 40 bytes). */
    private int window(int b) {
        int i = b >>> 5, s = b & 31;
        long pair = (long) keyWords[i] << 32 | (i + 1 < keyWords.length ? keyWords[i + 1] & 0xffff_ffffL : 0);
        return (int) (pair >>> (32 - s));
    }

    // ---------------------------------------------------------------- bit-serial reference

    /**
     * The bit-serial hash of {@code n} 32-bit input words (rte_softrss): for every set input
     * bit, XOR in the key window at that bit. The reference; {@link #hash} is the fast form.
     */
    public int hashBitwise(int[] words, int n) {
        checkWords(n);
        int h = 0;
        for (int i = 0; i < n; i++) {
            int w = words[i];
            for (int j = 0; j < 32; j++) {
                if (w << j < 0) h ^= window(i * 32 + j);
            }
        }
        return h;
    }

    // ---------------------------------------------------------------- table-driven

    /** The hash of {@code n} 32-bit input words through the byte table; equal to {@link #hashBitwise}. */
    public int hash(int[] words, int n) {
        checkWords(n);
        int h = 0;
        for (int i = 0; i < n; i++) h ^= word(i, words[i]);
        return h;
    }

    /** IPv4 2-tuple: source and destination address. */
    public int hashIpv4(int src, int dst) {
        return word(0, src) ^ word(1, dst);
    }

    /** IPv4 4-tuple: addresses, then source and destination port (TCP or UDP). */
    public int hashIpv4(int src, int dst, int srcPort, int dstPort) {
        return word(0, src) ^ word(1, dst) ^ word(2, srcPort << 16 | dstPort & 0xffff);
    }

    /** IPv6 2-tuple: addresses as high and low 64 bits each. */
    public int hashIpv6(long srcHi, long srcLo, long dstHi, long dstLo) {
        return word(0, (int) (srcHi >>> 32)) ^ word(1, (int) srcHi) ^ word(2, (int) (srcLo >>> 32)) ^ word(3, (int) srcLo)
                ^ word(4, (int) (dstHi >>> 32)) ^ word(5, (int) dstHi) ^ word(6, (int) (dstLo >>> 32)) ^ word(7, (int) dstLo);
    }

    /** IPv6 4-tuple: addresses, then source and destination port. */
    public int hashIpv6(long srcHi, long srcLo, long dstHi, long dstLo, int srcPort, int dstPort) {
        return hashIpv6(srcHi, srcLo, dstHi, dstLo) ^ word(8, srcPort << 16 | dstPort & 0xffff);
    }

    /** What input word {@code w} at word position {@code i} adds: four table entries. */
    private int word(int i, int w) {
        int base = i << 10; // 4 bytes * 256 entries per word
        return table[base + (w >>> 24)] ^ table[base + 256 + (w >>> 16 & 0xff)]
                ^ table[base + 512 + (w >>> 8 & 0xff)] ^ table[base + 768 + (w & 0xff)];
    }

    private static void checkWords(int n) {
        if (n < 0 || n > MAX_INPUT_LEN / 4) {
            throw new IllegalArgumentException("Toeplitz input: " + n + " words, must be 0 to " + MAX_INPUT_LEN / 4);
        }
    }

    // ---------------------------------------------------------------- packets

    /**
     * The RSS hash of a packet {@link PacketType#parse}d before (its packetType and lengths are
     * used): the 4-tuple of unfragmented TCP and UDP over IPv4 or IPv6, the 2-tuple of other IP
     * packets (fragments included, as NICs do), over the outer headers of a tunnel; 0 for a
     * packet without an IP type. Reads through Mbuf's bounded accessors; allocates nothing.
     */
    public int hash(Mbuf m) {
        int ptype = m.packetType;
        boolean tunnel = (ptype & PacketType.TUNNEL_MASK) != 0;
        int l3off = tunnel ? m.outerL2Len : m.l2Len;
        int l4off = l3off + (tunnel ? m.outerL3Len : m.l3Len);
        int l4 = ptype & PacketType.L4_MASK;
        boolean ports = l4 == PacketType.L4_TCP || l4 == PacketType.L4_UDP;
        if (PacketType.isIpv4(ptype)) {
            int h = word(0, m.readInt(l3off + Ipv4.SRC_OFF)) ^ word(1, m.readInt(l3off + Ipv4.DST_OFF));
            return ports ? h ^ word(2, m.readInt(l4off)) : h;
        }
        if (PacketType.isIpv6(ptype)) {
            int h = hashIpv6(m.readLong(l3off + Ipv6.SRC_OFF), m.readLong(l3off + Ipv6.SRC_OFF + 8),
                    m.readLong(l3off + Ipv6.DST_OFF), m.readLong(l3off + Ipv6.DST_OFF + 8));
            return ports ? h ^ word(8, m.readInt(l4off)) : h;
        }
        return 0;
    }

    /**
     * For a driver that hashes in software: sets {@code m.rssHash} to {@link #hash(Mbuf)} and
     * {@link Mbuf#F_RX_RSS_HASH} in its flags, and returns true; for a packet without an IP type
     * returns false and leaves both alone. Parse the packet first.
     */
    public boolean setRssHash(Mbuf m) {
        if (!PacketType.isIpv4(m.packetType) && !PacketType.isIpv6(m.packetType)) return false;
        m.rssHash = hash(m);
        m.olFlags |= Mbuf.F_RX_RSS_HASH;
        return true;
    }
}
