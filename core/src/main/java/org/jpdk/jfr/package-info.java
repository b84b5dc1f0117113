/**
 * jpdk's JDK Flight Recorder events ({@code org.jpdk.PortLink}, {@code org.jpdk.PortStatistics},
 * {@code org.jpdk.LcoreUsage}, {@code org.jpdk.MempoolExhausted}, {@code org.jpdk.DriverError},
 * {@code org.jpdk.PeerDisconnect}). They are plain data, in the lowest module, so a driver can
 * commit one where it already counts a disconnect; the periodic ones are filled by hooks that
 * {@code org.jpdk.telemetry.FlightEvents} registers when the EAL starts. Nothing here runs on a
 * forwarding lcore: events are committed on JFR's periodic thread, ethdev's event thread or a
 * driver's control thread, and only when a recording enables them.
 */
package org.jpdk.jfr;
