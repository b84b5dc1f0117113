package org.jpdk.bdev;

/**
 * Told, once per request, that a request has been outstanding longer than the limit given to
 * {@link Bdev#registerTimeoutCallback}, as SPDK's {@code spdk_nvme_timeout_cb}. Runs on the
 * lcore inside {@link Qpair#processCompletions}; it may call {@link Qpair#abort(long)}.
 */
@FunctionalInterface
public interface TimeoutCallback {
    /**
     * @param qpair   the qpair the request is on
     * @param request the request's id, for {@link Qpair#abort(long)}
     * @param arg     the submitter's argument
     */
    void timedOut(Qpair qpair, long request, Object arg);
}
