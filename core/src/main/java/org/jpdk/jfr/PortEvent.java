package org.jpdk.jfr;

import jdk.jfr.Category;
import jdk.jfr.Label;
import jdk.jfr.StackTrace;

/** What every port event names: the port's id, its name and its driver (JFR records a superclass's fields with each event). */
@Category({"jpdk", "Ethdev"})
@StackTrace(false)
public abstract class PortEvent extends jdk.jfr.Event {
    @Label("Port")
    public int port;

    @Label("Port Name")
    public String portName;

    @Label("Driver")
    public String driver;

    /** Sets the port fields; returns whether a recording wants the event (a committed event costs nothing more to fill). */
    public final boolean of(int id, String name, String driverName) {
        port = id;
        portName = name;
        driver = driverName;
        return shouldCommit();
    }
}
