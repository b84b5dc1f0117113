package org.jpdk.jfr;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;

/**
 * A port's link as first seen by a recording, and every change after: committed from the port's
 * LINK_STATE_CHANGE event where the driver raises one, and from a check each period for drivers
 * that have no link interrupt (net_null's link comes up with the port).
 */
@Name("org.jpdk.PortLink")
@Label("Port Link")
@Description("A port's link state: the first one a recording sees, then every change")
@Period("1 s")
public final class PortLinkEvent extends PortEvent {
    @Label("Up")
    public boolean up;

    @Label("Speed")
    @Description("Link speed in Mbit/s, 0 when unknown")
    public int speedMbps;

    @Label("Full Duplex")
    public boolean fullDuplex;

    @Label("Change")
    @Description("True when the state differs from the one seen before; false for the first one a recording sees")
    public boolean change;
}
