package org.jpdk.bpf;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A compiler of tcpdump filter expressions (pcap-filter(7)) to classic BPF for Ethernet frames,
 * with libpcap's meaning of each primitive, so that a filter selects the packets tcpdump's would:
 *
 * <ul>
 * <li>{@code [src|dst|src or dst|src and dst] [ip|ip6|arp|rarp] host A}, {@code net A[/len]},
 *     {@code net A mask M}; {@code host} of an IPv4 address also matches ARP/RARP sender and
 *     target, as libpcap's;</li>
 * <li>{@code [tcp|udp|sctp] [src|dst] port N}, {@code portrange N-M}: IPv4 (not for fragments
 *     after the first) and IPv6;</li>
 * <li>{@code ether host|src|dst M}, {@code ether proto N}, {@code ether broadcast|multicast};</li>
 * <li>{@code vlan [id]}: a tag at the current link offset; the tests after it look 4 bytes
 *     further, as libpcap's;</li>
 * <li>{@code ip}, {@code ip6}, {@code arp}, {@code rarp}, {@code tcp}, {@code udp}, {@code sctp},
 *     {@code icmp}, {@code icmp6}, {@code [ip|ip6] proto N} (IPv6 looks through one fragment
 *     header, as libpcap's);</li>
 * <li>{@code less N}, {@code greater N}; relations {@code > < >= <= = !=} between arithmetic
 *     expressions of {@code + - * / % & | ^ << >>}, numbers, {@code len} and packet bytes
 *     {@code proto[off]} or {@code proto[off:size]} (size 1, 2 or 4) for ether, ip, ip6, arp,
 *     tcp, udp, icmp, icmp6, sctp; the named offsets and flags {@code tcpflags},
 *     {@code icmptype}, {@code tcp-syn}, {@code icmp-echo}...;</li>
 * <li>{@code not} ({@code !}), {@code and} ({@code &&}), {@code or} ({@code ||}) with equal
 *     precedence, left to right, as tcpdump's; parentheses; an id after {@code and}/{@code or}
 *     takes the qualifiers before it ({@code host a or b}).</li>
 * </ul>
 *
 * An expression it cannot compile is a {@link BpfException} that quotes it and points at the word.
 * The result accepts with 262144 (tcpdump's snapshot length) and rejects with 0.
 */
public final class PcapFilter {
    public static final int SNAPLEN = 262144;
    private static final int ETH_IP = 0x800, ETH_IP6 = 0x86dd, ETH_ARP = 0x806, ETH_RARP = 0x8035;
    private static final int[] VLAN_TPIDS = {0x8100, 0x88a8, 0x9100};
    private static final Map<String, Integer> CONSTANTS = Map.ofEntries(
            Map.entry("tcpflags", 13), Map.entry("icmptype", 0), Map.entry("icmpcode", 1), Map.entry("icmp6type", 0), Map.entry("icmp6code", 1),
            Map.entry("tcp-fin", 0x01), Map.entry("tcp-syn", 0x02), Map.entry("tcp-rst", 0x04), Map.entry("tcp-push", 0x08),
            Map.entry("tcp-ack", 0x10), Map.entry("tcp-urg", 0x20), Map.entry("tcp-ece", 0x40), Map.entry("tcp-cwr", 0x80),
            Map.entry("icmp-echoreply", 0), Map.entry("icmp-unreach", 3), Map.entry("icmp-sourcequench", 4), Map.entry("icmp-redirect", 5),
            Map.entry("icmp-echo", 8), Map.entry("icmp-routeradvert", 9), Map.entry("icmp-routersolicit", 10), Map.entry("icmp-timxceed", 11),
            Map.entry("icmp-paramprob", 12), Map.entry("icmp-tstamp", 13), Map.entry("icmp-tstampreply", 14), Map.entry("icmp-ireq", 15),
            Map.entry("icmp-ireqreply", 16), Map.entry("icmp-maskreq", 17), Map.entry("icmp-maskreply", 18),
            Map.entry("icmp6-destinationunreach", 1), Map.entry("icmp6-packettoobig", 2), Map.entry("icmp6-timeexceeded", 3),
            Map.entry("icmp6-parameterproblem", 4), Map.entry("icmp6-echo", 128), Map.entry("icmp6-echoreply", 129),
            Map.entry("icmp6-routersolicit", 133), Map.entry("icmp6-routeradvert", 134), Map.entry("icmp6-neighborsolicit", 135),
            Map.entry("icmp6-neighboradvert", 136), Map.entry("icmp6-redirect", 137));
    private static final Map<String, Integer> PROTOS = Map.of("icmp", 1, "igmp", 2, "tcp", 6, "udp", 17, "icmp6", 58, "sctp", 132, "esp", 50, "ah", 51, "gre", 47);
    private static final Map<String, Integer> PORTS = Map.ofEntries(Map.entry("ftp", 21), Map.entry("ssh", 22), Map.entry("telnet", 23),
            Map.entry("smtp", 25), Map.entry("domain", 53), Map.entry("bootps", 67), Map.entry("bootpc", 68), Map.entry("http", 80),
            Map.entry("ntp", 123), Map.entry("snmp", 161), Map.entry("bgp", 179), Map.entry("https", 443));

    // ---- the boolean tree

    private sealed interface Node {
    }

    /** Instructions that leave a value in A (and maybe X), then a jump: taken is "true". */
    private record Test(List<Cbpf.Insn> pre, int jop, int k) implements Node {
    }

    private record And(Node a, Node b) implements Node {
    }

    private record Or(Node a, Node b) implements Node {
    }

    private record Not(Node a) implements Node {
    }

    private record Const(boolean value) implements Node {
    }

    private static Node and(Node... n) {
        Node r = n[0];
        for (int i = 1; i < n.length; i++) r = new And(r, n[i]);
        return r;
    }

    private static Node or(Node... n) {
        Node r = n[0];
        for (int i = 1; i < n.length; i++) r = new Or(r, n[i]);
        return r;
    }

    private static Cbpf.Insn ins(int code, int k) {
        return new Cbpf.Insn(code, 0, 0, k);
    }

    private static Node cmp(int size, int off, int jop, int k) {
        return new Test(List.of(ins(Cbpf.LD | Cbpf.ABS | size, off)), jop, k);
    }

    private static Node cmpMasked(int size, int off, int mask, int k) {
        return new Test(List.of(ins(Cbpf.LD | Cbpf.ABS | size, off), ins(Cbpf.ALU | 0x50, mask)), 0x10, k);
    }

    // ---- the parser

    private final String text;
    private final List<String> toks = new ArrayList<>();
    private final List<Integer> cols = new ArrayList<>();
    private int pos;
    /** Where the network layer starts: 14, plus 4 for each {@code vlan} parsed so far. */
    private int l2 = 14;
    private List<String> lastQualifiers = List.of();

    private PcapFilter(String text) {
        this.text = text;
        tokenize();
    }

    /** Compiles {@code expression} (empty: accept everything). */
    public static Cbpf compile(String expression) {
        PcapFilter p = new PcapFilter(expression);
        Node n = p.toks.isEmpty() ? new Const(true) : p.expression();
        if (p.pos < p.toks.size()) throw p.error("unexpected '" + p.toks.get(p.pos) + "'");
        return new Cbpf(p.generate(n));
    }

    private BpfException error(String why) {
        int col = pos < cols.size() ? cols.get(pos) : text.length();
        return new BpfException("filter '" + text + "': " + why + " at column " + (col + 1) + "\n  " + text + "\n  " + " ".repeat(col) + "^");
    }

    private void tokenize() {
        String s = text;
        int i = 0;
        while (i < s.length()) {
            char ch = s.charAt(i);
            if (Character.isWhitespace(ch)) {
                i++;
                continue;
            }
            int start = i;
            if (Character.isLetterOrDigit(ch) || ch == '_' || ch == '.' || (ch == ':' && i + 1 < s.length() && s.charAt(i + 1) == ':')) {
                while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || "_.-:/\\".indexOf(s.charAt(i)) >= 0)) {
                    // ':' inside an address, not in "ip[2:2]" (a word before ':' there is a number and a '[' precedes)
                    if (s.charAt(i) == ':' && insideBracket(s, start)) break;
                    i++;
                }
            } else if (ch == '\\') {
                i++;
                while (i < s.length() && Character.isLetterOrDigit(s.charAt(i))) i++;
            } else {
                String two = i + 1 < s.length() ? s.substring(i, i + 2) : "";
                i += List.of("&&", "||", "<=", ">=", "!=", "==", "<<", ">>").contains(two) ? 2 : 1;
            }
            toks.add(s.substring(start, i));
            cols.add(start);
        }
    }

    private static boolean insideBracket(String s, int at) {
        int open = s.lastIndexOf('[', at), close = s.lastIndexOf(']', at);
        return open > close;
    }

    private String peek() {
        return pos < toks.size() ? toks.get(pos) : null;
    }

    private boolean accept(String... words) {
        String t = peek();
        if (t == null) return false;
        for (String w : words) {
            if (t.equalsIgnoreCase(w)) {
                pos++;
                return true;
            }
        }
        return false;
    }

    private void expect(String w) {
        if (!accept(w)) throw error("expected '" + w + "'" + (peek() == null ? " but the expression ends" : " not '" + peek() + "'"));
    }

    /** expr := term ((and|or) term)*, left to right with equal precedence. */
    private Node expression() {
        Node n = term();
        while (true) {
            if (accept("and", "&&")) n = new And(n, termOrInherited());
            else if (accept("or", "||")) n = new Or(n, termOrInherited());
            else return n;
        }
    }

    /** After and/or, a bare id takes the previous primitive's qualifiers. */
    private Node termOrInherited() {
        String t = peek();
        if (t != null && !lastQualifiers.isEmpty() && isId(t)) {
            return primitive(new ArrayList<>(lastQualifiers));
        }
        return term();
    }

    private static final List<String> KEYWORDS = List.of("and", "or", "not", "host", "net", "port", "portrange", "src", "dst", "ether", "ip", "ip6",
            "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6", "proto", "vlan", "less", "greater", "len", "broadcast", "multicast", "mask",
            "igmp", "gateway");

    private boolean isId(String t) {
        if (KEYWORDS.contains(t.toLowerCase(Locale.ROOT))) return false;
        if (!(Character.isLetterOrDigit(t.charAt(0)) || t.startsWith("::"))) return false;
        // a number followed by an operator is arithmetic, not an id
        String next = pos + 1 < toks.size() ? toks.get(pos + 1) : null;
        return next == null || next.equalsIgnoreCase("and") || next.equalsIgnoreCase("or") || next.equals("&&") || next.equals("||") || next.equals(")");
    }

    private Node term() {
        if (accept("not", "!")) return new Not(term());
        if ("(".equals(peek())) {
            int save = pos, saveL2 = l2;
            try {
                return relation();
            } catch (BpfException e) {
                pos = save;
                l2 = saveL2;
            }
            pos++;
            Node n = expression();
            expect(")");
            return n;
        }
        return primitive(new ArrayList<>());
    }

    private Node primitive(List<String> quals) {
        int start = pos;
        // qualifiers: proto, direction, type
        while (true) {
            String t = peek();
            if (t == null) break;
            String w = t.toLowerCase(Locale.ROOT);
            if (List.of("ether", "ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6").contains(w)) {
                if (pos + 1 < toks.size() && toks.get(pos + 1).equals("[")) return relation();
                pos++;
                quals.removeIf(q -> q.startsWith("proto:"));
                quals.add("proto:" + w);
            } else if (w.equals("src") || w.equals("dst")) {
                pos++;
                quals.removeIf(q -> q.startsWith("dir:"));
                if (accept("or")) {
                    expectDir();
                    quals.add("dir:any");
                } else if (accept("and")) {
                    expectDir();
                    quals.add("dir:all");
                } else {
                    quals.add("dir:" + w);
                }
            } else {
                break;
            }
        }
        String proto = qual(quals, "proto:"), dir = qual(quals, "dir:");
        String t = peek();
        String w = t == null ? "" : t.toLowerCase(Locale.ROOT);
        switch (w) {
            case "host", "net", "port", "portrange" -> {
                pos++;
                quals.removeIf(q -> q.startsWith("type:"));
                quals.add("type:" + w);
                return qualified(quals);
            }
            case "proto" -> {
                pos++;
                int n = protoNumber();
                lastQualifiers = List.of();
                return proto == null ? or(ipProto(n), ip6Proto(n)) : switch (proto) {
                    case "ip" -> ipProto(n);
                    case "ip6" -> ip6Proto(n);
                    case "ether" -> etherType(n);
                    default -> throw error("'" + proto + " proto' is not supported");
                };
            }
            case "broadcast", "multicast" -> {
                pos++;
                if (proto != null && !proto.equals("ether")) throw error("'" + proto + " " + w + "' is not supported (only ether)");
                return w.equals("broadcast") ? and(cmp(Cbpf.W, 2, 0x10, -1), cmp(Cbpf.H, 0, 0x10, 0xffff)) : cmpMasked(Cbpf.B, 0, 1, 1);
            }
            case "vlan" -> {
                if (proto != null || dir != null) throw error("'vlan' takes no qualifiers");
                pos++;
                Node tag = or(cmp(Cbpf.H, l2 - 2, 0x10, VLAN_TPIDS[0]), cmp(Cbpf.H, l2 - 2, 0x10, VLAN_TPIDS[1]), cmp(Cbpf.H, l2 - 2, 0x10, VLAN_TPIDS[2]));
                String id = peek();
                if (id != null && Character.isDigit(id.charAt(0))) {
                    pos++;
                    tag = and(tag, cmpMasked(Cbpf.H, l2, 0xfff, (int) number(id)));
                }
                l2 += 4;
                lastQualifiers = List.of();
                return tag;
            }
            case "less", "greater" -> {
                if (proto != null || dir != null) throw error("'" + w + "' takes no qualifiers");
                pos++;
                int n = (int) number(next("a length"));
                Node gt = new Test(List.of(ins(Cbpf.LD | Cbpf.LEN, 0)), w.equals("less") ? 0x20 : 0x30, n);
                lastQualifiers = List.of();
                return w.equals("less") ? new Not(gt) : gt;
            }
            default -> {
            }
        }
        if (qual(quals, "type:") != null) return qualified(quals); // inherited: "host a or b"
        if (dir != null) {
            quals.add("type:host");
            return qualified(quals);
        }
        if (proto != null) {
            lastQualifiers = List.of();
            return switch (proto) {
                case "ether" -> throw error("'ether' needs host, src, dst, proto, broadcast or multicast");
                case "ip" -> etherType(ETH_IP);
                case "ip6" -> etherType(ETH_IP6);
                case "arp" -> etherType(ETH_ARP);
                case "rarp" -> etherType(ETH_RARP);
                case "icmp" -> ipProto(1);
                case "icmp6" -> ip6Proto(58);
                default -> or(ipProto(PROTOS.get(proto)), ip6Proto(PROTOS.get(proto)));
            };
        }
        if (t != null && (Character.isDigit(t.charAt(0)) || t.equals("(") || w.equals("len") || t.equals("-"))) {
            pos = start;
            return relation();
        }
        if (t != null && isId(t) && start == pos) {
            quals.add("type:host");
            return qualified(quals);
        }
        throw error(t == null ? "the expression ends too early" : "unknown word '" + t + "'");
    }

    private void expectDir() {
        if (!accept("src", "dst")) throw error("expected src or dst");
    }

    private static String qual(List<String> q, String kind) {
        for (String s : q) if (s.startsWith(kind)) return s.substring(kind.length());
        return null;
    }

    private String next(String what) {
        String t = peek();
        if (t == null) throw error("expected " + what);
        pos++;
        return t;
    }

    private long number(String t) {
        try {
            String s = t.toLowerCase(Locale.ROOT);
            long v = s.startsWith("0x") ? Long.parseLong(s.substring(2), 16) : s.length() > 1 && s.startsWith("0") ? Long.parseLong(s.substring(1), 8) : Long.parseLong(s);
            if (v > 0xffffffffL) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            pos--;
            throw error("'" + t + "' is not a number");
        }
    }

    private int protoNumber() {
        String t = next("a protocol");
        String n = t.startsWith("\\") ? t.substring(1) : t;
        Integer p = PROTOS.get(n.toLowerCase(Locale.ROOT));
        if (p != null) return p;
        if (n.equalsIgnoreCase("ip")) return ETH_IP;
        if (n.equalsIgnoreCase("ip6")) return ETH_IP6;
        if (n.equalsIgnoreCase("arp")) return ETH_ARP;
        if (n.equalsIgnoreCase("rarp")) return ETH_RARP;
        return (int) number(t);
    }

    /** host/net/port/portrange with their qualifiers; the id follows. */
    private Node qualified(List<String> quals) {
        lastQualifiers = List.copyOf(quals);
        String proto = qual(quals, "proto:"), dir = qual(quals, "dir:"), type = qual(quals, "type:");
        if (dir == null) dir = "any";
        String id = next("an address or number after '" + type + "'");
        return switch (type) {
            case "host", "net" -> {
                if ("ether".equals(proto)) {
                    if (type.equals("net")) throw error("'ether net' is not supported");
                    long mac = mac(id);
                    yield direction(dir, etherAddr(6, mac), etherAddr(0, mac));
                }
                if (id.contains(":")) {
                    if (proto != null && !proto.equals("ip6")) throw error("an IPv6 address with '" + proto + "'");
                    yield and(etherType(ETH_IP6), ip6Addr(dir, id, type.equals("net")));
                }
                long[] am = ipv4(id, type.equals("net"));
                if (type.equals("net") && accept("mask")) am[1] = ipv4(next("a mask"), false)[0];
                if ((am[0] & ~am[1]) != 0) {
                    pos--;
                    throw error("non-network bits set in '" + id + "'");
                }
                int a = (int) am[0], m = (int) am[1];
                Node ip = and(etherType(ETH_IP), direction(dir, addr(l2 + 12, a, m), addr(l2 + 16, a, m)));
                Node arp = and(or(etherType(ETH_ARP), etherType(ETH_RARP)), direction(dir, addr(l2 + 14, a, m), addr(l2 + 24, a, m)));
                if (proto == null) yield or(ip, arp);
                yield switch (proto) {
                    case "ip" -> ip;
                    case "arp", "rarp" -> and(etherType(proto.equals("arp") ? ETH_ARP : ETH_RARP), direction(dir, addr(l2 + 14, a, m), addr(l2 + 24, a, m)));
                    default -> throw error("'" + proto + " " + type + "' is not supported");
                };
            }
            default -> { // port, portrange
                int lo, hi;
                if (type.equals("port")) {
                    lo = hi = port(id);
                } else {
                    int dash = id.indexOf('-', 1);
                    if (dash < 0) throw error("a port range is N-M, not '" + id + "'");
                    lo = port(id.substring(0, dash));
                    hi = port(id.substring(dash + 1));
                    if (lo > hi) {
                        int t = lo;
                        lo = hi;
                        hi = t;
                    }
                }
                int[] protos = proto == null ? new int[]{132, 6, 17} : switch (proto) {
                    case "tcp" -> new int[]{6};
                    case "udp" -> new int[]{17};
                    case "sctp" -> new int[]{132};
                    case "ip", "ip6" -> new int[]{132, 6, 17};
                    default -> throw error("'" + proto + " " + type + "' is not supported");
                };
                Node v4 = and(etherType(ETH_IP), anyOf(l2 + 9, protos), notFragment(), direction(dir, portTest(true, 0, lo, hi), portTest(true, 2, lo, hi)));
                Node v6 = and(etherType(ETH_IP6), anyOf(l2 + 6, protos), direction(dir, portTest(false, 0, lo, hi), portTest(false, 2, lo, hi)));
                if ("ip".equals(proto)) yield v4;
                if ("ip6".equals(proto)) yield v6;
                yield or(v4, v6);
            }
        };
    }

    private int port(String s) {
        Integer named = PORTS.get(s.toLowerCase(Locale.ROOT));
        if (named != null) return named;
        long v;
        try {
            v = Long.parseLong(s);
        } catch (NumberFormatException e) {
            pos--;
            throw error("unknown port '" + s + "'");
        }
        if (v > 65535) {
            pos--;
            throw error("port " + v + " is over 65535");
        }
        return (int) v;
    }

    private Node direction(String dir, Node src, Node dst) {
        return switch (dir) {
            case "src" -> src;
            case "dst" -> dst;
            case "all" -> and(src, dst);
            default -> or(src, dst);
        };
    }

    private Node etherType(int type) {
        return cmp(Cbpf.H, l2 - 2, 0x10, type);
    }

    private Node anyOf(int off, int[] values) {
        Node n = cmp(Cbpf.B, off, 0x10, values[0]);
        for (int i = 1; i < values.length; i++) n = or(n, cmp(Cbpf.B, off, 0x10, values[i]));
        return n;
    }

    private Node notFragment() {
        return new Not(new Test(List.of(ins(Cbpf.LD | Cbpf.ABS | Cbpf.H, l2 + 6)), 0x40, 0x1fff));
    }

    private Node ipProto(int n) {
        return and(etherType(ETH_IP), cmp(Cbpf.B, l2 + 9, 0x10, n));
    }

    private Node ip6Proto(int n) {
        return and(etherType(ETH_IP6), or(cmp(Cbpf.B, l2 + 6, 0x10, n), and(cmp(Cbpf.B, l2 + 6, 0x10, 44), cmp(Cbpf.B, l2 + 40, 0x10, n))));
    }

    private Node portTest(boolean v4, int which, int lo, int hi) {
        List<Cbpf.Insn> pre = v4 ? List.of(ins(Cbpf.LDX | Cbpf.MSH | Cbpf.B, l2), ins(Cbpf.LD | Cbpf.IND | Cbpf.H, l2 + which))
                : List.of(ins(Cbpf.LD | Cbpf.ABS | Cbpf.H, l2 + 40 + which));
        if (lo == hi) return new Test(pre, 0x10, lo);
        return and(new Test(pre, 0x30, lo), new Not(new Test(pre, 0x20, hi)));
    }

    private Node addr(int off, int a, int mask) {
        return mask == -1 ? cmp(Cbpf.W, off, 0x10, a) : cmpMasked(Cbpf.W, off, mask, a);
    }

    private Node etherAddr(int off, long mac) {
        return and(cmp(Cbpf.W, off + 2, 0x10, (int) mac), cmp(Cbpf.H, off, 0x10, (int) (mac >>> 32) & 0xffff));
    }

    private long mac(String s) {
        String[] p = s.split("[:.-]");
        if (p.length != 6) {
            pos--;
            throw error("'" + s + "' is not an Ethernet address");
        }
        long v = 0;
        for (String b : p) {
            try {
                v = v << 8 | Integer.parseInt(b, 16) & 0xff;
            } catch (NumberFormatException e) {
                pos--;
                throw error("'" + s + "' is not an Ethernet address");
            }
        }
        return v;
    }

    /** {address, mask}: a dotted quad, or for a net a shorter one (10.1 is 10.1.0.0/16) or a /len. */
    private long[] ipv4(String s, boolean net) {
        String a = s;
        int len = -1;
        int slash = s.indexOf('/');
        if (slash >= 0) {
            a = s.substring(0, slash);
            try {
                len = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                len = 99;
            }
            if (len > 32 || !net) {
                pos--;
                throw error("bad prefix in '" + s + "'");
            }
        }
        String[] p = a.split("\\.", -1);
        if (p.length > 4 || (!net && p.length != 4)) {
            pos--;
            throw error("'" + s + "' is not an IPv4 address");
        }
        long v = 0;
        for (String b : p) {
            int x;
            try {
                x = Integer.parseInt(b);
            } catch (NumberFormatException e) {
                x = -1;
            }
            if (x < 0 || x > 255) {
                pos--;
                throw error("'" + s + "' is not an IPv4 address (unknown host names are not resolved)");
            }
            v = v << 8 | x;
        }
        v <<= 8 * (4 - p.length);
        if (len < 0) len = net ? 8 * p.length : 32;
        long mask = len == 0 ? 0 : (0xffffffffL << (32 - len)) & 0xffffffffL;
        return new long[]{v, mask};
    }

    private Node ip6Addr(String dir, String s, boolean net) {
        int len = 128;
        String a = s;
        int slash = s.indexOf('/');
        if (slash >= 0) {
            a = s.substring(0, slash);
            len = Integer.parseInt(s.substring(slash + 1));
        }
        byte[] b;
        try {
            b = java.net.InetAddress.getByName("[" + a + "]").getAddress();
        } catch (Exception e) {
            b = null;
        }
        if (b == null || b.length != 16 || len > 128 || (!net && len != 128)) {
            pos--;
            throw error("'" + s + "' is not an IPv6 address");
        }
        Node[] src = new Node[4], dst = new Node[4];
        int words = 0;
        for (int w = 0; w < 4; w++) {
            int bits = Math.max(0, Math.min(32, len - 32 * w));
            if (bits == 0) break;
            int m = bits == 32 ? -1 : (int) ((0xffffffffL << (32 - bits)) & 0xffffffffL);
            int v = ((b[4 * w] & 0xff) << 24 | (b[4 * w + 1] & 0xff) << 16 | (b[4 * w + 2] & 0xff) << 8 | (b[4 * w + 3] & 0xff)) & m;
            src[w] = addr(l2 + 8 + 4 * w, v, m);
            dst[w] = addr(l2 + 24 + 4 * w, v, m);
            words++;
        }
        if (words == 0) return new Const(true);
        return direction(dir, and(java.util.Arrays.copyOf(src, words)), and(java.util.Arrays.copyOf(dst, words)));
    }

    // ---- relations and arithmetic

    /** A value computed into A, with the guards its packet loads need (the protocol must be there). */
    private record Value(List<Cbpf.Insn> code, List<Node> guards, Long constant) {
    }

    private int scratch;

    private Node relation() {
        lastQualifiers = List.of();
        Value a = arith();
        String op = peek();
        if (op == null || !List.of(">", "<", ">=", "<=", "=", "==", "!=").contains(op)) throw error("expected a relation (> < >= <= = !=)");
        pos++;
        Value b = arith();
        List<Cbpf.Insn> pre = new ArrayList<>();
        int jop = switch (op) {
            case ">", "<=" -> 0x20;
            case ">=", "<" -> 0x30;
            default -> 0x10;
        };
        Test t;
        if (b.constant() != null) {
            pre.addAll(a.code());
            t = new Test(pre, jop, (int) (long) b.constant());
        } else {
            int m = scratchSlot();
            pre.addAll(b.code());
            pre.add(ins(Cbpf.ST, m));
            pre.addAll(a.code());
            pre.add(ins(Cbpf.LDX | Cbpf.MEM, m));
            t = new Test(pre, jop | Cbpf.X, 0);
        }
        Node n = op.equals("<") || op.equals("<=") || op.equals("!=") ? new Not(t) : t;
        List<Node> guards = new ArrayList<>(a.guards());
        guards.addAll(b.guards());
        for (int i = guards.size() - 1; i >= 0; i--) n = new And(guards.get(i), n);
        return n;
    }

    private int scratchSlot() {
        if (scratch >= Cbpf.MEMWORDS) throw error("expression too complex (more than 16 intermediate values)");
        return scratch++;
    }

    private static final List<List<String>> LEVELS = List.of(List.of("|"), List.of("^"), List.of("&"), List.of("<<", ">>"), List.of("+", "-"), List.of("*", "/", "%"));

    private Value arith() {
        return arith(0);
    }

    private Value arith(int level) {
        if (level == LEVELS.size()) return unary();
        Value a = arith(level + 1);
        while (peek() != null && LEVELS.get(level).contains(peek())) {
            String op = next("an operator");
            Value b = arith(level + 1);
            a = binary(op, a, b);
        }
        return a;
    }

    private Value binary(String op, Value a, Value b) {
        int aluOp = switch (op) {
            case "+" -> 0x00;
            case "-" -> 0x10;
            case "*" -> 0x20;
            case "/" -> 0x30;
            case "|" -> 0x40;
            case "&" -> 0x50;
            case "<<" -> 0x60;
            case ">>" -> 0x70;
            case "%" -> 0x90;
            default -> 0xa0;
        };
        List<Node> guards = new ArrayList<>(a.guards());
        guards.addAll(b.guards());
        if (a.constant() != null && b.constant() != null) {
            int x = (int) (long) a.constant(), y = (int) (long) b.constant();
            if ((aluOp == 0x30 || aluOp == 0x90) && y == 0) throw error("division by zero");
            long v = switch (aluOp) {
                case 0x00 -> x + y;
                case 0x10 -> x - y;
                case 0x20 -> x * y;
                case 0x30 -> Integer.divideUnsigned(x, y);
                case 0x40 -> x | y;
                case 0x50 -> x & y;
                case 0x60 -> (y & 0xffffffffL) >= 32 ? 0 : x << y;
                case 0x70 -> (y & 0xffffffffL) >= 32 ? 0 : x >>> y;
                case 0x90 -> Integer.remainderUnsigned(x, y);
                default -> x ^ y;
            } & 0xffffffffL;
            return new Value(List.of(ins(Cbpf.LD | Cbpf.IMM, (int) v)), guards, v);
        }
        List<Cbpf.Insn> code = new ArrayList<>();
        if (b.constant() != null) {
            if ((aluOp == 0x30 || aluOp == 0x90) && b.constant() == 0) throw error("division by zero");
            code.addAll(a.code());
            code.add(ins(Cbpf.ALU | aluOp, (int) (long) b.constant()));
        } else {
            int m = scratchSlot();
            code.addAll(b.code());
            code.add(ins(Cbpf.ST, m));
            code.addAll(a.code());
            code.add(ins(Cbpf.LDX | Cbpf.MEM, m));
            code.add(ins(Cbpf.ALU | aluOp | Cbpf.X, 0));
        }
        return new Value(code, guards, null);
    }

    private Value unary() {
        String t = peek();
        if (t == null) throw error("expected a value");
        if (t.equals("-")) {
            pos++;
            Value v = unary();
            if (v.constant() != null) return constant((-v.constant()) & 0xffffffffL);
            List<Cbpf.Insn> code = new ArrayList<>(v.code());
            code.add(ins(Cbpf.ALU | 0x80, 0));
            return new Value(code, v.guards(), null);
        }
        if (t.equals("(")) {
            pos++;
            Value v = arith();
            expect(")");
            return v;
        }
        String w = t.toLowerCase(Locale.ROOT);
        if (w.equals("len")) {
            pos++;
            return new Value(List.of(ins(Cbpf.LD | Cbpf.LEN, 0)), List.of(), null);
        }
        if (CONSTANTS.containsKey(w)) {
            pos++;
            return constant(CONSTANTS.get(w));
        }
        if (Character.isDigit(t.charAt(0))) {
            pos++;
            return constant(number(t));
        }
        if (List.of("ether", "ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6", "link").contains(w)) {
            pos++;
            expect("[");
            Value off = arith();
            int size = 1;
            if (accept(":")) {
                String s = next("a size");
                size = switch (s) {
                    case "1" -> 1;
                    case "2" -> 2;
                    case "4" -> 4;
                    default -> {
                        pos--;
                        throw error("a load size is 1, 2 or 4, not '" + s + "'");
                    }
                };
            }
            expect("]");
            if (off.constant() == null) throw error("a packet offset must be a constant");
            return load(w, (int) (long) off.constant(), size);
        }
        throw error("unknown word '" + t + "'");
    }

    private static Value constant(long v) {
        return new Value(List.of(ins(Cbpf.LD | Cbpf.IMM, (int) v)), List.of(), v);
    }

    private Value load(String proto, int off, int size) {
        int sz = size == 1 ? Cbpf.B : size == 2 ? Cbpf.H : Cbpf.W;
        return switch (proto) {
            case "ether", "link" -> new Value(List.of(ins(Cbpf.LD | Cbpf.ABS | sz, off)), List.of(), null);
            case "ip", "ip6", "arp", "rarp" -> new Value(List.of(ins(Cbpf.LD | Cbpf.ABS | sz, l2 + off)),
                    List.of(etherType(switch (proto) {
                        case "ip" -> ETH_IP;
                        case "ip6" -> ETH_IP6;
                        case "arp" -> ETH_ARP;
                        default -> ETH_RARP;
                    })), null);
            case "icmp6" -> new Value(List.of(ins(Cbpf.LD | Cbpf.ABS | sz, l2 + 40 + off)), List.of(and(etherType(ETH_IP6), cmp(Cbpf.B, l2 + 6, 0x10, 58))), null);
            default -> new Value(List.of(ins(Cbpf.LDX | Cbpf.MSH | Cbpf.B, l2), ins(Cbpf.LD | Cbpf.IND | sz, l2 + off)),
                    List.of(and(ipProto(PROTOS.get(proto)), notFragment())), null);
        };
    }

    // ---- code generation: each node jumps to its true or false label; labels are always ahead

    private final List<Cbpf.Insn> out = new ArrayList<>();
    private final List<int[]> fixups = new ArrayList<>(); // {insn index, true label, false label} (-1: none)
    private final List<Integer> labelAt = new ArrayList<>();

    private int label() {
        labelAt.add(-1);
        return labelAt.size() - 1;
    }

    private void bind(int label) {
        labelAt.set(label, out.size());
    }

    private void gen(Node n, int t, int f) {
        switch (n) {
            case Test x -> {
                out.addAll(x.pre());
                fixups.add(new int[]{out.size(), t, f});
                out.add(ins(Cbpf.JMP | x.jop(), x.k()));
            }
            case And x -> {
                int l = label();
                gen(x.a(), l, f);
                bind(l);
                gen(x.b(), t, f);
            }
            case Or x -> {
                int l = label();
                gen(x.a(), t, l);
                bind(l);
                gen(x.b(), t, f);
            }
            case Not x -> gen(x.a(), f, t);
            case Const c -> {
                fixups.add(new int[]{out.size(), c.value() ? t : f, -1});
                out.add(ins(Cbpf.JMP, 0));
            }
        }
    }

    private List<Cbpf.Insn> generate(Node n) {
        int accept = label(), reject = label();
        gen(n, accept, reject);
        bind(accept);
        out.add(ins(Cbpf.RET | Cbpf.K, SNAPLEN));
        bind(reject);
        out.add(ins(Cbpf.RET | Cbpf.K, 0));
        for (int[] fx : fixups) {
            int pc = fx[0];
            Cbpf.Insn i = out.get(pc);
            int t = labelAt.get(fx[1]) - pc - 1;
            if (fx[2] < 0) {
                out.set(pc, new Cbpf.Insn(i.code(), 0, 0, t));
                continue;
            }
            int f = labelAt.get(fx[2]) - pc - 1;
            if (t > 255 || f > 255) throw new BpfException("filter '" + text + "': too long for classic BPF's 8-bit jumps (" + out.size() + " instructions)");
            out.set(pc, new Cbpf.Insn(i.code(), t, f, i.k()));
        }
        return out;
    }
}
