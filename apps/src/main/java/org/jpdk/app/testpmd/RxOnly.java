package org.jpdk.app.testpmd;

import org.jpdk.mbuf.Mbuf;

/** testpmd's rxonly mode (rxonly.c): receives and frees, counting only what came in. Allocates nothing. */
final class RxOnly implements FwdEngine {
    @Override
    public String name() {
        return "rxonly";
    }

    @Override
    public void forward(FwdStream fs) {
        int n = fs.rxBurst();
        if (n > 0) Mbuf.freeBulk(fs.pkts, 0, n);
    }
}
