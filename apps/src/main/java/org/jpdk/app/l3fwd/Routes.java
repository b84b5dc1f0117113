package org.jpdk.app.l3fwd;

import org.jpdk.lpm.Lpm;
import org.jpdk.net.Ipv4;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * l3fwd's routes and exact-match rules: DPDK's built-in defaults, or the rule files of DPDK's
 * {@code --rule_ipv4=FILE} / {@code --rule_ipv6=FILE} (examples/l3fwd's lpm_route_parse.c and
 * em_route_parse.c). One rule per line; a line that is empty or starts with {@code #} is skipped,
 * every other line starts with {@code R}:
 * <pre>
 * LPM:  R&lt;address&gt;/&lt;depth&gt; &lt;port&gt;                                   R198.18.0.0/24 0
 * EM:   R&lt;dst&gt; &lt;src&gt; &lt;dst port&gt; &lt;src port&gt; &lt;proto&gt; &lt;port&gt;   R198.18.0.0 198.18.0.1 9 0 0x11 0
 * </pre>
 * Fields are separated by spaces or tabs; numbers are decimal, or hex with {@code 0x}. IPv6
 * addresses are written as usual ({@code 2001:200::/64}, {@code ::ffff:198.18.0.1}). A mistake
 * is an IllegalArgumentException of one line: {@code FILE:LINE: what is wrong}.
 */
final class Routes {
    /** The largest out port a rule may name (DPDK keeps it in a uint8_t). */
    static final int MAX_PORT = 255;

    /** An LPM route; an IPv4 address is in {@code lo} (host order), an IPv6 one in both. */
    record Route(long hi, long lo, int depth, int port) {
    }

    /** An exact-match rule: 5-tuple to out port; IPv4 addresses in the low 32 bits of {@code dstLo}/{@code srcLo}. */
    record Rule(long dstHi, long dstLo, long srcHi, long srcLo, int dstPort, int srcPort, int proto, int port) {
    }

    private Routes() {
    }

    /** DPDK 22.11's default LPM routes: 198.18.&lt;i&gt;.0/24 to port i, for i in 0..15. */
    static List<Route> defaultLpm4() {
        List<Route> l = new ArrayList<>();
        for (int i = 0; i < 16; i++) l.add(new Route(0, 0xC6120000L | (long) i << 8, 24, i));
        return l;
    }

    /** DPDK 22.11's default LPM6 routes: 2001:200:0:&lt;i&gt;::/64 to port i, for i in 0..15. */
    static List<Route> defaultLpm6() {
        List<Route> l = new ArrayList<>();
        for (int i = 0; i < 16; i++) l.add(new Route(0x2001_0200_0000_0000L | i, 0, 64, i));
        return l;
    }

    /**
     * DPDK 22.11's default EM rules: 198.18.&lt;i&gt;.1 → 198.18.&lt;i&gt;.0, UDP source port i,
     * destination port 9 (discard), to port i, for i in 0..15.
     */
    static List<Rule> defaultEm4() {
        List<Rule> l = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            l.add(new Rule(0, 0xC6120000L | (long) i << 8, 0, 0xC6120001L | (long) i << 8, 9, i, Ipv4.PROTO_UDP, i));
        }
        return l;
    }

    /** DPDK 22.11's default EM6 rules: 2001:200:0:&lt;i&gt;::1 → 2001:200:0:&lt;i&gt;::, UDP i → 9, to port i. */
    static List<Rule> defaultEm6() {
        List<Rule> l = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            long hi = 0x2001_0200_0000_0000L | i;
            l.add(new Rule(hi, 0, hi, 1, 9, i, Ipv4.PROTO_UDP, i));
        }
        return l;
    }

    static List<Route> readLpm(Path file, boolean v6) {
        List<Route> l = new ArrayList<>();
        forEachLine(file, (where, f) -> {
            if (f.length != 2) throw new IllegalArgumentException(where + "want 'R<address>/<depth> <port>', found " + f.length + " fields");
            int slash = f[0].indexOf('/');
            if (slash < 0) throw new IllegalArgumentException(where + "'" + f[0] + "': want <address>/<depth>");
            String addr = f[0].substring(0, slash);
            int max = v6 ? 128 : Lpm.MAX_DEPTH;
            int depth = (int) number(where, "depth", f[0].substring(slash + 1), 1, max);
            int port = (int) number(where, "port", f[1], 0, MAX_PORT);
            if (v6) {
                long[] a = ipv6(where, addr);
                l.add(new Route(a[0], a[1], depth, port));
            } else {
                l.add(new Route(0, ipv4(where, addr) & 0xffff_ffffL, depth, port));
            }
        });
        return l;
    }

    static List<Rule> readEm(Path file, boolean v6) {
        List<Rule> l = new ArrayList<>();
        forEachLine(file, (where, f) -> {
            if (f.length != 6) {
                throw new IllegalArgumentException(where + "want 'R<dst> <src> <dst port> <src port> <proto> <port>', found "
                        + f.length + " fields");
            }
            int dport = (int) number(where, "destination port", f[2], 0, 0xffff);
            int sport = (int) number(where, "source port", f[3], 0, 0xffff);
            int proto = (int) number(where, "protocol", f[4], 0, 0xff);
            int port = (int) number(where, "port", f[5], 0, MAX_PORT);
            if (v6) {
                long[] d = ipv6(where, f[0]), s = ipv6(where, f[1]);
                l.add(new Rule(d[0], d[1], s[0], s[1], dport, sport, proto, port));
            } else {
                l.add(new Rule(0, ipv4(where, f[0]) & 0xffff_ffffL, 0, ipv4(where, f[1]) & 0xffff_ffffL, dport, sport, proto, port));
            }
        });
        return l;
    }

    private interface LineParser {
        void parse(String where, String[] fields);
    }

    private static void forEachLine(Path file, LineParser p) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + (e instanceof java.nio.file.NoSuchFileException
                    ? "no such file" : e.getMessage()));
        }
        int rules = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i), t = line.strip();
            if (t.isEmpty() || t.charAt(0) == '#') continue;
            String where = file + ":" + (i + 1) + ": ";
            if (line.charAt(0) != 'R') throw new IllegalArgumentException(where + "a rule line must start with 'R', found '" + line.charAt(0) + "'");
            String body = line.substring(1).strip();
            if (body.isEmpty()) throw new IllegalArgumentException(where + "empty rule after 'R'");
            p.parse(where, body.split("[ \t]+"));
            rules++;
        }
        if (rules == 0) throw new IllegalArgumentException(file + ": no rules (lines starting with 'R')");
    }

    private static long number(String where, String what, String s, long min, long max) {
        long v;
        try {
            v = s.startsWith("0x") || s.startsWith("0X") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
        } catch (NumberFormatException e) {
            v = Long.MIN_VALUE;
        }
        if (v < min || v > max) throw new IllegalArgumentException(where + what + " '" + s + "': want " + min + ".." + max);
        return v;
    }

    private static int ipv4(String where, String s) {
        try {
            return Lpm.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + e.getMessage());
        }
    }

    /** An IPv6 address as (hi, lo), as inet_pton: hex groups, one "::", an optional trailing dotted quad. */
    static long[] ipv6(String where, String s) {
        long[] r = parseIpv6(s);
        if (r == null) throw new IllegalArgumentException(where + "IPv6 address '" + s + "': not an address like 2001:db8::1");
        return r;
    }

    static long[] parseIpv6(String s) {
        int dc = s.indexOf("::");
        if (dc >= 0 && s.indexOf("::", dc + 1) >= 0) return null;
        String head = dc < 0 ? s : s.substring(0, dc), tail = dc < 0 ? "" : s.substring(dc + 2);
        int[] h = groups(head), t = groups(tail);
        if (h == null || t == null) return null;
        int n = h.length + t.length;
        if (dc < 0 ? n != 8 : n > 7) return null;
        int[] g = new int[8];
        System.arraycopy(h, 0, g, 0, h.length);
        System.arraycopy(t, 0, g, 8 - t.length, t.length);
        long hi = 0, lo = 0;
        for (int i = 0; i < 4; i++) hi = hi << 16 | g[i];
        for (int i = 4; i < 8; i++) lo = lo << 16 | g[i];
        return new long[]{hi, lo};
    }

    /** The 16-bit groups of one side of "::" (a dotted quad at the end counts as two); null if malformed. */
    private static int[] groups(String s) {
        if (s.isEmpty()) return new int[0];
        String[] p = s.split(":", -1);
        int last = p.length - 1;
        boolean quad = p[last].contains(".");
        int[] g = new int[p.length + (quad ? 1 : 0)];
        for (int i = 0; i < p.length; i++) {
            if (i == last && quad) {
                int v;
                try {
                    v = Lpm.parse(p[i]);
                } catch (IllegalArgumentException e) {
                    return null;
                }
                g[i] = v >>> 16;
                g[i + 1] = v & 0xffff;
                continue;
            }
            if (p[i].isEmpty() || p[i].length() > 4) return null;
            try {
                g[i] = Integer.parseInt(p[i], 16);
            } catch (NumberFormatException e) {
                return null;
            }
            if (g[i] < 0) return null;
        }
        return g;
    }
}
