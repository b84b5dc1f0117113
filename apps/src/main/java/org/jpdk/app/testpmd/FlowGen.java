package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;
import org.jpdk.net.Ether;
import org.jpdk.net.Ipv4;

/**
 * testpmd's flowgen mode (flowgen.c): frees what it receives (counted) and sends bursts of
 * single-segment Ether/IPv4/UDP packets whose destination address steps through
 * {@code cfg.flowgenFlows} flows, {@code txIpDst + 0, 1, ...}, recomputing the IPv4 checksum of
 * each. As DPDK, a packet is {@code txPktLength() - 4} bytes (the FCS is not part of the mbuf),
 * and the flow counter is stepped back over packets the port did not take. Allocates nothing
 * after {@link #streamBegin}.
 */
final class FlowGen implements FwdEngine {
    /** Per-stream state: the header template and the next flow (DPDK keeps it per lcore). */
    static final class State {
        final UdpTemplate template;
        int nextFlow;

        State(UdpTemplate template) {
            this.template = template;
        }
    }

    @Override
    public String name() {
        return "flowgen";
    }

    @Override
    public void portBegin(org.jpdk.ethdev.EthDev port, FwdConfig cfg) {
        System.out.printf("  number of flows for port %d: %d%n", port.id(), cfg.flowgenFlows);
    }

    @Override
    public void streamBegin(FwdStream fs) {
        fs.engineState = state(fs);
    }

    static State state(FwdStream fs) {
        FwdConfig c = fs.cfg;
        if (c.flowgenFlows < 1) throw new IllegalArgumentException("flowgen: number of flows " + c.flowgenFlows + ", must be 1 or more");
        return new State(new UdpTemplate("flowgen", c.peerAddrs[fs.txPort.id()].value(), fs.txPort.macAddr().value(),
                c.txIpSrc, c.txIpDst, c.txUdpSrc, c.txUdpDst, c.txIpTtl, c.txPktLength() - 4));
    }

    @Override
    public void forward(FwdStream fs) {
        State s = fs.engineState instanceof State st ? st : (State) (fs.engineState = state(fs));
        int nrx = fs.rxBurst();
        Mbuf[] pkts = fs.pkts;
        if (nrx > 0) Mbuf.freeBulk(pkts, 0, nrx);

        FwdConfig c = fs.cfg;
        int n = TxOnly.allocBurst(c.txPool, pkts, c.burst);
        if (n == 0) return;
        int len = c.txPktLength() - 4, flows = c.flowgenFlows, dst = c.txIpDst;
        int flow = s.nextFlow;
        int made = 0;
        for (; made < n; made++) {
            Mbuf m = pkts[made];
            if (m.appendOffset(len) < 0) break;
            s.template.copyTo(m);
            m.writeInt(Ether.HDR_LEN + Ipv4.DST_OFF, dst + flow);
            Ipv4.setChecksum(m, Ether.HDR_LEN);
            if (++flow >= flows) flow = 0;
        }
        if (made < n) Mbuf.freeBulk(pkts, made, n - made);
        int sent = fs.txBurst(made);
        flow -= made - sent; // the flows of unsent packets come again next time
        while (flow < 0) flow += flows;
        s.nextFlow = flow;
    }
}
