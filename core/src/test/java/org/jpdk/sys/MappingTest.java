package org.jpdk.sys;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Mapping}: a closed mapping throws instead of faulting, and is really unmapped. Before
 * Mapping, rings were {@code ofAddress(addr).reinterpret(len)} (global scope) and munmapped on
 * close; the copying thread below then died with SIGSEGV and took the JVM with it (shown once by
 * hand, not run here).
 */
@Timeout(20)
class MappingTest {
    private static final int PROT_RW = Libc.PROT_READ | Libc.PROT_WRITE;
    private static final int ANON = Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS;

    @Test
    void closingTheArenaUnmapsAndLaterAccessThrows() {
        long len = 2 * Libc.pageSize();
        Arena arena = Arena.ofShared();
        MemorySegment seg = Mapping.map(arena, len, PROT_RW, ANON, -1, 0, "anonymous, len=" + len);
        assertEquals(len, seg.byteSize());
        seg.set(ValueLayout.JAVA_LONG, 0, 1L);
        seg.set(ValueLayout.JAVA_LONG, len - 8, 0x1234L);
        assertEquals(0x1234L, seg.get(ValueLayout.JAVA_LONG, len - 8));
        assertEquals(2, Mman.residentPages(seg.address(), len), "both pages written, both mapped");
        MemorySegment slice = seg.asSlice(Libc.pageSize());
        long addr = seg.address();
        arena.close();
        assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> slice.set(ValueLayout.JAVA_LONG, 0, 1L));
        // mincore on an unmapped range fails with ENOMEM: munmap ran
        LinuxException e = assertThrows(LinuxException.class, () -> Mman.residentPages(addr, len));
        assertEquals(Errno.ENOMEM, e.errno());
    }

    @Test
    void aThreadCopyingFromTheMappingGetsAnExceptionWhenItIsClosed() throws Exception {
        long len = 1 << 20;
        Arena arena = Arena.ofShared();
        MemorySegment seg = Mapping.map(arena, len, PROT_RW, ANON, -1, 0, "anonymous, len=" + len);
        MemorySegment dst = Arena.ofAuto().allocate(len, 64);
        AtomicReference<Throwable> ended = new AtomicReference<>();
        CountDownLatch running = new CountDownLatch(1);
        Thread lcore = new Thread(() -> {
            try {
                for (long n = 0; ; n++) {
                    MemorySegment.copy(seg, 0, dst, 0, len);
                    seg.set(ValueLayout.JAVA_LONG, (n * 64) & (len - 1), n);
                    if (n == 100) running.countDown();
                }
            } catch (Throwable t) {
                ended.set(t);
            }
        }, "mapping-poller");
        lcore.start();
        assertTrue(running.await(10, TimeUnit.SECONDS));
        arena.close();
        lcore.join(10_000);
        assertFalse(lcore.isAlive());
        assertInstanceOf(IllegalStateException.class, ended.get());
        assertTrue(ended.get().getMessage().contains("closed"), ended.get().getMessage());
    }

    @Test
    void aFailedMmapSaysWhatAndWhy() {
        LinuxException e = assertThrows(LinuxException.class,
                () -> Mapping.map(Arena.ofShared(), 0, PROT_RW, ANON, -1, 0, "anonymous, len=0"));
        assertEquals("mmap(anonymous, len=0): EINVAL", e.getMessage());
    }

    @Test
    void aClosedArenaIsRefusedAndTheMappingUndone() {
        Arena arena = Arena.ofShared();
        arena.close();
        assertThrows(IllegalStateException.class,
                () -> Mapping.map(arena, Libc.pageSize(), PROT_RW, ANON, -1, 0, "anonymous"));
    }
}
