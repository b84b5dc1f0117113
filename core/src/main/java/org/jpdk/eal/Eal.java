package org.jpdk.eal;

import org.jpdk.sys.Libc;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * The Environment Abstraction Layer, as DPDK's {@code rte_eal}: {@link #init} parses the EAL command
 * line, starts one pinned {@link LcoreThread} per worker lcore (parked until a function is launched),
 * makes the calling thread the main lcore, starts the service lcores and, at {@link #close}, stops
 * and joins them all and runs the cleanup hooks in reverse order. One EAL lives per process at a time;
 * after cleanup a new init is allowed. SIGINT and SIGTERM are handled by a JVM shutdown hook (no
 * {@code sun.misc.Signal}): it calls {@link #requestStop()} and gives running lcores a moment to
 * leave their loops before the JVM exits; an app that prints a summary after its loop asks it to
 * wait for cleanup as well ({@link #holdExitUntilCleanup()}).
 */
public final class Eal implements AutoCloseable {
    /** How long cleanup waits for lcore threads before naming the stuck ones. */
    public static final long DEFAULT_STOP_TIMEOUT_MS = 2000;
    private static final AtomicReference<Eal> CURRENT = new AtomicReference<>();
    private static final Path SYS_CPU = Path.of("/sys/devices/system/cpu");

    private final EalConfig config;
    private final BitSet allowed;
    private final int[] workers;
    private final LcoreWorker[] byId = new LcoreWorker[Lcore.MAX];
    private final BitSet[] cpus = new BitSet[Lcore.MAX];
    private final ServiceCores services = new ServiceCores(this);
    private final List<Runnable> cleanupHooks = new ArrayList<>();
    private final Thread mainThread = Thread.currentThread();
    private final int mainTid = Libc.gettid();
    private final BitSet mainAffinityBefore = Libc.schedGetaffinity(0);
    private final Thread signalHook = new Thread(this::onSignal, "eal-shutdown");
    private volatile boolean stop;
    private boolean closed;
    private volatile boolean holdExit;
    private final java.util.concurrent.CountDownLatch cleanedUp = new java.util.concurrent.CountDownLatch(1);

    private Eal(EalConfig config, BitSet allowed) {
        this.config = config;
        this.allowed = allowed;
        this.workers = config.workers().stream().mapToInt(Integer::intValue).toArray();
        config.cpus().forEach((l, c) -> {
            BitSet b = new BitSet();
            c.forEach(b::set);
            cpus[l] = b;
        });
    }

    /**
     * Parses {@code args} and brings the EAL up.
     *
     * @throws EalArgumentException  for a bad argument or {@code -h} (see {@link EalArgumentException#helpRequested()})
     * @throws IllegalStateException if an EAL is already live in this process
     * @throws MemoryException       if memory cannot be set up as asked (no room, limits, options
     *                               that differ from memory already set up)
     * @throws org.jpdk.sys.LinuxException if a system call the EAL needs fails (e.g. pinning a thread)
     */
    public static Eal init(String... args) {
        BitSet allowed = Libc.schedGetaffinity(0);
        EalConfig config = EalArgs.parse(allowed, args);
        Eal eal = new Eal(config, allowed);
        if (!CURRENT.compareAndSet(null, eal)) {
            throw new IllegalStateException("EAL already initialized; call cleanup() first");
        }
        try {
            eal.start();
        } catch (RuntimeException | Error e) {
            eal.cleanup();
            throw e;
        }
        return eal;
    }

    /** The live EAL, for subsystems (ethdev reads its vdevs); throws if none is. */
    public static Eal current() {
        Eal e = CURRENT.get();
        if (e == null) throw new IllegalStateException("EAL is not initialized; call Eal.init(args) first");
        return e;
    }

    private void start() {
        config.logLevels().forEach(Log::set);
        for (int l : config.cpus().keySet()) checkCpusAvailable(l, cpus[l]);
        Log.EAL.log(Log.INFO, "Detected CPU lcores: %d", allowed.cardinality());
        Lcore.bindMain(mainThread, config.mainLcore());
        Libc.schedSetaffinity(0, cpus[config.mainLcore()]);
        for (int w : workers) {
            LcoreWorker worker = new LcoreWorker(w, cpus[w], "worker");
            byId[w] = worker;
            worker.start();
        }
        for (int s : config.serviceLcores()) services.add(s, cpus[s]);
        initMemory();
        try {
            Runtime.getRuntime().addShutdownHook(signalHook);
        } catch (IllegalStateException e) { // the JVM began shutting down during init
            throw new IllegalStateException("EAL init interrupted: a signal (SIGINT/SIGTERM) arrived while starting");
        }
        initSubsystems();
        Log.EAL.log(Log.DEBUG, "main lcore %d, workers %s, service lcores %s", config.mainLcore(),
                EalArgs.join(config.workers()), EalArgs.join(config.serviceLcores()));
    }

    /**
     * Sets memory up from the EAL options, once lcores exist and before anything allocates, and
     * hands its teardown to cleanup (registered first, so it runs last). Memory that a Memzone or
     * Malloc call already set up before the EAL ran is adopted when its options are the same, and
     * refused clearly when they differ: silently keeping 4 KiB pages after --huge-dir was asked for
     * would be a lie.
     */
    private void initMemory() {
        MemoryOptions want = memoryOptions(config);
        if (EalMemory.initialised()) {
            MemoryOptions have = EalMemory.options();
            if (!have.equals(want)) {
                throw new MemoryException("memory was already set up before Eal.init (by a Memzone or Malloc call) with "
                        + have + ", but the EAL arguments ask for " + want + "; call Eal.init first, or EalMemory.shutdown()");
            }
        } else {
            EalMemory.init(want);
        }
        onCleanup(EalMemory::shutdown);
    }

    private void initSubsystems() {
        List<EalSubsystem> subsystems = new ArrayList<>();
        java.util.ServiceLoader.load(EalSubsystem.class).forEach(subsystems::add);
        subsystems.sort(java.util.Comparator.comparingInt(EalSubsystem::order));
        for (EalSubsystem s : subsystems) s.init(this);
    }

    /** The EAL options that shape memory, mapped onto {@link MemoryOptions}. */
    static MemoryOptions memoryOptions(EalConfig config) {
        long[] socketMem = config.socketMemMb().isEmpty() ? null
                : config.socketMemMb().stream().mapToLong(mb -> (long) mb << 20).toArray();
        return new MemoryOptions(socketMem == null ? config.memoryBytes() : 0, socketMem, config.noHuge(),
                config.hugeDir(), config.filePrefix(), config.inMemory(), EalMemory.IovaMode.AUTO,
                config.singleFileSegments());
    }

    void checkCpusAvailable(int lcore, BitSet want) {
        BitSet missing = (BitSet) want.clone();
        missing.andNot(allowed);
        if (!missing.isEmpty()) {
            throw new EalArgumentException("lcore " + lcore + ": CPU " + EalArgs.join(missing.stream().boxed().toList())
                    + " is not available to this process; available CPUs: "
                    + EalArgs.join(allowed.stream().boxed().toList()));
        }
    }

    public EalConfig config() {
        return config;
    }

    /** The application's arguments: those after {@code --}. */
    public List<String> appArgs() {
        return config.appArgs();
    }

    /** The count of arguments the EAL consumed, {@code --} included, as rte_eal_init's return value. */
    public int argsParsed() {
        return config.argsParsed();
    }

    /**
     * Registers {@code hook} to run at cleanup, after every lcore has stopped; hooks run in reverse
     * order of registration, so a subsystem registered later (ethdev) is torn down before the one it
     * depends on (memory).
     */
    public synchronized void onCleanup(Runnable hook) {
        if (closed) throw new IllegalStateException("EAL is cleaned up");
        cleanupHooks.add(hook);
    }

    /** The number of lcores that run application code, main included (rte_lcore_count). */
    public int lcoreCount() {
        return workers.length + 1;
    }

    public int mainLcore() {
        return config.mainLcore();
    }

    /** The worker lcore ids, ascending (RTE_LCORE_FOREACH_WORKER); a fresh array. */
    public int[] workerLcores() {
        return workers.clone();
    }

    public void forEachWorker(IntConsumer action) {
        for (int w : workers) action.accept(w);
    }

    boolean isLcore(int id) {
        return id >= 0 && id < Lcore.MAX && cpus[id] != null;
    }

    /**
     * The CPUs control threads (telemetry) run on, as DPDK's control-thread set: those this process
     * may use that no lcore is pinned to, or the main lcore's when every one is taken. A copy.
     */
    public BitSet controlCpus() {
        BitSet free = (BitSet) allowed.clone();
        for (BitSet c : cpus) {
            if (c != null) free.andNot(c);
        }
        return free.isEmpty() ? cpuSet(mainLcore()) : free;
    }

    /** Whether {@code id} is one of this EAL's lcores: main, worker or service. */
    public boolean hasLcore(int id) {
        return isLcore(id);
    }

    /** The lowest CPU the lcore is pinned to. */
    public int cpuOf(int lcore) {
        return cpuSet(lcore).nextSetBit(0);
    }

    /** The CPUs the lcore is pinned to; a copy. */
    public BitSet cpuSet(int lcore) {
        if (!isLcore(lcore)) throw new IllegalArgumentException("lcore " + lcore + " is not an EAL lcore");
        return (BitSet) cpus[lcore].clone();
    }

    /** The NUMA socket of the lcore's CPU, from sysfs; 0 on a single-node machine. */
    public int socketId(int lcore) {
        return socketOfCpu(cpuOf(lcore));
    }

    /** The NUMA socket of the calling lcore (the main one's for a non-EAL thread). */
    public int socketId() {
        int id = Lcore.id();
        return socketId(id == Lcore.ID_ANY ? mainLcore() : id);
    }

    static int socketOfCpu(int cpu) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(SYS_CPU.resolve("cpu" + cpu), "node[0-9]*")) {
            for (Path p : ds) return Integer.parseInt(p.getFileName().toString().substring(4));
        } catch (IOException | NumberFormatException e) {
            // no NUMA information: a single-node machine
        }
        return 0;
    }

    /**
     * Makes SIGINT/SIGTERM wait (at most {@code DEFAULT_STOP_TIMEOUT_MS} + 8 s) until {@link #cleanup}
     * has finished, instead of only until the lcores leave their loops, so that what the app prints
     * between its loop ending and cleanup (final statistics) is not cut off by the JVM halting.
     * The app must then reach cleanup promptly after {@link #stopRequested()} turns true.
     */
    public void holdExitUntilCleanup() {
        holdExit = true;
    }

    /** True once a stop was requested (by the app or SIGINT/SIGTERM): one volatile read, for lcore loops. */
    public boolean stopRequested() {
        return stop;
    }

    public void requestStop() {
        stop = true;
    }

    /** The service-core registry of this EAL. */
    public ServiceCores services() {
        return services;
    }

    /**
     * Runs {@code fn} on worker lcore {@code lcoreId} (rte_eal_remote_launch).
     *
     * @throws IllegalArgumentException if the lcore is the main lcore or not a worker
     * @throws IllegalStateException    if the lcore is not in state WAIT
     */
    public void remoteLaunch(LcoreFunction fn, int lcoreId) {
        worker(lcoreId).launch(fn);
    }

    /**
     * Runs {@code fn} on every worker lcore and, with CALL_MAIN, then in the calling thread as the main
     * lcore. Fails before launching anything if a worker is busy. With CALL_MAIN an exception from the
     * main lcore's call is thrown here, wrapped as from the main lcore.
     */
    public void mpRemoteLaunch(LcoreFunction fn, CallMain callMain) {
        for (int w : workers) {
            if (byId[w].state() != LcoreState.WAIT) {
                throw new IllegalStateException("lcore " + w + " is busy (" + byId[w].state() + "); mpWaitLcore() first");
            }
        }
        for (int w : workers) byId[w].launch(fn);
        if (callMain == CallMain.CALL_MAIN) {
            try {
                fn.run(mainLcore());
            } catch (Exception e) {
                throw new LcoreException(mainLcore(), e);
            }
        }
    }

    /** {@link #mpRemoteLaunch(LcoreFunction, CallMain)} with CALL_MAIN: every lcore runs {@code fn}. */
    public void mpRemoteLaunch(LcoreFunction fn) {
        mpRemoteLaunch(fn, CallMain.CALL_MAIN);
    }

    /** Waits for lcore {@code lcoreId}; returns the function's result, or 0 if nothing was launched. */
    public int waitLcore(int lcoreId) {
        return worker(lcoreId).await();
    }

    /**
     * Waits for every worker; if any function threw, throws an LcoreException for the lowest such lcore
     * with the others suppressed.
     */
    public void mpWaitLcore() {
        LcoreException first = null;
        for (int w : workers) {
            try {
                byId[w].await();
            } catch (LcoreException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    /** The same as {@link #mpWaitLcore()}. */
    public void waitAll() {
        mpWaitLcore();
    }

    public LcoreState lcoreState(int lcoreId) {
        return worker(lcoreId).state();
    }

    private LcoreWorker worker(int id) {
        if (id == mainLcore()) throw new IllegalArgumentException("lcore " + id + " is the main lcore, not a worker");
        LcoreWorker w = id >= 0 && id < Lcore.MAX ? byId[id] : null;
        if (w == null) {
            throw new IllegalArgumentException("lcore " + id + " is not a worker lcore; workers: "
                    + EalArgs.join(config.workers()));
        }
        return w;
    }

    /** Cleanup: see {@link #cleanup(long)} with {@link #DEFAULT_STOP_TIMEOUT_MS}. */
    @Override
    public void close() {
        cleanup();
    }

    public void cleanup() {
        cleanup(DEFAULT_STOP_TIMEOUT_MS);
    }

    /**
     * Requests stop, stops the service lcores, joins every lcore thread (waiting at most
     * {@code timeoutMs} in all), runs the cleanup hooks in reverse order and releases the EAL so a
     * new init may follow. Idempotent.
     *
     * @throws IllegalStateException naming the lcores whose threads did not end in time (their
     *                               launched functions do not poll {@link #stopRequested()}); the
     *                               EAL is released all the same
     */
    public void cleanup(long timeoutMs) {
        List<Runnable> hooks;
        synchronized (this) {
            if (closed) return;
            closed = true;
            hooks = new ArrayList<>(cleanupHooks);
        }
        requestStop();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        List<Integer> stuck = new ArrayList<>(services.shutdown(timeoutMs));
        for (int w : workers) {
            if (byId[w] != null) byId[w].shutdown();
        }
        for (int w : workers) {
            if (byId[w] != null && !joinUntil(byId[w].thread, deadline)) stuck.add(w);
        }
        RuntimeException hookError = null;
        for (int i = hooks.size() - 1; i >= 0; i--) {
            try {
                hooks.get(i).run();
            } catch (RuntimeException e) {
                Log.EAL.err("cleanup hook failed: " + e);
                if (hookError == null) hookError = e;
            }
        }
        try {
            Runtime.getRuntime().removeShutdownHook(signalHook);
        } catch (IllegalStateException | IllegalArgumentException e) {
            // the JVM is already shutting down, or start() failed before adding the hook
        }
        if (Thread.currentThread() == mainThread) Lcore.bindMain(null, Lcore.ID_ANY);
        try {
            Libc.schedSetaffinity(mainTid, mainAffinityBefore);
        } catch (RuntimeException e) {
            Log.EAL.log(Log.WARNING, "cannot restore the main thread's CPU affinity: %s", e.getMessage());
        }
        Log.reset();
        CURRENT.compareAndSet(this, null);
        cleanedUp.countDown();
        if (!stuck.isEmpty()) {
            stuck.sort(null);
            throw new IllegalStateException("EAL cleanup: lcore " + EalArgs.join(stuck) + " did not stop within "
                    + timeoutMs + " ms; its function does not return (does it poll stopRequested()?)");
        }
        if (hookError != null) throw hookError;
    }

    static boolean joinUntil(Thread t, long deadlineNanos) {
        try {
            long left = deadlineNanos - System.nanoTime();
            if (left > 0) t.join(TimeUnit.NANOSECONDS.toMillis(left) + 1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !t.isAlive();
    }

    private void onSignal() {
        requestStop();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEFAULT_STOP_TIMEOUT_MS);
        for (int w : workers) {
            while (byId[w].state() == LcoreState.RUNNING && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
        if (!holdExit) return;
        try {
            cleanedUp.await(TimeUnit.NANOSECONDS.toMillis(Math.max(0, deadline - System.nanoTime())) + 8000,
                    TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
