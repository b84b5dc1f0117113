package org.jpdk.bdev;

/**
 * A qpair's requests on their way, as three intrusive lists through the requests' own link fields
 * (no node objects, no allocation): <b>outstanding</b>, every request from submission to callback
 * in submission order, doubly linked, with the timeout cursor (the first request not yet reported
 * late: all before it were); <b>queued</b>, requests with parts not yet sent, in order, doubly
 * linked so that an abort takes one out of the middle; <b>done</b>, requests to complete at the
 * next poll without the kernel (failed or aborted before they went out). Only the head of the
 * queue may be partly sent. One thread, the qpair's lcore.
 */
final class RequestLists {
    IoRequest outHead, timeoutCursor, queueHead, doneHead;
    private IoRequest outTail, queueTail, doneTail;

    void linkOutstanding(IoRequest r) {
        r.next = null;
        r.prev = outTail;
        if (outTail == null) outHead = r;
        else outTail.next = r;
        outTail = r;
        if (timeoutCursor == null) timeoutCursor = r;
    }

    void unlinkOutstanding(IoRequest r) {
        if (timeoutCursor == r) timeoutCursor = r.next;
        if (r.prev == null) outHead = r.next;
        else r.prev.next = r.next;
        if (r.next == null) outTail = r.prev;
        else r.next.prev = r.prev;
        r.prev = r.next = null;
    }

    void enqueue(IoRequest r) {
        r.queued = true;
        r.qNext = null;
        r.qPrev = queueTail;
        if (queueTail == null) queueHead = r;
        else queueTail.qNext = r;
        queueTail = r;
    }

    void dequeue(IoRequest r) {
        if (r.qPrev == null) queueHead = r.qNext;
        else r.qPrev.qNext = r.qNext;
        if (r.qNext == null) queueTail = r.qPrev;
        else r.qNext.qPrev = r.qPrev;
        r.qPrev = r.qNext = null;
        r.queued = false;
    }

    void addDone(IoRequest r) {
        r.onDone = true;
        r.nextDone = null;
        if (doneTail == null) doneHead = r;
        else doneTail.nextDone = r;
        doneTail = r;
    }

    /** Takes the oldest request of the done list (which must not be empty). */
    IoRequest takeDone() {
        IoRequest r = doneHead;
        doneHead = r.nextDone;
        if (doneHead == null) doneTail = null;
        r.nextDone = null;
        r.onDone = false;
        return r;
    }
}
