package org.jpdk.eal;

/**
 * EAL memory could not be provided: hugepages ran out, a -m or --socket-mem limit would be passed,
 * or a mapping failed. The message names the size asked, the page size and what is free, and says
 * what to do; the cause, when there is one, is the failed system call.
 */
public class MemoryException extends RuntimeException {
    public MemoryException(String message) {
        super(message);
    }

    public MemoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
