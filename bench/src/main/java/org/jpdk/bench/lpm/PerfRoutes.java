package org.jpdk.bench.lpm;

import java.util.SplittableRandom;

/**
 * A route table shaped like the one DPDK's {@code lpm_perf_autotest} builds (app/test/test_lpm_perf.c):
 * for each of the classful ranges 0/1, 10/2 and 110/3 and each depth 1..32, as many prefixes as a
 * real router's table had at that depth (the counts below, about 1.08 million in all, most of them
 * /24), spread evenly over the range from a random start; then the five extra rules DPDK puts at
 * random positions (0.0.0.0/8, 10.2.23.147/32, 192.168.100.10/24, 192.168.25.100/24,
 * 192.168.129.124/32). Addresses above 224.0.0.0 get no route, so about 12.5% of random lookups
 * miss, as in DPDK's run. Fixed seed, so every run adds the same routes.
 */
public final class PerfRoutes {
    /** Prefixes per depth (index depth - 1) in 0.0.0.0/1 ("class A"), 128.0.0.0/2 ("B"), 192.0.0.0/3 ("C"). */
    private static final int[][] COUNTS = {
            {0, 0, 1, 0, 2, 1, 3, 185, 26, 16, 39, 144, 233, 528, 866, 3856, 3268, 5662, 17301, 22226, 11147, 16746,
                    17120, 77578, 401, 656, 1107, 1121, 2316, 717, 10, 66},
            {0, 0, 0, 0, 1, 1, 1, 3, 3, 30, 25, 168, 305, 569, 1129, 50800, 1645, 1820, 3506, 3258, 3424, 4971, 6885,
                    39771, 424, 170, 433, 92, 366, 377, 2, 200},
            {0, 0, 0, 0, 0, 0, 0, 12, 8, 9, 33, 69, 237, 1007, 1717, 14663, 8070, 16185, 48261, 36870, 33960, 50638,
                    61422, 466549, 1829, 4824, 4927, 5914, 10254, 4905, 1, 716}};
    private static final int[] HEAD = {0x00000000, 0x80000000, 0xC0000000};
    private static final int[] HEAD_BITS = {1, 2, 3};

    /** Route i is {@code ips[i]/depths[i]}. */
    public final int[] ips;
    public final int[] depths;

    private PerfRoutes(int[] ips, int[] depths) {
        this.ips = ips;
        this.depths = depths;
    }

    public int size() {
        return ips.length;
    }

    public static PerfRoutes generate(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int total = 5;
        for (int[] c : COUNTS) for (int n : c) total += n;
        int[] ips = new int[total];
        int[] depths = new int[total];
        int n = 0;
        for (int cls = 0; cls < 3; cls++) {
            for (int depth = 1; depth <= 32; depth++) {
                int count = COUNTS[cls][depth - 1];
                if (count == 0) continue;
                int classDepth = depth - HEAD_BITS[cls];
                long range = 1L << classDepth;
                long mask = range - 1;
                long step = range <= count ? 1 : Math.round((double) range / count);
                long start = rnd.nextLong() & mask;
                for (int k = 0; k < count; k++) {
                    ips[n] = (int) (start << (32 - depth)) | HEAD[cls];
                    depths[n++] = depth;
                    start = (start + step) & mask;
                }
            }
        }
        int[][] extra = {{0x00000000, 8}, {0x0A021793, 32}, {0xC0A8640A, 24}, {0xC0A81964, 24}, {0xC0A8817C, 32}};
        for (int[] e : extra) {
            int pos = rnd.nextInt(n + 1);
            ips[n] = ips[pos];
            depths[n] = depths[pos];
            ips[pos] = e[0];
            depths[pos] = e[1];
            n++;
        }
        return new PerfRoutes(ips, depths);
    }
}
