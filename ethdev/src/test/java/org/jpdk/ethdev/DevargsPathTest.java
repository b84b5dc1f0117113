package org.jpdk.ethdev;

import org.jpdk.eal.EalArgumentException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A devargs value used as a file name: a NUL byte is a one-line devargs error (a fuzz finding: it was InvalidPathException). */
class DevargsPathTest {
    @Test
    void aNulInAFileNameIsADevargsError() {
        Devargs d = Devargs.parse("net_pcap0,tx_pcap=a\0b");
        EalArgumentException e = assertThrows(EalArgumentException.class, () -> d.path("tx_pcap", d.get("tx_pcap")));
        assertEquals("--vdev net_pcap0: tx_pcap=a\0b: not a file name (Nul character not allowed)", e.getMessage());
        assertEquals(Path.of("out.pcap"), Devargs.parse("net_pcap0,tx_pcap=out.pcap").path("tx_pcap", "out.pcap"));
    }
}
