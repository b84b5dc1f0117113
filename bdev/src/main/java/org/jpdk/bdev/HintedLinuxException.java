package org.jpdk.bdev;

import org.jpdk.sys.LinuxException;

/**
 * A failed system call whose errno has a usual cause worth naming: the message is core's
 * {@code call(object): ERRNO} followed by that advice, as in
 * {@code io_uring_setup(entries=128, ...): ENOMEM: raise RLIMIT_MEMLOCK (ulimit -l) or use a smaller depth}.
 */
final class HintedLinuxException extends LinuxException {
    private final String hint;

    HintedLinuxException(String call, String object, int errno, String hint) {
        super(call, object, errno);
        this.hint = hint;
    }

    @Override
    public String getMessage() {
        return hint == null || hint.isEmpty() ? super.getMessage() : super.getMessage() + ": " + hint;
    }
}
