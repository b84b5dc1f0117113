package org.jpdk.virtio;

/**
 * A vhost-user peer broke the protocol or went away; the message says which and how. The back
 * end (or front end) answers it by dropping the connection and counting the reason, never by
 * crashing: see {@link VhostUserChannel}.
 */
public final class VhostUserException extends RuntimeException {
    private final boolean closed;

    public VhostUserException(String message, boolean closed) {
        super(message);
        this.closed = closed;
    }

    /** True when the connection ended (peer closed it, or a socket error), false for a protocol violation. */
    public boolean closed() {
        return closed;
    }
}
