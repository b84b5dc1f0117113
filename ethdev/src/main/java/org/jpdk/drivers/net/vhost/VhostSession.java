package org.jpdk.drivers.net.vhost;

import org.jpdk.eal.Log;
import org.jpdk.virtio.GuestMemory;
import org.jpdk.virtio.PackedRing;
import org.jpdk.virtio.SplitRing;
import org.jpdk.virtio.VhostUserChannel;
import org.jpdk.virtio.VhostUserException;
import org.jpdk.virtio.VhostUserMessage;
import org.jpdk.virtio.VirtioFeatures;
import org.jpdk.virtio.VirtioNetHeader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.jpdk.virtio.VhostUserMessage.*;
import static org.jpdk.virtio.VirtioFeatures.bit;

/**
 * One front end's connection to a net_vhost port, from its first message to its last: the
 * vhost-user requests a virtio-net back end serves (features and protocol features, owner, memory
 * table, vring size/addresses/base/kick/call/err/enable, get vring base, queue count, MTU, RARP,
 * status), with REPLY_ACK answers, and the vrings' life: a vring that becomes ready gets a
 * {@link VringView} over the mapped memory, published to its queue while the port is started;
 * anything that changes a running vring (its memory table, size, addresses, base, eventfds) first
 * takes the view back from the lcore, then builds a new one with the same cursors.
 *
 * <p>Every message is checked before a field is used: a payload of the wrong size, a vring index
 * beyond the queues offered, a KICK/CALL/ERR without its descriptor, features never offered, ring
 * addresses outside the memory table or misaligned, a malformed memory table: each throws
 * {@link VhostUserException}, and the device disconnects the front end with that reason.
 * Requests the back end does not implement are refused with a failure reply when the front end
 * asked for one.
 */
final class VhostSession {
    /** What the back end offers; the front end negotiates a subset. */
    static final long BASE_FEATURES = bit(VirtioFeatures.F_VERSION_1) | bit(VirtioFeatures.NET_F_MRG_RXBUF)
            | bit(VirtioFeatures.F_INDIRECT_DESC) | bit(VirtioFeatures.F_EVENT_IDX) | bit(VirtioFeatures.F_RING_PACKED)
            | bit(VirtioFeatures.F_PROTOCOL_FEATURES) | bit(VirtioFeatures.NET_F_MQ) | bit(VirtioFeatures.NET_F_CTRL_VQ)
            | bit(VirtioFeatures.NET_F_CTRL_RX) | bit(VirtioFeatures.NET_F_GUEST_ANNOUNCE) | bit(VirtioFeatures.F_ANY_LAYOUT)
            | bit(VirtioFeatures.F_NOTIFY_ON_EMPTY) | bit(VirtioFeatures.NET_F_MTU) | bit(VirtioFeatures.NET_F_CSUM)
            | bit(VirtioFeatures.NET_F_GUEST_CSUM) | bit(VirtioFeatures.F_IN_ORDER);
    static final long TSO_FEATURES = bit(VirtioFeatures.NET_F_HOST_TSO4) | bit(VirtioFeatures.NET_F_HOST_TSO6)
            | bit(VirtioFeatures.NET_F_GUEST_TSO4) | bit(VirtioFeatures.NET_F_GUEST_TSO6);
    static final long PROTOCOL_FEATURES = bit(VirtioFeatures.PROTOCOL_F_MQ) | bit(VirtioFeatures.PROTOCOL_F_REPLY_ACK)
            | bit(VirtioFeatures.PROTOCOL_F_NET_MTU) | bit(VirtioFeatures.PROTOCOL_F_RARP) | bit(VirtioFeatures.PROTOCOL_F_STATUS);

    private static final Log.Type LOG = VhostDevice.LOG;

    final VhostDevice dev;
    final VhostUserChannel channel;
    private final Arena arena = Arena.ofShared();
    private final VhostUserMessage msg = new VhostUserMessage(arena);
    private final long offered;
    private final Vring[] vrings;
    private long features;
    private boolean featuresSet;
    private long protocolFeatures;
    private GuestMemory mem;
    private int status;
    private int mtu;
    private boolean loggedUnsupported;

