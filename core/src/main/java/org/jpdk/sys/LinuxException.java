package org.jpdk.sys;

/**
 * A failed system call: says which call, on what, and the errno by name, as in
 * {@code bind(AF_PACKET, iface=veth0): ENODEV}.
 */
public class LinuxException extends RuntimeException {
    private final int errno;

    public LinuxException(String call, String object, int errno) {
        super(call + "(" + object + "): " + Errno.name(errno));
        this.errno = errno;
    }

    /** The errno the call failed with. */
    public int errno() {
        return errno;
    }
}
