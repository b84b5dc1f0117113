package org.jpdk.drivers.net.vhost;

import org.jpdk.sys.Libc;

/**
 * What the front end has told the back end about one vring, as the control thread keeps it
 * between messages: size, ring addresses (front-end virtual), the base index, the kick, call and
 * error eventfds and whether the ring is enabled; and the cursors while no {@link VringView} holds
 * them. Ready (and turned into a view) when the memory table, size, addresses and kick are all
 * known and the ring is enabled.
 */
final class Vring {
    final int index;
    int num;
    long descAddr, availAddr, usedAddr;
    boolean addrSet;
    /** Whether SET_VRING_KICK came (with an fd, or with the no-fd flag for a polled ring). */
    boolean kicked;
    int kickFd = -1, callFd = -1, errFd = -1;
    boolean enabled;
    // the cursors while no view holds them (SET_VRING_BASE sets them, GET_VRING_BASE reports them)
    int lastAvail, lastUsed;
    boolean availWrap = true, usedWrap = true;
    /** The view built from the current memory table, or null. */
    VringView view;
    /** Whether {@link #view} is published to its queue now. */
    boolean attached;

    Vring(int index) {
        this.index = index;
    }

    boolean ready(boolean haveMemory) {
        return haveMemory && num > 0 && addrSet && kicked && enabled;
    }

    /** Takes the cursors back from a view the lcore has left. */
    void saveCursors(VringView v) {
        lastAvail = v.lastAvail;
        lastUsed = v.lastUsed;
        availWrap = v.availWrap;
        usedWrap = v.usedWrap;
    }

    /** SET_VRING_BASE: split rings take {@code num} as the next avail index; packed ones bits 0-14 and the wrap counter in bit 15. */
    void base(int num, boolean packed) {
        if (packed) {
            lastAvail = lastUsed = num & 0x7fff;
            availWrap = usedWrap = (num & 0x8000) != 0;
        } else {
            lastAvail = lastUsed = num & 0xffff;
        }
    }

    /** GET_VRING_BASE's answer. */
    int base(boolean packed) {
        return packed ? (lastAvail & 0x7fff) | (availWrap ? 0x8000 : 0) : lastAvail & 0xffff;
    }

    /** Closes the descriptors and forgets everything (a disconnect or RESET_OWNER). */
    void reset() {
        closeFds();
        num = 0;
        addrSet = false;
        kicked = false;
        enabled = false;
        lastAvail = lastUsed = 0;
        availWrap = usedWrap = true;
        view = null;
        attached = false;
    }

    void closeFds() {
        kickFd = close(kickFd);
        callFd = close(callFd);
        errFd = close(errFd);
    }

    static int close(int fd) {
        if (fd >= 0) Libc.close(fd);
        return -1;
    }

    String name() {
        return "vring " + index + ((index & 1) == 0 ? " (front end rx)" : " (front end tx)");
    }
}
