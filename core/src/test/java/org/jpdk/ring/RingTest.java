package org.jpdk.ring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Single-threaded behaviour of {@link Ring}: sizes, full/empty, bulk vs burst, wrap, names. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RingTest {
    private static final int[] FLAG_SETS = {0, Ring.F_SP_ENQ | Ring.F_SC_DEQ, Ring.F_MP_HTS_ENQ | Ring.F_MC_HTS_DEQ,
            Ring.F_MP_RTS_ENQ | Ring.F_MC_RTS_DEQ, Ring.F_SP_ENQ | Ring.F_MC_RTS_DEQ};

    private static Integer[] seq(int from, int n) {
        Integer[] a = new Integer[n];
        for (int i = 0; i < n; i++) a[i] = from + i;
        return a;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void fillsToCapacityThenRefusesThenDrainsInOrder(int flagSet) {
        try (Ring<Integer> r = Ring.create("fill", 8, FLAG_SETS[flagSet])) {
            assertEquals(7, r.capacity());
            assertEquals(8, r.size());
            assertTrue(r.isEmpty());
            assertNull(r.dequeue(), "empty ring dequeues null");
            for (int i = 0; i < 7; i++) assertTrue(r.enqueue(i));
            assertTrue(r.isFull());
            assertFalse(r.enqueue(99), "full ring refuses");
            assertEquals(0, r.enqueueBulk(seq(0, 1), 0, 1));
            assertEquals(0, r.enqueueBurst(seq(0, 1), 0, 1));
            for (int i = 0; i < 7; i++) assertEquals(i, r.dequeue());
            assertNull(r.dequeue());
            assertEquals(0, r.count());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void bulkIsAllOrNothingBurstTakesWhatFits(int flagSet) {
        try (Ring<Integer> r = Ring.create("bulk", 16, FLAG_SETS[flagSet])) {
            Integer[] in = seq(100, 20);
            assertEquals(0, r.enqueueBulk(in, 0, 16), "16 do not fit in capacity 15");
            assertEquals(0, r.count(), "a failed bulk leaves the ring untouched");
            assertEquals(10, r.enqueueBulk(in, 0, 10));
            assertEquals(0, r.enqueueBulk(in, 10, 6));
            assertEquals(5, r.enqueueBurst(in, 10, 10), "burst fills the 5 free slots");
            Integer[] out = new Integer[20];
            assertEquals(0, r.dequeueBulk(out, 0, 16));
            assertEquals(15, r.count());
            assertEquals(4, r.dequeueBulk(out, 0, 4));
            assertEquals(11, r.dequeueBurst(out, 4, 16));
            assertArrayEquals(seq(100, 15), java.util.Arrays.copyOf(out, 15));
            assertEquals(0, r.dequeueBurst(out, 0, 4));
            assertEquals(0, r.enqueueBulk(in, 0, 0), "n = 0 moves nothing");
        }
    }

    @Test
    void exactSizeHoldsExactlyCount() {
        try (Ring<Integer> r = Ring.create("exact", 1000, Ring.F_EXACT_SZ)) {
            assertEquals(1000, r.capacity());
            assertEquals(1024, r.size());
            Integer[] in = seq(0, 1001);
            assertEquals(0, r.enqueueBulk(in, 0, 1001));
            assertEquals(1000, r.enqueueBurst(in, 0, 1001));
            assertTrue(r.isFull());
            assertFalse(r.enqueue(1));
        }
        try (Ring<Integer> r = Ring.create("exact1", 1, Ring.F_EXACT_SZ)) {
            assertTrue(r.enqueue(1));
            assertFalse(r.enqueue(2));
            assertEquals(1, r.dequeue());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void indexesWrapAt2To32(int flagSet) {
        // Start 5 slots before the 32-bit indexes wrap; bursts of 3 straddle both the index wrap and the slot-array end.
        try (Ring<Integer> r = Ring.create("wrap", 8, FLAG_SETS[flagSet], -5)) {
            Integer[] out = new Integer[3];
            int next = 0, expect = 0;
            for (int round = 0; round < 40; round++) {
                assertEquals(3, r.enqueueBulk(seq(next, 3), 0, 3));
                next += 3;
                assertEquals(3, r.count());
                assertEquals(3, r.dequeueBulk(out, 0, 3));
                assertArrayEquals(seq(expect, 3), out);
                expect += 3;
                assertTrue(r.isEmpty());
            }
            assertEquals(7, r.enqueueBurst(seq(0, 9), 0, 9));
            assertEquals(7, r.count());
        }
    }

    @Test
    void perCallVariantsShareOneRing() {
        try (Ring<Integer> r = Ring.create("percall", 8, 0)) {
            assertTrue(r.spEnqueue(1));
            assertTrue(r.mpEnqueue(2));
            assertEquals(2, r.spEnqueueBulk(seq(3, 2), 0, 2));
            assertEquals(3, r.mpEnqueueBurst(seq(5, 5), 0, 5));
            assertEquals(0, r.spEnqueueBurst(seq(0, 1), 0, 1));
            assertEquals(1, r.scDequeue());
            assertEquals(2, r.mcDequeue());
            Integer[] out = new Integer[8];
            assertEquals(2, r.scDequeueBulk(out, 0, 2));
            assertEquals(3, r.mcDequeueBurst(out, 2, 5));
            assertArrayEquals(new Integer[] {3, 4, 5, 6, 7}, java.util.Arrays.copyOf(out, 5));
        }
    }

    @Test
    void badIndexesThrowBeforeTouchingTheRing() {
        try (Ring<Integer> r = Ring.create("oob", 8, 0)) {
            Integer[] a = seq(0, 4);
            assertThrows(IndexOutOfBoundsException.class, () -> r.enqueueBulk(a, 2, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> r.dequeueBurst(a, -1, 1));
            assertEquals(0, r.count());
            assertTrue(r.enqueue(1));
            assertEquals(1, r.dequeue());
        }
    }

    @Test
    void lookupFindsOpenRingsOnly() {
        Ring<String> r = Ring.create("lookme", 4, 0);
        assertSame(r, Ring.lookup("lookme"));
        IllegalStateException dup = assertThrows(IllegalStateException.class, () -> Ring.create("lookme", 4, 0));
        assertTrue(dup.getMessage().contains("'lookme' is already in use"), dup.getMessage());
        r.close();
        assertNull(Ring.lookup("lookme"));
        r.close();
        Ring.create("lookme", 4, 0).close();
        assertNull(Ring.lookup("never"));
        assertNull(Ring.lookup(null));
    }

    @Test
    void badArgumentsSayWhatIsAllowed() {
        String m = assertThrows(IllegalArgumentException.class, () -> Ring.create("c", 1000, 0)).getMessage();
        assertTrue(m.contains("count: 1000") && m.contains("power of two"), m);
        m = assertThrows(IllegalArgumentException.class, () -> Ring.create("c", 1 << 29, 0)).getMessage();
        assertTrue(m.contains("268435456"), m);
        m = assertThrows(IllegalArgumentException.class, () -> Ring.create("c", 0, Ring.F_EXACT_SZ)).getMessage();
        assertTrue(m.contains("count: 0") && m.contains("F_EXACT_SZ"), m);
        m = assertThrows(IllegalArgumentException.class, () -> Ring.create("", 4, 0)).getMessage();
        assertTrue(m.contains("name") && m.contains("1 to 28"), m);
        m = assertThrows(IllegalArgumentException.class, () -> Ring.create("x".repeat(29), 4, 0)).getMessage();
        assertTrue(m.contains("name"), m);
        m = assertThrows(IllegalArgumentException.class, () -> Ring.create("c", 4, 0x100)).getMessage();
        assertTrue(m.contains("flags: 0x100"), m);
        m = assertThrows(IllegalArgumentException.class, () -> Ring.create("c", 4, Ring.F_SP_ENQ | Ring.F_MP_RTS_ENQ)).getMessage();
        assertTrue(m.contains("producer mode"), m);
        m = assertThrows(IllegalArgumentException.class, () -> Ring.create("c", 4, Ring.F_MC_HTS_DEQ | Ring.F_MC_RTS_DEQ)).getMessage();
        assertTrue(m.contains("consumer mode"), m);
        assertNull(Ring.lookup("c"), "a refused ring is not registered");
        try (Ring<Integer> r = Ring.create("htd", 64, Ring.F_MP_RTS_ENQ)) {
            r.setProdHtdMax(4);
            assertThrows(IllegalStateException.class, () -> r.setConsHtdMax(4));
            assertThrows(IllegalArgumentException.class, () -> r.setProdHtdMax(0));
        }
    }

    @Test
    void dumpShowsIndexesAndCounts() {
        try (Ring<Integer> r = Ring.create("dumped", 16, Ring.F_SP_ENQ)) {
            r.enqueueBulk(seq(0, 3), 0, 3);
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            r.dump(new PrintStream(b, true));
            String s = b.toString();
            assertTrue(s.contains("ring <dumped>") && s.contains("prod=ST") && s.contains("used=3") && s.contains("avail=12")
                    && s.contains("ph=3"), s);
        }
    }

    /**
     * A typed ring stores into an array of its element type; a wrong element is refused before
     * anything is claimed, so the ring stays usable (a copy that failed half-way would have left
     * a claimed range unpublished). Unchecked casts are the only way to get such an element in.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void typedRingRefusesAWrongElementBeforeClaimingAndStaysUsable(int flagSet) {
        try (Ring<Integer> r = Ring.create("typed", 8, FLAG_SETS[flagSet], Integer.class)) {
            assertSame(Integer.class, r.elementType());
            Ring raw = r;
            Object[] mixed = {1, 2, "three"};
            String m = assertThrows(ArrayStoreException.class, () -> raw.enqueueBulk(mixed, 0, 3)).getMessage();
            assertTrue(m.contains("typed") && m.contains("java.lang.Integer") && m.contains("java.lang.String"), m);
            assertThrows(ArrayStoreException.class, () -> raw.enqueue("x"));
            assertTrue(r.isEmpty(), "nothing was claimed");
            assertEquals(2, raw.enqueueBulk(new Object[] {1, 2}, 0, 2), "an Object[] of the right elements is taken");
            assertEquals(3, r.enqueueBulk(seq(3, 3), 0, 3));
            assertThrows(ArrayStoreException.class, () -> raw.dequeueBulk(new String[5], 0, 5));
            assertEquals(5, r.count(), "a refused dequeue takes nothing");
            Object[] out = new Object[5];
            assertEquals(5, raw.dequeueBulk(out, 0, 5));
            assertArrayEquals(new Object[] {1, 2, 3, 4, 5}, out);
            assertTrue(r.enqueue(6));
            assertEquals(6, r.dequeue());
        }
        assertSame(Object.class, Ring.create("untyped", 4, 0).elementType());
        Ring.lookup("untyped").close();
        assertThrows(IllegalArgumentException.class, () -> Ring.create("prim", 4, 0, (Class) int.class));
    }
}
