package org.jpdk.telemetry;

/**
 * The handler of one telemetry command, as DPDK's {@code telemetry_cb}: given the command and its
 * parameters (the text after the first comma, or null), it returns the reply's value (a Map, List,
 * String, Number, Boolean; see {@link Json}). Returning null, or throwing (a bad or missing
 * parameter: IllegalArgumentException), makes the reply {@code {"<cmd>":null}}, as a DPDK handler
 * that returns an error. Handlers run on the telemetry thread, never on an lcore: they may read
 * any counter but must not block.
 */
@FunctionalInterface
public interface TelemetryCommand {
    Object handle(String cmd, String params);
}
