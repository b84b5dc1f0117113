package org.jpdk.bench.ring;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** What both ring benchmarks vary: library, sync mode and batch size; one pipe per trial. Subclasses set their own scope. */
@State(Scope.Thread)
public abstract class PipeBench {
    @Param({"jpdk", "jctools", "agrona"})
    public String lib;
    @Param({"spsc", "mpmc"})
    public String mode;
    @Param({"1", "8", "32"})
    public int n;

    Pipe pipe;
    Object[] in;

    @Setup(Level.Trial)
    public void setup() {
        pipe = Pipe.of(lib, mode);
        in = new Object[n];
        for (int i = 0; i < n; i++) in[i] = new Object();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pipe.close();
    }
}
