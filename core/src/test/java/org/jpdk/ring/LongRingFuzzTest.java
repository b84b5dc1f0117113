package org.jpdk.ring;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Tag;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;

/**
 * Fuzz target: {@link LongRing#attach} to a segment whose header a hostile peer wrote, then
 * enqueues and dequeues while the "peer" keeps rewriting the four indexes between calls. The
 * promise checked: attach either refuses with an {@link IllegalArgumentException} (or a
 * {@link BrokenRingException} when the header says broken) or returns a ring whose calls never
 * return more than asked or more than the capacity, never touch memory past the slots (the segment
 * is followed by a canary the ring must not write), and never throw anything but a
 * {@link BrokenRingException} from a multi-producer/consumer call. Those wait for earlier
 * claimers' tails, and a peer whose tail never reaches the head stalls them: once that hung the
 * target (a 240 s run found it through {@code enqueue} on an MP ring); now the wait is bounded by
 * the stall timeout, 1 ms here, and ends in the documented exception.
 */
@Tag("fuzz")
class LongRingFuzzTest {
    private static final int MAX_SLOTS = 1024, CANARY = 64;

    @FuzzTest(maxDuration = "30s")
    void attachHostileHeader(FuzzedDataProvider data) {
        int slots = data.consumeInt(0, MAX_SLOTS);
        long bytes = LongRing.HEADER_BYTES + 8L * slots;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = arena.allocate(bytes + CANARY, 8);
            MemorySegment seg = all.asSlice(0, bytes);
            all.asSlice(bytes, CANARY).fill((byte) 0x5a);
            if (data.consumeBoolean()) {
                // a sane header, then a few fields overwritten: reaches past the magic check
                int count = Math.max(2, Integer.highestOneBit(Math.max(2, slots)));
                int flags = data.consumeInt(0, 7);
                if (LongRing.bytesFor(count, flags) <= bytes) LongRing.create(seg, count, flags);
                int edits = data.consumeInt(0, 6);
                for (int i = 0; i < edits; i++) {
                    seg.set(ValueLayout.JAVA_INT, 4L * data.consumeInt(0, LongRing.HEADER_BYTES / 4 - 1), data.consumeInt());
                }
            } else {
                byte[] header = data.consumeBytes(LongRing.HEADER_BYTES);
                MemorySegment.copy(header, 0, seg, ValueLayout.JAVA_BYTE, 0, Math.min(header.length, (int) bytes));
            }
            LongRing r;
            try {
                r = LongRing.attach(seg).stallTimeout(Duration.ofMillis(1));
            } catch (IllegalArgumentException | BrokenRingException e) {
                return;
            }
            long[] vals = new long[MAX_SLOTS];
            while (data.remainingBytes() > 0) {
                int n = data.consumeInt(0, MAX_SLOTS);
                int op = data.consumeInt(0, 9), got;
                try {
                    got = call(op, r, seg, data, vals, n);
                } catch (BrokenRingException e) {
                    // a peer's tail that never reached our head: the documented end of an MP/MC wait
                    if (op < 4 || op > 7) throw new AssertionError("an SP/SC call threw", e);
                    got = 0;
                }
                if (got < 0 || got > Math.max(n, 1) || got > r.capacity()) {
                    throw new AssertionError("moved " + got + " values, asked " + n + ", capacity " + r.capacity());
                }
            }
            for (long at = bytes; at < bytes + CANARY; at++) {
                if (all.get(ValueLayout.JAVA_BYTE, at) != 0x5a) throw new AssertionError("wrote past the slots at byte " + at);
            }
        }
    }

    private static int call(int op, LongRing r, MemorySegment seg, FuzzedDataProvider data, long[] vals, int n) {
        return switch (op) {
            case 0 -> r.spEnqueueBurst(vals, 0, n);
            case 1 -> r.spEnqueueBulk(vals, 0, n);
            case 2 -> r.scDequeueBurst(vals, 0, n);
            case 3 -> r.scDequeueBulk(vals, 0, n);
            case 4 -> r.mpEnqueueBurst(vals, 0, n);
            case 5 -> r.mcDequeueBurst(vals, 0, n);
            // enqueue/dequeue take the ring's own mode, MP/MC unless its flags say SP/SC
            case 6 -> r.enqueue(n) ? 1 : 0;
            case 7 -> r.dequeue(-1) == -1 ? 0 : 1;
            case 8 -> {
                r.count(); // a snapshot of the peer's indexes: only must not throw
                r.freeCount();
                yield 0;
            }
            default -> {
                int at = 128 + 4 * data.consumeInt(0, 1) + 128 * data.consumeInt(0, 1); // a peer rewrites an index
                seg.set(ValueLayout.JAVA_INT, at, data.consumeInt());
                yield 0;
            }
        };
    }
}
