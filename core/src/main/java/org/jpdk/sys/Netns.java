package org.jpdk.sys;

/**
 * Moves the calling thread into a named network namespace ({@code ip netns add NAME} makes
 * {@code /run/netns/NAME}) until {@link #close}, which moves it back. Only the calling thread
 * moves: sockets, tap devices and threads it creates meanwhile belong to the namespace and stay
 * there, which is how a test or an app drives interfaces of a namespace from one JVM.
 *
 * <pre>
 * try (Netns ns = Netns.enter("jpdk-a")) {
 *     eal = Eal.init("--vdev=net_af_packet0,iface=veth0", ...);   // lcores start inside jpdk-a
 * }
 * </pre>
 * Needs CAP_SYS_ADMIN.
 */
public final class Netns implements AutoCloseable {
    private static final String RUN_NETNS = "/run/netns/";

    private final String name;
    private final int previous;
    private final long thread;
    private boolean closed;

    private Netns(String name, int previous, long thread) {
        this.name = name;
        this.previous = previous;
        this.thread = thread;
    }

    /** Enters namespace {@code name}; throws {@link LinuxException} (ENOENT: no such namespace, EPERM: not root). */
    public static Netns enter(String name) {
        if (name == null || name.isEmpty() || name.contains("/"))
            throw new IllegalArgumentException("bad network namespace name '" + name + "'");
        int prev = Libc.open("/proc/thread-self/ns/net", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        try {
            int target = Libc.open(RUN_NETNS + name, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            try {
                Libc.setns(target, Libc.CLONE_NEWNET, "netns=" + name);
            } finally {
                Libc.close(target);
            }
        } catch (RuntimeException e) {
            Libc.close(prev);
            throw e;
        }
        return new Netns(name, prev, Thread.currentThread().threadId());
    }

    /** Whether {@code /run/netns/NAME} exists. */
    public static boolean exists(String name) {
        return new java.io.File(RUN_NETNS + name).exists();
    }

    public String name() {
        return name;
    }

    /** Moves the thread back to the namespace it came from; must be called by the same thread. */
    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread().threadId() != thread)
            throw new IllegalStateException("netns " + name + " must be left by the thread that entered it");
        closed = true;
        try {
            Libc.setns(previous, Libc.CLONE_NEWNET, "back from netns=" + name);
        } finally {
            Libc.close(previous);
        }
    }
}
