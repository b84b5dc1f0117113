package org.jpdk.eal;

/**
 * A user mistake on the EAL command line: an unknown option, a malformed value or two options that
 * cannot go together. The message is one line naming the argument, the value given and what is
 * allowed ({@code -l 0-x: not a CPU list; expected a list like 0-3,5}), so an app prints it as
 * {@code EAL: error: <message>} and exits 1. {@code -h}/{@code --help} also ends parsing through this
 * exception, with {@link #helpRequested()} true and the usage text as the message, because init
 * cannot go on either way and the app decides how to exit.
 */
public final class EalArgumentException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final boolean helpRequested;

    /** For libraries that parse EAL-level arguments (such as {@code --vdev} devargs). */
    public EalArgumentException(String message) {
        this(message, false);
    }

    private EalArgumentException(String message, boolean helpRequested) {
        super(message);
        this.helpRequested = helpRequested;
    }

    static EalArgumentException help() {
        return new EalArgumentException(EalArgs.usage(), true);
    }

    /** True when {@code -h} or {@code --help} was given: the message is the usage text, not an error. */
    public boolean helpRequested() {
        return helpRequested;
    }
}
