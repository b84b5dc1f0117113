package org.jpdk.drivers.net.afxdp;

import java.nio.file.Path;

/** A user's XDP program from an ELF object. */
final class BpfObject {
    private BpfObject() {
    }

    static XdpProgram loadXdp(Path elf) {
        throw new AfXdpException("xdp_prog=" + elf + ": not supported yet");
    }
}
