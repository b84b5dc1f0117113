package org.jpdk.virtio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * One vhost-user message (QEMU's {@code docs/interop/vhost-user.rst}), as both sides read and write
 * it: a 12-byte header, then {@code size} bytes of payload, then, beside the bytes, up to
 * {@value #MAX_FDS} descriptors carried by SCM_RIGHTS. Little-endian (host order, as the C structs).
 * A holder is allocated once per connection and reused for every message; nothing here allocates.
 *
 * <pre>
 * header       request u32@0  flags u32@4 (version 0x1 in bits 0-1, REPLY 0x4, NEED_REPLY 0x8)  size u32@8
 * payload @12  u64            value u64@0                                       features, kick/call/err, mtu, status
 *              vring state    index u32@0  num u32@4                             NUM, BASE, ENABLE, GET_VRING_BASE reply
 *              vring addr     index u32@0  flags u32@4  desc u64@8  used u64@16  avail u64@24  log u64@32   (40 bytes)
 *              memory table   nregions u32@0  padding u32@4, then nregions x 32 bytes from @8:
 *                             guest_phys_addr u64@0  memory_size u64@8  userspace_addr u64@16  mmap_offset u64@24
 *              log            mmap_size u64@0  mmap_offset u64@8                                (16 bytes)
 *              config         offset u32@0  size u32@4  flags u32@8  payload[size]@12  (size at most 256)
 * </pre>
 *
 * A KICK, CALL or ERR u64 carries the vring index in its low byte and {@link #VRING_NOFD} when no
 * descriptor comes with it (polling mode). A message whose header asks NEED_REPLY (with REPLY_ACK
 * negotiated) gets a u64 reply: 0 for success, non-zero for failure.
 */
public final class VhostUserMessage {
    public static final int HEADER_SIZE = 12;
    /** The largest payload a peer may send: a config space message (12 + 256), rounded up. */
    public static final int MAX_PAYLOAD = 512;
    public static final int MAX_FDS = 8;
    /** The most regions a SET_MEM_TABLE carries (VHOST_MEMORY_BASELINE_NREGIONS). */
    public static final int MAX_REGIONS = 8;
    public static final int MAX_CONFIG_SIZE = 256;

    // front end -> back end requests
    public static final int GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, RESET_OWNER = 4, SET_MEM_TABLE = 5,
            SET_LOG_BASE = 6, SET_LOG_FD = 7, SET_VRING_NUM = 8, SET_VRING_ADDR = 9, SET_VRING_BASE = 10,
            GET_VRING_BASE = 11, SET_VRING_KICK = 12, SET_VRING_CALL = 13, SET_VRING_ERR = 14,
            GET_PROTOCOL_FEATURES = 15, SET_PROTOCOL_FEATURES = 16, GET_QUEUE_NUM = 17, SET_VRING_ENABLE = 18,
            SEND_RARP = 19, NET_SET_MTU = 20, SET_BACKEND_REQ_FD = 21, IOTLB_MSG = 22, SET_VRING_ENDIAN = 23,
            GET_CONFIG = 24, SET_CONFIG = 25, POSTCOPY_ADVISE = 28, POSTCOPY_LISTEN = 29, POSTCOPY_END = 30,
            GET_INFLIGHT_FD = 31, SET_INFLIGHT_FD = 32, RESET_DEVICE = 34, GET_MAX_MEM_SLOTS = 36,
            ADD_MEM_REG = 37, REM_MEM_REG = 38, SET_STATUS = 39, GET_STATUS = 40;

    public static final int VERSION = 0x1, VERSION_MASK = 0x3, REPLY = 0x4, NEED_REPLY = 0x8;
    /** In a KICK/CALL/ERR u64: no descriptor follows. */
    public static final long VRING_NOFD = 0x100;
    public static final long VRING_INDEX_MASK = 0xff;

    // payload offsets (from the payload start)
    public static final int STATE_INDEX = 0, STATE_NUM = 4;
    public static final int ADDR_INDEX = 0, ADDR_FLAGS = 4, ADDR_DESC = 8, ADDR_USED = 16, ADDR_AVAIL = 24, ADDR_LOG = 32;
    public static final int ADDR_SIZE = 40;
    /** In a vring addr's flags: the used ring is to be logged (live migration). */
    public static final int ADDR_F_LOG = 0x1;
    public static final int MEM_NREGIONS = 0, MEM_REGIONS = 8, MEM_REGION_SIZE = 32;
    public static final int REGION_GPA = 0, REGION_SIZE = 8, REGION_UVA = 16, REGION_MMAP_OFFSET = 24;
    public static final int LOG_SIZE = 16;
    public static final int CONFIG_OFFSET = 0, CONFIG_SIZE = 4, CONFIG_FLAGS = 8, CONFIG_PAYLOAD = 12;

    private final MemorySegment buf;
    private final MemorySegment payload;
    /** The descriptors that came with the message, {@code fdCount} of them; -1 past that. */
    public final int[] fds = new int[MAX_FDS];
    public int fdCount;

    /** A message holder in {@code arena} (the connection's). */
    public VhostUserMessage(Arena arena) {
        buf = arena.allocate(HEADER_SIZE + MAX_PAYLOAD, 8);
        payload = buf.asSlice(HEADER_SIZE, MAX_PAYLOAD);
        Arrays.fill(fds, -1);
    }

    /** The whole buffer (header and the largest payload), for the channel's reads. */
    MemorySegment buffer() {
        return buf;
    }

    public int request() {
        return buf.get(JAVA_INT_UNALIGNED, 0);
    }

    public int flags() {
        return buf.get(JAVA_INT_UNALIGNED, 4);
    }

    /** The payload size the header announces (checked against {@link #MAX_PAYLOAD} by the channel). */
    public int size() {
        return buf.get(JAVA_INT_UNALIGNED, 8);
    }

    public boolean needsReply() {
        return (flags() & NEED_REPLY) != 0;
    }

    /** The header and the payload as sent: {@code HEADER_SIZE + size()} bytes. */
    public MemorySegment bytes() {
        return buf.asSlice(0, HEADER_SIZE + Math.clamp(size(), 0, MAX_PAYLOAD));
    }

    /** The payload area (all {@link #MAX_PAYLOAD} bytes; {@link #size()} of them are the message's). */
    public MemorySegment payload() {
        return payload;
    }

    /** Starts a message: header set, payload size 0, descriptors none. Returns this. */
    public VhostUserMessage set(int request, int flags) {
        buf.set(JAVA_INT_UNALIGNED, 0, request);
        buf.set(JAVA_INT_UNALIGNED, 4, flags);
        buf.set(JAVA_INT_UNALIGNED, 8, 0);
        Arrays.fill(fds, -1);
        fdCount = 0;
        return this;
    }

    /** Sets the header's flags (e.g. adds {@link #NEED_REPLY} to a message being built). */
    public VhostUserMessage flags(int flags) {
        buf.set(JAVA_INT_UNALIGNED, 4, flags);
        return this;
    }

    /** Sets the payload size in the header. */
    public VhostUserMessage size(int size) {
        if (size < 0 || size > MAX_PAYLOAD) throw new IllegalArgumentException("payload of " + size + " bytes; at most " + MAX_PAYLOAD);
        buf.set(JAVA_INT_UNALIGNED, 8, size);
        return this;
    }

    /** Turns a received request into its reply: same request, flags version|REPLY, payload size 0. */
    public VhostUserMessage reply() {
        return set(request(), VERSION | REPLY);
    }

    /** Attaches a descriptor to send (the caller keeps owning it). */
    public VhostUserMessage addFd(int fd) {
        if (fdCount == MAX_FDS) throw new IllegalArgumentException("more than " + MAX_FDS + " descriptors in one message");
        fds[fdCount++] = fd;
        return this;
    }

    /** Closes the descriptors the message brought that no one took (set to -1 what you take). */
    public void closeFds() {
        for (int i = 0; i < MAX_FDS; i++) {
            if (fds[i] >= 0) org.jpdk.sys.Libc.close(fds[i]);
            fds[i] = -1;
        }
        fdCount = 0;
    }

    // ---------------------------------------------------------------- payloads

    public long u64() {
        return payload.get(JAVA_LONG_UNALIGNED, 0);
    }

    /** Sets a u64 payload (size 8). Pass a long: an int argument reads {@link #u64(int)} instead. */
    public VhostUserMessage u64(long v) {
        payload.set(JAVA_LONG_UNALIGNED, 0, v);
        return size(8);
    }

    public int u32(int off) {
        return payload.get(JAVA_INT_UNALIGNED, off);
    }

    public long u64(int off) {
        return payload.get(JAVA_LONG_UNALIGNED, off);
    }

    public VhostUserMessage state(int index, int num) {
        payload.set(JAVA_INT_UNALIGNED, STATE_INDEX, index);
        payload.set(JAVA_INT_UNALIGNED, STATE_NUM, num);
        return size(8);
    }

    public VhostUserMessage vringAddr(int index, int flags, long desc, long used, long avail, long log) {
        payload.set(JAVA_INT_UNALIGNED, ADDR_INDEX, index);
        payload.set(JAVA_INT_UNALIGNED, ADDR_FLAGS, flags);
        payload.set(JAVA_LONG_UNALIGNED, ADDR_DESC, desc);
        payload.set(JAVA_LONG_UNALIGNED, ADDR_USED, used);
        payload.set(JAVA_LONG_UNALIGNED, ADDR_AVAIL, avail);
        payload.set(JAVA_LONG_UNALIGNED, ADDR_LOG, log);
        return size(ADDR_SIZE);
    }

    /** Starts a memory table of {@code n} regions (fill each with {@link #region}); sets the size. */
    public VhostUserMessage memTable(int n) {
        if (n < 0 || n > MAX_REGIONS) throw new IllegalArgumentException(n + " regions; at most " + MAX_REGIONS);
        payload.set(JAVA_INT_UNALIGNED, MEM_NREGIONS, n);
        payload.set(JAVA_INT_UNALIGNED, 4, 0);
        return size(MEM_REGIONS + n * MEM_REGION_SIZE);
    }

    public VhostUserMessage region(int i, long gpa, long size, long uva, long mmapOffset) {
        long at = MEM_REGIONS + (long) i * MEM_REGION_SIZE;
        payload.set(JAVA_LONG_UNALIGNED, at + REGION_GPA, gpa);
        payload.set(JAVA_LONG_UNALIGNED, at + REGION_SIZE, size);
        payload.set(JAVA_LONG_UNALIGNED, at + REGION_UVA, uva);
        payload.set(JAVA_LONG_UNALIGNED, at + REGION_MMAP_OFFSET, mmapOffset);
        return this;
    }

    /** Field {@code field} ({@code REGION_*}) of region {@code i} of a memory table. */
    public long region(int i, int field) {
        return payload.get(JAVA_LONG_UNALIGNED, MEM_REGIONS + (long) i * MEM_REGION_SIZE + field);
    }

    public VhostUserMessage config(int offset, int flags, byte[] data) {
        if (data.length > MAX_CONFIG_SIZE) throw new IllegalArgumentException("config of " + data.length + " bytes; at most " + MAX_CONFIG_SIZE);
        payload.set(JAVA_INT_UNALIGNED, CONFIG_OFFSET, offset);
        payload.set(JAVA_INT_UNALIGNED, CONFIG_SIZE, data.length);
        payload.set(JAVA_INT_UNALIGNED, CONFIG_FLAGS, flags);
        MemorySegment.copy(data, 0, payload, JAVA_BYTE, CONFIG_PAYLOAD, data.length);
        return size(CONFIG_PAYLOAD + data.length);
    }

    /**
     * The payload size {@code request} must have, or -1 when it varies (memory table, config) or the
     * request is unknown. The back end refuses a message of a wrong size before reading any field.
     */
    public static int expectedSize(int request) {
        return switch (request) {
            case SET_OWNER, RESET_OWNER, RESET_DEVICE -> 0;
            case SET_FEATURES, SET_PROTOCOL_FEATURES, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR, SEND_RARP,
                 NET_SET_MTU, SET_STATUS, SET_LOG_FD -> 8;
            case SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE, SET_VRING_ENDIAN -> 8;
            case SET_VRING_ADDR -> ADDR_SIZE;
            case SET_LOG_BASE -> LOG_SIZE;
            // requests that carry nothing, though some front ends send a u64 of 0: either is accepted
            case GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_STATUS, GET_MAX_MEM_SLOTS -> -2;
            default -> -1;
        };
    }

    public static String requestName(int request) {
        return switch (request) {
            case GET_FEATURES -> "GET_FEATURES";
            case SET_FEATURES -> "SET_FEATURES";
            case SET_OWNER -> "SET_OWNER";
            case RESET_OWNER -> "RESET_OWNER";
            case SET_MEM_TABLE -> "SET_MEM_TABLE";
            case SET_LOG_BASE -> "SET_LOG_BASE";
            case SET_LOG_FD -> "SET_LOG_FD";
            case SET_VRING_NUM -> "SET_VRING_NUM";
            case SET_VRING_ADDR -> "SET_VRING_ADDR";
            case SET_VRING_BASE -> "SET_VRING_BASE";
            case GET_VRING_BASE -> "GET_VRING_BASE";
            case SET_VRING_KICK -> "SET_VRING_KICK";
            case SET_VRING_CALL -> "SET_VRING_CALL";
            case SET_VRING_ERR -> "SET_VRING_ERR";
            case GET_PROTOCOL_FEATURES -> "GET_PROTOCOL_FEATURES";
            case SET_PROTOCOL_FEATURES -> "SET_PROTOCOL_FEATURES";
            case GET_QUEUE_NUM -> "GET_QUEUE_NUM";
            case SET_VRING_ENABLE -> "SET_VRING_ENABLE";
            case SEND_RARP -> "SEND_RARP";
            case NET_SET_MTU -> "NET_SET_MTU";
            case SET_BACKEND_REQ_FD -> "SET_BACKEND_REQ_FD";
            case IOTLB_MSG -> "IOTLB_MSG";
            case SET_VRING_ENDIAN -> "SET_VRING_ENDIAN";
            case GET_CONFIG -> "GET_CONFIG";
            case SET_CONFIG -> "SET_CONFIG";
            case POSTCOPY_ADVISE -> "POSTCOPY_ADVISE";
            case POSTCOPY_LISTEN -> "POSTCOPY_LISTEN";
            case POSTCOPY_END -> "POSTCOPY_END";
            case GET_INFLIGHT_FD -> "GET_INFLIGHT_FD";
            case SET_INFLIGHT_FD -> "SET_INFLIGHT_FD";
            case RESET_DEVICE -> "RESET_DEVICE";
            case GET_MAX_MEM_SLOTS -> "GET_MAX_MEM_SLOTS";
            case ADD_MEM_REG -> "ADD_MEM_REG";
            case REM_MEM_REG -> "REM_MEM_REG";
            case SET_STATUS -> "SET_STATUS";
            case GET_STATUS -> "GET_STATUS";
            default -> "request " + request;
        };
    }

    @Override
    public String toString() {
        return requestName(request()) + " flags=0x" + Integer.toHexString(flags()) + " size=" + size() + " fds=" + fdCount;
    }
}
