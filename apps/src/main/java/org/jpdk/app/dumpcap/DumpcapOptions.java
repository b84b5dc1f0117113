package org.jpdk.app.dumpcap;

import org.jpdk.pdump.Pdump;

import java.util.ArrayList;
import java.util.List;

/**
 * dpdk-dumpcap's command line (DPDK 22.11), parsed: {@link #parse} throws
 * IllegalArgumentException with a one-line message naming the option and what it allows.
 */
final class DumpcapOptions {
    /** dpdk-dumpcap 22.11's default snaplen: an mbuf's default data room. */
    static final int DEFAULT_SNAPLEN = 2176;

    String prefix = "rte";
    final List<String> interfaces = new ArrayList<>();
    String filter = "";
    int snaplen = DEFAULT_SNAPLEN;
    long packetLimit;          // 0: no limit (-c, -a packets:N)
    long durationMillis;       // 0: no limit (-a duration:N)
    long fileSizeBytes;        // 0: no limit (-a filesize:N kB)
    String file;               // null: a temporary name
    boolean quiet, list, dumpFilter, help, version, groupRead;
    String comment;

    static final String USAGE = """
            usage: jpdk dumpcap [options] ...
              captures the packets a running jpdk app receives and sends into a pcapng file,
              asking the app through its telemetry socket (as dpdk-dumpcap asks a DPDK primary)

            Capture interface:
              -i <interface>           name or port id of the interface to capture (repeatable; default: the first port)
              -f <capture filter>      packet filter in libpcap (tcpdump) syntax
              -s <snaplen>, --snapshot-length <snaplen>
                                       packet snapshot length (default 2176; copies stop at 65535)
              -p, --no-promiscuous-mode
                                       accepted; jpdk's capture never changes the port's promiscuity
              -D, --list-interfaces    print the list of interfaces and exit
              -d                       print the generated BPF code for the capture filter and exit

            Stop conditions:
              -c <packet count>        stop after n packets (default: infinite)
              -a <autostop cond.>, --autostop <autostop cond.>
                                       duration:NUM - stop after NUM seconds
                                       filesize:NUM - stop when the file reaches NUM kB
                                       packets:NUM - stop after NUM packets
            Output (files):
              -w <filename>            name of the file to write (default: a temporary file, printed)
              -g                       enable group read access on the output file
              -n                       use pcapng format (the only one written)
              --capture-comment <comment>
                                       add a capture comment to the output file

            Miscellaneous:
              --file-prefix=<prefix>   the app's --file-prefix (default rte)
              -q                       don't report packet capture counts
              -v, --version            print version information and exit
              -h, --help               display this help and exit

            Use Ctrl-C to stop capturing at any time.
            """;

    static DumpcapOptions parse(String[] args) {
        DumpcapOptions o = new DumpcapOptions();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String inline = null;
            if (a.startsWith("--") && a.indexOf('=') > 0) {
                inline = a.substring(a.indexOf('=') + 1);
                a = a.substring(0, a.indexOf('='));
            } else if (a.length() > 2 && a.charAt(0) == '-' && a.charAt(1) != '-' && "ifscawE".indexOf(a.charAt(1)) >= 0) {
                inline = a.substring(2); // -i0, -c10: getopt's attached argument
                a = a.substring(0, 2);
            }
            switch (a) {
                case "-h", "--help" -> o.help = true;
                case "-v", "--version" -> o.version = true;
                case "-D", "--list-interfaces" -> o.list = true;
                case "-d" -> o.dumpFilter = true;
                case "-q" -> o.quiet = true;
                case "-g" -> o.groupRead = true;
                case "-n", "-p", "--no-promiscuous-mode" -> {
                    // pcapng is what we write; promiscuity is the app's
                }
                case "-P" -> throw new IllegalArgumentException("-P: only pcapng is written (tshark and Wireshark read it)");
                case "--file-prefix" -> {
                    o.prefix = value(args, i, a, inline);
                    if (inline == null) i++;
                    if (o.prefix.isEmpty() || o.prefix.indexOf('/') >= 0) {
                        throw new IllegalArgumentException("--file-prefix '" + o.prefix + "': not a file prefix");
                    }
                }
                case "-i" -> {
                    String v = value(args, i, a, inline);
                    if (inline == null) i++;
                    if (v.isEmpty()) throw new IllegalArgumentException("-i: empty interface name");
                    o.interfaces.add(v);
                }
                case "-f" -> {
                    o.filter = value(args, i, a, inline);
                    if (inline == null) i++;
                }
                case "-s", "--snapshot-length" -> {
                    o.snaplen = (int) number(a, value(args, i, a, inline), 1, Pdump.MAX_SNAPLEN);
                    if (inline == null) i++;
                }
                case "-c" -> {
                    o.packetLimit = number(a, value(args, i, a, inline), 1, Long.MAX_VALUE);
                    if (inline == null) i++;
                }
                case "-a", "--autostop" -> {
                    o.autostop(value(args, i, a, inline));
                    if (inline == null) i++;
                }
                case "-w" -> {
                    o.file = value(args, i, a, inline);
                    if (inline == null) i++;
                    if (o.file.isEmpty()) throw new IllegalArgumentException("-w: empty file name");
                }
                case "--capture-comment" -> {
                    o.comment = value(args, i, a, inline);
                    if (inline == null) i++;
                }
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'; --help lists them");
            }
        }
        return o;
    }

    private void autostop(String cond) {
        int colon = cond.indexOf(':');
        String key = colon < 0 ? cond : cond.substring(0, colon);
        String v = colon < 0 ? "" : cond.substring(colon + 1);
        switch (key) {
            case "duration" -> durationMillis = Math.multiplyExact(number("-a duration", v, 1, Long.MAX_VALUE / 1000), 1000L);
            case "filesize" -> fileSizeBytes = Math.multiplyExact(number("-a filesize", v, 1, Long.MAX_VALUE / 1000), 1000L);
            case "packets" -> packetLimit = number("-a packets", v, 1, Long.MAX_VALUE);
            default -> throw new IllegalArgumentException("-a " + cond + ": expected duration:NUM, filesize:NUM or packets:NUM");
        }
    }

    private static String value(String[] args, int i, String name, String inline) {
        if (inline != null) return inline;
        if (i + 1 >= args.length) throw new IllegalArgumentException(name + ": missing value");
        return args[i + 1];
    }

    private static long number(String name, String v, long min, long max) {
        long n;
        try {
            n = Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " '" + v + "': not a number; allowed " + min + ".." + max);
        }
        if (n < min || n > max) throw new IllegalArgumentException(name + " " + n + ": allowed " + min + ".." + max);
        return n;
    }
}
