package org.jpdk.drivers.net.virtio;

import org.jpdk.ethdev.EthDevException;
import org.jpdk.sys.UnixSocket;
import org.jpdk.virtio.VhostUserChannel;
import org.jpdk.virtio.VhostUserException;
import org.jpdk.virtio.VhostUserMessage;
import org.jpdk.virtio.VirtioFeatures;

import java.lang.foreign.Arena;
import java.util.List;

import static org.jpdk.virtio.VhostUserMessage.*;

/**
 * vhost-user as a virtio-user back end: the front end's side of QEMU's vhost-user protocol
 * (docs/interop/vhost-user.rst) over one connected stream socket, whoever listened. Requests that
 * return something (GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM) wait for their reply; once
 * REPLY_ACK is negotiated every other request asks for an acknowledgement too, so a back end that
 * refuses a memory table or a ring says so at that request, not later by silence. A reply that
 * does not come within {@link #REPLY_MILLIS}, or that is not the reply asked for, ends the
 * session with a message naming the request.
 */
final class VhostUserBackend implements VhostBackend {
    static final int REPLY_MILLIS = 5000;
    /** The protocol features this front end uses when the back end offers them. */
    static final long PROTOCOL_FEATURES = VirtioFeatures.bit(VirtioFeatures.PROTOCOL_F_MQ)
            | VirtioFeatures.bit(VirtioFeatures.PROTOCOL_F_REPLY_ACK);

    private final String path;
    private final VhostUserChannel ch;
    private final Arena arena = Arena.ofShared();
    private final VhostUserMessage msg = new VhostUserMessage(arena), in = new VhostUserMessage(arena);
    private long protocol, negotiated;
    private int queuePairs = 1;

    VhostUserBackend(String path, UnixSocket sock) {
        this.path = path;
        this.ch = new VhostUserChannel(sock, REPLY_MILLIS);
    }

    @Override
    public String describe() {
        return "vhost-user path=" + path;
    }

    /** The socket, for the control thread's poll. */
    int fd() {
        return ch.socket().fd();
    }

    @Override
    public void setOwner() {
        request(msg.set(SET_OWNER, flags()));
    }

    @Override
    public long features() {
        long f = get(GET_FEATURES);
        if (VirtioFeatures.has(f, VirtioFeatures.F_PROTOCOL_FEATURES)) {
            protocol = get(GET_PROTOCOL_FEATURES) & PROTOCOL_FEATURES;
            request(msg.set(SET_PROTOCOL_FEATURES, VERSION).u64(protocol));
            if (VirtioFeatures.has(protocol, VirtioFeatures.PROTOCOL_F_MQ)) {
                long n = get(GET_QUEUE_NUM);
                queuePairs = (int) Math.clamp(n, 1, VirtioUserConfig.MAX_QUEUES);
            }
        }
        return f;
    }

    @Override
    public int maxQueuePairs() {
        return queuePairs;
    }

    @Override
    public void setFeatures(long features) {
        request(msg.set(SET_FEATURES, flags()).u64(features));
        negotiated = features;
    }

    @Override
    public void setMemTable(List<MemRegion> regions) {
        msg.set(SET_MEM_TABLE, flags()).memTable(regions.size());
        for (int i = 0; i < regions.size(); i++) {
            MemRegion r = regions.get(i);
            msg.region(i, r.guestPhysAddr(), r.size(), r.userAddr(), r.mmapOffset());
            msg.addFd(r.fd());
        }
        request(msg);
    }

    @Override
    public void setVring(int vring, int num, int base, long desc, long avail, long used) {
        request(msg.set(SET_VRING_NUM, flags()).state(vring, num));
        request(msg.set(SET_VRING_BASE, flags()).state(vring, base));
        request(msg.set(SET_VRING_ADDR, flags()).vringAddr(vring, 0, desc, used, avail, 0));
    }

    @Override
    public void setVringCall(int vring, int callFd) {
        request(msg.set(SET_VRING_CALL, flags()).u64((long) vring).addFd(callFd));
    }

    @Override
    public void setVringKick(int vring, int kickFd) {
        request(msg.set(SET_VRING_KICK, flags()).u64((long) vring).addFd(kickFd));
    }

    /**
     * Rings start enabled unless PROTOCOL_FEATURES was negotiated; then each waits for
     * SET_VRING_ENABLE (vhost-user.rst, "Ring states").
     */
    @Override
    public void enable(int pair, boolean on) {
        if (!VirtioFeatures.has(negotiated, VirtioFeatures.F_PROTOCOL_FEATURES)) return;
        for (int v = 2 * pair; v <= 2 * pair + 1; v++) request(msg.set(SET_VRING_ENABLE, flags()).state(v, on ? 1 : 0));
    }

    /** The header flags of a request that returns nothing: with REPLY_ACK it asks for an acknowledgement. */
    private int flags() {
        return VirtioFeatures.has(protocol, VirtioFeatures.PROTOCOL_F_REPLY_ACK) ? VERSION | NEED_REPLY : VERSION;
    }

    /** Sends a request that returns a u64, and returns it. */
    private long get(int request) {
        send(msg.set(request, VERSION));
        return reply(request).u64();
    }

    /** Sends a request built with {@link #flags()}; when it asked for an acknowledgement, waits for it. */
    private void request(VhostUserMessage m) {
        int request = m.request();
        send(m);
        if ((m.flags() & NEED_REPLY) == 0) return;
        long status = reply(request).u64();
        if (status != 0) throw new EthDevException(describe() + ": the back end refused " + requestName(request) + " (status " + status + ")");
    }

    private void send(VhostUserMessage m) {
        try {
            ch.send(m);
        } catch (VhostUserException e) {
            throw new EthDevException(describe() + ": " + e.getMessage(), e);
        }
    }

    /** Waits for the reply to {@code request}: a u64 payload with the REPLY flag. */
    private VhostUserMessage reply(int request) {
        return reply(request, 8);
    }

    private VhostUserMessage reply(int request, int size) {
        String what = describe() + ": " + requestName(request);
        try {
            long deadline = System.nanoTime() + REPLY_MILLIS * 1_000_000L;
            while (!ch.receive(in)) {
                int left = (int) ((deadline - System.nanoTime()) / 1_000_000L);
                if (left <= 0) throw new EthDevException(what + ": no reply in " + REPLY_MILLIS + " ms");
                ch.await(Math.min(left, 100));
            }
        } catch (VhostUserException e) {
            throw new EthDevException(what + ": " + e.getMessage(), e);
        }
        in.closeFds();
        if (in.request() != request || (in.flags() & REPLY) == 0) {
            throw new EthDevException(what + ": the back end answered " + requestName(in.request()) + " (flags 0x"
                    + Integer.toHexString(in.flags()) + ")");
        }
        if (in.size() != size) throw new EthDevException(what + ": a reply of " + in.size() + " bytes, expected " + size);
        return in;
    }

    @Override
    public void stopVring(int vring) {
        send(msg.set(GET_VRING_BASE, VERSION).state(vring, 0));
        reply(GET_VRING_BASE, 8);
    }

    /**
     * Whether the back end hung up: waits up to {@code millis} for the socket; a message the back
     * end sends on its own (none is expected on this channel) is read and dropped.
     */
    @Override
    public boolean hungUp(int millis) {
        try {
            if (!ch.await(millis)) return false;
            if (ch.receive(in)) in.closeFds();
            return false;
        } catch (VhostUserException e) {
            return true;
        }
    }

    @Override
    public void close() {
        ch.close();
        if (arena.scope().isAlive()) arena.close();
    }
}
