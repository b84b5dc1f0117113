package org.jpdk.jfr;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A driver met an error it could not absorb: the device went away, or a peer broke the protocol. */
@Name("org.jpdk.DriverError")
@Label("Driver Error")
@Description("A device removed or a peer that broke the driver's protocol")
public final class DriverErrorEvent extends PortEvent {
    @Label("Message")
    public String message;

    /** Commits one when a recording enables the event; a no-op otherwise. Not for a polling lcore's loop. */
    public static void emit(int port, String portName, String driver, String message) {
        DriverErrorEvent e = new DriverErrorEvent();
        if (!e.of(port, portName, driver)) return;
        e.message = message;
        e.commit();
    }
}
