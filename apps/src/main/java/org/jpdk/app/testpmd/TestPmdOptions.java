package org.jpdk.app.testpmd;

import org.jpdk.app.AppOptions;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.MacAddr;
import org.jpdk.ethdev.Offloads;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * testpmd's own command line (the part after {@code --}), as dpdk-testpmd's {@code launch_args_parse}:
 * {@code --opt=value} or {@code --opt value}, walked by {@link AppOptions#walk} as every app's. A bad option or value throws {@link Bad} whose
 * message is the one line {@code <option>=<value>: <what is allowed>}. Limits that depend on the
 * EAL or the ports (--nb-cores, --nb-ports, --portmask) are checked once those exist.
 */
final class TestPmdOptions {
    /** A user mistake on testpmd's command line; the message is one line. */
    static final class Bad extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        Bad(String option, String value, String allowed) {
            super(option + (value == null ? "" : "=" + value) + ": " + allowed);
        }

        Bad(String message) {
            super(message);
        }
    }

    /** Packet headers txonly builds (Ethernet + IPv4 + UDP): the shortest --txpkts total. */
    static final int MIN_TX_PKT_LEN = 14 + 20 + 8;
    static final int MAX_SEGS_PER_PKT = 255;
    static final int MAX_QUEUES = 1024;
    static final int MAX_DESC = 65535;

    boolean help;
    boolean interactive;
    boolean autoStart;
    boolean txFirst;
    String forwardMode = "io";
    int nbCores = 1;
    boolean nbCoresGiven;
    int nbPorts;             // 0: all
    int rxq = 1, txq = 1;
    int rxd, txd;            // 0: the driver's default, as testpmd 22.11
    int burst = FwdConfig.DEFAULT_BURST;
    int[] txPkts = {64};
    double statsPeriod;      // seconds, 0: off
    int totalNumMbufs;       // 0: computed
    int mbufSize = Mbuf.DEFAULT_BUF_SIZE;
    final List<PeerOption> ethPeers = new ArrayList<>();
    long portmask;           // 0: all
    int mbcache = 250;
    long rssHf = Offloads.RSS_IP;
    boolean disableRss;
    int maxPktLen;           // 0: the driver's default MTU
    double runSeconds;       // 0: until Enter or a signal
    String rxIdle = RX_IDLE_MODES.get(0); // jpdk's --rx-idle: what a forwarding lcore does with nothing to receive

    /** --rx-idle values: poll all the time (testpmd), back off, sleep on the rx interrupts. */
    static final List<String> RX_IDLE_MODES = List.of("busy", "backoff", "interrupt");

    record PeerOption(int port, MacAddr mac) {
    }

    /** Options that take a value. */
    private static final Set<String> VALUED = Set.of("--forward-mode", "--nb-cores", "--nb-ports", "--rxq", "--txq",
            "--rxd", "--txd", "--burst", "--txpkts", "--stats-period", "--total-num-mbufs", "--mbuf-size", "--eth-peer",
            "--portmask", "--mbcache", "--max-pkt-len", "--run-seconds", "--port-topology", "--rxfreet", "--txfreet",
            "--rxpt", "--rxht", "--rxwt", "--txpt", "--txht", "--txwt", "--txrst", "--nb-txd", "--nb-rxd",
            "--port-numa-config", "--ring-numa-config", "--socket-num", "--mp-alloc", "--rss-hf", "--cmdline-file",
            "--tx-offloads", "--rx-offloads", "--txonly-multi-flow-ignored", "--rx-idle");
    /** Flags dpdk-testpmd has that change nothing here; accepted so that a DPDK command line runs. */
    private static final Set<String> HARMLESS = Set.of("--no-lsc-interrupt", "--no-rmv-interrupt", "--no-flush-rx",
            "--disable-link-check", "--no-numa", "--numa", "--record-core-cycles", "--record-burst-stats",
            "--no-mlockall", "--mlockall", "--enable-rx-cksum", "--enable-scatter", "--disable-crc-strip",
            "--enable-lro", "--disable-device-start", "--no-iova-contig", "--txonly-multi-flow", "--enable-drop-en",
            "--flow-isolate-all", "--enable-hw-vlan", "--enable-hw-vlan-strip", "--enable-hw-vlan-filter",
            "--disable-hw-vlan", "--disable-hw-vlan-strip", "--disable-hw-vlan-filter", "--tx-ip-ignored");

    static TestPmdOptions parse(List<String> args) {
        TestPmdOptions o = new TestPmdOptions();
        AppOptions.walk(args, VALUED, (name, value) -> {
            switch (name) {
                case "-h", "--help" -> o.help = true;
                case "-i", "--interactive" -> o.interactive = true;
                case "-a", "--auto-start" -> o.autoStart = true;
                case "--tx-first" -> o.txFirst = true;
                case "--disable-rss" -> o.disableRss = true;
                case "--rss-ip" -> o.rssHf = Offloads.RSS_IP;
                case "--rss-udp" -> o.rssHf = Offloads.RSS_UDP;
                default -> {
                    if (!HARMLESS.contains(name) && !VALUED.contains(name)) throw AppOptions.unknown(name);
                    if (value != null) o.set(name, value);
                }
            }
        });
        if (o.txFirst && o.interactive) throw new Bad("--tx-first", null, "cannot be used in interactive mode (use 'start tx_first')");
        for (int seg : o.txPkts) {
            if (seg > o.mbufSize - Mbuf.DEFAULT_HEADROOM) {
                throw new Bad("--txpkts", join(o.txPkts), "a segment of " + seg + " bytes does not fit the "
                        + (o.mbufSize - Mbuf.DEFAULT_HEADROOM) + " bytes of data room of --mbuf-size=" + o.mbufSize);
            }
        }
        return o;
    }

    private void set(String name, String v) {
        switch (name) {
            case "--forward-mode" -> {
                if (FwdEngines.byName(v) == null) throw new Bad(name, v, "allowed " + String.join(", ", FwdEngines.names()));
                forwardMode = v;
            }
            case "--nb-cores" -> {
                nbCores = (int) integer(name, v, 1, 128);
                nbCoresGiven = true;
            }
            case "--nb-ports" -> nbPorts = (int) integer(name, v, 1, EthDev.MAX_PORTS);
            case "--rxq" -> rxq = (int) integer(name, v, 1, MAX_QUEUES);
            case "--txq" -> txq = (int) integer(name, v, 1, MAX_QUEUES);
            case "--rxd", "--nb-rxd" -> rxd = (int) integer(name, v, 1, MAX_DESC);
            case "--txd", "--nb-txd" -> txd = (int) integer(name, v, 1, MAX_DESC);
            case "--burst" -> burst = (int) integer(name, v, 1, FwdConfig.MAX_PKT_BURST);
            case "--txpkts" -> txPkts = txpkts(name, v);
            case "--stats-period" -> statsPeriod = seconds(name, v, true);
            case "--run-seconds" -> runSeconds = seconds(name, v, false);
            case "--total-num-mbufs" -> totalNumMbufs = (int) integer(name, v, 1025, Integer.MAX_VALUE);
            case "--mbuf-size" -> mbufSize = (int) integer(name, v, Mbuf.DEFAULT_HEADROOM + 1, Mbuf.MAX_BUF_SIZE);
            case "--mbcache" -> mbcache = (int) integer(name, v, 0, Mempool.CACHE_MAX_SIZE);
            case "--max-pkt-len" -> maxPktLen = (int) integer(name, v, 64, 65535);
            case "--portmask" -> portmask = AppOptions.portmask(name + "=" + v, v);
            case "--eth-peer" -> {
                int comma = v.indexOf(',');
                if (comma < 0) throw new Bad(name, v, "expected PORT,XX:XX:XX:XX:XX:XX");
                int port = (int) integer(name, v.substring(0, comma), 0, EthDev.MAX_PORTS - 1);
                try {
                    ethPeers.add(new PeerOption(port, MacAddr.parse(v.substring(comma + 1))));
                } catch (IllegalArgumentException e) {
                    throw new Bad(name, v, "expected PORT,XX:XX:XX:XX:XX:XX");
                }
            }
            case "--rx-idle" -> rxIdle = rxIdle(name, v);
            case "--port-topology" -> {
                if (!v.equals("paired")) throw new Bad(name, v, "only paired is supported");
            }
            case "--rss-hf" -> {
                try {
                    rssHf = Offloads.rssFromName(v);
                } catch (IllegalArgumentException e) {
                    throw new Bad(name, v, "allowed ip, tcp, udp, all, none");
                }
            }
            case "--mp-alloc" -> {
                if (!v.equals("native")) throw new Bad(name, v, "only native is supported");
            }
            case "--cmdline-file" -> throw new Bad(name, v, "not supported; pipe the commands into -i instead");
            default -> integer(name, v, 0, Integer.MAX_VALUE); // thresholds and NUMA placement: checked, ignored
        }
    }

    /** Checks an --rx-idle / {@code set rx-idle} value. */
    static String rxIdle(String name, String v) {
        if (!RX_IDLE_MODES.contains(v)) throw new Bad(name, v, "allowed " + String.join(", ", RX_IDLE_MODES));
        return v;
    }

    static long integer(String name, String v, long min, long max) {
        long n;
        try {
            n = v.startsWith("0x") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new Bad(name, v, "not a number; allowed " + range(min, max));
        }
        if (n < min || n > max) throw new Bad(name, v, "allowed " + range(min, max));
        return n;
    }

    private static String range(long min, long max) {
        return max == Integer.MAX_VALUE ? ">= " + min : min + ".." + max;
    }

    private static double seconds(String name, String v, boolean zeroOk) {
        return AppOptions.seconds(name + "=" + v, v, zeroOk);
    }

    /** Parses {@code X[,Y]*} segment lengths for --txpkts and {@code set txpkts}. */
    static int[] txpkts(String name, String v) {
        String[] p = v.split(",", -1);
        if (p.length > MAX_SEGS_PER_PKT) throw new Bad(name, v, "at most " + MAX_SEGS_PER_PKT + " segments");
        int[] segs = new int[p.length];
        int total = 0;
        for (int i = 0; i < p.length; i++) {
            try {
                segs[i] = Integer.parseInt(p[i].trim());
            } catch (NumberFormatException e) {
                throw new Bad(name, v, "expected segment lengths like 64 or 64,128");
            }
            if (segs[i] < 1 || segs[i] > Mbuf.MAX_BUF_SIZE) throw new Bad(name, v, "each segment length allowed 1.." + Mbuf.MAX_BUF_SIZE);
            total += segs[i];
        }
        if (total < MIN_TX_PKT_LEN) throw new Bad(name, v, "a packet of " + total + " bytes; at least " + MIN_TX_PKT_LEN + " (Ethernet, IPv4 and UDP headers)");
        return segs;
    }

    static String join(int[] a) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < a.length; i++) sb.append(i == 0 ? "" : ",").append(a[i]);
        return sb.toString();
    }

    static String usage() {
        return """
                usage: jpdk testpmd [EAL options] -- [testpmd options]
                  -i, --interactive          run the command prompt (testpmd> ); 'help' lists commands
                  -a, --auto-start           start forwarding at once in interactive mode
                  --tx-first                 send one burst of txonly packets per stream before forwarding
                  --forward-mode=MODE        %s (default io)
                  --nb-cores=N               forwarding lcores, 1..the EAL's worker lcores (default 1)
                  --nb-ports=N               forward on the first N ports (default all)
                  --portmask=0xM             forward on the ports in the hexadecimal mask
                  --rxq=N, --txq=N           queues per port (default 1; RSS spreads rx when rxq > 1)
                  --rxd=N, --txd=N           descriptors per queue (default: the driver's)
                  --burst=N                  packets per burst, 1..%d (default %d)
                  --txpkts=X[,Y]*            segment lengths of generated packets (default 64)
                  --eth-peer=P,XX:XX:XX:XX:XX:XX  the peer MAC address of port P
                  --stats-period=S           print port statistics every S seconds (non-interactive)
                  --total-num-mbufs=N        mbufs in mb_pool_0 (default: enough for ports, queues and lcores)
                  --mbuf-size=N              buffer bytes per mbuf, headroom included (default %d)
                  --mbcache=N                per-lcore mempool cache, 0..%d (default 250)
                  --rss-ip, --rss-udp, --disable-rss   RSS hash functions, or none
                  --max-pkt-len=N            the longest frame, sets the MTU to N - 18
                  --run-seconds=S            stop after S seconds (non-interactive), then print the throughput
                  --rx-idle=MODE             busy|backoff|interrupt: what a forwarding lcore does when its rx queues
                                             are empty (jpdk's, not dpdk-testpmd's; default busy); the stop summary
                                             then shows each lcore's CPU use
                  -h, --help                 this text
                Without any argument: two net_null ports, io forwarding on one lcore for 10 seconds.
                """.formatted(String.join(", ", FwdEngines.names()), FwdConfig.MAX_PKT_BURST, FwdConfig.DEFAULT_BURST,
                Mbuf.DEFAULT_BUF_SIZE, Mempool.CACHE_MAX_SIZE);
    }
}
