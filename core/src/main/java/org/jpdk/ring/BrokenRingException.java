package org.jpdk.ring;

/**
 * A shared {@link LongRing} whose multi-producer or multi-consumer side can no longer make
 * progress: a peer claimed slots (moved the head) and never published them (never moved the
 * tail), so every later claimer on that side would wait for it forever. Thrown by the call that
 * waited longer than the ring's stall timeout, by every later call that would have waited behind
 * it, and by {@link LongRing#attach} once the ring's header says broken. The ring's contents are
 * lost; the owner recreates it ({@link LongRing#create} over the same memory clears the mark).
 */
public final class BrokenRingException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    BrokenRingException(String message) {
        super(message);
    }
}
