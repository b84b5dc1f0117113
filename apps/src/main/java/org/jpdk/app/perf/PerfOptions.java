package org.jpdk.app.perf;

import org.jpdk.app.AppOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** perf's command line, spdk_nvme_perf's letters: {@code -q -o -w -M -t -c -a} and the device. */
final class PerfOptions {
    /** The access patterns of spdk_nvme_perf and fio. */
    enum Pattern {
        READ(true, false), WRITE(false, false), RANDREAD(true, true), RANDWRITE(false, true), RW(true, false), RANDRW(true, true);

        final boolean reads, random;

        Pattern(boolean reads, boolean random) {
            this.reads = reads;
            this.random = random;
        }

        boolean mixed() {
            return this == RW || this == RANDRW;
        }

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    static final int MAX_DEPTH = 4096;
    static final long MAX_IO = 64L << 20;

    int depth;
    long ioSize;
    Pattern pattern;
    int readPercent = -1;
    double seconds;
    double warmup;
    String coreMask = "0x1";
    String device;
    boolean sqpoll, buffered, unregistered, noHuge, help;
    /** "busy" (poll without a break) or "interrupt" (sleep in the kernel after idlePolls empty polls). */
    String idle = "busy";
    int idlePolls = org.jpdk.bdev.QpairIdleStrategy.DEFAULT_IDLE_POLLS;

    private static final Set<String> WITH_VALUE = Set.of("-q", "-o", "-w", "-M", "-t", "-c", "-a", "--idle", "--idle-polls");

    static PerfOptions parse(List<String> args) {
        PerfOptions o = new PerfOptions();
        List<String> opts = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("-") || a.equals("-")) {
                if (o.device != null) throw new IllegalArgumentException("unexpected argument '" + a + "': one device only (" + o.device + " given)");
                o.device = a;
                continue;
            }
            opts.add(a);
            if (WITH_VALUE.contains(a) && i + 1 < args.size()) opts.add(args.get(++i));
        }
        AppOptions.walk(opts, WITH_VALUE, (name, v) -> {
            String what = name + " " + v;
            switch (name) {
                case "-h", "--help" -> o.help = true;
                case "-q" -> o.depth = (int) AppOptions.number(what, v, 1, MAX_DEPTH);
                case "-o" -> o.ioSize = size(what, v);
                case "-w" -> o.pattern = pattern(what, v);
                case "-M" -> o.readPercent = (int) AppOptions.number(what, v, 0, 100);
                case "-t" -> o.seconds = AppOptions.seconds(what, v, false);
                case "-a" -> o.warmup = AppOptions.seconds(what, v, true);
                case "-c" -> o.coreMask = mask(what, v);
                case "--idle" -> {
                    if (!v.equals("busy") && !v.equals("interrupt")) throw new IllegalArgumentException(what + ": allowed busy or interrupt");
                    o.idle = v;
                }
                case "--idle-polls" -> o.idlePolls = (int) AppOptions.number(what, v, 1, 1_000_000);
                case "--sqpoll" -> o.sqpoll = true;
                case "--buffered" -> o.buffered = true;
                case "--unregistered" -> o.unregistered = true;
                case "--no-huge" -> o.noHuge = true;
                default -> throw AppOptions.unknown(name);
            }
        });
        if (o.help) return o;
        if (o.depth == 0) throw new IllegalArgumentException("-q (queue depth per lcore) is required, e.g. -q 32; see --help");
        if (o.ioSize == 0) throw new IllegalArgumentException("-o (I/O size in bytes) is required, e.g. -o 4096; see --help");
        if (o.pattern == null) throw new IllegalArgumentException("-w (pattern) is required: read, write, randread, randwrite, rw or randrw; see --help");
        if (o.seconds == 0) throw new IllegalArgumentException("-t (seconds to run) is required, e.g. -t 10; see --help");
        if (o.device == null) throw new IllegalArgumentException("no device: name a file or block device, e.g. ./jpdk perf -q 32 -o 4096 -w randread -t 10 /dev/nvme0n1");
        if (o.readPercent >= 0 && !o.pattern.mixed()) {
            throw new IllegalArgumentException("-M " + o.readPercent + ": the read share is for -w rw or randrw, not " + o.pattern.label());
        }
        if (o.pattern.mixed() && o.readPercent < 0) o.readPercent = 50;
        if (!o.pattern.mixed()) o.readPercent = o.pattern.reads ? 100 : 0;
        return o;
    }

    /** Bytes: {@code 4096}, {@code 4k}, {@code 128K}, {@code 1M}; at least 512, at most 64 MiB. */
    static long size(String what, String v) {
        String s = v.strip();
        long mult = 1;
        char last = s.isEmpty() ? ' ' : Character.toLowerCase(s.charAt(s.length() - 1));
        if (last == 'k' || last == 'm') {
            mult = last == 'k' ? 1024 : 1 << 20;
            s = s.substring(0, s.length() - 1);
        }
        long n;
        try {
            n = Math.multiplyExact(Long.parseLong(s), mult);
        } catch (NumberFormatException | ArithmeticException e) {
            n = -1;
        }
        if (n < 512 || n > MAX_IO) throw new IllegalArgumentException(what + ": allowed 512 bytes to 64M, e.g. 4096, 4k, 128k, 1M");
        return n;
    }

    static Pattern pattern(String what, String v) {
        for (Pattern p : Pattern.values()) if (p.label().equals(v)) return p;
        throw new IllegalArgumentException(what + ": allowed read, write, randread, randwrite, rw, randrw");
    }

    static String mask(String what, String v) {
        String hex = v.startsWith("0x") || v.startsWith("0X") ? v.substring(2) : v;
        long m;
        try {
            m = Long.parseUnsignedLong(hex, 16);
        } catch (NumberFormatException e) {
            m = 0;
        }
        if (m == 0) throw new IllegalArgumentException(what + ": allowed a non-zero hexadecimal core mask, e.g. 0x1 or 0x3");
        return "0x" + Long.toHexString(m);
    }

    static String usage() {
        return """
                usage: jpdk perf -q DEPTH -o IO_SIZE -w PATTERN -t SECONDS [options] FILE_OR_DEVICE
                  as spdk_nvme_perf and bdevperf, over io_uring queue pairs: one qpair per lcore
                  -q DEPTH       requests in flight per lcore (1..4096)
                  -o IO_SIZE     bytes per I/O, a multiple of the device's block size (4096, 4k, 128k, 1M)
                  -w PATTERN     read, write, randread, randwrite, rw, randrw
                  -M READ_PCT    share of reads for rw and randrw, 0..100 (default 50)
                  -t SECONDS     how long to run (after the warm-up)
                  -a SECONDS     warm-up before measuring (default 0)
                  -c CORE_MASK   lcores doing I/O, as EAL -c (default 0x1)
                  --idle MODE    busy: poll without a break (default); interrupt: after --idle-polls
                                 empty polls (default 64) sleep until the device's completion
                                 wakes the lcore (for CPUs shared with other work)
                  --sqpoll       a kernel thread polls each submission queue (one CPU each)
                  --buffered     through the page cache instead of O_DIRECT
                  --unregistered buffers not registered with the rings (the slower path)
                  --no-huge      EAL memory on 4 KiB pages
                Prints a line a second on runs of 3 s or more, then IOPS, MiB/s and latency in
                microseconds (average, min, max, p50, p99, p99.9) per lcore, and last
                "Total : IOPS MiB/s avg min max". Writes destroy the device's data.
                """;
    }
}
