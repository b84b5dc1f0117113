package org.jpdk.drivers.net.memif;

import org.jpdk.sys.Libc;
import org.jpdk.sys.UnixSocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One memif control connection and where its handshake stands: the socket, the interface it
 * serves (a server learns it from INIT), what has been received so far (a server collects the
 * client's regions and rings until CONNECT) and what waits to be sent (a client sends one message
 * per ACK). Every descriptor received is owned here until the connection takes it or the channel
 * closes, so a peer that dies mid-handshake leaks nothing. Guarded by {@link MemifControl}'s lock.
 */
final class MemifChannel {
    enum Phase {
        /** server: HELLO sent, waiting for INIT */
        AWAIT_INIT,
        /**
         * server: INIT named an interface of this socket whose port has not started yet; held (the
         * INIT kept in {@code parkedInit}) until it starts, since DPDK's client connects only once
         */
        AWAIT_START,
        /** server: INIT accepted, taking ADD_REGION, ADD_RING until CONNECT */
        AWAIT_CONNECT,
        /** client: connected, waiting for HELLO */
        AWAIT_HELLO,
        /** client: sending its queued messages, one per ACK, then CONNECT */
        SENDING,
        /** client: CONNECT sent, waiting for CONNECTED */
        AWAIT_CONNECTED,
        /** both: the interface is up */
        CONNECTED
    }

    /** A region the client announced: its memfd and size. */
    record Region(int fd, long size) {
    }

    /** A ring the client announced: where it is and its eventfd. */
    record Ring(int index, int region, long offset, int log2, int eventFd) {
    }

    /** A message waiting to be sent, with the descriptor it carries (or -1). */
    record Outgoing(MemorySegment msg, int fd) {
    }

    final UnixSocket sock;
    final MemifSocket owner;
    final boolean serverSide;
    final long tag;
    final Arena arena = Arena.ofShared();
    final MemorySegment in, out;
    MemifDevice dev;
    Phase phase;
    /** When the handshake must be done by (System.nanoTime), or 0 once connected. */
    long deadline;
    /** The INIT of a connection held in AWAIT_START, replayed when its port starts. */
    MemorySegment parkedInit;
    final List<Region> regions = new ArrayList<>();
    final List<Ring> c2s = new ArrayList<>(), s2c = new ArrayList<>();
    final ArrayDeque<Outgoing> outbox = new ArrayDeque<>();
    String peerName = "", peerIfName = "";
    boolean closed;

    MemifChannel(UnixSocket sock, MemifSocket owner, boolean serverSide, long tag, Phase phase, long deadline) {
        this.sock = sock;
        this.owner = owner;
        this.serverSide = serverSide;
        this.tag = tag;
        this.phase = phase;
        this.deadline = deadline;
        this.in = arena.allocate(2 * MemifMessage.SIZE, 8);
        this.out = arena.allocate(MemifMessage.SIZE, 8);
    }

    /** A message for the outbox (its own memory, freed with the channel). */
    MemorySegment newMessage() {
        return arena.allocate(MemifMessage.SIZE, 8);
    }

    /** Closes the descriptors the handshake received that no connection took. */
    void closeReceived() {
        for (Region r : regions) if (r.fd() >= 0) Libc.close(r.fd());
        for (Ring r : c2s) if (r.eventFd() >= 0) Libc.close(r.eventFd());
        for (Ring r : s2c) if (r.eventFd() >= 0) Libc.close(r.eventFd());
        regions.clear();
        c2s.clear();
        s2c.clear();
    }

    void close() {
        if (closed) return;
        closed = true;
        closeReceived();
        outbox.clear();
        sock.close();
        arena.close();
    }

    String who() {
        return sock.address();
    }
}
