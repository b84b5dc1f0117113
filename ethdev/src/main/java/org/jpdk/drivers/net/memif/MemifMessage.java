package org.jpdk.drivers.net.memif;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * memif's control messages (protocol 2.0): every message is exactly {@value #SIZE} bytes on a
 * {@code SOCK_SEQPACKET} socket, a 16-bit type then a packed body, zero-padded. Little-endian
 * (host order on both sides, as the C structs are). A region or ring message carries one
 * descriptor (SCM_RIGHTS): the region's memfd, the ring's eventfd.
 *
 * <pre>
 * type u16 @0   body (packed)                                                        direction
 * ACK        1  -                                                                     S→C
 * HELLO      2  name[32]@2 min_version u16@34 max_version u16@36 max_region u16@38     S→C
 *               max_s2c_ring u16@40 max_c2s_ring u16@42 max_log2_ring_size u8@44
 * INIT       3  version u16@2 id u32@4 mode u8@8 secret[24]@9 name[32]@33              C→S
 * ADD_REGION 4  index u16@2 size u64@4                                   + memfd       C→S
 * ADD_RING   5  flags u16@2 (1: C2S) index u16@4 region u16@6 offset u32@8             C→S
 *               log2_ring_size u8@12 private_hdr_size u16@13             + eventfd
 * CONNECT    6  if_name[32]@2                                                          C→S
 * CONNECTED  7  if_name[32]@2                                                          S→C
 * DISCONNECT 8  code u32@2 reason[96]@6                                                both
 * </pre>
 *
 * The handshake runs in lockstep: the server sends HELLO on accept; the client answers INIT, then
 * one message per ACK (each ADD_REGION, each C2S then S2C ADD_RING), then CONNECT; the server maps
 * the regions, checks the rings and answers CONNECTED. Strings are NUL-padded; a received one is
 * read up to its first NUL and never trusted as more than text for a log line.
 */
final class MemifMessage {
    static final int SIZE = 128;
    static final int VERSION = 0x0200;
    static final int ACK = 1, HELLO = 2, INIT = 3, ADD_REGION = 4, ADD_RING = 5, CONNECT = 6, CONNECTED = 7, DISCONNECT = 8;
    static final int NAME_SIZE = 32, SECRET_SIZE = 24, REASON_SIZE = 96;
    static final int ADD_RING_FLAG_C2S = 1;
    static final int MODE_ETHERNET = 0;

    // field offsets
    static final int TYPE = 0;
    static final int HELLO_NAME = 2, HELLO_MIN_VERSION = 34, HELLO_MAX_VERSION = 36, HELLO_MAX_REGION = 38,
            HELLO_MAX_S2C_RING = 40, HELLO_MAX_C2S_RING = 42, HELLO_MAX_LOG2_RING_SIZE = 44;
    static final int INIT_VERSION = 2, INIT_ID = 4, INIT_MODE = 8, INIT_SECRET = 9, INIT_NAME = 33;
    static final int REGION_INDEX = 2, REGION_SIZE = 4;
    static final int RING_FLAGS = 2, RING_INDEX = 4, RING_REGION = 6, RING_OFFSET = 8, RING_LOG2_SIZE = 12,
            RING_PRIVATE_HDR_SIZE = 13;
    static final int CONNECT_IF_NAME = 2;
    static final int DISCONNECT_CODE = 2, DISCONNECT_REASON = 6;

    private MemifMessage() {
    }

    static String typeName(int type) {
        return switch (type) {
            case ACK -> "ACK";
            case HELLO -> "HELLO";
            case INIT -> "INIT";
            case ADD_REGION -> "ADD_REGION";
            case ADD_RING -> "ADD_RING";
            case CONNECT -> "CONNECT";
            case CONNECTED -> "CONNECTED";
            case DISCONNECT -> "DISCONNECT";
            default -> "type " + type;
        };
    }

    static int type(MemorySegment m) {
        return u16(m, TYPE);
    }

    static int u8(MemorySegment m, long at) {
        return m.get(JAVA_BYTE, at) & 0xff;
    }

    static int u16(MemorySegment m, long at) {
        return m.get(JAVA_SHORT_UNALIGNED, at) & 0xffff;
    }

    static long u32(MemorySegment m, long at) {
        return m.get(JAVA_INT_UNALIGNED, at) & 0xffffffffL;
    }

