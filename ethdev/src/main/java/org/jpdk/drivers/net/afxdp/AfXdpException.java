package org.jpdk.drivers.net.afxdp;

/**
 * A net_af_xdp set-up step that failed, with a one-line message naming the call, the errno and
 * what to do about it; the probe or start that ran it prefixes the device name.
 */
final class AfXdpException extends RuntimeException {
    AfXdpException(String message) {
        super(message);
    }

    AfXdpException(String message, Throwable cause) {
        super(message, cause);
    }
}
