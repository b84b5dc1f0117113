package org.jpdk.bpf;

/** A program that cannot be loaded or is refused by the validator; the message names the instruction or the file and what is wrong. */
public final class BpfException extends RuntimeException {
    public BpfException(String message) {
        super(message);
    }

    public BpfException(String message, Throwable cause) {
        super(message, cause);
    }
}
