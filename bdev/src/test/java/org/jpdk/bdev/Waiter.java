package org.jpdk.bdev;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A completion callback for tests: records each request's status by its argument (an Integer the
 * test chose) and polls a qpair until all it waits for are in, failing after a deadline instead
 * of hanging.
 */
final class Waiter implements IoCallback {
    final Map<Object, Integer> status = new HashMap<>();
    int completions;

    @Override
    public void complete(Object arg, int st) {
        completions++;
        if (status.put(arg, st) != null) fail("request " + arg + " completed twice");
    }

    /** Polls {@code q} until {@code n} completions have come in; fails after {@code seconds}. */
    void await(Qpair q, int n, double seconds) {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (completions < n) {
            q.processCompletions(0);
            if (System.nanoTime() > deadline) {
                fail(q + ": " + completions + " of " + n + " completions after " + seconds + " s (outstanding "
                        + q.outstanding() + ", in flight " + q.inflight() + ")");
            }
        }
    }

    /** The status of request {@code arg}; fails if it did not complete. */
    int of(Object arg) {
        Integer s = status.get(arg);
        if (s == null) fail("request " + arg + " did not complete");
        return s;
    }
}
