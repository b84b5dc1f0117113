package org.jpdk.ethdev;

/**
 * A port operation refused: called in the wrong state (queue setup after start, rxBurst before
 * start), with an argument the port cannot take (a queue index out of range, an offload the driver
 * does not offer, an MTU beyond its limits), or failed in the driver. The message is one line that
 * starts with the port ({@code port 0 (net_null0): rx queue 3 out of range; configured 1}).
 */
public class EthDevException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public EthDevException(String message) {
        super(message);
    }

    public EthDevException(String message, Throwable cause) {
        super(message, cause);
    }
}
