package org.jpdk.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Memory-management calls the EAL memory subsystem needs beyond {@link Libc}: {@code mincore(2)}
 * to prove hugepages were really populated, {@code get_mempolicy(2)} to learn the NUMA node of a
 * page, and {@code munlock(2)}. {@code get_mempolicy} is not in libc (it lives in libnuma), so it
 * goes through libc's variadic {@code syscall(2)} with the architecture's number.
 */
public final class Mman {
    /** get_mempolicy flags (linux/mempolicy.h): return the node of the page at addr. */
    public static final int MPOL_F_NODE = 1, MPOL_F_ADDR = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURED =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    private static final MethodHandle MINCORE = LINKER.downcallHandle(find("mincore"),
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS), Linker.Option.captureCallState("errno"));
    private static final MethodHandle MUNLOCK = LINKER.downcallHandle(find("munlock"),
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.captureCallState("errno"));
    private static final MethodHandle SYSCALL5 = LINKER.downcallHandle(find("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));

    /** __NR_get_mempolicy: 239 on x86-64, 236 on the generic table (aarch64, riscv64). */
    private static final long NR_GET_MEMPOLICY =
            System.getProperty("os.arch").matches("amd64|x86_64") ? 239 : 236;

    private Mman() {
    }

    private static MemorySegment find(String name) {
        return LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /**
     * How many of the base pages in {@code [addr, addr + len)} are resident, by {@code mincore(2)}.
     * {@code len} is rounded up to the base page size; the range must be mapped (ENOMEM otherwise).
     * bounded: the kernel only looks at the page tables of the range and writes one byte per page
     * into a vector sized here; a wrong range fails, it cannot corrupt memory.
     */
    public static long residentPages(long addr, long len) {
        long page = Libc.pageSize();
        long pages = (len + page - 1) / page;
        MemorySegment cs = CAPTURED.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment vec = a.allocate(pages);
            int r = (int) MINCORE.invokeExact(cs, addr, pages * page, vec);
            if (r != 0) {
                throw new LinuxException("mincore", "addr=0x" + Long.toHexString(addr) + ", len=" + len,
                        (int) ERRNO.get(cs, 0L));
            }
            long resident = 0;
            for (long i = 0; i < pages; i++) resident += vec.get(JAVA_BYTE, i) & 1;
            return resident;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code munlock(2)} of a range the caller mapped; returns the errno, 0 on success. bounded: touches no memory. */
    public static int munlock(long addr, long len) {
        MemorySegment cs = CAPTURED.get();
        try {
            int r = (int) MUNLOCK.invokeExact(cs, addr, len);
            return r == 0 ? 0 : (int) ERRNO.get(cs, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The NUMA node of the page at {@code addr}: {@code get_mempolicy(&node, NULL, 0, addr,
     * MPOL_F_NODE | MPOL_F_ADDR)}. Throws {@link LinuxException} (ENOSYS on a kernel without NUMA,
     * EFAULT if unmapped). bounded: the kernel reads only the policy of the page at {@code addr}
     * and writes one int into a cell allocated here (maxnode 0: no nodemask).
     */
    public static int nodeOfAddress(long addr) {
        MemorySegment cs = CAPTURED.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment node = a.allocate(JAVA_INT);
            long r = (long) SYSCALL5.invokeExact(cs, NR_GET_MEMPOLICY, node.address(), 0L, 0L, addr,
                    (long) (MPOL_F_NODE | MPOL_F_ADDR));
            if (r != 0) {
                throw new LinuxException("get_mempolicy", "MPOL_F_NODE|MPOL_F_ADDR, addr=0x" + Long.toHexString(addr),
                        (int) ERRNO.get(cs, 0L));
            }
            return node.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
