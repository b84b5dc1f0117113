package org.jpdk.jfr;

import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;

/** A port's basic statistics (rte_eth_stats), one event per port each period; the counters are totals since start or reset. */
@Name("org.jpdk.PortStatistics")
@Label("Port Statistics")
@Description("A port's rx and tx counters and its drops by cause, each period")
@Period("1 s")
public final class PortStatisticsEvent extends PortEvent {
    @Label("Rx Packets")
    public long rxPackets;

    @Label("Tx Packets")
    public long txPackets;

    @Label("Rx Bytes")
    @DataAmount
    public long rxBytes;

    @Label("Tx Bytes")
    @DataAmount
    public long txBytes;

    @Label("Rx Missed")
    @Description("Packets the device dropped for want of room in an rx queue (imissed)")
    public long rxMissed;

    @Label("Rx Errors")
    @Description("Erroneous packets received (ierrors)")
    public long rxErrors;

    @Label("Tx Errors")
    @Description("Failed transmissions (oerrors)")
    public long txErrors;

    @Label("Rx No Mbuf")
    @Description("Rx mbuf allocation failures (rx_nombuf)")
    public long rxNombuf;
}
