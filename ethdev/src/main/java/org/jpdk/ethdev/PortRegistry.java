package org.jpdk.ethdev;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.eal.Log;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The ports of this EAL and the drivers that make them (DPDK's rte_eth_devices and the bus's
 * driver list). Ports are numbered in creation order and never renumbered; the array the data
 * path reads is replaced, never changed in place, so {@link EthDev#get} needs no lock.
 */
final class PortRegistry {
    private static final Object LOCK = new Object();
    private static volatile EthDev[] ports = new EthDev[0];
    private static List<EthDriver> drivers;

    private PortRegistry() {
    }

    static synchronized List<EthDriver> drivers() {
        if (drivers == null) {
            List<EthDriver> found = new ArrayList<>();
            ServiceLoader.load(EthDriver.class).forEach(found::add);
            found.sort((a, b) -> a.name().compareTo(b.name()));
            drivers = List.copyOf(found);
        }
        return drivers;
    }

    /** The driver for device name {@code devName}: the longest driver name or alias it starts with. */
    static EthDriver driverFor(String devName) {
        EthDriver best = null;
        int bestLen = -1;
        for (EthDriver d : drivers()) {
            List<String> names = new ArrayList<>(d.aliases());
            names.add(d.name());
            for (String n : names) {
                if (devName.startsWith(n) && n.length() > bestLen) {
                    best = d;
                    bestLen = n.length();
                }
            }
        }
        return best;
    }

    /**
     * Probes a device: the port object exists (with its id and name) before the driver's probe
     * runs, so the driver can report through it; it is published only if the probe succeeds.
     */
    static EthDev create(String deviceString) {
        Eal.current();
        Devargs args = Devargs.parse(deviceString);
        EthDriver driver = driverFor(args.name());
        if (driver == null) {
            throw new EalArgumentException("--vdev " + args.name() + ": no driver for this name; drivers: "
                    + String.join(", ", drivers().stream().map(EthDriver::name).toList()));
        }
        args.checkKeys(driver.keys());
        EthDev dev;
        synchronized (LOCK) {
            EthDev[] cur = ports;
            for (EthDev p : cur) {
                if (p.name().equals(args.name()) && p.state() != EthDev.State.CLOSED) {
                    throw new EalArgumentException("--vdev " + args.name() + ": a port of this name exists already (port " + p.id() + ")");
                }
            }
            if (cur.length >= EthDev.MAX_PORTS) {
                throw new EthDevException("--vdev " + args.name() + ": too many ports; at most " + EthDev.MAX_PORTS);
            }
            dev = new EthDev(cur.length, args, driver);
            EthDevOps ops = driver.probe(dev, args);
            if (ops == null || ops.port != dev) {
                throw new IllegalStateException("driver " + driver.name() + ": probe must return ops made for the port it was given");
            }
            dev.attach(ops);
            EthDev[] next = Arrays.copyOf(cur, cur.length + 1);
            next[dev.id()] = dev;
            ports = next;
        }
        EthDev.LOG.log(Log.INFO, "port %d: %s", dev.id(), args);
        PortEvents.raise(dev, EthEvent.NEW);
        return dev;
    }

    static EthDev get(int portId) {
        EthDev[] p = ports;
        if (portId < 0 || portId >= p.length) {
            throw new EthDevException("port " + portId + ": no such port; "
                    + (p.length == 0 ? "there are no ports (add one with --vdev net_null0)" : "ports are 0.." + (p.length - 1)));
        }
        return p[portId];
    }

    static EthDev byName(String name) {
        for (EthDev p : ports) if (p.name().equals(name) && p.state() != EthDev.State.CLOSED) return p;
        return null;
    }

    static int count() {
        return ports.length;
    }

    static List<EthDev> all() {
        List<EthDev> out = new ArrayList<>();
        for (EthDev p : ports) if (p.state() != EthDev.State.CLOSED) out.add(p);
        return out;
    }

    /** Closes every port, last first, and forgets them. */
    static void closeAll() {
        EthDev[] p;
        synchronized (LOCK) {
            p = ports;
            ports = new EthDev[0];
        }
        for (int i = p.length - 1; i >= 0; i--) {
            try {
                p[i].close();
            } catch (RuntimeException e) {
                EthDev.LOG.err("port " + i + ": close failed: " + e.getMessage());
            }
        }
    }
}
