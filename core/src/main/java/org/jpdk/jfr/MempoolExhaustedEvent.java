package org.jpdk.jfr;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;

/**
 * A port could not refill its rx rings: its rx_nombuf grew since the previous check. Found by a
 * check each period off the lcores, never by the allocation that failed, so the forwarding path
 * pays nothing for it.
 */
@Name("org.jpdk.MempoolExhausted")
@Label("Mempool Exhausted")
@Description("A port's rx mbuf allocations failed during the period (rx_nombuf grew)")
@Period("1 s")
public final class MempoolExhaustedEvent extends PortEvent {
    @Label("Failures")
    @Description("Rx mbuf allocation failures since the previous check")
    public long failures;

    @Label("Total Failures")
    @Description("The port's rx_nombuf")
    public long rxNombuf;
}
