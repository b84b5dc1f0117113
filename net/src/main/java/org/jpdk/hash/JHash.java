package org.jpdk.hash;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Bob Jenkins' lookup3 {@code hashlittle}, as DPDK's {@code rte_jhash}: 12-byte blocks of three
 * little-endian 32-bit words mixed into (a, b, c), the last 1..12 bytes zero-extended into the
 * words and finalised; the result is c. The tail is read byte by byte, never past the key (C's
 * lookup3 reads whole words and masks them).
 */
public final class JHash {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final int GOLDEN_RATIO = 0xdeadbeef;

    private JHash() {
    }

    /** rte_jhash(key, len, initVal). */
    public static int hash(MemorySegment key, long off, int len, int initVal) {
        int a = GOLDEN_RATIO + len + initVal, b = a, c = a;
        int rem = len;
        long p = off;
        while (rem > 12) {
            a += key.get(INT, p);
            b += key.get(INT, p + 4);
            c += key.get(INT, p + 8);
            // mix(a, b, c)
            a -= c; a ^= Integer.rotateLeft(c, 4); c += b;
            b -= a; b ^= Integer.rotateLeft(a, 6); a += c;
            c -= b; c ^= Integer.rotateLeft(b, 8); b += a;
            a -= c; a ^= Integer.rotateLeft(c, 16); c += b;
            b -= a; b ^= Integer.rotateLeft(a, 19); a += c;
            c -= b; c ^= Integer.rotateLeft(b, 4); b += a;
            p += 12;
            rem -= 12;
        }
        if (rem == 0) return c;
        a += word(key, p, rem);
        if (rem > 4) b += word(key, p + 4, rem - 4);
        if (rem > 8) c += word(key, p + 8, rem - 8);
        // final(a, b, c)
        c ^= b; c -= Integer.rotateLeft(b, 14);
        a ^= c; a -= Integer.rotateLeft(c, 11);
        b ^= a; b -= Integer.rotateLeft(a, 25);
        c ^= b; c -= Integer.rotateLeft(b, 16);
        a ^= c; a -= Integer.rotateLeft(c, 4);
        b ^= a; b -= Integer.rotateLeft(a, 14);
        c ^= b; c -= Integer.rotateLeft(b, 24);
        return c;
    }

    /** The little-endian word of min(n, 4) bytes at p, zero-extended. */
    private static int word(MemorySegment key, long p, int n) {
        if (n >= 4) return key.get(INT, p);
        int w = 0;
        for (int i = 0; i < n; i++) w |= (key.get(ValueLayout.JAVA_BYTE, p + i) & 0xff) << (8 * i);
        return w;
    }
}
