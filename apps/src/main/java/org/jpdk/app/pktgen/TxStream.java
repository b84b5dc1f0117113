package org.jpdk.app.pktgen;

import org.jpdk.ethdev.EthDev;
import org.jpdk.mbuf.Mbuf;
import org.jpdk.mempool.Mempool;
import org.jpdk.net.Checksum;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.jpdk.app.pktgen.Pktgen.MAGIC;
import static org.jpdk.app.pktgen.Pktgen.MAX_SIZE;
import static org.jpdk.app.pktgen.Pktgen.BUCKET_NS;
import static org.jpdk.app.pktgen.Pktgen.TTL;
import static org.jpdk.app.pktgen.Pktgen.BE_SHORT;
import static org.jpdk.app.pktgen.Pktgen.BE_INT;

/**
 * What one port sends: its prepared packet image, size cycle, flow odometer, sequence number
 * and token bucket. Run by one lcore; {@link #send} allocates nothing.
 */
final class TxStream extends Counters {
    static final int PACKETS = 0, BYTES = 1, TEST = 2, DROPPED = 3, NOMBUF = 4, START = 5, END = 6, DONE = 7, MISSED = 8;
    final EthDev port;
    final int portId;
    final Mempool<Mbuf> pool;
    final Mbuf[] pkts;
    final int[] lens;
    final boolean[] test;
    final int burst;
    final long ratePps;          // 0: no limit
    final long count;            // 0: no limit
    final MemorySegment image;   // generated mode: headers and zeros, MAX_SIZE bytes
    final int l2Len;
    final int[] sizes;
    final Template pcap;
    final long srcIpLo, dstIpLo;
    final int srcPortLo, dstPortLo;
    final long nSrcIp, nDstIp;
    final int nSrcPort, nDstPort;
    private long iSrcIp, iDstIp;
    private int iSrcPort, iDstPort, iSize, iRecord;
    private int seq;
    private final long creditCap;
    private long credit, lastRefill, sent, missedUnits;
    private boolean started, done;

    TxStream(EthDev port, Mempool<Mbuf> pool, PktgenOptions o, long ratePps, Template pcap) {
        super(9);
        this.port = port;
        this.portId = port.id();
        this.pool = pool;
        this.burst = o.burst;
        this.pkts = new Mbuf[o.burst];
        this.lens = new int[o.burst];
        this.test = new boolean[o.burst];
        this.ratePps = ratePps;
        this.count = o.count;
        this.creditCap = Math.max(o.burst, ratePps * BUCKET_NS / 1_000_000_000L) * 1_000_000_000L;
        this.pcap = pcap;
        this.sizes = o.sizes.clone();
        srcIpLo = o.srcIp.lo();
        dstIpLo = o.dstIp.lo();
        srcPortLo = (int) o.srcPort.lo();
        dstPortLo = (int) o.dstPort.lo();
        nSrcIp = o.srcIp.count();
        nDstIp = o.dstIp.count();
        nSrcPort = (int) o.srcPort.count();
        nDstPort = (int) o.dstPort.count();
        l2Len = Ether.HDR_LEN + (o.vlan >= 0 ? Ether.VLAN_HDR_LEN : 0);
        image = Arena.ofAuto().allocate(MAX_SIZE, 64);
        long dst = o.dstMac != null ? o.dstMac.value() : 0x02_00_00_00_00_00L | portId, src = port.macAddr().value();
        image.set(BE_INT, 0, (int) (dst >>> 16));
        image.set(BE_SHORT, 4, (short) dst);
        image.set(BE_SHORT, 6, (short) (src >>> 32));
        image.set(BE_INT, 8, (int) src);
        if (o.vlan >= 0) {
            image.set(BE_SHORT, Ether.TYPE_OFF, (short) Ether.TYPE_VLAN);
            image.set(BE_SHORT, Ether.TYPE_OFF + 2, (short) o.vlan);
        }
        image.set(BE_SHORT, l2Len - 2, (short) Ether.TYPE_IPV4);
    }

    /**
     * One burst: as many packets as the bucket, the count and the pool allow, built and sent;
     * what the port refuses is freed and counted as dropped. Allocates nothing.
     */
    void send(long now) {
        if (done) return;
        if (!started) {
            started = true;
            lastRefill = now;
            put(START, now);
        }
        int n = burst;
        if (ratePps > 0) {
            refill(now);
            n = (int) Math.min(n, credit / 1_000_000_000L);
            credit -= n * 1_000_000_000L;
        }
        if (count > 0) n = (int) Math.min(n, count - sent);
        if (n == 0) {
            if (count > 0 && sent == count) finish(now);
            return;
        }
        if (!Mbuf.allocBulk(pool, pkts, 0, n)) {
            add(NOMBUF, 1);
            return;
        }
        long stamp = System.nanoTime();
        int tests = 0;
        for (int i = 0; i < n; i++) {
            if (pcap != null) {
                test[i] = buildFromPcap(pkts[i], stamp);
            } else {
                build(pkts[i], stamp);
                test[i] = true;
            }
            lens[i] = pkts[i].pktLen();
        }
        int ok = port.txBurst(0, pkts, 0, n);
        long bytes = 0;
        for (int i = 0; i < ok; i++) {
            bytes += lens[i];
            if (test[i]) tests++;
        }
        if (ok < n) {
            Mbuf.freeBulk(pkts, ok, n - ok);
            add(DROPPED, n - ok);
        }
        sent += n;
        add(PACKETS, ok);
        add(BYTES, bytes);
        add(TEST, tests);
        if (count > 0 && sent == count) finish(now);
    }

