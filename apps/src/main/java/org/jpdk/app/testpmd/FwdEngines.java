package org.jpdk.app.testpmd;

import java.util.List;

/** The forwarding modes by name, in the order {@code help} lists them. */
public final class FwdEngines {
    private FwdEngines() {
    }

    /** All engines; io first (the default). */
    public static List<FwdEngine> all() {
        return List.of(new IoFwd(), new MacFwd(), new MacSwap(), new RxOnly(), new TxOnly(), new FlowGen(), new CsumFwd(), new FiveTupleSwap(), new IcmpEcho());
    }

    /** The engine named {@code name}, or null. */
    public static FwdEngine byName(String name) {
        for (FwdEngine e : all()) if (e.name().equals(name)) return e;
        return null;
    }

    public static List<String> names() {
        return all().stream().map(FwdEngine::name).toList();
    }
}
