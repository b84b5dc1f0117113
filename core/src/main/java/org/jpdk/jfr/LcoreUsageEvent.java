package org.jpdk.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Percentage;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** An lcore's usage as /eal/lcore/usage reports it, one event per lcore that counts usage, each period. */
@Name("org.jpdk.LcoreUsage")
@Label("Lcore Usage")
@Description("Time an lcore's loop ran and the part of it spent in passes that moved packets")
@Category({"jpdk", "EAL"})
@Period("1 s")
@StackTrace(false)
public final class LcoreUsageEvent extends jdk.jfr.Event {
    @Label("Lcore")
    public int lcore;

    @Label("Busy")
    @Description("Busy share since the previous event of this lcore (since the loop started, for the first)")
    @Percentage
    public double busy;

    @Label("Busy Time")
    @Description("Total time in passes that moved packets")
    @Timespan(Timespan.NANOSECONDS)
    public long busyNanos;

    @Label("Total Time")
    @Description("Total time the loop ran")
    @Timespan(Timespan.NANOSECONDS)
    public long totalNanos;
}
