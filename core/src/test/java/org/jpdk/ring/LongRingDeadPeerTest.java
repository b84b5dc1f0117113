package org.jpdk.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link LongRing} when a peer dies between claiming slots (its head CAS) and publishing them (its
 * tail store): the claimers behind it get a {@link BrokenRingException} within the stall timeout
 * instead of waiting forever, the ring is marked broken for every handle and every later attacher,
 * and the other side of the ring is not blocked. The class timeout is what "does not hang" means
 * here: every wait in it is bounded by a stall timeout far below it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LongRingDeadPeerTest {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void close() {
        arena.close();
    }

    private static long[] seq(long from, int n) {
        long[] a = new long[n];
        for (int i = 0; i < n; i++) a[i] = from + i;
        return a;
    }

    /** What a producer does first: moves the head by CAS, here for 2 slots it will never publish. */
    private static void claimWithoutPublishing(MemorySegment seg, long headOffset, int n) {
        int head = (int) INT.getAcquire(seg, headOffset);
        assertTrue(INT.compareAndSet(seg, headOffset, head, head + n));
    }

    @Test
    void producersBehindADeadProducerGetAClearErrorAndTheRingIsMarkedBroken() {
        MemorySegment seg = arena.allocate(LongRing.bytesFor(16), 128);
        LongRing r = LongRing.create(seg, 16, 0).stallTimeout(Duration.ofMillis(200));
        // another handle (another process) attached while the ring was healthy, with a timeout it would never reach
        LongRing other = LongRing.attach(seg).stallTimeout(Duration.ofDays(1));
        assertEquals(3, r.mpEnqueueBurst(seq(10, 3), 0, 3));
        claimWithoutPublishing(seg, LongRing.OFF_PROD_HEAD, 2); // the peer claimed slots 3 and 4, then was killed

        String m = assertThrows(BrokenRingException.class, () -> r.mpEnqueueBurst(seq(20, 4), 0, 4)).getMessage();
        assertTrue(m.contains("the producer tail has not moved toward this producer's slots") && m.contains("it stands at 3")
                && m.contains("publish 4 slot(s) from 5")
                && m.contains("died") && m.contains("recreate"), m);
        assertFalse(m.contains("\n"), "one line: " + m);
        assertTrue(r.isBroken());

        // The other handle gives up on the mark, not on its own clock.
        m = assertThrows(BrokenRingException.class, () -> other.enqueue(7)).getMessage();
        assertTrue(m.contains("marked broken") && m.contains("producer tail stopped at 3"), m);
        m = assertThrows(BrokenRingException.class, () -> LongRing.attach(seg)).getMessage();
        assertTrue(m.startsWith("LongRing: attach refused: the ring is marked broken (the producer tail stopped at 3"), m);

        // Consumers are not blocked: they get what was published before the dead claim, then "empty".
        long[] out = new long[8];
        assertEquals(3, r.mcDequeueBurst(out, 0, 8));
        assertEquals(10L, out[0]);
        assertEquals(0, r.mcDequeueBurst(out, 0, 8));

        // The owner recreates the ring over the same memory: the mark is gone, the ring works.
        LongRing fresh = LongRing.create(seg, 16, 0);
        assertFalse(fresh.isBroken());
        assertEquals(4, LongRing.attach(seg).mpEnqueueBurst(seq(1, 4), 0, 4));
        assertEquals(4, fresh.mcDequeueBurst(out, 0, 8));
    }

    @Test
    void consumersBehindADeadConsumerGetAClearErrorAndProducersOnlySeeTheRingFill() {
        MemorySegment seg = arena.allocate(LongRing.bytesFor(8), 128);
        LongRing r = LongRing.create(seg, 8, 0).stallTimeout(Duration.ofMillis(200));
        assertEquals(4, r.mpEnqueueBurst(seq(1, 4), 0, 4));
        claimWithoutPublishing(seg, LongRing.OFF_CONS_HEAD, 1); // a consumer took slot 0 and died

        String m = assertThrows(BrokenRingException.class, () -> r.dequeue(-1)).getMessage();
        assertTrue(m.contains("the consumer tail has not moved toward") && m.contains("consumer that claimed the slots from 0"), m);
        // Producers never wait for consumers: the ring fills (7 is the capacity) and says full.
        assertEquals(3, r.mpEnqueueBurst(seq(5, 8), 0, 8));
        assertEquals(0, r.mpEnqueueBurst(seq(5, 8), 0, 8));
        StringBuilder dump = new StringBuilder();
        r.dump(new java.io.PrintStream(new java.io.OutputStream() {
            @Override public void write(int b) { dump.append((char) b); }
        }));
        assertTrue(dump.toString().contains("broken=consumer tail stuck at 0"), dump.toString());
    }

    @Test
    void aSlowButLivePeerDoesNotBreakTheRing() throws Exception {
        MemorySegment seg = arena.allocate(LongRing.bytesFor(16), 128);
        LongRing r = LongRing.create(seg, 16, 0).stallTimeout(Duration.ofSeconds(30));
        claimWithoutPublishing(seg, LongRing.OFF_PROD_HEAD, 2);
        Thread late = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            INT.setRelease(seg, LongRing.OFF_PROD_TAIL, 2); // the peer publishes, late
        });
        assertEquals(1, r.mpEnqueueBurst(seq(9, 1), 0, 1), "waits for the peer, then publishes behind it");
        late.join();
        assertFalse(r.isBroken());
        assertEquals(3, r.count());
    }

    @Test
    void aTailThatJumpsAboutWithoutComingCloserDoesNotKeepAWaiterForever() throws Exception {
        MemorySegment seg = arena.allocate(LongRing.bytesFor(16), 128);
        LongRing r = LongRing.create(seg, 16, 0).stallTimeout(Duration.ofMillis(300));
        claimWithoutPublishing(seg, LongRing.OFF_PROD_HEAD, 4);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread scribbler = Thread.ofPlatform().start(() -> {
            for (int i = 0; !stop.get(); i++) {
                INT.setRelease(seg, LongRing.OFF_PROD_TAIL, (i & 1) == 0 ? 1_000_000 + i : -7 - i); // never toward head 4
                Thread.onSpinWait();
            }
        });
        try {
            String m = assertThrows(BrokenRingException.class, () -> r.mpEnqueueBurst(seq(1, 2), 0, 2)).getMessage();
            assertTrue(m.contains("has not moved toward"), m);
        } finally {
            stop.set(true);
            scribbler.join();
        }
    }

    @Test
    void theStallTimeoutIsChecked() {
        LongRing r = LongRing.create(arena.allocate(LongRing.bytesFor(8), 128), 8, 0);
        assertEquals(LongRing.DEFAULT_STALL_TIMEOUT, r.stallTimeout());
        for (Duration bad : new Duration[] {Duration.ZERO, Duration.ofMillis(-1), Duration.ofDays(2)}) {
            String m = assertThrows(IllegalArgumentException.class, () -> r.stallTimeout(bad)).getMessage();
            assertTrue(m.startsWith("stall timeout: " + bad), m);
        }
        assertEquals(Duration.ofMillis(1500), r.stallTimeout(Duration.ofMillis(1500)).stallTimeout());
    }

    /**
     * A real peer process: it maps the ring's file, claims two slots as a producer does (the head
     * CAS), writes them, and is killed with SIGKILL before it publishes. A producer of this
     * process then gets the clear error within its stall timeout.
     */
    @Test
    void aProducerKilledMidPublishInAnotherProcessBreaksTheRingWithinTheTimeout() throws Exception {
        Path dir = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        Path file = Files.createTempFile(dir, "jpdk-longring-dead-peer", ".ring");
        Process peer = null;
        try {
            long bytes = LongRing.bytesFor(64);
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            }
            LongRing r = LongRing.create(seg, 64, 0).stallTimeout(Duration.ofMillis(500));
            assertEquals(5, r.mpEnqueueBurst(seq(100, 5), 0, 5));

            String java = ProcessHandle.current().info().command().orElse("java");
            peer = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                    LongRingDeadPeerTest.class.getName(), file.toString(), Long.toString(bytes)).redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(peer.getInputStream()));
            StringBuilder seen = new StringBuilder();
            String line;
            while ((line = out.readLine()) != null && !line.equals("CLAIMED")) seen.append(line).append('\n');
            assertEquals("CLAIMED", line, "the peer died before claiming: " + seen);
            peer.destroyForcibly(); // SIGKILL, between its head CAS and its tail store
            assertTrue(peer.waitFor(20, TimeUnit.SECONDS), "the peer did not die");
            assertEquals(137, peer.exitValue(), "killed by SIGKILL");

            assertEquals(7, (int) INT.getAcquire(seg, LongRing.OFF_PROD_HEAD), "the peer's claim is in the shared header");
            String m = assertThrows(BrokenRingException.class, () -> r.mpEnqueueBurst(seq(200, 3), 0, 3)).getMessage();
            assertTrue(m.contains("it stands at 5"), m);
            assertThrows(BrokenRingException.class, () -> LongRing.attach(seg));
        } finally {
            if (peer != null) peer.destroyForcibly();
            Files.deleteIfExists(file);
        }
    }

    /** The peer of {@link #aProducerKilledMidPublishInAnotherProcessBreaksTheRingWithinTheTimeout}. */
    public static void main(String[] args) throws Exception {
        try (Arena a = Arena.ofShared(); FileChannel ch = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, Long.parseLong(args[1]), a);
            LongRing.attach(seg); // a healthy ring
            int head = (int) INT.getAcquire(seg, LongRing.OFF_PROD_HEAD);
            if (!INT.compareAndSet(seg, LongRing.OFF_PROD_HEAD, head, head + 2)) throw new IllegalStateException("lost the claim");
            seg.set(ValueLayout.JAVA_LONG, LongRing.HEADER_BYTES + 8L * head, 0xDEADL);
            System.out.println("CLAIMED");
            System.out.flush();
            Thread.sleep(120_000); // killed here, before the tail store
        }
    }
}
