package org.jpdk.drivers.net.memif;

import org.jpdk.eal.Eal;
import org.jpdk.ethdev.EthDev;
import org.jpdk.ethdev.PortConf;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The other process of the two-process memif tests: a jpdk port from a device string, run as a
 * child JVM, that echoes every frame back ({@code echo}) or sends numbered frames as fast as the
 * ring takes them ({@code tx}). It prints {@code UP} once its link is up and stops when its stdin
 * ends or says {@code stop}, printing {@code DONE} and its counts. The tests kill it with SIGKILL
 * to play a peer that dies mid-stream.
 *
 * <pre>
 * java -cp ... org.jpdk.drivers.net.memif.MemifPeer 'net_memif0,role=client,socket=NAME' echo
 * </pre>
 */
public final class MemifPeer {
    private MemifPeer() {
    }

    /** The child command line: this JVM's java and class path. */
    static List<String> command(String devargs, String mode) {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp",
                System.getProperty("java.class.path"), MemifPeer.class.getName(), devargs, mode));
    }

    public static void main(String[] args) throws Exception {
        String devargs = args[0], mode = args[1];
        try (Eal eal = Eal.init("-l", "0", "--no-huge", "-m", "256", "--vdev", devargs)) {
            Mempool<Mbuf> pool = Mbuf.createPool("peer_pool", 8191, 256, 0, Mbuf.DEFAULT_BUF_SIZE, -1, Mempool.F_DEDICATED_MEMORY);
            EthDev port = EthDev.get(0);
            port.configure(1, 1, PortConf.defaults());
            port.rxQueueSetup(0, 0, pool);
            port.txQueueSetup(0, 0);
            port.start();
            if (!port.waitLinkUp(Duration.ofSeconds(30)).up()) {
                System.out.println("NO LINK");
                return;
            }
            System.out.println("UP");
            System.out.flush();
            var stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
                    String line;
                    while ((line = in.readLine()) != null && !line.equals("stop")) {
                        // wait
                    }
                } catch (Exception e) {
                    // stdin gone: stop
                }
                stop.set(true);
            });
            Mbuf[] burst = new Mbuf[32];
            long seq = 0, echoed = 0;
            while (!stop.get()) {
                if (mode.equals("tx")) {
                    if (!Mbuf.allocBulk(pool, burst, 0, 32)) continue;
                    for (int i = 0; i < 32; i++) {
                        burst[i].appendOffset(64);
                        burst[i].writeLong(0, seq + i);
                    }
                    int k = port.txBurst(0, burst, 32);
                    seq += k;
                    Mbuf.freeBulk(burst, k, 32 - k);
                } else {
                    int n = port.rxBurst(0, burst, 32);
                    int k = 0;
                    while (k < n && !stop.get()) k += port.txBurst(0, burst, k, n - k);
                    Mbuf.freeBulk(burst, k, n - k);
                    echoed += k;
                }
            }
            System.out.println("DONE sent " + seq + " echoed " + echoed);
            port.stop();
            EthDev.closeAll();
            pool.close();
        }
    }
}
