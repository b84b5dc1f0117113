package org.jpdk.jfr;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** The peer of a port (memif, vhost-user, virtio-user) went away or was disconnected. */
@Name("org.jpdk.PeerDisconnect")
@Label("Peer Disconnect")
@Description("A port's peer disconnected, or was disconnected for breaking the protocol")
public final class PeerDisconnectEvent extends PortEvent {
    @Label("Reason")
    public String reason;

    @Label("Protocol Error")
    @Description("True when jpdk cut the connection because the peer broke the protocol")
    public boolean protocolError;

    /** Commits one when a recording enables the event; a no-op otherwise. Not for a polling lcore's loop. */
    public static void emit(int port, String portName, String driver, String reason, boolean protocolError) {
        PeerDisconnectEvent e = new PeerDisconnectEvent();
        if (!e.of(port, portName, driver)) return;
        e.reason = reason;
        e.protocolError = protocolError;
        e.commit();
    }
}
