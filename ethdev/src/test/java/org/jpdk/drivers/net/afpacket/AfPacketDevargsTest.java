package org.jpdk.drivers.net.afpacket;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalArgumentException;
import org.jpdk.ethdev.Devargs;
import org.jpdk.ethdev.EthDev;
import org.jpdk.sys.Libc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** net_af_packet devargs: defaults as DPDK, and a one-line error naming each bad key (no root needed). */
class AfPacketDevargsTest {
    private Eal eal;

    @BeforeEach
    void init() {
        eal = Eal.init("-l", "0", "--no-huge", "-m", "16");
    }

    @AfterEach
    void cleanup() {
        try {
            EthDev.closeAll();
        } finally {
            eal.cleanup();
        }
    }

    @Test
    void defaultsAreDpdks() {
        AfPacketDriver.Config c = AfPacketDriver.Config.parse(Devargs.parse("net_af_packet0,iface=veth0"));
        assertEquals(new AfPacketDriver.Config("veth0", 1, (int) Libc.pageSize(), 2048, 512, true), c);
        assertEquals(2048 - 66, c.maxRxPktLen());
        c = AfPacketDriver.Config.parse(Devargs.parse("net_af_packet0,iface=veth0,qpairs=4,blocksz=65536,framesz=4096,framecnt=64,qdisc_bypass=0"));
        assertEquals(new AfPacketDriver.Config("veth0", 4, 65536, 4096, 64, false), c);
    }

    private static String refused(String devargs) {
        return assertThrows(EalArgumentException.class, () -> EthDev.create(devargs), devargs).getMessage();
    }

    private static void assertRefused(String devargs, String... parts) {
        String msg = refused(devargs);
        assertFalse(msg.contains("\n"), "one line: " + msg);
        for (String p : parts) assertTrue(msg.contains(p), "'" + msg + "' says " + p);
    }

    @Test
    void eachBadKeyIsNamed() {
        assertRefused("net_af_packet0", "iface is required");
        assertRefused("net_af_packet0,iface=", "iface=", "bad interface name");
        assertRefused("net_af_packet0,iface=a-name-that-is-too-long", "iface=a-name-that-is-too-long", "1 to 15 bytes");
        assertRefused("net_af_packet0,iface=x,qpairs=0", "qpairs=0", "1..16");
        assertRefused("net_af_packet0,iface=x,qpairs=17", "qpairs=17", "1..16");
        assertRefused("net_af_packet0,iface=x,qpairs=two", "qpairs=two", "not a number");
        assertRefused("net_af_packet0,iface=x,framesz=2050", "framesz=2050", "multiple of 16");
        assertRefused("net_af_packet0,iface=x,framesz=64", "framesz=64", "128..");
        assertRefused("net_af_packet0,iface=x,blocksz=6000", "blocksz=6000", "page size");
        assertRefused("net_af_packet0,iface=x,blocksz=1024", "blocksz=1024", "out of range");
        assertRefused("net_af_packet0,iface=x,framesz=8192", "blocksz=4096", "smaller than framesz=8192");
        assertRefused("net_af_packet0,iface=x,framecnt=3", "framecnt=3", "multiple of the 2 frames per block");
        assertRefused("net_af_packet0,iface=x,framecnt=0", "framecnt=0", "out of range");
        assertRefused("net_af_packet0,iface=x,qdisc_bypass=maybe", "qdisc_bypass=maybe", "0 or 1");
        assertRefused("net_af_packet0,iface=x,rx_iface=y", "rx_iface=y", "unknown argument", "framecnt");
    }

    @Test
    void aliasIsEthAfPacket() {
        assertEquals("net_af_packet", EthDev.drivers().stream().filter(d -> d.aliases().contains("eth_af_packet")).findFirst().orElseThrow().name());
        assertRefused("eth_af_packet0", "iface is required");
    }
}
