package org.jpdk.bench;

import org.jpdk.bench.AfPacketBench.Side;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code ./jpdk bench afxdp}: net_af_xdp over a veth pair between two network namespaces, ours
 * beside DPDK's (Debian's dpdk-testpmd with its own net_af_xdp, through libxdp and libbpf) and
 * beside our own net_af_packet, in one run on one veth pair. A testpmd in txonly mode floods
 * 64-byte frames into {@code va}, a testpmd in rxonly mode polls {@code vb}; the figure is the
 * receiver's median per-second Rx-pps after warm-up, as in {@link AfPacketBench}, whose machinery
 * (namespaces, child processes, cores, the steady-state cut) this shares: the sender forwards on
 * CPU 0, the receiver on CPU 1, same placement as {@code ./jpdk bench afpacket}.
 *
 * <p>Pairs, each run {@value #ROUNDS} times with the three interleaved (jpdk af_xdp, DPDK af_xdp,
 * jpdk af_packet, then again), so that a change in the machine's load falls on all three; each
 * figure is the median over the seconds of all its rounds. Then the two mixed af_xdp pairs once
 * each (DPDK's sender to our receiver, ours to DPDK's), which put the receivers side by side
 * behind the same sender. Same settings on both sides of every
 * pair: burst 32, 8192 mbufs, {@code --no-huge}, one queue; af_xdp with the driver's defaults as
 * DPDK 22.11 has them (queue 0, busy_budget 64, copy mode as veth allows), af_packet with the
 * settings of {@code ./jpdk bench afpacket}.
 *
 * <p>On veth, AF_XDP runs in copy mode: the sender's {@code sendto} copies each frame into a socket
 * buffer and, within the same call, the kernel runs veth's transmit, the receiving veth's native
 * XDP program and the copy into the receiver's UMEM, all on the sender's CPU; the receiver only
 * reads descriptors and refills its fill ring. AF_PACKET does the same two copies, with the stack's
 * packet_rcv in between.
 */
public final class AfXdpBench {
    static final int ROUNDS = 3;

    private AfXdpBench() {
    }

    /** The {@code ./jpdk bench afxdp} entry ({@link Benchmark}). */
    public static final class Entry implements Benchmark {
        @Override
        public String name() {
            return "afxdp";
        }

        @Override
        public String summary() {
            return "net_af_xdp over a veth pair: jpdk beside dpdk-testpmd's net_af_xdp and jpdk's net_af_packet";
        }

        @Override
        public void main(String[] args) throws Exception {
            AfXdpBench.main(args);
        }
    }

    /** The --vdev of both sides of every af_xdp pair. */
    static String afXdpVdev(String iface) {
        return "net_af_xdp0,iface=" + iface + ",start_queue=0,queue_count=1";
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            System.err.println("jpdk bench afxdp: takes no arguments, not " + String.join(" ", args));
            System.exit(1);
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            System.err.println("jpdk bench afxdp: needs root (it creates network namespaces, a veth pair and attaches XDP programs)");
            System.exit(1);
        }
        Path dpdk = Bench.findProgram("dpdk-testpmd");
        if (dpdk == null) System.out.println("# dpdk-testpmd not found (apt-get install dpdk-dev): DPDK's figures are missing");
        String base = "jpdkbench" + ProcessHandle.current().pid();
        String nsA = base + "a", nsB = base + "b";
        Thread cleanup = new Thread(() -> AfPacketBench.teardown(nsA, nsB), "afxdp-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            AfPacketBench.setup(nsA, nsB);
            List<Double> ours = new ArrayList<>(), theirs = new ArrayList<>(), packet = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                ours.addAll(AfPacketBench.run(Side.JPDK, Side.JPDK, nsA, nsB, dpdk, AfXdpBench::afXdpVdev, "af_xdp: "));
                if (dpdk != null) theirs.addAll(AfPacketBench.run(Side.DPDK, Side.DPDK, nsA, nsB, dpdk, AfXdpBench::afXdpVdev, "af_xdp: "));
                packet.addAll(AfPacketBench.run(Side.JPDK, Side.JPDK, nsA, nsB, dpdk, AfPacketBench::afPacketVdev, "af_packet: "));
            }
            double xdp = AfPacketBench.median(ours), dpdkXdp = AfPacketBench.median(theirs), afp = AfPacketBench.median(packet);
            // the mixed pairs, once each: with the same sender, the two receivers side by side
            double theirsToOurs = dpdk == null ? Double.NaN
                    : AfPacketBench.median(AfPacketBench.run(Side.DPDK, Side.JPDK, nsA, nsB, dpdk, AfXdpBench::afXdpVdev, "af_xdp: "));
            double oursToTheirs = dpdk == null ? Double.NaN
                    : AfPacketBench.median(AfPacketBench.run(Side.JPDK, Side.DPDK, nsA, nsB, dpdk, AfXdpBench::afXdpVdev, "af_xdp: "));
            Bench.line("afxdp_rx_mpps", xdp, "Mpps");
            Bench.line("dpdk_afxdp_rx_mpps", dpdkXdp, "Mpps");
            Bench.line("afxdp_afpacket_rx_mpps", afp, "Mpps");
            Bench.line("afxdp_dpdk_tx_jpdk_rx_mpps", theirsToOurs, "Mpps");
            Bench.line("afxdp_jpdk_tx_dpdk_rx_mpps", oursToTheirs, "Mpps");
            Bench.ratio("afxdp_rx_jpdk_vs_dpdk", xdp, dpdkXdp);
            Bench.ratio("afxdp_vs_afpacket_jpdk", xdp, afp);
        } finally {
            AfPacketBench.teardown(nsA, nsB);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
    }
}