    VhostSession(VhostDevice dev, VhostUserChannel channel) {
        this.dev = dev;
        this.channel = channel;
        this.offered = BASE_FEATURES | (dev.cfg.tso() ? TSO_FEATURES : 0);
        this.vrings = new Vring[2 * dev.cfg.queues()];
        for (int i = 0; i < vrings.length; i++) vrings[i] = new Vring(i);
    }

    /** Handles every message waiting on the connection. Throws VhostUserException to have the front end dropped. */
    void receiveAll() {
        while (channel.receive(msg)) {
            int request = msg.request();
            if (LOG.enabled(Log.DEBUG)) LOG.debug(dev.name() + ": " + msg);
            boolean ok = handle(request);
            if (msg.request() == request && (msg.flags() & REPLY) == 0 && msg.needsReply()) {
                // REPLY_ACK: the result of a request that has no reply of its own
                channel.send(msg.reply().u64(ok ? 0L : 1L));
            }
        }
    }

    private VhostUserException bad(String why) {
        return new VhostUserException(requestName(msg.request()) + ": " + why, false);
    }

    private void expectSize() {
        int want = expectedSize(msg.request());
        int size = msg.size();
        if (want == -2) {
            if (size != 0 && size != 8) throw bad("payload of " + size + " bytes; expected 0 or 8");
        } else if (want >= 0 && size != want) {
            throw bad("payload of " + size + " bytes; expected " + want);
        }
    }

    /** The vring a state or addr payload names (index u32 at 0), checked against the queues offered. */
    private Vring vring(long index) {
        if (index < 0 || index >= vrings.length) {
            throw bad("vring " + index + "; this port offers " + vrings.length + " vrings (queues=" + dev.cfg.queues() + ")");
        }
        return vrings[(int) index];
    }

