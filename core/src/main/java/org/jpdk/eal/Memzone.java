package org.jpdk.eal;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CONTRACT PLACEHOLDER: the public API of memzones (named, aligned, zeroed regions of EAL
 * memory). The hugepage-backed implementation replaces this body; callers may rely on these
 * signatures only.
 */
public final class Memzone {
    /** Any NUMA socket (SOCKET_ID_ANY). */
    public static final int SOCKET_ID_ANY = -1;
    private static final ConcurrentHashMap<String, Memzone> ZONES = new ConcurrentHashMap<>();

    private final String name;
    private final MemorySegment segment;
    private final int socketId;

    private Memzone(String name, MemorySegment segment, int socketId) {
        this.name = name;
        this.segment = segment;
        this.socketId = socketId;
    }

    /** Reserves a zeroed region of {@code len} bytes aligned to {@code align} (a power of two, at least 64). */
    public static Memzone reserve(String name, long len, int socketId, long align) {
        Memzone mz = new Memzone(name, Arena.global().allocate(len, Math.max(64, align)), socketId);
        if (ZONES.putIfAbsent(name, mz) != null) throw new IllegalStateException("memzone " + name + " exists");
        return mz;
    }

    public static Memzone lookup(String name) { return ZONES.get(name); }
    public void free() { ZONES.remove(name); }
    public String name() { return name; }
    public MemorySegment segment() { return segment; }
    public long len() { return segment.byteSize(); }
    public long iova() { return segment.address(); }
    public int socketId() { return socketId; }
    public long hugepageSize() { return 4096; }
    public static void dump(PrintStream out) { ZONES.values().forEach(z -> out.println(z.name)); }
}
