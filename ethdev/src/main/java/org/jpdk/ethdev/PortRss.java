package org.jpdk.ethdev;

/**
 * A port's receive-side scaling settings (rte_eth_rss_conf and the redirection table): which
 * hash functions, which key, and which rx queue each hash bucket goes to. Checked here against
 * the driver's {@link DevInfo}, applied through {@link EthDevOps#rssHashUpdate} and
 * {@link EthDevOps#retaUpdate}. Every method runs under the port's lock.
 */
final class PortRss {
    private final EthDev port;
    private long hf;
    private byte[] key;
    private int[] reta = new int[0];

    PortRss(EthDev port) {
        this.port = port;
    }

    /** Checks the RSS part of a configuration before anything is applied. */
    static void check(EthDev port, DevInfo info, PortConf conf) {
        long bad = conf.rssHf() & ~info.flowTypeRssOffloads();
        if (bad != 0) {
            throw port.error("RSS hash functions " + Offloads.rssNames(bad) + " requested; driver " + port.driverName() + " offers "
                    + (info.flowTypeRssOffloads() == 0 ? "none" : Offloads.rssNames(info.flowTypeRssOffloads())));
        }
        if (conf.rssKey() != null && conf.rssKey().length != info.hashKeySize()) {
            throw port.error("RSS key of " + conf.rssKey().length + " bytes; driver " + port.driverName() + " takes " + info.hashKeySize());
        }
    }

    /** Applies a checked configuration: the hash, the key, and a reta spread evenly over the rx queues. */
    void configure(DevInfo info, PortConf conf, int nbRxQueues, EthDevOps ops) {
        if (info.flowTypeRssOffloads() == 0) return;
        hf = conf.rssHf();
        if (conf.rssKey() != null) key = conf.rssKey().clone();
        if (info.retaSize() > 0) {
            reta = new int[info.retaSize()];
            for (int i = 0; i < reta.length; i++) reta[i] = nbRxQueues == 0 ? 0 : i % nbRxQueues;
            ops.retaUpdate(reta.clone());
        }
        ops.rssHashUpdate(hf, key == null ? null : key.clone());
    }

    long hashFunctions() {
        return hf;
    }

    byte[] key() {
        return key == null ? null : key.clone();
    }

    int[] reta() {
        return reta.clone();
    }

    void hashUpdate(DevInfo info, long newHf, byte[] newKey, EthDevOps ops) {
        if (info.flowTypeRssOffloads() == 0) throw port.error("RSS: driver " + port.driverName() + " has no RSS");
        long bad = newHf & ~info.flowTypeRssOffloads();
        if (bad != 0) throw port.error("RSS hash functions " + Offloads.rssNames(bad) + " not offered; driver offers " + Offloads.rssNames(info.flowTypeRssOffloads()));
        if (newKey != null && newKey.length != info.hashKeySize()) throw port.error("RSS key of " + newKey.length + " bytes; driver takes " + info.hashKeySize());
        ops.rssHashUpdate(newHf, newKey == null ? key : newKey.clone());
        hf = newHf;
        if (newKey != null) key = newKey.clone();
    }

    void retaUpdate(DevInfo info, int[] table, int nbRxQueues, EthDevOps ops) {
        if (info.retaSize() == 0) throw port.error("RSS: driver " + port.driverName() + " has no redirection table");
        if (table.length != info.retaSize()) throw port.error("reta of " + table.length + " entries; the table has " + info.retaSize());
        for (int i = 0; i < table.length; i++) {
            if (table[i] < 0 || table[i] >= nbRxQueues) {
                throw port.error("reta[" + i + "]=" + table[i] + ": not a configured rx queue (0.." + (nbRxQueues - 1) + ")");
            }
        }
        ops.retaUpdate(table.clone());
        reta = table.clone();
    }
}
