package org.jpdk.hash;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78) as DPDK's {@code rte_hash_crc} computes it
 * with the SSE4.2 {@code crc32} instruction: the raw register update seeded with {@code initVal},
 * with no initial or final inversion (so it differs from {@link java.util.zip.CRC32C}, which
 * inverts both). The key is read as little-endian 64-bit words, then a 32-bit word, then bytes,
 * and each word goes through the slicing-by-8 tables (Intel's method; 8 KiB of tables, L1
 * resident): one table load per input byte, no data-dependent branches. The intrinsic behind
 * {@code java.util.zip.CRC32C} is not used because it only takes arrays and ByteBuffers: viewing
 * an off-heap key as either allocates on every call (measured in {@code HashFunctionPerf}).
 */
public final class HashCrc {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    /** Eight 256-entry tables back to back: T[k][b] is the CRC of byte b followed by k zero bytes. */
    private static final int[] T = tables();

    private HashCrc() {
    }

    /** rte_hash_crc(key, len, initVal). */
    public static int hash(MemorySegment key, long off, int len, int initVal) {
        int crc = initVal;
        int i = 0;
        for (; i <= len - 8; i += 8) crc = crc64(crc, key.get(LONG, off + i));
        if (i <= len - 4) {
            crc = crc32(crc, key.get(INT, off + i));
            i += 4;
        }
        for (; i < len; i++) crc = crc8(crc, key.get(ValueLayout.JAVA_BYTE, off + i));
        return crc;
    }

    /** rte_hash_crc_8byte: the register after the 8 little-endian bytes of {@code v}. */
    public static int crc64(int crc, long v) {
        long x = v ^ (crc & 0xffff_ffffL);
        int[] t = T;
        return t[7 * 256 + (int) (x & 0xff)] ^ t[6 * 256 + (int) ((x >>> 8) & 0xff)]
                ^ t[5 * 256 + (int) ((x >>> 16) & 0xff)] ^ t[4 * 256 + (int) ((x >>> 24) & 0xff)]
                ^ t[3 * 256 + (int) ((x >>> 32) & 0xff)] ^ t[2 * 256 + (int) ((x >>> 40) & 0xff)]
                ^ t[256 + (int) ((x >>> 48) & 0xff)] ^ t[(int) (x >>> 56)];
    }

    /** rte_hash_crc_4byte: the register after the 4 little-endian bytes of {@code v}. */
    public static int crc32(int crc, int v) {
        int x = v ^ crc;
        int[] t = T;
        return t[3 * 256 + (x & 0xff)] ^ t[2 * 256 + ((x >>> 8) & 0xff)] ^ t[256 + ((x >>> 16) & 0xff)] ^ t[x >>> 24];
    }

    /** rte_hash_crc_1byte. */
    public static int crc8(int crc, byte b) {
        return (crc >>> 8) ^ T[(crc ^ b) & 0xff];
    }

    private static int[] tables() {
        int[] t = new int[8 * 256];
        for (int b = 0; b < 256; b++) {
            int c = b;
            for (int k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82F63B78 & -(c & 1));
            t[b] = c;
        }
        for (int k = 1; k < 8; k++) {
            for (int b = 0; b < 256; b++) {
                int prev = t[(k - 1) * 256 + b];
                t[k * 256 + b] = (prev >>> 8) ^ t[prev & 0xff];
            }
        }
        return t;
    }
}