    /** Handles one request; returns the REPLY_ACK result (false: failed, the front end may go on). */
    private boolean handle(int request) {
        expectSize();
        switch (request) {
            case GET_FEATURES -> channel.send(msg.reply().u64(offered));
            case SET_FEATURES -> {
                long f = msg.u64();
                if ((f & ~offered) != 0) throw bad("features 0x" + Long.toHexString(f & ~offered) + " (" + VirtioFeatures.names(f & ~offered)
                        + ") were never offered");
                if (featuresSet && f != features) detachAll(true);
                features = f;
                featuresSet = true;
                LOG.log(Log.INFO, "%s: features %s", dev.name(), VirtioFeatures.names(f));
                update();
            }
            case SET_OWNER -> {
            }
            case RESET_OWNER, RESET_DEVICE -> reset();
            case GET_PROTOCOL_FEATURES -> channel.send(msg.reply().u64(PROTOCOL_FEATURES));
            case SET_PROTOCOL_FEATURES -> {
                long f = msg.u64();
                if ((f & ~PROTOCOL_FEATURES) != 0) {
                    throw bad("protocol features 0x" + Long.toHexString(f & ~PROTOCOL_FEATURES) + " were never offered");
                }
                protocolFeatures = f;
            }
            case GET_QUEUE_NUM -> channel.send(msg.reply().u64((long) dev.cfg.queues()));
            case SET_MEM_TABLE -> setMemTable();
            case SET_VRING_NUM -> {
                Vring v = vring(msg.u32(STATE_INDEX) & 0xffffffffL);
                int num = msg.u32(STATE_NUM);
                if (num < 1 || num > SplitRing.MAX_SIZE) throw bad(v.name() + ": size " + Integer.toUnsignedString(num) + "; 1 to 32768");
                change(v);
                v.num = num;
                update();
            }
            case SET_VRING_ADDR -> {
                Vring v = vring(msg.u32(ADDR_INDEX) & 0xffffffffL);
                change(v);
                v.descAddr = msg.u64(ADDR_DESC);
                v.usedAddr = msg.u64(ADDR_USED);
                v.availAddr = msg.u64(ADDR_AVAIL);
                v.addrSet = true;
                // without PROTOCOL_FEATURES a ring is enabled as soon as it is set up (vhost-user.rst, "Ring states")
                if (!VirtioFeatures.has(features, VirtioFeatures.F_PROTOCOL_FEATURES)) v.enabled = true;
                update();
            }
            case SET_VRING_BASE -> {
                Vring v = vring(msg.u32(STATE_INDEX) & 0xffffffffL);
                change(v);
                v.base(msg.u32(STATE_NUM), packed());
                update();
            }
            case GET_VRING_BASE -> {
                Vring v = vring(msg.u32(STATE_INDEX) & 0xffffffffL);
                change(v);
                int base = v.base(packed());
                // the ring stops: it runs again after the next SET_VRING_KICK
                v.kicked = false;
                v.kickFd = Vring.close(v.kickFd);
                channel.send(msg.reply().state(v.index, base));
                update();
            }
            case SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR -> setVringFd(request);
            case SET_VRING_ENABLE -> {
                Vring v = vring(msg.u32(STATE_INDEX) & 0xffffffffL);
                int on = msg.u32(STATE_NUM);
                if (on != 0 && on != 1) throw bad(v.name() + ": enable " + Integer.toUnsignedString(on) + "; 0 or 1");
                if (v.enabled != (on == 1)) {
                    change(v);
                    v.enabled = on == 1;
                    update();
                }
            }
            case SEND_RARP -> {
                long m = 0;
                MemorySegment p = msg.payload();
                for (int i = 0; i < 6; i++) m = (m << 8) | (p.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) & 0xff);
                dev.rarp(m);
            }
            case NET_SET_MTU -> {
                long m = msg.u64();
                if (m < 68 || m > 65535) throw bad("MTU " + m + "; 68 to 65535");
                mtu = (int) m;
                LOG.log(Log.INFO, "%s: the front end's MTU is %s", dev.name(), mtu);
            }
            case SET_STATUS -> status = (int) (msg.u64() & 0xff);
            case GET_STATUS -> channel.send(msg.reply().u64((long) status));
            case SET_LOG_BASE, SET_LOG_FD, SET_BACKEND_REQ_FD, IOTLB_MSG, SET_VRING_ENDIAN, GET_CONFIG, SET_CONFIG,
                 POSTCOPY_ADVISE, POSTCOPY_LISTEN, POSTCOPY_END, GET_INFLIGHT_FD, SET_INFLIGHT_FD, GET_MAX_MEM_SLOTS,
                 ADD_MEM_REG, REM_MEM_REG -> {
                if (!loggedUnsupported) {
                    LOG.log(Log.WARNING, "%s: %s is not supported (not offered); refused", dev.name(), requestName(request));
                    loggedUnsupported = true;
                }
                return false;
            }
            default -> throw bad("unknown request");
        }
        return true;
    }

    private boolean packed() {
        return VirtioFeatures.has(features, VirtioFeatures.F_RING_PACKED);
    }

    private void setVringFd(int request) {
        long u = msg.u64();
        Vring v = vring(u & VRING_INDEX_MASK);
        if ((u & ~(VRING_INDEX_MASK | VRING_NOFD)) != 0) throw bad("payload 0x" + Long.toHexString(u) + " has unknown bits");
        int fd = -1;
        if ((u & VRING_NOFD) == 0) {
            if (msg.fdCount != 1) throw bad(v.name() + ": " + msg.fdCount + " descriptors; expected 1 (or the no-fd flag)");
            fd = msg.fds[0];
            msg.fds[0] = -1;
            msg.fdCount = 0;
        }
        change(v);
        switch (request) {
            case SET_VRING_KICK -> {
                Vring.close(v.kickFd);
                v.kickFd = fd;
                v.kicked = true;
            }
            case SET_VRING_CALL -> {
                Vring.close(v.callFd);
                v.callFd = fd;
            }
            default -> {
                Vring.close(v.errFd);
                v.errFd = fd;
            }
        }
        update();
    }

    private void setMemTable() {
        detachAll(true);
        GuestMemory next = GuestMemory.map(msg, dev.name() + " memory table");
        if (mem != null) mem.close();
        mem = next;
        LOG.log(Log.INFO, "%s: %s", dev.name(), mem);
        update();
    }

    // ---------------------------------------------------------------- vring life

    /** Before a change to {@code v}: its view goes (the lcore left it; the cursors are kept), to be rebuilt by {@link #update}. */
    private void change(Vring v) {
        if (v.view == null) return;
        takeBack(v);
        v.view = null;
    }

    private void takeBack(Vring v) {
        if (v.attached) {
            Object q = dev.queueOf(v.index);
            VringView back = q instanceof VhostRxQueue r ? r.detach(VhostDevice.QUIESCE_NANOS)
                    : q instanceof VhostTxQueue t ? t.detach(VhostDevice.QUIESCE_NANOS) : null;
            v.attached = false;
            if (back != null && back != v.view) throw new IllegalStateException(v.name() + ": another view was attached");
        }
        v.saveCursors(v.view);
    }

    /** Takes every view from the lcores; {@code drop} also forgets them (a memory table change), else they stay for the next start. */
    void detachAll(boolean drop) {
        for (Vring v : vrings) {
            if (v.view == null) continue;
            takeBack(v);
            if (drop) v.view = null;
        }
        if (drop) dev.setLink(false);
    }

    /** Port stopped: views stay built, the lcores let go of them. */
    void detachAll() {
        detachAll(false);
    }

    /** A queue released while its vring runs. */
    void detachQueue(int vring) {
        if (vring < vrings.length && vrings[vring].view != null && vrings[vring].attached) takeBack(vrings[vring]);
    }

    /** Builds views for ready vrings, publishes them to started queues, and sets the link. */
    void update() {
        for (Vring v : vrings) {
            if (v.view == null && v.ready(mem != null) && featuresSet) v.view = build(v);
            if (v.view != null && !v.attached && dev.portStarted()) {
                Object q = dev.queueOf(v.index);
                if (q instanceof VhostRxQueue r) {
                    r.attach(v.view);
                    v.attached = true;
                } else if (q instanceof VhostTxQueue t) {
                    t.attach(v.view);
                    v.attached = true;
                }
            }
        }
        dev.setLink(vrings[0].view != null && vrings[1].view != null);
    }

    /** The view of a ready vring: its ring areas translated through the memory table and checked. */
    private VringView build(Vring v) {
        boolean packed = packed();
        int n = v.num;
        long descBytes = 16L * n;
        long availBytes = packed ? 4 : SplitRing.availBytes(n);
        long usedBytes = packed ? 4 : SplitRing.usedBytes(n);
        MemorySegment desc = ring(v, "descriptor", v.descAddr, descBytes);
        MemorySegment avail = ring(v, packed ? "driver area" : "avail ring", v.availAddr, availBytes);
        MemorySegment used = ring(v, packed ? "device area" : "used ring", v.usedAddr, usedBytes);
        SplitRing split = null;
        PackedRing ring = null;
        try {
            if (packed) ring = new PackedRing(n, desc, avail, used);
            else split = new SplitRing(n, desc, avail, used);
        } catch (IllegalArgumentException e) {
            throw new VhostUserException(v.name() + ": " + e.getMessage(), false);
        }
        VringView view = new VringView(packed, split, ring, mem, n, v.kickFd, v.callFd, features, VirtioNetHeader.size(features),
                dev.name() + " " + v.name(), arena);
        view.lastAvail = v.lastAvail;
        view.lastUsed = v.lastUsed;
        view.availWrap = v.availWrap;
        view.usedWrap = v.usedWrap;
        if (packed && (view.lastAvail >= n || view.lastUsed >= n)) {
            throw new VhostUserException(v.name() + ": base " + view.lastAvail + " beyond a ring of " + n, false);
        }
        LOG.log(Log.INFO, "%s: %s runs (%s)", dev.name(), v.name(), (packed ? "packed" : "split") + ", " + n + " entries");
        return view;
    }

    private MemorySegment ring(Vring v, String what, long uva, long len) {
        MemorySegment s = mem.sliceUva(uva, len);
        if (s == null) {
            throw new VhostUserException(v.name() + ": " + what + " at 0x" + Long.toHexString(uva) + " (" + len
                    + " bytes) is not inside one region of the memory table", false);
        }
        return s;
    }

    /** RESET_OWNER / RESET_DEVICE: back to a fresh connection's state. */
    private void reset() {
        detachAll(true);
        for (Vring v : vrings) v.reset();
        if (mem != null) mem.close();
        mem = null;
        features = 0;
        featuresSet = false;
        protocolFeatures = 0;
        status = 0;
    }

    /** The connection ends: everything stopped, closed and unmapped. */
    void close() {
        try {
            reset();
        } finally {
            msg.closeFds();                                                   // those of a last message refused or not used
            channel.close();
            if (arena.scope().isAlive()) arena.close();
        }
    }
}
