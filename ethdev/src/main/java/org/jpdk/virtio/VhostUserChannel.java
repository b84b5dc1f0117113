package org.jpdk.virtio;

import org.jpdk.sys.Errno;
import org.jpdk.sys.Libc;
import org.jpdk.sys.UnixSocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A vhost-user connection: {@link VhostUserMessage}s framed over a non-blocking {@code SOCK_STREAM}
 * {@link UnixSocket}. A stream has no message boundaries, so a message is read as its header,
 * then exactly the payload size the header announces; the descriptors (SCM_RIGHTS) arrive with
 * the first bytes of the message they were sent with, which are the header's. Once a message has
 * begun, its rest must follow within the channel's timeout: a peer that stops half way, announces
 * a payload larger than {@link VhostUserMessage#MAX_PAYLOAD}, or speaks another protocol version
 * gets a {@link VhostUserException}, never a hang. Control-plane code, for one thread.
 */
public final class VhostUserChannel implements AutoCloseable {
    private final UnixSocket socket;
    private final int timeoutMillis;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment pollfd = arena.allocate(8, 8);
    private final int[] fdScratch = new int[VhostUserMessage.MAX_FDS];

    /** Wraps a connected stream socket; waits at most {@code timeoutMillis} for the rest of a begun message. */
    public VhostUserChannel(UnixSocket socket, int timeoutMillis) {
        this.socket = socket;
        this.timeoutMillis = timeoutMillis;
    }

    public UnixSocket socket() {
        return socket;
    }

    /**
     * Reads one message into {@code m} if one has begun to arrive. Returns true with the message
     * (its descriptors in {@code m.fds}, owned by the caller); false when nothing is waiting.
     * Throws {@link VhostUserException} when the peer closed the connection ({@link VhostUserException#closed()}),
     * or broke the framing.
     */
    public boolean receive(VhostUserMessage m) {
        m.closeFds();
        MemorySegment buf = m.buffer();
        long got = read(buf.asSlice(0, VhostUserMessage.HEADER_SIZE), m, false);
        if (got == 0) return false;
        int size = m.size();
        int version = m.flags() & VhostUserMessage.VERSION_MASK;
        if (version != VhostUserMessage.VERSION) {
            throw new VhostUserException(VhostUserMessage.requestName(m.request()) + ": protocol version " + version + ", expected 1", false);
        }
        if (size < 0 || size > VhostUserMessage.MAX_PAYLOAD) {
            throw new VhostUserException(VhostUserMessage.requestName(m.request()) + ": payload of " + Integer.toUnsignedString(size)
                    + " bytes; at most " + VhostUserMessage.MAX_PAYLOAD, false);
        }
        if (size > 0) read(buf.asSlice(VhostUserMessage.HEADER_SIZE, size), m, true);
        return true;
    }

    /** Fills {@code dst} completely; returns 0 if nothing had arrived and {@code begun} is false, else its size. */
    private long read(MemorySegment dst, VhostUserMessage m, boolean begun) {
        long have = 0;
        long deadline = 0;
        while (have < dst.byteSize()) {
            long r = socket.receive(dst.asSlice(have), fdScratch);
            for (int f : fdScratch) {
                if (f < 0) continue;
                if (m.fdCount < VhostUserMessage.MAX_FDS) m.fds[m.fdCount++] = f;
                else Libc.close(f);
            }
            if (r > 0) {
                have += r;
                continue;
            }
            if (r == 0) throw new VhostUserException("the front end closed the connection", true);
            if (r != -Errno.EAGAIN && r != -Errno.EINTR) {
                throw new VhostUserException("recvmsg: " + Errno.name((int) -r), true);
            }
            if (have == 0 && !begun) return 0;
            if (deadline == 0) deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                throw new VhostUserException("a message stopped after " + have + " of " + dst.byteSize() + " bytes for "
                        + timeoutMillis + " ms", false);
            }
            waitFor(Libc.POLLIN, (int) Math.min(left, 100));
        }
        return have;
    }

    /**
     * Sends {@code m} (header and payload, its descriptors attached); throws VhostUserException if
     * it cannot. The descriptors stay the caller's: they are taken off {@code m} once sent, so a
     * later {@link #receive} into the same holder does not close them.
     */
    public void send(VhostUserMessage m) {
        MemorySegment bytes = m.bytes();
        int[] fds = java.util.Arrays.copyOf(m.fds, m.fdCount);
        long sent = 0;
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (sent < bytes.byteSize()) {
            long r = socket.send(bytes.asSlice(sent), sent == 0 ? fds : new int[0]);
            if (r > 0) {
                sent += r;
                continue;
            }
            if (r != -Errno.EAGAIN && r != -Errno.EINTR) {
                throw new VhostUserException("sendmsg " + VhostUserMessage.requestName(m.request()) + ": " + Errno.name((int) -r), true);
            }
            if (System.nanoTime() > deadline) {
                throw new VhostUserException("sendmsg " + VhostUserMessage.requestName(m.request()) + ": the peer reads nothing for "
                        + timeoutMillis + " ms", false);
            }
            waitFor(Libc.POLLOUT, 100);
        }
        java.util.Arrays.fill(m.fds, -1);
        m.fdCount = 0;
    }

    /**
     * Waits up to {@code millis} for the next message to begin (false on timeout); throws like
     * {@link #receive} when the connection is gone.
     */
    public boolean await(int millis) {
        return waitFor(Libc.POLLIN, millis);
    }

    private boolean waitFor(int events, int millis) {
        pollfd.set(JAVA_INT, 0, socket.fd());
        pollfd.set(JAVA_SHORT, 4, (short) events);
        pollfd.set(JAVA_SHORT, 6, (short) 0);
        int r = Libc.poll(pollfd, 1, millis);
        return r > 0;
    }

    /** Closes the socket. Idempotent. */
    @Override
    public synchronized void close() {
        socket.close();
        if (arena.scope().isAlive()) arena.close();
    }
}
