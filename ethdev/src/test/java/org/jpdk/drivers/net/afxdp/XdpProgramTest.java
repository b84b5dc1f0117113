package org.jpdk.drivers.net.afxdp;

import org.jpdk.sys.Bpf;
import org.jpdk.sys.Libc;
import org.jpdk.sys.Netns;
import org.jpdk.testing.NetnsFixture;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Our XDP program: the bytes, the load, the verifier's log for a bad one, attach and detach on a veth. */
class XdpProgramTest {
    @Test
    void instructionsAreEncodedAsTheKernelReadsThem() {
        // r2 = *(u32 *)(r1 + 16): code 0x61, dst 2, src 1, off 16 -> bytes 61 12 10 00 00 00 00 00
        assertEquals(0x0000_0000_0010_1261L, XdpProgram.insn(0x61, 2, 1, 16, 0));
        // ld_imm64 r1 = map fd 7, src PSEUDO_MAP_FD: 18 11 00 00 07 00 00 00
        assertEquals(0x0000_0007_0000_1118L, XdpProgram.insn(0x18, 1, 1, 0, 7));
        assertEquals(0xffff_fffe_fffc_0095L, XdpProgram.insn(0x95, 0, 0, -4, -2), "negative off and imm are two's complement");
        assertEquals(6, XdpProgram.redirectInsns(3).length);
    }

    @Test
    void ourProgramLoadsAndAttachesAndDetaches() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String a = nf.namespace(), b = nf.namespace();
            nf.veth(a, "va", b, "vb");
            try (Netns ns = Netns.enter(b); XdpProgram p = XdpProgram.redirect(4)) {
                int ifindex = Libc.ifNameToIndex("vb");
                int id = p.id();
                assertTrue(id > 0);
                try (XdpAttachment att = XdpAttachment.attach(p, "vb", ifindex)) {
                    assertTrue(att.isLink());
                    assertEquals("native", att.modeName(), "veth has native XDP");
                    String shown = nf.ip(b, "link", "show", "vb");
                    assertTrue(shown.contains("prog/xdp id " + id + " name " + XdpProgram.NAME), shown);
                    RtNetlink.Link l = RtNetlink.link(ifindex, "vb");
                    assertEquals(id, l.progId());
                    assertEquals(RtNetlink.XDP_ATTACHED_DRV, l.attached());
                }
                awaitNoXdp(nf, b, "vb");
            }
        }
    }

    /** The kernel releases a link from a work queue: wait a little for the program to go. */
    static void awaitNoXdp(NetnsFixture nf, String ns, String iface) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        String shown;
        while ((shown = nf.ip(ns, "link", "show", iface)).contains("xdp")) {
            if (System.nanoTime() > deadline) fail("XDP program still attached after 5 s: " + shown);
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void aProgramSomeoneElseAttachedIsNamedAndLeftAlone() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String a = nf.namespace(), b = nf.namespace();
            nf.veth(a, "va", b, "vb");
            try (Netns ns = Netns.enter(b); XdpProgram theirs = XdpProgram.redirect(1); XdpProgram ours = XdpProgram.redirect(1)) {
                int ifindex = Libc.ifNameToIndex("vb");
                // "someone else": attached through netlink, as ip link and older tools do
                assertNull(RtNetlink.setXdp(ifindex, theirs.progFd, RtNetlink.XDP_FLAGS_DRV_MODE, -1, "vb"));
                AfXdpException e = assertThrows(AfXdpException.class, () -> XdpAttachment.attach(ours, "vb", ifindex));
                assertEquals("bpf(BPF_LINK_CREATE, BPF_XDP, iface=vb): EBUSY: XDP program id " + theirs.id()
                        + " is attached in native (xdp) mode by someone else; remove it first (ip link set dev vb xdp off)"
                        + " or give this port its own interface", e.getMessage());
                assertEquals(theirs.id(), RtNetlink.link(ifindex, "vb").progId(), "theirs stays");
                assertNull(RtNetlink.setXdp(ifindex, -1, RtNetlink.XDP_FLAGS_DRV_MODE, -1, "vb"));
            }
        }
    }

    @Test
    void aRefusedProgramBringsTheVerifierLog() {
        long[] bad = {XdpProgram.insn(0x95, 0, 0, 0, 0)};               // exit with r0 never set
        Bpf.VerifierException e = assertThrows(Bpf.VerifierException.class, () -> XdpProgram.load(bad, "GPL", "bad", "xdp program bad"));
        assertTrue(e.getMessage().startsWith("bpf(BPF_PROG_LOAD, xdp program bad): EACCES; the verifier says:\n"), e.getMessage());
        assertTrue(e.log().contains("R0 !read_ok"), e.log());
    }

    @Test
    void anXskmapTakesOnlySocketsAndForgetsQuietly() {
        try (XdpProgram p = XdpProgram.redirect(2)) {
            int notASocket = p.progFd;
            assertEquals(-org.jpdk.sys.Errno.ENOTSOCK, Bpf.mapUpdate(p.xskMapFd, 0, notASocket, Bpf.BPF_ANY));
            assertEquals(-org.jpdk.sys.Errno.E2BIG, Bpf.mapUpdate(p.xskMapFd, 2, notASocket, Bpf.BPF_ANY), "key beyond max_entries");
            assertEquals(0, Bpf.mapDelete(p.xskMapFd, 0), "deleting an empty entry is no error");
        }
    }

    @Test
    void withoutLinksTheNetlinkFallBackAttachesAndRemovesOnlyOurs() {
        try (NetnsFixture nf = NetnsFixture.create()) {
            String a = nf.namespace(), b = nf.namespace();
            nf.veth(a, "va", b, "vb");
            try (Netns ns = Netns.enter(b); XdpProgram ours = XdpProgram.redirect(1); XdpProgram theirs = XdpProgram.redirect(1)) {
                int ifindex = Libc.ifNameToIndex("vb");
                XdpAttachment att = XdpAttachment.attachThroughNetlink(ours, "vb", ifindex, null);
                assertFalse(att.isLink());
                assertEquals(ours.id(), RtNetlink.link(ifindex, "vb").progId());
                AfXdpException e = assertThrows(AfXdpException.class, () -> XdpAttachment.attachThroughNetlink(theirs, "vb", ifindex, null));
                assertTrue(e.getMessage().startsWith("RTM_SETLINK(IFLA_XDP, iface=vb): EBUSY: XDP program id " + ours.id()), e.getMessage());
                att.close();
                assertEquals(0, RtNetlink.link(ifindex, "vb").progId(), "removed on close");

                att = XdpAttachment.attachThroughNetlink(ours, "vb", ifindex, null);
                // someone replaces ours behind our back: close must leave theirs
                assertNull(RtNetlink.setXdp(ifindex, theirs.progFd, RtNetlink.XDP_FLAGS_DRV_MODE, -1, "vb"));
                att.close();
                assertEquals(theirs.id(), RtNetlink.link(ifindex, "vb").progId(), "not ours any more: left attached");
                assertNull(RtNetlink.setXdp(ifindex, -1, RtNetlink.XDP_FLAGS_DRV_MODE, -1, "vb"));
            }
        }
    }
}
