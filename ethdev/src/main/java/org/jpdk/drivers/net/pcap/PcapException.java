package org.jpdk.drivers.net.pcap;

/**
 * A pcap or pcapng file that cannot be opened, read or written, or whose content is not what the
 * format allows. The message is one line that names the file, the byte offset when there is one,
 * and what is wrong: {@code in.pcap: offset 1040: caplen 1073741824 exceeds the maximum 262144}.
 */
public class PcapException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PcapException(String message) {
        super(message);
    }

    public PcapException(String message, Throwable cause) {
        super(message, cause);
    }
}
