package org.jpdk.app.testpmd;

/** testpmd's io mode: forwards packets untouched, the pure cost of rx and tx. */
final class IoFwd implements FwdEngine {
    @Override
    public String name() {
        return "io";
    }

    @Override
    public void forward(FwdStream fs) {
        int n = fs.rxBurst();
        if (n == 0) return;
        fs.txBurst(n);
    }
}
