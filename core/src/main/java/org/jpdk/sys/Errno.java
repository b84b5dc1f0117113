package org.jpdk.sys;

/**
 * Linux errno values by name, so an error message can say {@code ENOMEM} instead of 12.
 * Only the x86-64/aarch64 generic numbering is covered, which is what every Linux we run on uses.
 */
public final class Errno {
    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
            ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14,
            EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
            ENFILE = 23, EMFILE = 24, ENOTTY = 25, EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30,
            EPIPE = 32, ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39,
            ELOOP = 40, ENODATA = 61, EPROTO = 71, EOVERFLOW = 75, EBADFD = 77, ENOTSOCK = 88, EMSGSIZE = 90,
            EPROTOTYPE = 91, ENOPROTOOPT = 92, EPROTONOSUPPORT = 93, EOPNOTSUPP = 95, EAFNOSUPPORT = 97,
            EADDRINUSE = 98, EADDRNOTAVAIL = 99, ENETDOWN = 100, ENETUNREACH = 101, ECONNABORTED = 103,
            ECONNRESET = 104, ENOBUFS = 105, EISCONN = 106, ENOTCONN = 107, ETIMEDOUT = 110,
            ECONNREFUSED = 111, EALREADY = 114, EINPROGRESS = 115;
    /** The block layer's and io_uring's: a timer, a gone link, a shut-down transport, a cancelled request. */
    public static final int ETIME = 62, ENOLINK = 67, EILSEQ = 84, ESHUTDOWN = 108, EREMOTEIO = 121,
            ENOMEDIUM = 123, ECANCELED = 125;

    private static final String[] NAMES = new String[134];

    static {
        for (var f : Errno.class.getFields()) {
            if (f.getType() == int.class) {
                try {
                    NAMES[f.getInt(null)] = f.getName();
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        NAMES[EAGAIN] = "EAGAIN";
    }

    private Errno() {
    }

    /** The symbolic name of {@code errno}, or {@code "errno N"} for one we do not name. */
    public static String name(int errno) {
        String n = errno >= 0 && errno < NAMES.length ? NAMES[errno] : null;
        return n != null ? n : "errno " + errno;
    }
}
