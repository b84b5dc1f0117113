package org.jpdk.drivers.net.afxdp;

/**
 * A net_af_xdp set-up step that failed, with a one-line message naming the call, the errno and
 * what to do about it; the probe or start that ran it prefixes the device name. Names quoted from a
 * user's object file (sections, symbols, BTF members) may hold any byte: control characters are
 * shown as '?', so the message stays one line whatever the file says.
 */
final class AfXdpException extends RuntimeException {
    AfXdpException(String message) {
        super(oneLine(message));
    }

    AfXdpException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    static String oneLine(String s) {
        if (s == null) return null;
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) {
                if (b == null) b = new StringBuilder(s);
                b.setCharAt(i, '?');
            }
        }
        return b == null ? s : b.toString();
    }
}
