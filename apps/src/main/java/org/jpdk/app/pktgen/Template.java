package org.jpdk.app.pktgen;

import org.jpdk.drivers.net.pcap.PcapReader;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;
import org.jpdk.net.Udp;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static org.jpdk.app.pktgen.Pktgen.SIG_LEN;
import static org.jpdk.app.pktgen.Pktgen.MAX_SIZE;
import static org.jpdk.app.pktgen.Pktgen.MAX_PCAP_RECORDS;
import static org.jpdk.app.pktgen.Pktgen.MAX_PCAP_BYTES;
import static org.jpdk.app.pktgen.Pktgen.BE_SHORT;

/** The frames of a pcap file, in one off-heap segment, and where each can carry the signature. */
record Template(MemorySegment data, long[] off, int[] len, int[] l3Off, int[] sigOff, double avgLen, int stampable) {
    /** Reads every frame of {@code file} (two passes: sizes, then bytes) and finds where each can carry the signature. */
    static Template load(Path file) {
        try (PcapReader r = PcapReader.open(file)) {
            int count = 0;
            long bytes = 0;
            int st;
            while ((st = r.next()) == PcapReader.RECORD) {
                if (r.caplen() < Ether.HDR_LEN || r.caplen() > MAX_SIZE) {
                    throw new IllegalArgumentException("--pcap=" + file + ": record " + (count + 1) + " at byte " + r.recordOffset()
                            + " has " + r.caplen() + " bytes; allowed " + Ether.HDR_LEN + ".." + MAX_SIZE);
                }
                if (++count > MAX_PCAP_RECORDS || (bytes += r.caplen()) > MAX_PCAP_BYTES) {
                    throw new IllegalArgumentException("--pcap=" + file + ": more than " + MAX_PCAP_RECORDS + " records or "
                            + (MAX_PCAP_BYTES >> 20) + " MiB");
                }
            }
            if (st == PcapReader.ERROR) throw new IllegalArgumentException("--pcap=" + file + ": " + r.error());
            if (count == 0) throw new IllegalArgumentException("--pcap=" + file + ": no packets in the file");
            MemorySegment data = Arena.ofAuto().allocate(bytes, 64);
            long[] off = new long[count];
            int[] len = new int[count], l3 = new int[count], sig = new int[count];
            r.rewind();
            long at = 0;
            int stampable = 0;
            for (int i = 0; i < count; i++) {
                if (r.next() != PcapReader.RECORD) throw new IllegalArgumentException("--pcap=" + file + ": changed while being read");
                off[i] = at;
                len[i] = r.caplen();
                r.copy(0, data, at, len[i]);
                long s = signatureOffset(data, at, len[i]);
                l3[i] = (int) (s >>> 32);
                sig[i] = (int) s;
                if (sig[i] >= 0) stampable++;
                at += len[i];
            }
            return new Template(data, off, len, l3, sig, (double) bytes / count, stampable);
        }
    }

    /** {@code l3 << 32 | signature offset} for an unfragmented IPv4/UDP frame with room for the signature, else -1. */
    static long signatureOffset(MemorySegment f, long base, int len) {
        int l2 = Ether.HDR_LEN, type = Short.toUnsignedInt(f.get(BE_SHORT, base + Ether.TYPE_OFF));
        for (int tags = 0; tags < 2 && Ether.isVlan(type); tags++) {
            if (len < l2 + Ether.VLAN_HDR_LEN) return -1;
            type = Short.toUnsignedInt(f.get(BE_SHORT, base + l2 + 2));
            l2 += Ether.VLAN_HDR_LEN;
        }
        if (type != Ether.TYPE_IPV4 || len < l2 + Ipv4.HDR_LEN) return -1;
        int vhl = f.get(ValueLayout.JAVA_BYTE, base + l2) & 0xff, hl = (vhl & 0xf) * 4;
        int total = Short.toUnsignedInt(f.get(BE_SHORT, base + l2 + Ipv4.TOTAL_LENGTH_OFF));
        int frag = Short.toUnsignedInt(f.get(BE_SHORT, base + l2 + Ipv4.FRAGMENT_OFFSET_OFF)) & 0x3fff;
        int proto = f.get(ValueLayout.JAVA_BYTE, base + l2 + Ipv4.PROTO_OFF) & 0xff;
        if (vhl >>> 4 != 4 || hl < Ipv4.HDR_LEN || proto != Ipv4.PROTO_UDP || frag != 0) return -1;
        if (total < hl + Udp.HDR_LEN + SIG_LEN || l2 + total > len) return -1;
        int udpLen = Short.toUnsignedInt(f.get(BE_SHORT, base + l2 + hl + Udp.DGRAM_LEN_OFF));
        if (udpLen != total - hl) return -1;
        return (long) l2 << 32 | (l2 + hl + Udp.HDR_LEN);
    }
}
