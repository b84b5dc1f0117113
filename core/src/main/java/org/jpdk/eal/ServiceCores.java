package org.jpdk.eal;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Service cores, as DPDK's {@code rte_service}: functions registered by components (a software
 * driver, a timer wheel) that dedicated service lcores call in a loop. A service runs when it is
 * registered, its runstate is on, it is mapped to a service lcore and that lcore is started. A service
 * that is not multi-thread safe runs on one lcore at a time however many it is mapped to: each call
 * first wins a compare-and-set on the service's running flag, and a loser skips it that round.
 * The loop reads a 64-bit mapping mask and the runstates (volatile reads, no locks, no allocation);
 * counters are written only by the lcore that runs the loop and read by others for statistics.
 * When a whole round does no work the lcore spins briefly, then parks for 50 µs at a time, so idle
 * service lcores do not burn a CPU shared with others.
 */
public final class ServiceCores {
    /** The most services, as RTE_SERVICE_NUM_MAX. */
    public static final int MAX_SERVICES = 64;
    private static final int SPINS_BEFORE_PARK = 1000;
    private static final long PARK_NS = 50_000;

    private final Eal eal;
    private final Service[] services = new Service[MAX_SERVICES];
    private final ServiceLcore[] lcores = new ServiceLcore[Lcore.MAX];

    ServiceCores(Eal eal) {
        this.eal = eal;
    }

    private static final class Service {
        final int id;
        final String name;
        final ServiceFunction fn;
        final boolean mtSafe;
        final AtomicBoolean executing = new AtomicBoolean();
        volatile boolean runstate;
        final long[] calls = new long[Lcore.MAX];
        final long[] nanos = new long[Lcore.MAX];

        Service(int id, String name, ServiceFunction fn, boolean mtSafe) {
            this.id = id;
            this.name = name;
            this.fn = fn;
            this.mtSafe = mtSafe;
        }
    }

    private final class ServiceLcore {
        final int id;
        final LcoreThread thread;
        volatile long mask;
        volatile boolean running;
        volatile boolean shutdown;
        volatile long loops;

        ServiceLcore(int id, BitSet cpus) {
            this.id = id;
            this.thread = new LcoreThread(id, "lcore-service-" + id, () -> loop(cpus));
        }

