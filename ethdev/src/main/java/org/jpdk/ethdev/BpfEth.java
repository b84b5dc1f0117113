package org.jpdk.ethdev;

import org.jpdk.bpf.BpfProgram;
import org.jpdk.bpf.BpfVm;
import org.jpdk.bpf.ElfLoader;
import org.jpdk.mbuf.Mbuf;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * BPF programs as port rx/tx callbacks, as rte_bpf_ethdev: {@link #rxLoad} runs a program on
 * every packet a queue receives (after the driver) and {@link #txLoad} on every packet given to
 * a queue (before the driver); a packet for which the program returns 0 is freed and counted in
 * {@link Filter#dropped()}, or with {@link #F_MARK} only counted and kept. One program per queue
 * and direction; loading another replaces it. R1 is the packet's data, or with
 * {@link BpfProgram.Arg#MBUF} the mbuf, as rte_bpf_eth's callbacks pass them.
 *
 * <p>Allocation: the callback keeps its executor and result array; a burst allocates nothing.
 */
public final class BpfEth {
    /** Run the compiled class (rte_bpf_eth's RTE_BPF_ETH_F_JIT); without it, the interpreter. */
    public static final int F_JIT = 1;
    /** Keep the packets the program rejects, only count them. */
    public static final int F_MARK = 2;

    private static final Map<Key, Filter> LOADED = new ConcurrentHashMap<>();

    private BpfEth() {
    }

    /** An installed program: its counts, for statistics and tests. */
    public static final class Filter implements RxCallback, TxCallback {
        private final BpfVm vm;
        private final boolean mark;
        private volatile long passed, dropped;
        EthDev.CallbackHandle handle;

        Filter(BpfProgram prog, int flags) {
            this.vm = prog.vm((flags & F_JIT) != 0);
            this.mark = (flags & F_MARK) != 0;
        }

        public BpfProgram program() {
            return vm.program();
        }

        /** Packets the program accepted. */
        public long passed() {
            return passed;
        }

        /** Packets the program rejected (freed, or with {@link #F_MARK} kept). */
        public long dropped() {
            return dropped;
        }

        private int filter(Mbuf[] pkts, int off, int n) {
            int kept = 0, accepted = 0;
            for (int i = 0; i < n; i++) {
                Mbuf m = pkts[off + i];
                boolean ok = vm.exec(m) != 0;
                if (ok) accepted++;
                if (ok || mark) pkts[off + kept++] = m;
                else m.free();
            }
            passed += accepted;
            dropped += n - accepted;
            return kept;
        }

        @Override
        public int process(int port, int queue, Mbuf[] pkts, int off, int n, int maxPkts) {
            return filter(pkts, off, n);
        }

        @Override
        public int process(int port, int queue, Mbuf[] pkts, int off, int n) {
            return filter(pkts, off, n);
        }
    }

    /** Installs {@code prog} on rx queue {@code queue} of {@code port} (rte_bpf_eth_rx_elf_load with a loaded program). */
    public static synchronized Filter rxLoad(EthDev port, int queue, BpfProgram prog, int flags) {
        return load(port, queue, true, prog, flags);
    }

    public static synchronized Filter txLoad(EthDev port, int queue, BpfProgram prog, int flags) {
        return load(port, queue, false, prog, flags);
    }

    /** Loads section {@code section} of ELF object {@code file} and installs it (rte_bpf_eth_rx_elf_load). */
    public static Filter rxElfLoad(EthDev port, int queue, Path file, String section, BpfProgram.Arg arg, int flags) {
        return rxLoad(port, queue, ElfLoader.load(file, section, arg, List.of()), flags);
    }

    public static Filter txElfLoad(EthDev port, int queue, Path file, String section, BpfProgram.Arg arg, int flags) {
        return txLoad(port, queue, ElfLoader.load(file, section, arg, List.of()), flags);
    }

    /** Removes the program of rx queue {@code queue} (rte_bpf_eth_rx_unload); false if there was none. */
    public static synchronized boolean rxUnload(EthDev port, int queue) {
        return unload(port, queue, true);
    }

    public static synchronized boolean txUnload(EthDev port, int queue) {
        return unload(port, queue, false);
    }

    /** The program installed on a queue, or null. */
    public static Filter installed(EthDev port, int queue, boolean rx) {
        return LOADED.get(key(port, queue, rx));
    }

    /** A queue of a port object (not its id: a port closed and made again is another). */
    private record Key(EthDev port, int queue, boolean rx) {
    }

    private static Key key(EthDev port, int queue, boolean rx) {
        return new Key(port, queue, rx);
    }

    private static Filter load(EthDev port, int queue, boolean rx, BpfProgram prog, int flags) {
        if ((flags & ~(F_JIT | F_MARK)) != 0) throw new IllegalArgumentException("bpf flags " + flags + ": unknown bits (F_JIT 1, F_MARK 2)");
        if (prog.arg() == BpfProgram.Arg.RAW) throw new IllegalArgumentException(prog.name() + ": a port program takes the packet (PTR) or the mbuf (MBUF), not a raw value");
        Filter f = new Filter(prog, flags);
        unload(port, queue, rx);
        f.handle = rx ? port.addRxCallback(queue, f) : port.addTxCallback(queue, f);
        LOADED.put(key(port, queue, rx), f);
        return f;
    }

    private static boolean unload(EthDev port, int queue, boolean rx) {
        Filter old = LOADED.remove(key(port, queue, rx));
        if (old == null) return false;
        port.removeCallback(old.handle);
        return true;
    }
}
