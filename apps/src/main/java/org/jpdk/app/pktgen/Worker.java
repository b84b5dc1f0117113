package org.jpdk.app.pktgen;

import java.util.List;

/** One worker lcore: the streams it sends and receives on. */
final class Worker {
    final int lcoreId;
    final TxStream[] tx;
    final RxStream[] rx;
    volatile boolean txStop, stop;

    Worker(int lcoreId, List<TxStream> tx, List<RxStream> rx) {
        this.lcoreId = lcoreId;
        this.tx = tx.toArray(new TxStream[0]);
        this.rx = rx.toArray(new RxStream[0]);
    }

    int run() {
        boolean sending = tx.length > 0;
        while (!stop) {
            if (sending) {
                long now = System.nanoTime();
                if (txStop) {
                    for (TxStream t : tx) t.finish(now);
                    sending = false;
                } else {
                    for (TxStream t : tx) t.send(now);
                }
            }
            for (RxStream r : rx) r.poll();
        }
        if (sending) for (TxStream t : tx) t.finish(System.nanoTime());
        return 0;
    }
}
