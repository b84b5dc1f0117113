package org.jpdk.ring;

import java.io.PrintStream;

/**
 * CONTRACT PLACEHOLDER: the public API of the object ring. The real lockless implementation
 * replaces this body; callers may rely on these signatures only.
 */
public final class Ring<T> implements AutoCloseable {
    public static final int F_SP_ENQ = 0x1;
    public static final int F_SC_DEQ = 0x2;
    public static final int F_EXACT_SZ = 0x4;
    public static final int F_MP_RTS_ENQ = 0x8;
    public static final int F_MC_RTS_DEQ = 0x10;
    public static final int F_MP_HTS_ENQ = 0x20;
    public static final int F_MC_HTS_DEQ = 0x40;

    private final String name;
    private final Object[] q;
    private final int capacity;
    private int head, count;

    private Ring(String name, int count, int flags) {
        this.name = name;
        this.capacity = (flags & F_EXACT_SZ) != 0 ? count : count - 1;
        this.q = new Object[capacity];
    }

    /** A ring of {@code count} slots (a power of two; capacity count-1) or exactly {@code count} with F_EXACT_SZ. */
    public static <T> Ring<T> create(String name, int count, int flags) {
        return new Ring<>(name, count, flags);
    }

    public String name() { return name; }
    public int capacity() { return capacity; }
    public synchronized int count() { return count; }
    public synchronized int freeCount() { return capacity - count; }
    public boolean isEmpty() { return count() == 0; }
    public boolean isFull() { return freeCount() == 0; }

    /** Enqueues all {@code n} objects from {@code objs[off..off+n)} or none; returns n or 0. */
    public synchronized int enqueueBulk(T[] objs, int off, int n) {
        if (capacity - count < n) return 0;
        return enqueueBurst(objs, off, n);
    }

    /** Enqueues as many as fit; returns how many. */
    public synchronized int enqueueBurst(T[] objs, int off, int n) {
        int k = Math.min(n, capacity - count);
        for (int i = 0; i < k; i++) q[(head + count + i) % capacity] = objs[off + i];
        count += k;
        return k;
    }

    /** Dequeues exactly {@code n} into {@code objs[off..)} or none; returns n or 0. */
    public synchronized int dequeueBulk(T[] objs, int off, int n) {
        if (count < n) return 0;
        return dequeueBurst(objs, off, n);
    }

    /** Dequeues up to {@code n}; returns how many. */
    @SuppressWarnings("unchecked")
    public synchronized int dequeueBurst(T[] objs, int off, int n) {
        int k = Math.min(n, count);
        for (int i = 0; i < k; i++) {
            objs[off + i] = (T) q[head];
            q[head] = null;
            head = (head + 1) % capacity;
        }
        count -= k;
        return k;
    }

    public synchronized boolean enqueue(T obj) {
        if (count == capacity) return false;
        q[(head + count) % capacity] = obj;
        count++;
        return true;
    }

    @SuppressWarnings("unchecked")
    public synchronized T dequeue() {
        if (count == 0) return null;
        T o = (T) q[head];
        q[head] = null;
        head = (head + 1) % capacity;
        count--;
        return o;
    }

    public void dump(PrintStream out) {
        out.println("ring <" + name + "> capacity=" + capacity + " used=" + count());
    }

    @Override
    public void close() {
    }
}