    static long u64(MemorySegment m, long at) {
        return m.get(JAVA_LONG_UNALIGNED, at);
    }

    static void put8(MemorySegment m, long at, int v) {
        m.set(JAVA_BYTE, at, (byte) v);
    }

    static void put16(MemorySegment m, long at, int v) {
        m.set(JAVA_SHORT_UNALIGNED, at, (short) v);
    }

    static void put32(MemorySegment m, long at, long v) {
        m.set(JAVA_INT_UNALIGNED, at, (int) v);
    }

    static void put64(MemorySegment m, long at, long v) {
        m.set(JAVA_LONG_UNALIGNED, at, v);
    }

    /** Text of at most {@code max} bytes at {@code at}, up to the first NUL, with anything unprintable shown as '?'. */
    static String string(MemorySegment m, long at, int max) {
        byte[] b = new byte[max];
        MemorySegment.copy(m, JAVA_BYTE, at, b, 0, max);
        int n = 0;
        while (n < max && b[n] != 0) n++;
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) sb.append(b[i] >= 0x20 && b[i] < 0x7f ? (char) b[i] : '?');
        return sb.toString();
    }

    /** The raw bytes of a NUL-padded field, up to the first NUL (for comparing secrets). */
    static byte[] bytes(MemorySegment m, long at, int max) {
        byte[] b = new byte[max];
        MemorySegment.copy(m, JAVA_BYTE, at, b, 0, max);
        int n = 0;
        while (n < max && b[n] != 0) n++;
        return java.util.Arrays.copyOf(b, n);
    }

    /** Writes {@code s} NUL-padded into {@code max} bytes, cut to leave at least one NUL (strlcpy). */
    static void putString(MemorySegment m, long at, int max, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(b.length, max - 1);
        m.asSlice(at, max).fill((byte) 0);
        MemorySegment.copy(b, 0, m, JAVA_BYTE, at, n);
    }

    /** A zeroed message of {@code type}. */
    static MemorySegment begin(MemorySegment m, int type) {
        m.fill((byte) 0);
        put16(m, TYPE, type);
        return m;
    }

    static void hello(MemorySegment m, String name, int maxRegion, int maxRing, int maxLog2RingSize) {
        begin(m, HELLO);
        putString(m, HELLO_NAME, NAME_SIZE, name);
        put16(m, HELLO_MIN_VERSION, VERSION);
        put16(m, HELLO_MAX_VERSION, VERSION);
        put16(m, HELLO_MAX_REGION, maxRegion);
        put16(m, HELLO_MAX_S2C_RING, maxRing);
        put16(m, HELLO_MAX_C2S_RING, maxRing);
        put8(m, HELLO_MAX_LOG2_RING_SIZE, maxLog2RingSize);
    }

    static void init(MemorySegment m, long id, String secret, String name) {
        begin(m, INIT);
        put16(m, INIT_VERSION, VERSION);
        put32(m, INIT_ID, id);
        put8(m, INIT_MODE, MODE_ETHERNET);
        if (secret != null) putString(m, INIT_SECRET, SECRET_SIZE, secret);
        putString(m, INIT_NAME, NAME_SIZE, name);
    }

    static void addRegion(MemorySegment m, int index, long size) {
        begin(m, ADD_REGION);
        put16(m, REGION_INDEX, index);
        put64(m, REGION_SIZE, size);
    }

    static void addRing(MemorySegment m, boolean c2s, int index, int region, long offset, int log2Size) {
        begin(m, ADD_RING);
        put16(m, RING_FLAGS, c2s ? ADD_RING_FLAG_C2S : 0);
        put16(m, RING_INDEX, index);
        put16(m, RING_REGION, region);
        put32(m, RING_OFFSET, offset);
        put8(m, RING_LOG2_SIZE, log2Size);
        put16(m, RING_PRIVATE_HDR_SIZE, 0);
    }

    static void connect(MemorySegment m, int type, String ifName) {
        begin(m, type);
        putString(m, CONNECT_IF_NAME, NAME_SIZE, ifName);
    }

    static void disconnect(MemorySegment m, int code, String reason) {
        begin(m, DISCONNECT);
        put32(m, DISCONNECT_CODE, code);
        putString(m, DISCONNECT_REASON, REASON_SIZE, reason);
    }
}