        private void loop(BitSet cpus) {
            try {
                org.jpdk.sys.Libc.schedSetaffinity(0, cpus);
            } catch (RuntimeException e) {
                Log.EAL.err("service lcore " + id + ": cannot pin to CPUs " + cpus + ": " + e.getMessage());
            }
            int idle = 0;
            while (!shutdown) {
                if (!running) {
                    LockSupport.parkNanos(this, PARK_NS * 20);
                    continue;
                }
                long m = mask;
                int work = 0;
                while (m != 0) {
                    int s = Long.numberOfTrailingZeros(m);
                    m &= m - 1;
                    work += runOnce(services[s], id);
                }
                loops++; // single writer: this lcore
                if (work > 0) {
                    idle = 0;
                } else if (++idle < SPINS_BEFORE_PARK) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, PARK_NS);
                }
            }
        }
    }

    private static int runOnce(Service s, int lcore) {
        if (s == null || !s.runstate) return 0;
        if (!s.mtSafe && !s.executing.compareAndSet(false, true)) return 0;
        long t0 = System.nanoTime();
        int work;
        try {
            work = s.fn.run();
        } catch (RuntimeException | Error e) {
            s.runstate = false;
            Log.EAL.err("service " + s.name + " threw on lcore " + lcore + " and was stopped: " + e);
            work = 0;
        } finally {
            if (!s.mtSafe) s.executing.set(false);
        }
        s.nanos[lcore] += System.nanoTime() - t0;
        s.calls[lcore]++;
        return work;
    }

    /** Registers a service that is not multi-thread safe; returns its id. Its runstate starts off. */
    public int register(String name, ServiceFunction fn) {
        return register(name, fn, false);
    }

    /**
     * Registers a service; {@code mtSafe} allows it to run on several lcores at once. Returns its id.
     * Its runstate starts off, as DPDK's.
     */
    public synchronized int register(String name, ServiceFunction fn, boolean mtSafe) {
        for (Service s : services) {
            if (s != null && s.name.equals(name)) throw new IllegalArgumentException("service " + name + " exists");
        }
        for (int i = 0; i < MAX_SERVICES; i++) {
            if (services[i] == null) {
                services[i] = new Service(i, name, fn, mtSafe);
                return i;
            }
        }
        throw new IllegalStateException("service " + name + ": all " + MAX_SERVICES + " service slots are taken");
    }

    /** Removes a service: unmaps it everywhere and waits until no lcore is inside it. */
    public synchronized void unregister(int serviceId) {
        Service s = service(serviceId);
        s.runstate = false;
        for (ServiceLcore l : lcores) {
            if (l != null) l.mask &= ~(1L << serviceId);
        }
        while (s.executing.get()) Thread.onSpinWait();
        services[serviceId] = null;
    }

    /** The id of the service called {@code name}, or -1. */
    public synchronized int find(String name) {
        for (Service s : services) {
            if (s != null && s.name.equals(name)) return s.id;
        }
        return -1;
    }

    public void runstateSet(int serviceId, boolean on) {
        service(serviceId).runstate = on;
    }

    public boolean runstate(int serviceId) {
        return service(serviceId).runstate;
    }

    /** Maps ({@code enabled}) or unmaps a service to a service lcore. */
    public synchronized void mapLcore(int serviceId, int lcoreId, boolean enabled) {
        service(serviceId);
        ServiceLcore l = lcore(lcoreId);
        l.mask = enabled ? l.mask | (1L << serviceId) : l.mask & ~(1L << serviceId);
    }

    public boolean isMapped(int serviceId, int lcoreId) {
        service(serviceId);
        return (lcore(lcoreId).mask & (1L << serviceId)) != 0;
    }

    /**
     * Adds a service lcore at run time, pinned to CPU {@code lcoreId}; it starts stopped. The lcore id
     * must not already be an lcore and its CPU must be one this process may use.
     */
    public synchronized void lcoreAdd(int lcoreId) {
        if (lcoreId < 0 || lcoreId >= Lcore.MAX) {
            throw new IllegalArgumentException("service lcore " + lcoreId + " out of range 0.." + (Lcore.MAX - 1));
        }
        if (eal.isLcore(lcoreId) || lcores[lcoreId] != null) {
            throw new IllegalArgumentException("lcore " + lcoreId + " is already in use");
        }
        BitSet cpu = new BitSet();
        cpu.set(lcoreId);
        eal.checkCpusAvailable(lcoreId, cpu);
        add(lcoreId, cpu);
    }

    void add(int lcoreId, BitSet cpus) {
        ServiceLcore l = new ServiceLcore(lcoreId, cpus);
        lcores[lcoreId] = l;
        l.thread.start();
    }

    public void lcoreStart(int lcoreId) {
        ServiceLcore l = lcore(lcoreId);
        l.running = true;
        LockSupport.unpark(l.thread);
    }

    /** Stops a service lcore's loop; a service call in progress completes first. */
    public void lcoreStop(int lcoreId) {
        lcore(lcoreId).running = false;
    }

    public boolean lcoreRunning(int lcoreId) {
        return lcore(lcoreId).running;
    }

    /** The service lcore ids, ascending. */
    public synchronized List<Integer> lcoreList() {
        List<Integer> ids = new ArrayList<>();
        for (ServiceLcore l : lcores) {
            if (l != null) ids.add(l.id);
        }
        return ids;
    }

    /** How many times the service was called, over all lcores. */
    public long calls(int serviceId) {
        long n = 0;
        for (long c : service(serviceId).calls) n += c;
        return n;
    }

    /** Nanoseconds spent inside the service, over all lcores. */
    public long nanos(int serviceId) {
        long n = 0;
        for (long c : service(serviceId).nanos) n += c;
        return n;
    }

    /** How many times service lcore {@code lcoreId} went round its loop. */
    public long loops(int lcoreId) {
        return lcore(lcoreId).loops;
    }

    public void dump(PrintStream out) {
        out.println("Services:");
        for (Service s : services) {
            if (s == null) continue;
            long calls = calls(s.id), ns = nanos(s.id);
            out.printf("  %d %s: runstate %s, mt_safe %s, calls %d, ns %d, ns/call %d%n", s.id, s.name,
                    s.runstate ? "on" : "off", s.mtSafe, calls, ns, calls == 0 ? 0 : ns / calls);
        }
        out.println("Service lcores:");
        for (ServiceLcore l : lcores) {
            if (l == null) continue;
            out.printf("  lcore %d: %s, loops %d, mapped 0x%x%n", l.id, l.running ? "running" : "stopped", l.loops,
                    l.mask);
        }
    }

    /** Stops every service lcore and joins its thread; returns the ids of those that did not end in time. */
    List<Integer> shutdown(long timeoutMs) {
        List<Integer> stuck = new ArrayList<>();
        for (ServiceLcore l : lcores) {
            if (l == null) continue;
            l.running = false;
            l.shutdown = true;
            LockSupport.unpark(l.thread);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        for (ServiceLcore l : lcores) {
            if (l == null) continue;
            if (!Eal.joinUntil(l.thread, deadline)) stuck.add(l.id);
        }
        return stuck;
    }

    private Service service(int id) {
        Service s = id >= 0 && id < MAX_SERVICES ? services[id] : null;
        if (s == null) throw new IllegalArgumentException("service " + id + " is not registered");
        return s;
    }

    private ServiceLcore lcore(int id) {
        ServiceLcore l = id >= 0 && id < Lcore.MAX ? lcores[id] : null;
        if (l == null) {
            throw new IllegalArgumentException("lcore " + id + " is not a service lcore; service lcores: "
                    + EalArgs.join(lcoreList()));
        }
        return l;
    }
}