    /**
     * Adds the rate earned since the last refill; what overflows the bucket (the lcore did not
     * run for longer than {@link #BUCKET_NS}) is counted in MISSED, in whole packets, so that
     * sent + dropped + missed is the rate times the sending time.
     */
    private void refill(long now) {
        long dt = now - lastRefill;
        lastRefill = now;
        long earned = Math.min(dt, 1_000_000_000L) * ratePps, lost = (dt - Math.min(dt, 1_000_000_000L)) * ratePps;
        credit += earned;
        if (credit > creditCap) {
            lost += credit - creditCap;
            credit = creditCap;
        }
        if (lost > 0) {
            missedUnits += lost;
            put(MISSED, missedUnits / 1_000_000_000L);
        }
    }

    void finish(long now) {
        if (done) return;
        if (started && ratePps > 0) { // the rate unused at the end is missed too
            refill(now);
            missedUnits += credit;
            credit = 0;
            put(MISSED, (missedUnits + 500_000_000L) / 1_000_000_000L);
        }
        done = true;
        put(END, started ? now : 0);
        put(DONE, 1);
    }

    /** True once this stream has stopped sending (read by the main lcore). */
    boolean done() {
        return get(DONE) != 0;
    }

    /** A generated packet: the image, then lengths, addresses, ports, signature and both checksums. */
    private void build(Mbuf m, long stamp) {
        int size = sizes[iSize];
        if (++iSize == sizes.length) iSize = 0;
        int src = (int) (srcIpLo + iSrcIp), dst = (int) (dstIpLo + iDstIp);
        int sport = srcPortLo + iSrcPort, dport = dstPortLo + iDstPort;
        nextFlow();
        int s = seq++;
        m.appendOffset(size);
        MemorySegment.copy(image, 0, m.buffer(), m.dataOff(), size);
        int ip = l2Len, ipLen = size - l2Len, udp = ip + Ipv4.HDR_LEN, udpLen = ipLen - Ipv4.HDR_LEN;
        long ipSum = 0x4500L + ipLen + (TTL << 8 | Ipv4.PROTO_UDP) + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
        m.writeInt(ip, 0x4500_0000 | ipLen);
        m.writeInt(ip + 4, 0);
        m.writeInt(ip + 8, TTL << 24 | Ipv4.PROTO_UDP << 16 | (~Checksum.reduce(ipSum) & 0xffff));
        m.writeInt(ip + 12, src);
        m.writeInt(ip + 16, dst);
        long udpSum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + Ipv4.PROTO_UDP + 2L * udpLen
                + sport + dport + MAGIC + portId + (s >>> 16) + (s & 0xffff)
                + (stamp >>> 48) + (stamp >>> 32 & 0xffff) + (stamp >>> 16 & 0xffff) + (stamp & 0xffff);
        int ck = ~Checksum.reduce(udpSum) & 0xffff;
        m.writeInt(udp, sport << 16 | dport);
        m.writeInt(udp + 4, udpLen << 16 | (ck == 0 ? 0xffff : ck));
        m.writeInt(udp + 8, MAGIC << 16 | portId);
        m.writeInt(udp + 12, s);
        m.writeLong(udp + 16, stamp);
    }

    /** The flow odometer: source port, then destination port, source address, destination address. */
    private void nextFlow() {
        if (++iSrcPort < nSrcPort) return;
        iSrcPort = 0;
        if (++iDstPort < nDstPort) return;
        iDstPort = 0;
        if (++iSrcIp < nSrcIp) return;
        iSrcIp = 0;
        if (++iDstIp < nDstIp) return;
        iDstIp = 0;
    }

    /** The next pcap frame; an IPv4/UDP one gets the signature and a new UDP checksum. True if it did. */
    private boolean buildFromPcap(Mbuf m, long stamp) {
        Template t = pcap;
        int k = iRecord;
        if (++iRecord == t.len().length) iRecord = 0;
        int len = t.len()[k];
        m.appendOffset(len);
        MemorySegment.copy(t.data(), t.off()[k], m.buffer(), m.dataOff(), len);
        int sig = t.sigOff()[k];
        if (sig < 0) return false;
        m.writeInt(sig, MAGIC << 16 | portId);
        m.writeInt(sig + 4, seq++);
        m.writeLong(sig + 8, stamp);
        Ipv4.setUdptcpChecksum(m, t.l3Off()[k]);
        return true;
    }
}
